"""The local stack's demo data (see ../shared/API.md): 张三 with the `demo` account and three
certificates, 李四 with two certificates and no account yet."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from chalicelib import deps
from chalicelib.domain.clock import utcnow
from chalicelib.domain.errors import IdNumberRegistered, UsernameTaken
from chalicelib.services import accounts, imports

log = logging.getLogger("local-stack")
CERTIFICATES = Path(__file__).with_name("certificates.csv")

DEMO_ACCOUNT = accounts.Registration(
    username="demo", password="Demo#2026", name="张三", id_type="resident_id",  # noqa: S106 - published demo
    id_number="11010519900307451X", phone="13800138000", email="zhangsan@example.com")


def load_demo() -> None:
    now = utcnow()
    with CERTIFICATES.open(encoding="utf-8", newline="") as lines:
        report = imports.import_lines(CERTIFICATES.name, lines, store=deps.repository(),
                                      id_hash=deps.id_hasher(), now=now)
    log.info("demo certificates: %s loaded, %s unchanged, %s rejected",
             report.loaded, report.unchanged, len(report.rejected))
    with contextlib.suppress(UsernameTaken, IdNumberRegistered):
        accounts.register(DEMO_ACCOUNT, store=deps.repository(), hasher=deps.password_hasher(),
                          id_hash=deps.id_hasher(), now=now)
