"""One-time codes (rule 1): 6 digits from a CSPRNG, valid 5 minutes, used once, void after 5
wrong tries, bound to a purpose, an account and a destination. Pure rules; the store keeps
only a keyed hash of each code."""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

CODE_LIFETIME = timedelta(minutes=5)
MAX_TRIES = 5
_CODE = re.compile(r"[0-9]{6}")


class Purpose(StrEnum):
    IDENTITY = "identity"
    RESET = "reset"
    CONTACT_PHONE = "contact_phone"
    CONTACT_EMAIL = "contact_email"


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def well_formed(code: str) -> bool:
    return bool(_CODE.fullmatch(code))


@dataclass(frozen=True)
class IssuedCode:
    """A code as stored: its keyed hash ("" when it went nowhere, so that nothing matches it),
    the keyed hash of where it went, its tries so far (each taken before it is compared, so that
    concurrent guesses cannot pass the limit) and when it stops being valid."""

    code_hash: str
    destination: str
    tries: int
    expires_at: datetime

    def live(self, destination: str, now: datetime) -> bool:
        """Whether a code given now for `destination` is tried against this one at all. A code
        that went nowhere is live like any other: it is tried, and counted, and never matches."""
        return (now < self.expires_at and self.tries < MAX_TRIES
                and hmac.compare_digest(self.destination.encode(), destination.encode()))

    def matches(self, code_hash: str) -> bool:
        """Constant time in the code: a wrong code and a right one cost the same comparison."""
        same = hmac.compare_digest(self.code_hash.encode(), code_hash.encode())
        return same and bool(self.code_hash) and bool(code_hash)


@dataclass(frozen=True)
class SendLimits:
    """How many codes may be sent (../shared/API.md): per destination and requesting account
    a minute and an hour, per destination a day, per client address an hour; and how many
    codes one destination may be tried with a day, for each purpose. Each is a setting."""

    per_minute: int = 1
    per_hour: int = 5
    per_day: int = 10
    per_client_hour: int = 20
    wrong_tries_per_day: int = 10


@dataclass(frozen=True)
class Allowance:
    """One limit to take a unit of: at most `limit` in the fixed window that `key` names
    (`gap` None), or at most one per `gap` (`limit` ignored). `expires_at`: when the record
    is of no more use."""

    key: str
    limit: int
    expires_at: datetime
    gap: timedelta | None = None
