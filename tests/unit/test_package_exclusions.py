"""The Lambda package leaves out lxml and Pillow (infra/package.py): the worker must render,
sign and make certificate files without them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.package import NEVER_IMPORTED

PROBE = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None
from datetime import UTC, date, datetime, timedelta
from chalicelib.domain.certificates import Certificate, CertificateStatus
from chalicelib.services import copies
from chalicelib.services.rendering import CopyFacts
from chalicelib.signing import PdfSigner
from infra.pki import create_local_material
now = datetime(2026, 11, 23, 2, tzinfo=UTC)
cert = Certificate("c1", "CH1", "注册测绘师", "", "", "张三", "resident_id", "11010519900307451X", "h",
                   date(2023, 12, 20), date(2023, 11, 25), "北京市人力资源和社会保障局", "010", CertificateStatus.VALID)
facts = CopyFacts(cert, "JZ1", "本人调用", now, now + timedelta(days=90), "ABCD-EFGH-JKLM-NPQR", "http://x/verify")
assert copies.signed_copy(facts, signer=PdfSigner(create_local_material(now=now))).startswith(b"%PDF")
assert copies.certificate_file(cert).startswith(b"%PDF")
print("ok")
"""


def test_the_worker_renders_and_signs_without_the_packages_left_out_of_the_lambda() -> None:
    blocked = [name for name in NEVER_IMPORTED if name != "pillow"]
    done = subprocess.run([sys.executable, "-c", PROBE.format(blocked=blocked)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], check=False, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr
