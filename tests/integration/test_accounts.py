"""Accounts against DynamoDB on moto: usernames under races, the lockout per client and per
account, sessions (logout, logout everywhere, refresh), and accounts never proven."""

from __future__ import annotations

import contextlib
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

import pytest

from chalicelib import deps
from chalicelib.domain.errors import (
    AccountLocked,
    InvalidCredentials,
    RateLimited,
    Unauthorized,
    UsernameTaken,
    WrongPassword,
)
from chalicelib.domain.identity import resident_id_check_digit
from chalicelib.services import accounts
from tests.fakes import FixedClock, PlainHasher


def a_resident_id() -> str:
    """A valid resident ID, random in its birth date and sequence number: the session's tests share
    one moto, and holders must not collide (1,000 numbers were not enough)."""
    born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(365 * 40))
    first17 = f"110105{born:%Y%m%d}{secrets.randbelow(1000):03d}"
    return first17 + resident_id_check_digit(first17)


def registration(**overrides: str) -> accounts.Registration:
    fields = {"username": "u_" + secrets.token_hex(4), "password": "Secret#2026", "name": "王五",
              "id_type": "resident_id", "id_number": a_resident_id()}
    fields.update(overrides)
    return accounts.Registration(**fields)


def register(repo, form: accounts.Registration, now: datetime):  # type: ignore[no-untyped-def]
    return accounts.register(form, store=repo.accounts, hasher=PlainHasher(), id_hash=deps.id_hasher(), now=now)


def passwords(repo) -> accounts.Passwords:  # type: ignore[no-untyped-def]
    return accounts.Passwords(accounts=repo.accounts, attempts=repo.limits, hasher=PlainHasher())


def login(repo, form: accounts.Registration, now: datetime, password: str | None = None,  # type: ignore[no-untyped-def]
          client: str = "198.51.100.1") -> accounts.Session:
    return accounts.login(form.username, form.password if password is None else password, passwords=passwords(repo),
                          signer=deps.token_signer(), client=client, now=now)


def authenticate(repo, session: accounts.Session, now: datetime):  # type: ignore[no-untyped-def]
    return accounts.authenticate(session.access_token, store=repo.accounts, signer=deps.token_signer(), now=now)


def test_a_registered_holder_logs_in_unproven_and_the_token_names_them(repo) -> None:
    clock = FixedClock()
    form = registration()
    user = register(repo, form, clock())
    session = login(repo, form, clock())
    claims, caller = authenticate(repo, session, clock())
    assert claims.user_id == caller.user_id == user.user_id
    assert caller.holder_key is None and caller.notice_version is None  # no certificate until proven
    assert 0 < session.expires_in <= 7200
    stored = repo.accounts.user(user.user_id)
    assert stored.id_number_masked.startswith("110105") and "*" in stored.id_number_masked
    assert form.id_number not in repr(stored)


def test_any_number_of_accounts_may_name_one_id_document_before_one_proves_it(repo) -> None:
    id_number = a_resident_id()
    users = [register(repo, registration(id_number=id_number), FixedClock()()) for _ in range(3)]
    assert len({u.id_hash for u in users}) == 1 and len({u.user_id for u in users}) == 3


def test_a_username_is_unique_regardless_of_case_even_under_a_race(repo) -> None:
    form = registration()
    register(repo, form, FixedClock()())
    with pytest.raises(UsernameTaken):
        register(repo, registration(username=form.username.upper()), FixedClock()())
    name = "race_" + secrets.token_hex(4)

    def attempt(_: int) -> str:
        try:
            register(repo, registration(username=name), FixedClock()())
            return "created"
        except UsernameTaken:
            return "taken"

    with ThreadPoolExecutor(max_workers=10) as pool:
        assert sorted(pool.map(attempt, range(10))) == ["created"] + ["taken"] * 9


