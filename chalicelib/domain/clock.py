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

