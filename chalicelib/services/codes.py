"""Sending and checking one-time codes, within the send limits of ../shared/API.md.

A code is bound to its purpose, the account that asked for it and its destination: it is
stored as a keyed hash of all four, under one key per purpose and account (a resend replaces
it). A request whose destination is nowhere (no phone on record, no such account) does the
same work and answers the same, but nothing is sent and no code can match it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.domain.clock import BEIJING, beijing_date
from chalicelib.domain.codes import (
    CODE_LIFETIME,
    Allowance,
    IssuedCode,
    Purpose,
    SendLimits,
    new_code,
    well_formed,
)
from chalicelib.domain.errors import ConcurrentUpdate, InvalidCode, RateLimited
from chalicelib.notify import Message


class LimitStore(Protocol):
    def take(self, allowances: list[Allowance], now: datetime,
             code: tuple[str, IssuedCode] | None = None) -> Allowance | None: ...
    def last_at(self, key: str) -> datetime | None: ...
    def count(self, key: str, limit: int, expires_at: datetime) -> bool: ...
    def code(self, key: str) -> IssuedCode | None: ...
    def try_code(self, key: str, code_hash: str) -> bool: ...
    def use_code(self, key: str, code_hash: str) -> bool: ...


class Outbox(Protocol):
    def send(self, message: Message) -> None: ...


class Digest(Protocol):
    def of(self, text: str) -> str: ...


@dataclass(frozen=True)
class Destination:
    """Where a code goes: `channel` "sms" or "email" and its address, or nowhere (`address`
    None); `nowhere` then names what was asked for, so that its limits still apply."""

    channel: str
    address: str | None
    nowhere: str = ""


@dataclass(frozen=True)
class Codes:
    store: LimitStore
    outbox: Outbox
    digest: Digest
    limits: SendLimits

    def send(self, purpose: Purpose, account: str, to: Destination, *, client: str, now: datetime,
             subject: str, text: Callable[[str], str]) -> None:
        """Send a new code (voiding the last) if every send limit allows; RateLimited otherwise."""
        destination = self._destination(to)
        code = new_code()
        issued = IssuedCode(code_hash=self._hash(purpose, account, destination, code) if to.address else "",
                            destination=destination, tries=0, expires_at=now + CODE_LIFETIME)
        try:
            refused = self.store.take(self._allowances(destination, account, client, now), now,
                                      code=(_key(purpose, account), issued))
        except ConcurrentUpdate as e:  # two requests for one code at the same moment: one is told to wait
            raise RateLimited(1) from e
        if refused is not None:
            raise RateLimited(self._seconds_until(refused, now))
        self.outbox.send(Message(channel=to.channel, to=to.address, subject=subject, text=text(code),
                                 expires_at=issued.expires_at))

    def check(self, purpose: Purpose, account: str, to: Destination, code: str, *, now: datetime) -> str:
        """The stored hash of the right code (for `use`); InvalidCode for a wrong, expired, used or
        elsewhere-sent one, RateLimited once codes of this purpose to this destination were tried
        too often today.

        Only a try against a live code counts, and each is taken before the code is compared: so
        concurrent guesses cannot pass the limits, a stranger cannot use up a destination's tries
        without codes being sent to it, and the counts of one purpose tell nothing to another
        (a count shared by identity codes and resets would tell which destination a reset uses).
        """
        destination = self._destination(to)
        key = _key(purpose, account)
        stored = self.store.code(key)
        if stored is None or not stored.live(destination, now) or not self.store.try_code(key, stored.code_hash):
            raise InvalidCode()
        today = f"tries#{purpose.value}#{destination}#{_beijing_day(now)}"
        if not self.store.count(today, self.limits.wrong_tries_per_day, now + timedelta(days=2)):
            raise RateLimited(_seconds_until_next_day(now))
        given = self._hash(purpose, account, destination, code) if well_formed(code) else ""
        if not stored.matches(given):
            raise InvalidCode()
        return given

    def use(self, purpose: Purpose, account: str, code_hash: str) -> None:
        """Take a checked code away; of concurrent users of one code exactly one gets past this."""
        if not self.store.use_code(_key(purpose, account), code_hash):
            raise InvalidCode()

    def _seconds_until(self, refused: Allowance, now: datetime) -> int:
        """How long until the refused allowance has room again."""
        if refused.gap is not None:
            last = self.store.last_at(refused.key) or now
            return max(1, math.ceil((last + refused.gap - now).total_seconds()))
        if refused.key.endswith(_beijing_day(now)):
            return _seconds_until_next_day(now)
        next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        return max(1, int((next_hour - now).total_seconds()))

    def _destination(self, to: Destination) -> str:
        """The keyed hash codes and limits know a destination by: an e-mail address regardless of
        case (`Li@` and `li@` are one mailbox to the limits)."""
        if not to.address:
            return self.digest.of(f"nowhere:{to.nowhere}")
        address = to.address.lower() if to.channel == "email" else to.address
        return self.digest.of(f"{to.channel}:{address}")

    def _hash(self, purpose: Purpose, account: str, destination: str, code: str) -> str:
        return self.digest.of(f"code:{purpose.value}:{account}:{destination}:{code}")

    def _allowances(self, destination: str, account: str, client: str, now: datetime) -> list[Allowance]:
        hour, day = f"{now:%Y%m%d%H}", _beijing_day(now)
        keep = now + timedelta(days=2)
        return [
            Allowance(f"sent#{destination}#{account}", 1, keep, gap=timedelta(minutes=1) / self.limits.per_minute),
            Allowance(f"sent#{destination}#{account}#{hour}", self.limits.per_hour, keep),
            Allowance(f"sent#{destination}#{day}", self.limits.per_day, keep),
            Allowance(f"sent#client#{client}#{hour}", self.limits.per_client_hour, keep),
        ]


def _key(purpose: Purpose, account: str) -> str:
    return f"{purpose.value}#{account}"


def _beijing_day(now: datetime) -> str:
    return beijing_date(now).isoformat()


def _seconds_until_next_day(now: datetime) -> int:
    local = now.astimezone(BEIJING)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((midnight - local).total_seconds()))
