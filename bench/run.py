"""`make bench`: the performance figures, as one table. Asserts nothing about time.

    python bench/run.py [--annotations 100] [--skip-stack]

Rows: rendering and signing one copy (in process), what a million copies and a million
verifications cost on AWS (in process, on DynamoDB Local), the API's import time and whether the
API path loads the PDF libraries, and, against the local stack started as `make run` starts
it, submit -> ready turnaround, verification latency, and whether the answers that must tell a
stranger nothing take the same time whatever the ID document has, over HTTP.
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Row = tuple[str, str]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


PACKAGE = ROOT / "build" / "package"


def import_rows() -> list[Row]:
    """P4 as a Lambda cold start meets it: `import app` from the built package (`make package`
    leaves it unpacked: its files and bytecode, and links to the runtime's botocore), with
    nothing else on the path and nothing written between runs; that the API path never loads
    fpdf2, fontTools or pyHanko; where the time goes; and the package's size."""
    contents, runtime = PACKAGE / "contents", PACKAGE / "runtime"
    if not contents.is_dir():
        return [("API import time", "no package: run `make package` first")]
    setup = f"import sys, time; sys.path[:0] = {[str(contents), str(runtime)]!r}; "
    probe = (setup + "t = time.perf_counter(); import app; print(time.perf_counter() - t); "
             "print(','.join(m for m in ('fpdf', 'fontTools', 'pyhanko') if m in sys.modules))")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}  # every run a fresh container

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-S", *args], cwd=contents, env=env, capture_output=True,
                              text=True, check=True)

    runs, loaded = [], ""
    for _ in range(7):
        seconds, _, loaded = run("-c", probe).stdout.strip().partition("\n")
        runs.append(float(seconds))
    by_package: collections.Counter[str] = collections.Counter()
    for line in run("-X", "importtime", "-c", setup + "import app").stderr.splitlines():
        fields = line.removeprefix("import time:").split("|")
        if len(fields) == 3 and fields[0].strip().isdigit():
            by_package[fields[2].strip().split(".")[0]] += int(fields[0])
    top = ", ".join(f"{name} {micros / 1000:.0f} ms" for name, micros in by_package.most_common(6))
    size = (PACKAGE / "deployment.zip").stat().st_size / 1048576
    return [("P4 API cold import (`import app` from the Lambda package, median of 7 processes)",
             f"{ms(statistics.median(runs))} (min {ms(min(runs))}, max {ms(max(runs))})"),
            ("P4 PDF libraries (fpdf2, fontTools, pyHanko) loaded on the API path", loaded or "none"),
            ("P4 API import, own time by package (one run of -X importtime)", top),
            ("P4 Lambda package (deployment.zip)", f"{size:.1f} MB")]


def in_process_rows(many: int) -> list[Row]:
    """Each in-process benchmark's rows; one whose module cannot be imported says so, and the
    others still run."""
    import importlib

    measures: list[tuple[str, str, Callable[[Any], list[Row]]]] = [
        ("bench_render", "render benchmark", lambda m: m.measure()),
        ("bench_requests", "request-count benchmark", lambda m: m.measure(many)),
        ("bench_signing", "signing benchmark", lambda m: m.measure()),
        ("bench_batches", "batch split benchmark", lambda m: m.measure()),
        ("bench_hostile", "hostile upload benchmark", lambda m: m.measure()),
        ("bench_costs", "cost benchmark", lambda m: m.rows()),
    ]
    rows: list[Row] = []
    for module, label, measure in measures:
        try:
            loaded = importlib.import_module(f"bench.{module}")
        except ImportError as e:
            rows.append((label, f"unavailable: {e}"))
            continue
        rows += measure(loaded)
    return rows


def stack_rows(count: int) -> list[Row]:
    """P1 and verification latency over HTTP against the local stack."""
    import requests

    from bench import bench_enumeration
    from bench.bench_load import holder_with_certificates
    from infra.harness import RAISED_CODE_LIMITS, running_stack

    with running_stack(env=RAISED_CODE_LIMITS) as stack:
        rows: list[Row] = [("local stack start-up (process start -> ready)", f"{stack.started_in:.1f} s")]
        per_cert = 3
        headers, cert_ids = holder_with_certificates(stack, count // per_cert + 1, "bench")
        certs = [{"certificate_id": c} for c in cert_ids]
        session = requests.Session()
        session.headers.update(headers)
        turnaround: list[float] = []
        codes: list[str] = []
        annotation_ids: list[str] = []
        for i in range(count):
            cert = certs[i // per_cert]
            started = time.perf_counter()
            r = session.post(stack.url(f"/certificates/{cert['certificate_id']}/annotations"),
                             json={"scenario": "self_use"}, timeout=10)
            r.raise_for_status()
            annotation_id = r.json()["annotation_id"]
            while True:
                a = session.get(stack.url(f"/annotations/{annotation_id}"), timeout=10).json()
                if a["status"] != "pending":
                    break
                time.sleep(0.005)
            turnaround.append(time.perf_counter() - started)
            codes.append(a["verification_code"])
            annotation_ids.append(annotation_id)
        rows += [
            (f"P1 submit -> ready over HTTP, median ({count} copies, polling every 5 ms)",
             ms(statistics.median(turnaround))),
            ("P1 submit -> ready, p95", ms(pct(turnaround, 95))),
            ("P1 submit -> ready, p99", ms(pct(turnaround, 99))),
        ]
        public = requests.Session()
        by_code = []
        for code in codes[:100]:
            started = time.perf_counter()
            public.get(stack.url(f"/verify/{code}"), timeout=10).raise_for_status()
            by_code.append(time.perf_counter() - started)
        link = session.get(stack.url(f"/annotations/{annotation_ids[0]}/file"), timeout=10).json()["url"]
        pdf = requests.get(link, timeout=10).content
        by_file = []
        for _ in range(20):
            started = time.perf_counter()
            public.post(stack.url("/verify/file"), data=pdf, headers={"Content-Type": "application/pdf"},
                        timeout=10).raise_for_status()
            by_file.append(time.perf_counter() - started)
        rows += [
            ("verify by code over HTTP, median / p95", f"{ms(statistics.median(by_code))} / {ms(pct(by_code, 95))}"),
            ("verify by file over HTTP, median / p95", f"{ms(statistics.median(by_file))} / {ms(pct(by_file, 95))}"),
        ]
        rows += bench_enumeration.measure(stack)
        try:
            from bench import bench_browser
            rows += bench_browser.measure(stack)
        except ImportError as e:  # Playwright missing: the other rows still print
            rows.append(("browser submit -> 查看", f"unavailable: {e}"))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--annotations", type=int, default=100)
    parser.add_argument("--skip-stack", action="store_true")
    parser.add_argument("--load-seconds", type=float, default=60, help="P5's duration (0 skips it)")
    parser.add_argument("--many", type=int, default=100_000, help="certificates loaded for the P3 request counts")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
    for name, value in (("AWS_ACCESS_KEY_ID", "bench"), ("AWS_SECRET_ACCESS_KEY", "bench"),
                        ("AWS_DEFAULT_REGION", "us-east-1")):
        os.environ.setdefault(name, value)
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{time.strftime('%Y-%m-%d')}\n")
    print("| measure | value |")
    print("| ------- | ----- |", flush=True)
    sections = [lambda: in_process_rows(args.many), import_rows]
    if not args.skip_stack:
        sections.append(lambda: stack_rows(args.annotations))
        if args.load_seconds > 0:
            from bench import bench_load
            for backend in ("moto", "local"):  # P5 on both DynamoDBs
                sections.append(lambda backend=backend: bench_load.measure(args.load_seconds, dynamodb=backend))
    for section in sections:  # each section's rows as soon as they are measured
        for name, value in section():
            print(f"| {name} | {value} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
