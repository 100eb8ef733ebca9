"""Batches over HTTP: a repeated code is one check and one log entry, and a batch that would
pass the client's miss limit is refused whole with how long to wait, nothing logged. Each test
is a client of its own (tests/e2e/clients.py), so nobody else's misses count toward its limit."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.clients import client
from tests.e2e.helpers import (
    HEADER,
    a_resident_id,
    accepted_session,
    assert_error,
    auth,
    certificates,
    drop,
    register,
    row,
)
from tests.e2e.test_verification import ready_copy


@pytest.fixture(scope="module")
def copies(stack: Any) -> tuple[str, list[dict[str, Any]]]:
    """A holder's session and two ready copies."""
    id_number = a_resident_id("19930303")
    tag = id_number[-6:]
    drop(stack, f"batch-{tag}.csv", HEADER + "".join(row(f"VB{tag}{i}", id_number, name="吴十") for i in range(2)))
    username = f"batcher_{tag}"
    register(stack, username=username, password="Batch#2026pw", name="吴十", id_type="resident_id",
             id_number=id_number).raise_for_status()
    token = accepted_session(stack, username, "Batch#2026pw", proof=(f"VB{tag}0", "吴十"))
    return token, [ready_copy(stack, token, c["certificate_id"]) for c in certificates(stack, token).values()]


def log_count(stack: Any, token: str, copy: dict[str, Any]) -> int:
    r = requests.get(stack.url(f"/annotations/{copy['annotation_id']}/verifications"), headers=auth(token), timeout=5)
    return int(r.json()["count"])


def within_one_minute() -> None:
    """The throttle's windows are clock minutes: steps that must share one start early in it."""
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)


def unknown(count: int) -> list[str]:
    digits = "23456789"
    return [f"ZZZZ-YYYY-XXXX-W{digits[n // 8 % 8]}{digits[n % 8]}Q" for n in range(count)]


def test_a_repeated_code_is_one_check_and_one_entry_in_the_holders_log(stack, copies) -> None:
    token, (copy, _) = copies
    verifier = client("127.0.0.31")
    code = copy["verification_code"]
    within_one_minute()
    r = verifier.post(stack.url("/verify/batch"), json={"codes": [code] * 60 + [code.lower(), "NOPE"]}, timeout=10)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["result"] for i in items] == ["valid"] * 61 + ["unknown"]
    assert items[60]["code"] == code.lower() and items[60]["certificate"] == items[0]["certificate"]
    # The same client's check by code in the same minute is not logged again.
    assert verifier.get(stack.url(f"/verify/{code}"), timeout=5).json()["result"] == "valid"
    assert log_count(stack, token, copy) == 1


def test_a_batch_that_would_pass_the_miss_limit_is_refused_whole_with_how_long_to_wait(stack, copies) -> None:
    token, (_, copy) = copies
    verifier = client("127.0.0.32")
    within_one_minute()
    assert verifier.post(stack.url("/verify/batch"), json={"codes": unknown(18)}, timeout=10).status_code == 200
    r = verifier.post(stack.url("/verify/batch"), json={"codes": [copy["verification_code"], *unknown(21)[18:]]},
                      timeout=10)
    assert_error(r, 429, "rate_limited")
    wait = int(r.headers["Retry-After"])
    assert 0 < wait <= 60 and r.json()["error"]["details"] == {"retry_after_seconds": wait}
    assert log_count(stack, token, copy) == 0
    # A single check is held up too, and says how long to wait.
    single = verifier.get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5)
    assert_error(single, 429, "rate_limited")
    assert 0 < int(single.headers["Retry-After"]) <= wait
    assert single.json()["error"]["details"]["retry_after_seconds"] == int(single.headers["Retry-After"])
    assert log_count(stack, token, copy) == 0
    # Another client is not held up.
    assert client("127.0.0.33").get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5).status_code == 200
