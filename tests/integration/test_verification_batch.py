"""Batches and the holder's log on moto: a repeated code is checked once, a client's checks of a
copy are logged once a minute whatever the channel (also when they race), and a batch's misses
count toward the client's limit, a batch that would pass it being refused whole."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest

from chalicelib import deps
from chalicelib.domain.annotations import Annotation
from chalicelib.domain.errors import RateLimited, UnknownCode
from chalicelib.domain.verification import MISS_LIMIT, IssuedDocument
from chalicelib.services import verifying
from tests.integration.test_annotations import NOW
from tests.integration.test_verification import ready_copy, verifier


class CountingStore:
    """The real store, counting the code lookups it is asked for."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.lookups: list[str] = []

    def by_code(self, code: str) -> IssuedDocument | None:
        self.lookups.append(code)
        return self._store.by_code(code)  # type: ignore[no-any-return]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


def log_of(repo: Any, annotation: Annotation) -> dict[str, Any]:
    return verifying.copy_log(repo.annotations.annotation(annotation.annotation_id), store=repo.verifications)


def distinct_unknown(count: int, start: int = 0) -> list[str]:
    """Well-formed codes that match nothing (as a guesser would send)."""
    digits = "23456789"
    return [f"AAAA-BBBB-CCC{digits[n // 64 % 8]}-{digits[n // 8 % 8]}{digits[n % 8]}ZZ"
            for n in range(start, start + count)]


def test_a_repeated_code_is_looked_up_once_and_every_position_gets_the_same_answer(repo) -> None:
    _, ready = ready_copy(repo)
    store = CountingStore(repo.verifications)
    code = ready.verification_code
    spelled = [code, code.lower(), "-".join(code[i:i + 4] for i in range(0, 16, 4))]
    answer = verifying.Verifier(store, repo, "203.0.113.40", NOW).batch(spelled * 32 + ["NOPE", "NOPE"])
    assert store.lookups == [code]  # "NOPE" cannot be a code: no lookup at all
    items = answer["items"]
    assert [i["code"] for i in items] == spelled * 32 + ["NOPE", "NOPE"]
    assert {i["result"] for i in items[:96]} == {"valid"}
    assert all(i == {**items[0], "code": i["code"]} for i in items[:96])
    assert [i["result"] for i in items[96:]] == ["unknown", "unknown"]
    log = log_of(repo, ready)
    assert log["count"] == 1 and [i["channel"] for i in log["items"]] == ["batch"]


def test_twenty_parallel_checks_of_one_copy_by_one_client_in_a_minute_log_one_entry(repo) -> None:
    _, ready = ready_copy(repo)
    data = deps.files().get(ready.file_key)
    client = "203.0.113.41"
    checks = [
        lambda: verifier(repo, NOW, client).by_code(ready.verification_code),
        lambda: verifier(repo, NOW + timedelta(seconds=30), client).by_file(data),
        lambda: verifier(repo, NOW + timedelta(seconds=59), client).batch([ready.verification_code, "NOPE"]),
    ]
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda i: checks[i % 3](), range(20)))
    assert all(a.get("result") == "valid" or a["items"][0]["result"] == "valid" for a in answers)
    log = log_of(repo, ready)
    assert log["count"] == 1 and len(log["items"]) == 1
    assert set(log["items"][0]) == {"at", "channel", "result"} and client not in str(log)

    # Another client in the same minute, and the same client in the next minute, are logged.
    verifier(repo, NOW + timedelta(seconds=10), "203.0.113.42").by_code(ready.verification_code)
    verifier(repo, NOW + timedelta(minutes=1), client).by_file(data)
    verifier(repo, NOW + timedelta(minutes=1, seconds=5), client).by_code(ready.verification_code)
    log = log_of(repo, ready)
    assert log["count"] == 3 and len(log["items"]) == 3 and log["items"][0]["channel"] == "file"


def test_a_batch_that_would_pass_the_miss_limit_is_refused_whole_and_nothing_is_logged(repo) -> None:
    _, ready = ready_copy(repo)
    client = "203.0.113.43"
    for code in distinct_unknown(MISS_LIMIT - 3):
        with pytest.raises(UnknownCode):
            verifier(repo, client=client).by_code(code)
    with pytest.raises(RateLimited) as refused:
        verifier(repo, NOW + timedelta(seconds=15), client).batch(
            [ready.verification_code, *distinct_unknown(4, start=100)])
    assert refused.value.retry_after_seconds == 45
    assert refused.value.details == {"retry_after_seconds": 45}
    assert log_of(repo, ready) == {"count": 0, "items": []}
    # The refusal spends the rest of the window (a free refusal would tell a guesser that a
    # whole batch missed), and only that: the next minute starts afresh.
    with pytest.raises(RateLimited):
        verifier(repo, NOW + timedelta(seconds=20), client).by_code(ready.verification_code)
    assert log_of(repo, ready)["count"] == 0
    assert verifier(repo, NOW + timedelta(minutes=1), client).batch([ready.verification_code])["items"][0][
        "result"] == "valid"
    assert log_of(repo, ready)["count"] == 1


def test_the_limit_counts_a_batchs_misses_once_each_and_never_its_finds(repo) -> None:
    _, ready = ready_copy(repo)
    client = "203.0.113.44"
    # Many finds and one unknown code a hundred times: one miss.
    verifier(repo, client=client).batch([ready.verification_code] * 100)
    assert [i["result"] for i in verifier(repo, client=client).batch(["ZZZZ-ZZZZ-ZZZZ-ZZZZ"] * 100)["items"]] == [
        "unknown"] * 100
    # Exactly up to the limit is answered ...
    answer = verifier(repo, client=client).batch([ready.verification_code, *distinct_unknown(MISS_LIMIT - 1)])
    assert [i["result"] for i in answer["items"]] == ["valid", *["unknown"] * (MISS_LIMIT - 1)]
    # ... and then the client is held up, finds included, until the minute is over.
    with pytest.raises(RateLimited):
        verifier(repo, client=client).batch([ready.verification_code])
    with pytest.raises(RateLimited):
        verifier(repo, client=client).by_code(ready.verification_code)
    assert verifier(repo, client="203.0.113.45").by_code(ready.verification_code)["result"] == "valid"


def test_a_batch_of_more_misses_than_the_limit_is_refused_in_a_fresh_window(repo) -> None:
    _, ready = ready_copy(repo)
    with pytest.raises(RateLimited):
        verifier(repo, client="203.0.113.46").batch([ready.verification_code, *distinct_unknown(MISS_LIMIT + 1)])
    assert log_of(repo, ready)["count"] == 0


def test_concurrent_single_misses_never_pass_the_limit(repo) -> None:
    client = "203.0.113.47"

    def guess(code: str) -> str:
        try:
            verifier(repo, client=client).by_code(code)
        except UnknownCode:
            return "unknown"
        except RateLimited:
            return "limited"
        return "found"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(guess, distinct_unknown(MISS_LIMIT + 10)))
    assert outcomes.count("unknown") == MISS_LIMIT and outcomes.count("limited") == 10
