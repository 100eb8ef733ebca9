"""Holder accounts: the user record and the login lockout rule."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = timedelta(minutes=15)
LOCKOUT = timedelta(minutes=15)


@dataclass(frozen=True)
class LoginGuard:
    """Wrong-password bookkeeping: `failures` counted since `window_start`."""

    failures: int = 0
    window_start: datetime | None = None
    locked_until: datetime | None = None

    def retry_after(self, now: datetime) -> int | None:
        """Seconds until the account unlocks, or None when it is not locked."""
        if self.locked_until is None or self.locked_until <= now:
            return None
        return max(1, math.ceil((self.locked_until - now).total_seconds()))

    def after_failure(self, now: datetime) -> LoginGuard:
        """Five wrong passwords within 15 minutes lock the account for 15 minutes."""
        if self.window_start is None or now - self.window_start > FAILED_LOGIN_WINDOW:
            fresh = LoginGuard(failures=1, window_start=now)
        else:
            fresh = replace(self, failures=self.failures + 1, locked_until=None)
        if fresh.failures >= MAX_FAILED_LOGINS:
            return LoginGuard(failures=0, window_start=None, locked_until=now + LOCKOUT)
        return fresh

    @property
    def is_clean(self) -> bool:
        return self.failures == 0 and self.locked_until is None


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
    guard: LoginGuard
    created_at: datetime
    version: int | None = None


@dataclass(frozen=True)
class Caller:
    """Who is asking, as the authorizer read it from the account for this very request: the
    account, its holder key (the keyed hash of its ID document) and the notice version it
    accepted. Enough for every certificate route, so those need not read the account again."""

    user_id: str
    holder_key: str
    notice_version: str | None
