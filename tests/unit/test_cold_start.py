"""Every Lambda function imports app.py: the API's cold start must not load what only the workers
use (the PDF and signing libraries, and the services of the schedules and the import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WORKER_ONLY = ("fpdf", "fontTools", "pyhanko", "chalicelib.render", "chalicelib.signing",
               "chalicelib.services.copies", "chalicelib.services.imports", "chalicelib.services.reminding",
               "chalicelib.services.sweeping")


def test_importing_the_app_loads_nothing_only_the_workers_use() -> None:
    probe = f"import sys, app; print(','.join(m for m in {WORKER_ONLY!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], check=True, timeout=60)
    assert done.stdout.strip() == ""
