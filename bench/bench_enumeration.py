"""Whether the answers that must tell a stranger nothing take the same time: registering,
asking for an identity code and asking for a password reset by ID document, for a document
with certificates, a phone on record and a proven account (李四), one with certificates and no
phone (王芳), and one the service has never heard of. Rounds are interleaved, so the machine's
drift is shared; the table shows the medians side by side (it asserts nothing).

Runs against a local stack (see bench/run.py) whose code limits are raised
(infra.harness.RAISED_CODE_LIMITS): the limits are the same for all three documents, and would
only stop the measurement.
"""

from __future__ import annotations

import secrets
import statistics
import time
from typing import Any

from chalicelib.domain.identity import resident_id_check_digit

Row = tuple[str, str]
ROUNDS = 30


def _unknown_id() -> str:
    first17 = "110105" + "19770707" + f"{secrets.randbelow(1000):03d}"
    return first17 + resident_id_check_digit(first17)


def measure(stack: Any) -> list[Row]:
    import requests

    from tests.e2e.helpers import LISI, accepted_session, register

    register(stack, **LISI)
    accepted_session(stack, LISI["username"], LISI["password"], proof=LISI["phone"])  # 李四 now has a proven account
    documents = {"phone + account": LISI["id_number"], "certificates only": "310104199203154320",
                 "unknown": _unknown_id()}
    timings: dict[str, dict[str, list[float]]] = {kind: {"register": [], "code": [], "forgot": []}
                                                   for kind in documents}
    session = requests.Session()

    def timed(kind: str, what: str, call: Any) -> Any:
        started = time.perf_counter()
        answer = call()
        timings[kind][what].append(time.perf_counter() - started)
        assert answer.status_code < 300, answer.text
        return answer

    for _ in range(ROUNDS):
        for kind, id_number in documents.items():
            username = "enum_" + secrets.token_hex(4)
            timed(kind, "register", lambda u=username, i=id_number: session.post(stack.url("/auth/register"), json={
                "username": u, "password": "Enum#2026pw", "name": "某人", "id_type": "resident_id", "id_number": i},
                timeout=10))
            token = session.post(stack.url("/auth/login"), json={"username": username, "password": "Enum#2026pw"},
                                 timeout=10).json()["access_token"]
            timed(kind, "code", lambda t=token: session.post(stack.url("/me/identity/code"), timeout=10,
                                                             headers={"Authorization": f"Bearer {t}"}))
            timed(kind, "forgot", lambda i=id_number: session.post(
                stack.url("/auth/password/forgot"), json={"id_type": "resident_id", "id_number": i}, timeout=10))
    rows: list[Row] = []
    for what, label in (("register", "POST /auth/register"), ("code", "POST /me/identity/code"),
                        ("forgot", "POST /auth/password/forgot (by ID document)")):
        medians = " / ".join(f"{kind} {statistics.median(timings[kind][what]) * 1000:.1f} ms" for kind in documents)
        rows.append((f"same answer, same time: {label}, median of {ROUNDS}", medians))
    return rows
