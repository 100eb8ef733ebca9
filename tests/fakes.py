"""Hand-written fakes for our own seams (no mock objects of our own code)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


class PlainHasher:
    """Stands in for Argon2 where a test is about something else: fast and obvious."""

    def hash(self, password: str) -> str:
        return "plain$" + password

    def verify(self, stored: str | None, password: str) -> bool:
        return stored is not None and stored == "plain$" + password
