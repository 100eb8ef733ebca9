"""Hostile uploads to POST /verify/file (tests/hostile_pdfs.py): what each costs.

On its own a hostile file costs the bounded scan and the prefix hashes only (in process); appended
to a genuine copy it reaches pyHanko in the bounded child (chalicelib/pdf_changes.py), whose CPU
(from wait4) and peak resident growth are printed with how it ended: `ok`, or killed at the
1 s CPU limit (its memory then is at most the 200 MB address-space limit, unmeasured)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

Row = tuple[str, str]


def measure() -> list[Row]:
    from chalicelib.domain.revisions import candidate_prefixes, prefix_digests
    from chalicelib.pdf_changes import changes_after
    from chalicelib.signing import PdfSigner, _blank_pdf
    from infra.pki import create_local_material
    from tests.hostile_pdfs import hostile_files, hostile_updates

    now = datetime.now(UTC).replace(microsecond=0)
    copy = PdfSigner(create_local_material(now=now), unstamped=True).sign(_blank_pdf(), signing_time=now)
    rows: list[Row] = []
    standalone = hostile_files()
    for name, data in hostile_updates(copy).items():
        alone = standalone[name]
        started = time.process_time()
        prefix_digests(alone, candidate_prefixes(alone))
        scan = time.process_time() - started
        examined = changes_after(data, len(copy))
        memory = ("≤ 200 MB (limit)" if examined.memory_bytes is None
                  else f"{examined.memory_bytes / 1048576:.1f} MB")
        ended = examined.outcome + (f" ({examined.detail['signal']})" if examined.detail else "")
        rows.append((f"hostile upload: {name}, {len(data) / 1048576:.1f} MB",
                     f"alone: scan {scan * 1000:.1f} ms CPU, unknown; on a copy: child {examined.cpu_seconds:.2f} s "
                     f"CPU, {memory}, {ended}"))
    return rows
