"""Hostile uploads for POST /verify/file, made here (tests and `make bench` share them).

Each hostile part comes two ways: on its own (a file the service never issued: the bounded
scan finds no issued prefix and no parser ever sees it), and appended to a genuine copy as an
incremental update (the prefix is an issued copy, so the appended bytes reach pyHanko in the
bounded child). Every file stays under the upload limit (5 MB).
"""

from __future__ import annotations

import re
import zlib

DEPTH = 400_000  # nested arrays
XREF_ENTRIES = 200_000  # a real table of 20-byte entries: 4 MB
BOMB_BYTES = 1 << 30  # what 1 MB of deflated zeros inflates to
FLAT_KIDS = 700_000  # page references in one /Kids array (6 bytes each)
FANOUT = 1000  # a page-tree DAG of FANOUT x FANOUT references to one page: 10^6


def _last_int(pattern: bytes, data: bytes) -> int:
    found = re.findall(pattern, data)
    if not found:
        raise ValueError(f"no {pattern!r} in the copy")
    return int(found[-1])


def _deflated_zeros(size: int) -> bytes:
    squeezer = zlib.compressobj(9)
    block = bytes(16 << 20)
    out = [squeezer.compress(block) for _ in range(size // len(block))]
    return b"".join(out) + squeezer.flush()


def _update(base: bytes, objects: dict[int, bytes], *, extra_entries: int = 0) -> bytes:
    """`base` with `objects` (number -> body) appended as an incremental update with a classic
    xref table; `extra_entries` free entries pad the table."""
    size = _last_int(rb"/Size\s+(\d+)", base)
    root = _last_int(rb"/Root\s+(\d+)\s+\d+\s+R", base)
    prev = _last_int(rb"startxref\s+(\d+)", base)
    out = bytearray(base if base.endswith(b"\n") else base + b"\n")
    offsets = {}
    for number, body in objects.items():
        offsets[number] = len(out)
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n"
    for number in sorted(offsets):
        out += b"%d 1\n%010d 00000 n \n" % (number, offsets[number])
    if extra_entries:
        out += b"%d %d\n" % (size + len(objects) + 10, extra_entries)
        out += b"0000000000 65535 f \n" * extra_entries
    new_size = max(size, *(n + 1 for n in objects)) + (extra_entries + 10 if extra_entries else 0)
    out += b"trailer\n<< /Size %d /Root %d 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (new_size, root, prev, xref)
    return bytes(out)


def hostile_updates(copy: bytes) -> dict[str, bytes]:
    """Each hostile part appended to `copy` as an incremental update."""
    size = _last_int(rb"/Size\s+(\d+)", copy)
    pages = _last_int(rb"/Pages\s+(\d+)\s+0\s+R", copy)
    page = _last_int(rb"/Kids\s*\[\s*(\d+)\s+0\s+R", copy)
    page_ref = b"%d 0 R " % page
    bomb = _deflated_zeros(BOMB_BYTES)
    # One middle node, listed FANOUT times, each listing the page FANOUT times.
    middle = size + 1
    dag = {pages: b"<< /Type /Pages /Count %d /Kids [%s] >>" % (FANOUT * FANOUT, b"%d 0 R " % middle * FANOUT),
           middle: b"<< /Type /Pages /Parent %d 0 R /Count %d /Kids [%s] >>" % (pages, FANOUT, page_ref * FANOUT)}
    return {
        "deeply nested arrays (400,000 levels, in the page)": _update(copy, {
            page: b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Deep %s >>"
                  % (pages, b"[" * DEPTH + b"]" * DEPTH)}),
        "huge xref table (200,000 entries)": _update(copy, {size: b"<< /A 1 >>"}, extra_entries=XREF_ENTRIES),
        "compression bomb (1 MB -> 1 GB, the page's contents)": _update(copy, {
            size: b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(bomb) + bomb + b"\nendstream",
            page: b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R >>" % (pages, size)}),
        "700,000 page references in one /Kids": _update(copy, {
            pages: b"<< /Type /Pages /Count %d /Kids [%s] >>" % (FLAT_KIDS, page_ref * FLAT_KIDS)}),
        "10^6 page references (a 1000 x 1000 page-tree DAG)": _update(copy, dag),
    }


def hostile_files() -> dict[str, bytes]:
    """The same hostile parts in files of their own, with a signature dictionary's /ByteRange
    pointing at a prefix the service never issued."""
    base = (b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
            b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>\nendobj\n"
            b"4 0 obj\n<< /Type /Sig /ByteRange [0 10 20 30] /Contents <00> >>\nendobj\n"
            b"xref\n0 5\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
            b"0000000115 00000 n \n0000000186 00000 n \n"
            b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n263\n%%EOF\n")
    return {name: data for name, data in hostile_updates(base).items()}
