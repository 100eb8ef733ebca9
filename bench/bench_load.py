"""P5: sustained annotations per second against the local stack, with zero lost or
duplicated annotations.

    python bench/bench_load.py [--seconds 60] [--clients 8]

Clients submit applications in a loop for the given time (each certificate takes 3, the
quota); afterwards every accepted application must be listed exactly once and be ready.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import sys
import threading
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Row = tuple[str, str]


def holder_with_certificates(stack: Any, certificates: int, name: str = "load") -> tuple[dict[str, str], list[str]]:
    """A holder, registered, proven (by certificate number) and past the notice, with
    `certificates` e-certificates that arrived as any batch does (a CSV under imports/); the
    auth headers and certificate IDs."""
    import boto3
    import requests

    from chalicelib.domain.identity import resident_id_check_digit

    # Each name its own ID document (a birth date from the name), so that two holders of one run
    # never claim the same document.
    born = date(1970, 1, 1) + timedelta(days=int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10_000)
    first17 = "110105" + born.strftime("%Y%m%d") + "555"
    id_number = first17 + resident_id_check_digit(first17)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["certificate_no", "qualification", "level", "specialty", "holder_name", "id_type", "id_number",
                     "issued_on", "approved_on", "issuer_name", "issuer_contact", "status"])
    for i in range(certificates):
        writer.writerow([f"{name.upper()}{i:06d}", "注册测绘师", "", "", "吴十", "resident_id", id_number, "2024-01-01",
                         "2023-12-01", "国家测绘地理信息局", "010-00000000", "valid"])
    s3 = boto3.client("s3", endpoint_url=stack.aws, region_name="us-east-1", aws_access_key_id="local",
                      aws_secret_access_key="local")
    bucket = next(b["Name"] for b in s3.list_buckets()["Buckets"] if "filesbucket" in b["Name"])
    s3.put_object(Bucket=bucket, Key=f"imports/{name}.csv", Body=buffer.getvalue().encode("utf-8"))
    requests.post(stack.url("/auth/register"), timeout=10, json={
        "username": f"{name}_holder", "password": "Load#2026pw", "name": "吴十", "id_type": "resident_id",
        "id_number": id_number}).raise_for_status()
    login = requests.post(stack.url("/auth/login"), timeout=10,
                          json={"username": f"{name}_holder", "password": "Load#2026pw"}).json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    requests.post(stack.url("/notice/accept"), headers=headers, json={"version": login["notice_version"]},
                  timeout=5).raise_for_status()
    deadline = time.monotonic() + 120
    while not s3.list_objects_v2(Bucket=bucket, Prefix=f"import-reports/{name}.csv").get("KeyCount"):
        if time.monotonic() > deadline:
            raise RuntimeError("the load holder's batch was never loaded")
        time.sleep(0.5)
    proof = {"method": "certificate_no", "certificate_no": f"{name.upper()}{0:06d}", "name": "吴十"}
    requests.post(stack.url("/me/identity"), headers=headers, json=proof, timeout=10).raise_for_status()
    ids: list[str] = []
    while time.monotonic() < deadline:
        items = requests.get(stack.url("/certificates"), headers=headers, timeout=30).json()["items"]
        ids = [c["certificate_id"] for c in items]
        if len(ids) >= certificates:
            break
        time.sleep(0.5)
    return headers, ids


def measure(seconds: float = 60, clients: int = 8, dynamodb: str = "moto") -> list[Row]:
    """P5 on the local stack with `dynamodb` ("moto", or "local": AWS's DynamoDB Local) as its
    DynamoDB; the rows name the backend."""
    import requests

    from infra.harness import running_stack

    with running_stack(dynamodb=dynamodb) as stack:
        expected_rate = 60
        headers, cert_ids = holder_with_certificates(stack, int(seconds * expected_rate / 3) + 50)
        slots = iter([c for c in cert_ids for _ in range(3)])
        lock = threading.Lock()
        accepted: list[str] = []
        refused: Counter[int] = Counter()
        stop_at = time.monotonic() + seconds

        def client() -> None:
            session = requests.Session()
            session.headers.update(headers)
            while time.monotonic() < stop_at:
                with lock:
                    cert_id = next(slots, None)
                if cert_id is None:
                    return
                r = session.post(stack.url(f"/certificates/{cert_id}/annotations"), json={"scenario": "self_use"},
                                 timeout=30)
                with lock:
                    if r.status_code == 202:
                        accepted.append(r.json()["annotation_id"])
                    else:
                        refused[r.status_code] += 1

        cpu_before, load_before = stack.cpu_seconds(), _own_cpu_seconds()
        started = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        submit_seconds = time.monotonic() - started
        cpu_after, load_after = stack.cpu_seconds(), _own_cpu_seconds()
        cpu = {name: cpu_after[name] - cpu_before[name] for name in cpu_after}
        cpu["load generator"] = load_after - load_before
        # Wait for the worker to drain: poll only what is still pending.
        session = requests.Session()
        session.headers.update(headers)
        waiting = set(accepted)
        errors: Counter[int] = Counter()
        deadline = time.monotonic() + 600
        while waiting and time.monotonic() < deadline:
            for annotation_id in list(waiting):
                r = session.get(stack.url(f"/annotations/{annotation_id}"), timeout=30)
                if r.status_code != 200:
                    errors[r.status_code] += 1
                elif r.json()["status"] != "pending":
                    waiting.discard(annotation_id)
            time.sleep(0.2)
        drained = time.monotonic() - started
        # Then every accepted application must be listed exactly once, and ready.
        listed = [a for c in set(cert_ids[: len(accepted) // 3 + 1]) for a in session.get(
            stack.url(f"/certificates/{c}/annotations"), timeout=30).json()["items"]]
        ids = Counter(a["annotation_id"] for a in listed)
        lost = len(set(accepted) - set(ids))
        duplicated = sum(n - 1 for n in ids.values()) + len(set(ids) - set(accepted))
        ready = sum(1 for a in listed if a["status"] == "ready")
        total = {name: after - before for name, after in stack.cpu_seconds().items()
                 if (before := cpu_before.get(name)) is not None}
    on = f"DynamoDB {'Local' if dynamodb == 'local' else 'moto'}"
    return [
        (f"P5 [{on}] sustained submissions ({clients} clients, {seconds:.0f} s)",
         f"{len(accepted) / submit_seconds:.1f}/s"),
        (f"P5 [{on}] copies made (submit start -> all ready)", f"{ready / drained:.1f}/s ({ready} of {len(accepted)})"),
        (f"P5 [{on}] lost / duplicated annotations", f"{lost} / {max(0, duplicated)}"),
        (f"P5 [{on}] refused during the run", ", ".join(f"{k}: {v}" for k, v in refused.items()) or "none"),
        (f"P5 [{on}] errors while waiting for the copies",
         ", ".join(f"{k}: {v}" for k, v in errors.items()) or "none"),
        (f"P5 [{on}] CPU while submitting (cores busy, of {os.cpu_count()})", ", ".join(
            f"{name} {seconds / submit_seconds:.2f}" for name, seconds in cpu.items())),
        # The stack's own process is the service: the API, the authorizer and the workers, in process.
        (f"P5 [{on}] the service's own CPU per copy (the stack's process, submit start -> all ready)",
         f"{1000 * total['stack'] / max(ready, 1):.1f} ms"),
    ]


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    for name, value in measure(args.seconds, args.clients):
        print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
