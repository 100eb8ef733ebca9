"""How fast render.py makes an annotated copy, against plain fpdf2.

    .venv/bin/python bench/bench_render.py

Prints a table; asserts nothing about time. `measure()` returns the rows as data, for
bench/run.py.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.timing import p95, print_rows, timings  # noqa: E402
from chalicelib import render  # noqa: E402
from chalicelib.render import AnnotatedCopy, ElectronicFile  # noqa: E402

DEBIAN_FONT = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
DEBIAN_FONT_NUMBER = 2  # Noto Sans CJK SC in the collection
WARM_RUNS = 300
BASELINE_RUNS = 5
COLD_RUNS = 3

READY = datetime(2026, 11, 23, 6, 5, 9, tzinfo=UTC)
COPY = AnnotatedCopy(
    qualification="注册测绘师", level="中级", specialty="测绘工程", holder_name="欧阳〇娟",
    id_number="11010519491231002X", certificate_no="ZCCH-2023-0012345",
    issuer_name="中华人民共和国人力资源和社会保障部", issued_on=date(2023, 5, 20),
    approved_on=date(2023, 4, 28), annotation_no="JZ20261123-5F3A9C1E", scenario_name="本人调用",
    valid_from=READY, valid_until=READY + timedelta(days=90), annotated_at=READY,
    verification_code="K7QM-4XPR-9TDA-2WHC", verify_url="https://zscx.example.cn/verify?code=K7QM4XPR9TDA2WHC",
)
FILE = ElectronicFile(
    qualification="注册护士", level="", specialty="护理", holder_name="李晓娟", id_number="44030619850612008X",
    certificate_no="HS-2019-000321", issuer_name="广东省卫生健康委员会", issued_on=date(2019, 12, 20),
    approved_on=date(2019, 11, 30), verification_code="F3WX-8KQA-ZP2M-7RTN",
    verify_url="https://zscx.example.cn/verify?code=F3WX8KQAZP2M7RTN", generated_at=READY,
)

COLD_SCRIPT = """
import time
t = time.perf_counter()
from bench.bench_render import COPY
from chalicelib import render
render.render_annotated_copy(COPY)
print(time.perf_counter() - t)
"""




def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"




def cold() -> tuple[float, float]:
    """Wall time of a new process that imports render and makes one copy, and the part of
    it spent in the import and the render (the rest is the interpreter starting)."""
    walls, insides = [], []
    for _ in range(COLD_RUNS):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", COLD_SCRIPT], cwd=ROOT, capture_output=True, text=True,
                              check=True)
        walls.append(time.perf_counter() - start)
        insides.append(float(done.stdout.strip().splitlines()[-1]))
    return statistics.median(walls), statistics.median(insides)


def naive(font_path: Path, font_number: int, lines: list[str]) -> bytes:
    """Plain fpdf2, nothing prepared: the font file added to each document, fpdf2's own
    subsetting on output, the same text and QR code (one rect per module)."""
    import segno
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.add_font("cjk", "", str(font_path), collection_font_number=font_number)
    pdf.add_page()
    pdf.set_font("cjk", size=11)
    for i, line in enumerate(lines):
        pdf.text(20, 20 + i * 7, line)
    qr = segno.make(COPY.verify_url, error="m", micro=False)
    for r, row in enumerate(qr.matrix):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(150 + c, 200 + r, 1, 1, style="F")
    return bytes(pdf.output())


def measure() -> list[tuple[str, str]]:
    from pypdf import PdfReader

    pdf = render.render_annotated_copy(COPY)
    warm = timings(lambda: render.render_annotated_copy(COPY), WARM_RUNS)
    warm_file = timings(lambda: render.render_certificate_file(FILE), WARM_RUNS // 3)
    wall, inside = cold()
    rows = [
        (f"annotated copy, warm, median of {WARM_RUNS}", ms(statistics.median(warm))),
        (f"annotated copy, warm, p95 of {WARM_RUNS}", ms(p95(warm))),
        (f"certificate file, warm, median of {len(warm_file)}", ms(statistics.median(warm_file))),
        (f"cold: new process, import + first copy, wall, median of {COLD_RUNS}", ms(wall)),
        ("cold: of which import + font + first copy", ms(inside)),
        ("annotated copy PDF size", f"{len(pdf):,} B"),
        ("shipped font", f"{render.FONT_PATH.name}, {render.FONT_PATH.stat().st_size:,} B"),
    ]
    lines = PdfReader(io.BytesIO(pdf)).pages[0].extract_text().splitlines()
    baselines = [("naive fpdf2, whole Debian font (Noto Sans CJK, TTC)", DEBIAN_FONT, DEBIAN_FONT_NUMBER),
                 ("naive fpdf2, shipped GBK font added fresh", render.FONT_PATH, 0)]
    for name, path, number in baselines:
        if not path.exists():
            rows.append((name, "n/a (apt-get install fonts-noto-cjk)"))
            continue
        base = timings(lambda p=path, n=number: naive(p, n, lines), BASELINE_RUNS, warmup=1)  # type: ignore[misc]
        size = len(naive(path, number, lines))
        rows.append((f"{name}, median of {BASELINE_RUNS}", ms(statistics.median(base))))
        rows.append(("  its PDF size", f"{size:,} B"))
        rows.append(("  ratio to render.py warm median", f"{statistics.median(base) / statistics.median(warm):.0f}×"))
    return rows


def main() -> None:
    print_rows("render.py benchmark", measure())

if __name__ == "__main__":
    main()