def test_an_account_never_proven_is_gone_after_thirty_days_and_its_username_free(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    clock.advance(days=29, hours=23)
    session = login(repo, form, clock())
    clock.advance(hours=1)
    with pytest.raises(Unauthorized):
        authenticate(repo, session, clock())  # the token has an hour left, the account none
    with pytest.raises(InvalidCredentials):
        login(repo, form, clock())
    again = register(repo, registration(username=form.username), clock())
    assert repo.accounts.user_by_username(form.username).user_id == again.user_id


def test_five_wrong_passwords_lock_that_client_out_but_not_the_holder_on_another(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    for left in (4, 3, 2, 1):
        clock.advance(minutes=2)
        with pytest.raises(InvalidCredentials) as wrong:
            login(repo, form, clock(), password="Wrong#2026", client="203.0.113.9")
        assert wrong.value.details == {"attempts_left": left}
    with pytest.raises(AccountLocked) as locked:
        login(repo, form, clock(), password="Wrong#2026", client="203.0.113.9")
    assert locked.value.retry_after_seconds == 15 * 60
    with pytest.raises(AccountLocked):
        login(repo, form, clock(), client="203.0.113.9")  # the right password too, from that client
    assert login(repo, form, clock(), client="198.51.100.7").user.username == form.username
    clock.advance(minutes=15, seconds=1)
    assert login(repo, form, clock(), client="203.0.113.9")


def test_twenty_wrong_passwords_from_many_clients_lock_the_account_for_everyone(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    for i in range(19):
        with pytest.raises(InvalidCredentials):
            login(repo, form, clock(), password="Wrong#2026", client=f"203.0.113.{i}")
    with pytest.raises(AccountLocked):
        login(repo, form, clock(), password="Wrong#2026", client="203.0.113.200")
    with pytest.raises(AccountLocked):
        login(repo, form, clock(), client="198.51.100.7")
    clock.advance(minutes=15, seconds=1)
    assert login(repo, form, clock(), client="198.51.100.7")


def test_concurrent_wrong_passwords_are_all_counted(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())

    def attempt(_: int) -> str:
        try:
            login(repo, form, clock(), password="Wrong#2026", client="203.0.113.50")
        except InvalidCredentials:
            return "wrong"
        except AccountLocked:
            return "locked"
        return "in"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(attempt, range(8)))
    assert "in" not in outcomes and outcomes.count("wrong") <= 4
    with pytest.raises(AccountLocked):
        login(repo, form, clock(), client="203.0.113.50")


class CountingHasher(PlainHasher):
    """Counts the passwords it compares, and holds each comparison until `together` of them are
    under way at once (as a slow Argon2 would keep them): so guesses sent together are compared
    together, unless the lockout keeps them from being compared at all."""

    def __init__(self, together: int) -> None:
        self.compared = 0
        self._lock = threading.Lock()
        self._together = threading.Barrier(together, timeout=10)

    def verify(self, stored: str | None, password: str) -> bool:
        with self._lock:
            self.compared += 1
        with contextlib.suppress(threading.BrokenBarrierError):
            self._together.wait()
        return super().verify(stored, password)


def test_thirty_guesses_sent_at_once_from_one_address_get_five_compared_and_the_rest_locked(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    hasher = CountingHasher(together=5)
    checker = accounts.Passwords(accounts=repo.accounts, attempts=repo.limits, hasher=hasher)

    def attempt(password: str) -> str:
        try:
            accounts.login(form.username, password, passwords=checker, signer=deps.token_signer(),
                           client="203.0.113.60", now=clock())
        except InvalidCredentials:
            return "wrong"
        except AccountLocked:
            return "locked"
        except RateLimited:
            return "busy"  # too many at once to be counted: refused, not compared
        return "in"

    guesses = [f"Guess#{i:04d}" for i in range(29)] + [form.password]
    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(attempt, guesses))
    assert hasher.compared <= 5 and outcomes.count("locked") + outcomes.count("busy") >= 25, outcomes
    if "in" not in outcomes:  # the right one was not among the five compared: it is locked out too
        with pytest.raises(AccountLocked):
            login(repo, form, clock(), client="203.0.113.60")


def test_a_wrong_current_password_counts_toward_the_lockout_too(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    session = login(repo, form, clock())
    claims, _ = authenticate(repo, session, clock())
    for _ in range(4):
        with pytest.raises(WrongPassword):
            accounts.change_password(claims, "Wrong#2026", "Newer#2026pw", passwords=passwords(repo),
                                     signer=deps.token_signer(), outbox=_NoOutbox(), client="203.0.113.77",
                                     now=clock())
    with pytest.raises(AccountLocked):
        login(repo, form, clock(), password="Wrong#2026", client="203.0.113.77")


class _NoOutbox:
    def send(self, message: object) -> None:
        raise AssertionError("nothing is sent for a wrong password")


def test_a_logged_out_token_is_refused_at_once(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    session = login(repo, form, clock())
    claims, _ = authenticate(repo, session, clock())
    accounts.logout(claims, store=repo.accounts)
    with pytest.raises(Unauthorized):
        authenticate(repo, session, clock())


def test_logging_out_everywhere_ends_every_session_of_the_account_and_no_other(repo) -> None:
    clock = FixedClock()
    form, other = registration(), registration()
    register(repo, form, clock())
    register(repo, other, clock())
    one, two, theirs = login(repo, form, clock()), login(repo, form, clock()), login(repo, other, clock())
    claims, _ = authenticate(repo, one, clock())
    accounts.logout_everywhere(claims, store=repo.accounts)
    for session in (one, two):
        with pytest.raises(Unauthorized):
            authenticate(repo, session, clock())
    assert authenticate(repo, theirs, clock())
    assert authenticate(repo, login(repo, form, clock()), clock())


def test_a_changed_password_ends_every_other_session_and_gives_a_working_one(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    here, elsewhere = login(repo, form, clock()), login(repo, form, clock())
    claims, _ = authenticate(repo, here, clock())
    fresh = accounts.change_password(claims, form.password, "Newer#2026pw", passwords=passwords(repo),
                                     signer=deps.token_signer(), outbox=_NoOutbox(), client="198.51.100.1",
                                     now=clock())
    for old in (here, elsewhere):
        with pytest.raises(Unauthorized):
            authenticate(repo, old, clock())
    assert authenticate(repo, fresh, clock())
    assert login(repo, form, clock(), password="Newer#2026pw")


def test_a_session_is_refreshed_but_never_beyond_twelve_hours_after_its_login(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    session = login(repo, form, clock())
    for _ in range(6):
        clock.advance(hours=1, minutes=55)
        claims, _ = authenticate(repo, session, clock())
        session = accounts.refresh(claims, store=repo.accounts, signer=deps.token_signer(), now=clock())
    clock.advance(hours=1)
    with pytest.raises(Unauthorized):
        authenticate(repo, session, clock())


def test_a_token_past_its_lifetime_is_refused(repo) -> None:
    clock = FixedClock()
    form = registration()
    register(repo, form, clock())
    session = login(repo, form, clock())
    clock.advance(seconds=session.expires_in)
    with pytest.raises(Unauthorized):
        authenticate(repo, session, clock())


def test_the_revocation_record_is_cleaned_up_by_ttl_when_the_token_would_expire(repo) -> None:
    now = datetime(2026, 11, 23, tzinfo=UTC)
    repo.accounts.revoke_token("jti-1", now + timedelta(hours=2))
    from chalicelib.models import RevokedTokenModel

    assert RevokedTokenModel.get("jti-1").expires_at == now + timedelta(hours=2)
