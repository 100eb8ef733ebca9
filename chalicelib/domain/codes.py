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
MAX_WRONG_TRIES = 5
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
    the keyed hash of where it went, its wrong tries and when it stops being valid."""

    code_hash: str
    destination: str
    wrong_tries: int
    expires_at: datetime

    def accepts(self, code_hash: str, destination: str, now: datetime) -> bool:
        """Constant time in the code: a wrong code and a right one cost the same comparison."""
        live = now < self.expires_at and self.wrong_tries < MAX_WRONG_TRIES and bool(self.code_hash)
        same = hmac.compare_digest(self.code_hash.encode(), code_hash.encode())
        return live and same and hmac.compare_digest(self.destination.encode(), destination.encode())


@dataclass(frozen=True)
class SendLimits:
    """How many codes may be sent (../shared/API.md): per destination and requesting account
    a minute and an hour, per destination a day, per client address an hour; and how many
    wrong codes one destination may see a day. Each is a setting."""

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
