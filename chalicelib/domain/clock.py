"""Time in one place: UTC instants everywhere, Beijing calendar dates derived here only."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def beijing_date(instant: datetime) -> date:
    """The calendar date in Beijing at `instant` (which must be timezone-aware)."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime")
    return instant.astimezone(BEIJING).date()


def iso(instant: datetime | None) -> str | None:
    """ISO 8601 in Beijing time with its offset, as the API shows times."""
    return None if instant is None else instant.astimezone(BEIJING).isoformat(timespec="seconds")


class OffsetClock:
    """UTC now, shifted by the number of seconds written in a file.

    Only the local stack sets this up (`--clock-file`), so that end-to-end tests can move
    the server's time forward (to see a copy expire) without waiting; in AWS the file is
    never configured and this is plain `utcnow()`.
    """

    def __init__(self, path: str | None) -> None:
        self._path = path

    def __call__(self) -> datetime:
        now = utcnow()
        if not self._path:
            return now
        try:
            with open(self._path, encoding="ascii") as f:
                return now + timedelta(seconds=float(f.read().strip() or 0))
        except (OSError, ValueError):
            return now
