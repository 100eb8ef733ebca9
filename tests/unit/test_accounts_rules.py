"""Windows of failed attempts (the login lockout, the certificate-number proofs), sessions,
the rule that removes accounts never proven, and the notice's version, with time pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.content import current_notice, notice_from_text
from chalicelib.domain.accounts import (
    CERTIFICATE_PROOFS,
    LOGIN_PER_ACCOUNT,
    LOGIN_PER_CLIENT,
    Attempts,
    ProofMethod,
    User,
)
from chalicelib.domain.errors import Unauthorized
from chalicelib.security import TokenSigner

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_the_fifth_wrong_password_within_fifteen_minutes_locks_that_client_for_fifteen_minutes() -> None:
    attempts = Attempts()
    for minute in range(4):
        attempts = attempts.after_failure(LOGIN_PER_CLIENT, NOW + timedelta(minutes=minute * 3))
        assert attempts.retry_after(NOW + timedelta(minutes=minute * 3)) is None
    locked_at = NOW + timedelta(minutes=14)
    attempts = attempts.after_failure(LOGIN_PER_CLIENT, locked_at)
    assert attempts.retry_after(locked_at) == 900
    assert attempts.left(LOGIN_PER_CLIENT, locked_at) == 0
    assert attempts.retry_after(locked_at + timedelta(minutes=15)) is None


def test_failures_older_than_the_window_start_a_new_count() -> None:
    attempts = Attempts()
    for _ in range(4):
        attempts = attempts.after_failure(LOGIN_PER_CLIENT, NOW)
    later = NOW + timedelta(minutes=15, seconds=1)
    attempts = attempts.after_failure(LOGIN_PER_CLIENT, later)
    assert attempts.failures == 1 and attempts.retry_after(later) is None
    assert attempts.left(LOGIN_PER_CLIENT, later) == 4


def test_twenty_wrong_passwords_from_all_clients_within_fifteen_minutes_lock_the_account() -> None:
    attempts = Attempts()
    for second in range(19):
        attempts = attempts.after_failure(LOGIN_PER_ACCOUNT, NOW + timedelta(seconds=second * 40))
        assert attempts.retry_after(NOW + timedelta(seconds=second * 40)) is None
    attempts = attempts.after_failure(LOGIN_PER_ACCOUNT, NOW + timedelta(minutes=14))
    assert attempts.retry_after(NOW + timedelta(minutes=14)) == 900


def test_five_failed_certificate_number_proofs_in_a_day_stop_proofs_for_a_day_and_no_longer() -> None:
    attempts = Attempts()
    for hour in range(5):
        attempts = attempts.after_failure(CERTIFICATE_PROOFS, NOW + timedelta(hours=hour * 5))
    locked_at = NOW + timedelta(hours=20)
    assert attempts.retry_after(locked_at) == 24 * 3600
    assert attempts.retry_after(locked_at + timedelta(hours=24)) is None


@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=60))
def test_no_window_ever_locks_for_longer_than_its_lockout(gaps: list[int]) -> None:
    """Whatever a stranger does, each lock ends within its lockout of the last failure."""
    for limit in (LOGIN_PER_CLIENT, LOGIN_PER_ACCOUNT, CERTIFICATE_PROOFS):
        attempts, at = Attempts(), NOW
        for gap in gaps:
            at += timedelta(seconds=gap)
            attempts = attempts.after_failure(limit, at)
            assert (attempts.retry_after(at) or 0) <= limit.lockout.total_seconds()
            assert 0 <= attempts.left(limit, at) <= limit.failures


def _user(**changes: object) -> User:
    fields: dict[str, object] = {
        "user_id": "u1", "username": "holder", "name": "李四", "id_type": "resident_id", "id_hash": "h",
        "id_number_masked": "440304********0023", "phone": None, "email": None, "password_hash": "x",
        "notice_version": None, "guard": Attempts(), "created_at": NOW}
    return User(**{**fields, **changes})  # type: ignore[arg-type]


def test_an_account_never_proven_is_gone_after_thirty_days_and_a_proven_one_never() -> None:
    assert not _user().expired(NOW + timedelta(days=29, hours=23))
    assert _user().expired(NOW + timedelta(days=30))
    displaced = _user(proof=None, ever_proven=True)
    assert not displaced.expired(NOW + timedelta(days=400))
    assert _user(proof=ProofMethod.SMS, ever_proven=True).proven and not displaced.proven


def test_a_token_refreshed_keeps_its_session_and_never_outlives_twelve_hours_after_login() -> None:
    signer = TokenSigner("k" * 32, timedelta(hours=2))
    _, first = signer.issue("u1", NOW, generation=3)
    at = NOW
    last = first
    for _ in range(8):
        at += timedelta(hours=1, minutes=50)
        token, last = signer.issue("u1", at, generation=3, session=last)
        assert last.jti == first.jti and last.auth_time == first.auth_time
        assert last.expires_at <= NOW + timedelta(hours=12)
    with pytest.raises(Unauthorized):
        signer.read(token, NOW + timedelta(hours=12))
    assert signer.read(signer.issue("u1", NOW, generation=3)[0], NOW).generation == 3


def test_the_notice_version_follows_its_content() -> None:
    a = notice_from_text("# 服务须知\n\n第一条。")
    assert a.title == "服务须知" and a.body == "第一条。"
    assert notice_from_text("# 服务须知\r\n\r\n第一条。").version == a.version
    assert notice_from_text("# 服务须知\n\n第一条有改动。").version != a.version


def test_the_shipped_notice_has_a_title_a_body_and_a_version() -> None:
    notice = current_notice()
    assert notice.title == "服务须知" and len(notice.body) > 100 and len(notice.version) == 12
