"""Accounts against DynamoDB on moto: uniqueness under races, lockout, tokens."""

from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib import deps
from chalicelib.domain.errors import (
    AccountLocked,
    IdNumberRegistered,
    InvalidCredentials,
    Unauthorized,
    UsernameTaken,
)
from chalicelib.domain.identity import resident_id_check_digit
from chalicelib.services import accounts
from tests.fakes import FixedClock, PlainHasher


def a_resident_id() -> str:
    """A valid resident ID, random in its birth date and sequence number: the session's tests share
    one moto, and a holder registered twice would be refused (1,000 numbers were not enough)."""
    born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(365 * 40))
    first17 = f"110105{born:%Y%m%d}{secrets.randbelow(1000):03d}"
    return first17 + resident_id_check_digit(first17)


def registration(**overrides: str) -> accounts.Registration:
    fields = {"username": "u_" + secrets.token_hex(4), "password": "Secret#2026", "name": "王五",
              "id_type": "resident_id", "id_number": a_resident_id()}
    fields.update(overrides)
    return accounts.Registration(**fields)


def register(repo, form: accounts.Registration, now: datetime):  # type: ignore[no-untyped-def]
    return accounts.register(form, store=repo, hasher=PlainHasher(), id_hash=deps.id_hasher(), now=now)


def test_a_registered_holder_can_log_in_and_the_token_names_them(repo) -> None:
    clock = FixedClock()
    form = registration()
    user = register(repo, form, clock())
    session = accounts.login(form.username, form.password, store=repo, hasher=PlainHasher(),
                             signer=deps.token_signer(), now=clock())
    claims, caller = accounts.authenticate(session.access_token, store=repo, signer=deps.token_signer(),
                                           now=clock())
    assert claims.user_id == caller.user_id == user.user_id
    assert caller.holder_key == user.id_hash and caller.notice_version is None
    assert 0 < session.expires_in <= 7200
    stored = repo.user(user.user_id)
    assert stored.id_number_masked.startswith("110105") and "*" in stored.id_number_masked
    assert form.id_number not in repr(stored)


def test_a_second_account_with_the_same_id_document_is_refused(repo) -> None:
    form = registration()
    register(repo, form, FixedClock()())
    with pytest.raises(IdNumberRegistered):
        register(repo, registration(id_number=form.id_number), FixedClock()())


def test_a_username_is_unique_regardless_of_case(repo) -> None:
    form = registration()
    register(repo, form, FixedClock()())
    with pytest.raises(UsernameTaken):
        register(repo, registration(username=form.username.upper()), FixedClock()())


def test_twenty_concurrent_registrations_with_one_id_make_exactly_one_account(repo) -> None:
    id_number = a_resident_id()

    def attempt(i: int) -> str:
        try:
            register(repo, registration(username=f"race_{secrets.token_hex(3)}_{i}", id_number=id_number),
                     FixedClock()())
            return "created"
        except IdNumberRegistered:
            return "refused"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(attempt, range(20)))
    assert outcomes.count("created") == 1
    assert outcomes.count("refused") == 19


def test_five_wrong_passwords_in_fifteen_minutes_lock_the_account_even_for_the_right_one(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    kwargs = {"store": repo, "hasher": PlainHasher(), "signer": deps.token_signer()}
    for _ in range(4):
        clock.advance(minutes=2)
        with pytest.raises(InvalidCredentials):
            accounts.login(form.username, "Wrong#2026", now=clock(), **kwargs)
    clock.advance(minutes=2)
    with pytest.raises(AccountLocked) as locked:
        accounts.login(form.username, "Wrong#2026", now=clock(), **kwargs)
    assert locked.value.retry_after_seconds == 15 * 60
    clock.advance(minutes=14)
    with pytest.raises(AccountLocked):
        accounts.login(form.username, form.password, now=clock(), **kwargs)
    clock.advance(minutes=1, seconds=1)
    assert accounts.login(form.username, form.password, now=clock(), **kwargs).user.username == form.username


def test_wrong_passwords_spread_over_more_than_fifteen_minutes_do_not_lock(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    kwargs = {"store": repo, "hasher": PlainHasher(), "signer": deps.token_signer()}
    for _ in range(8):
        clock.advance(minutes=4)
        with pytest.raises(InvalidCredentials):
            accounts.login(form.username, "Wrong#2026", now=clock(), **kwargs)
    assert accounts.login(form.username, form.password, now=clock(), **kwargs)


def test_a_logged_out_token_is_refused_at_once(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    session = accounts.login(form.username, form.password, store=repo, hasher=PlainHasher(),
                             signer=deps.token_signer(), now=clock())
    claims, _ = accounts.authenticate(session.access_token, store=repo, signer=deps.token_signer(), now=clock())
    accounts.logout(claims, store=repo)
    with pytest.raises(Unauthorized):
        accounts.authenticate(session.access_token, store=repo, signer=deps.token_signer(), now=clock())


def test_a_token_past_its_lifetime_is_refused(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    session = accounts.login(form.username, form.password, store=repo, hasher=PlainHasher(),
                             signer=deps.token_signer(), now=clock())
    clock.advance(seconds=session.expires_in)
    with pytest.raises(Unauthorized):
        accounts.authenticate(session.access_token, store=repo, signer=deps.token_signer(), now=clock())


def test_the_revocation_record_is_cleaned_up_by_ttl_when_the_token_would_expire(repo) -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    repo.revoke_token("jti-1", now + timedelta(hours=2))
    from chalicelib.models import RevokedTokenModel

    assert RevokedTokenModel.get("jti-1").expires_at == now + timedelta(hours=2)
