"""Splitting a batch file into chunks, as the import trigger does for each upload: the whole
file is read once and only its line ends and quotes are looked at (domain.batches)."""

from __future__ import annotations

import statistics
import time

from chalicelib.domain.batches import ROWS_PER_CHUNK, split

Row = tuple[str, str]
ROWS = 1_000_000
BLOCK = 1 << 20  # what the trigger reads at a time


def measure() -> list[Row]:
    row = ("CH{:07d},注册测绘师,一级,,周九,resident_id,110105199003074512,2024-03-01,2024-01-20,"
           "自然资源部,010-66558888,valid,\n")
    body = ("certificate_no,qualification,level,specialty,holder_name,id_type,id_number,issued_on,approved_on,"
            "issuer_name,issuer_contact,status,phone\n" + "".join(row.format(i) for i in range(ROWS))).encode()
    blocks = [body[i:i + BLOCK] for i in range(0, len(body), BLOCK)]
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        layout = split(blocks, csv=True)
        runs.append(time.perf_counter() - started)
    return [(f"split a batch of {ROWS:,} CSV rows ({len(body) / 1e6:.0f} MB) into {len(layout.chunks)} chunks of "
             f"{ROWS_PER_CHUNK:,}, median of 3", f"{statistics.median(runs):.2f} s")]


if __name__ == "__main__":
    for name, value in measure():
        print(f"| {name} | {value} |")
