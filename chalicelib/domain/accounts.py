"""Holder accounts: the user record, sessions, and the windows of failed attempts that lock
a login, a proof or a code for a while (never for good: every window ends within a day)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


@dataclass(frozen=True)
class AttemptLimit:
    """`failures` within `window` of the first one lock for `lockout`."""

    failures: int
    window: timedelta
    lockout: timedelta


# Wrong passwords from one client address for one account; from all clients together (spread-out
# guessing); failed certificate-number proofs of one ID document, across all accounts.
LOGIN_PER_CLIENT = AttemptLimit(5, timedelta(minutes=15), timedelta(minutes=15))
LOGIN_PER_ACCOUNT = AttemptLimit(20, timedelta(minutes=15), timedelta(minutes=15))
CERTIFICATE_PROOFS = AttemptLimit(5, timedelta(hours=24), timedelta(hours=24))

# Accounts never proven are removed this long after they were made (rule 1).
UNPROVEN_ACCOUNT_LIFETIME = timedelta(days=30)
# No session outlives this, however often its token is refreshed.
SESSION_LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Attempts:
    """Failed attempts counted since `window_start`, and a lock while one is on."""

    failures: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None

    def retry_after(self, now: datetime) -> int | None:
        """Seconds until the lock ends, or None when there is none."""
        if self.locked_until is None or self.locked_until <= now:
            return None
        return max(1, math.ceil((self.locked_until - now).total_seconds()))

    def counted(self, limit: AttemptLimit, now: datetime) -> int:
        """Failures that still count at `now`."""
        if self.window_start is None or now - self.window_start > limit.window:
            return 0
        return self.failures

    def left(self, limit: AttemptLimit, now: datetime) -> int:
        return 0 if self.retry_after(now) else max(0, limit.failures - self.counted(limit, now))

    def after_failure(self, limit: AttemptLimit, now: datetime) -> Attempts:
        """One more failure; the limit's failures within its window start a lock."""
        counted = self.counted(limit, now)
        start = self.window_start if counted and self.window_start else now
        failures = counted + 1
        if failures >= limit.failures:
            return Attempts(failures=failures, window_start=start, locked_until=now + limit.lockout)
        return Attempts(failures=failures, window_start=start)

    def undone(self, limit: AttemptLimit) -> Attempts:
        """The last failure taken back (it was counted before the password was checked, and the
        password was right); a lock it alone started ends with it."""
        failures = max(0, self.failures - 1)
        return Attempts(failures=failures, window_start=self.window_start if failures else None,
                        locked_until=self.locked_until if failures >= limit.failures else None)


class ProofMethod(StrEnum):
    """How an account proved that it holds its ID document (身份核验)."""

    SMS = "sms"
    CERTIFICATE_NO = "certificate_no"


@dataclass(frozen=True)
class User:
    user_id: str
    username: str
    name: str
    id_type: str
    id_hash: str
    id_number_masked: str
    phone: str | None
    email: str | None
    password_hash: str
    notice_version: str | None
    guard: Attempts
    created_at: datetime
    phone_verified: bool = False
    email_verified: bool = False
    # Set while the account holds its ID document; cleared when another account takes it.
    proof: ProofMethod | None = None
    ever_proven: bool = False
    # Bumped to end every session at once (logout everywhere, reset, take-over); tokens carry it.
    generation: int = 0
    version: int | None = None

    @property
    def proven(self) -> bool:
        return self.proof is not None

    def expired(self, now: datetime) -> bool:
        """A never-proven account older than 30 days no longer exists, whether or not DynamoDB's
        TTL has removed it yet."""
        return not self.ever_proven and now >= self.created_at + UNPROVEN_ACCOUNT_LIFETIME

    @property
    def verified_phone(self) -> str | None:
        return self.phone if self.phone_verified else None

    @property
    def verified_email(self) -> str | None:
        return self.email if self.email_verified else None


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the authorizer read it from the account for this very request: the
    account, the holder key (the keyed hash of its ID document) when the account has proven
    that it holds it, and the notice version it accepted. Enough for every certificate route,
    so those need not read the account again."""

    user_id: str
    holder_key: str | None
    notice_version: str | None
    # The keyed hash of the ID document the account names, proven or not.
    id_document: str = ""


@dataclass(frozen=True)
class Contacts:
    """Where messages to the holder go: the verified phone and e-mail only."""

    phone: str | None = None
    email: str | None = None

    @classmethod
    def of(cls, user: User) -> Contacts:
        return cls(phone=user.verified_phone, email=user.verified_email)

    def __bool__(self) -> bool:
        return bool(self.phone or self.email)

    def one(self) -> Contacts:
        """Where a reminder goes: one message, by e-mail when there is a verified one (an SMS
        costs some fifty times as much: README, "Cost per copy"), else by SMS. What the holder
        must know at once (a new sign-in address, a take-over) still goes to every contact."""
        return Contacts(email=self.email) if self.email else Contacts(phone=self.phone)


@dataclass(frozen=True)
class IdDocument:
    """What the service holds about one ID document beyond its certificates: the phone the
    issuing authority has on record for it, and the one proven account that holds it."""

    holder_key: str
    user_id: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class SessionState:
    """What the authorizer reads about a token's account in its one request."""

    caller: Caller
    generation: int
