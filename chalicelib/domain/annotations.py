"""Annotations (加注): their states, the 3-in-90-days quota, validity and expiry.

Everything here is pure: the current time comes in as `now`, Beijing dates come from
`clock.beijing_date`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from chalicelib.domain.errors import InvalidRequest, InvalidValidity
from chalicelib.domain.text import Text

QUOTA_LIMIT = 3
QUOTA_WINDOW_DAYS = 90
MAX_VALIDITY_DAYS = 90
DEFAULT_VALIDITY_DAYS = 90
# Records stay at least this long after the application, whatever their validity.
RETENTION_AFTER_APPLYING = timedelta(days=90)

# 32 characters without the look-alikes 0/O and 1/I: 16 of them carry 80 random bits.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16


class AnnotationStatus(StrEnum):
    PENDING = "pending"
    READY = "ready"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    FAILED = "failed"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    AnnotationStatus.PENDING: "证书生成中…",
    AnnotationStatus.READY: "已完成",
    AnnotationStatus.EXPIRED: "加注件已过期",
    AnnotationStatus.WITHDRAWN: "已撤回",
    AnnotationStatus.FAILED: "生成失败",
}


class CopyLanguage(StrEnum):
    """The language of an annotated copy: Chinese, or Chinese with English labels and an English
    annotation block (中英文)."""

    ZH = "zh"
    ZH_EN = "zh-en"


def parse_copy_language(value: object) -> CopyLanguage:
    """`zh` or `zh-en`; missing means `zh`."""
    if value is None:
        return CopyLanguage.ZH
    try:
        return CopyLanguage(value) if isinstance(value, str) else CopyLanguage("")
    except ValueError:
        allowed = [c.value for c in CopyLanguage]
        raise InvalidRequest(Text("language 须为 zh（中文）或 zh-en（中英文）",
                                  "language must be zh (Chinese) or zh-en (Chinese and English)"),
                             details={"field": "language", "allowed": allowed}) from None


@dataclass(frozen=True)
class Annotation:
    annotation_id: str
    certificate_id: str
    holder_key: str
    scenario: str
    validity_days: int
    # What is stored: pending, ready, withdrawn or failed. Expiry is never stored; it is
    # decided from `valid_until` at each request (see `status_at`).
    stored_status: AnnotationStatus
    applied_at: datetime
    quota_slot: int
    ready_at: datetime | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    annotation_no: str | None = None
    verification_code: str | None = None
    file_sha256: str | None = None
    file_key: str | None = None
    withdrawn_at: datetime | None = None
    failed_reason: str | None = None
    render_started_at: datetime | None = None
    verification_count: int = 0
    # The account that applied for it (None for copies made before accounts had to prove).
    account_id: str | None = None
    language: CopyLanguage = CopyLanguage.ZH

    def status_at(self, now: datetime) -> AnnotationStatus:
        if self.stored_status is AnnotationStatus.READY and self.valid_until is not None \
                and now >= self.valid_until:
            return AnnotationStatus.EXPIRED
        return self.stored_status


def parse_validity(value: object) -> int:
    """Whole days from 1 to 90; missing means the recommended 90."""
    if value is None:
        return DEFAULT_VALIDITY_DAYS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_VALIDITY_DAYS:
        raise InvalidValidity(details={"field": "validity_days", "min": 1, "max": MAX_VALIDITY_DAYS})
    return value


def valid_until(ready_at: datetime, validity_days: int) -> datetime:
    """Validity runs from the moment the copy is ready, for `validity_days` × 24 hours."""
    return ready_at + timedelta(days=validity_days)


def retention_until(applied_at: datetime, until: datetime | None) -> datetime:
    """When clean-up (DynamoDB TTL, S3 lifecycle) may remove the record: never before the
    copy expires, nor before 90 days after applying (it counts toward the quota that long)."""
    floor = applied_at + RETENTION_AFTER_APPLYING
    return max(floor, until) if until is not None else floor


# --- the quota --------------------------------------------------------------------------------

@dataclass(frozen=True)
class QuotaSlot:
    """One of a certificate's `QUOTA_LIMIT` slots, held by the latest annotation put in it."""

    slot: int
    annotation_id: str
    applied_on: date

    @property
    def counts_until(self) -> date:
        return counts_until(self.applied_on)


def counts_until(applied_on: date) -> date:
    """The last Beijing date on which an annotation applied on `applied_on` counts.

    Counting back 90 days from the day of application with both ends included means an
    annotation applied on day D counts for applications on D … D+89.
    """
    return applied_on + timedelta(days=QUOTA_WINDOW_DAYS - 1)


@dataclass(frozen=True)
class Quota:
    limit: int
    window_days: int
    used: int
    next_available_on: date | None


def quota(slots: Iterable[QuotaSlot], today: date) -> Quota:
    counting = sorted(s.counts_until for s in slots if s.counts_until >= today)
    used = min(len(counting), QUOTA_LIMIT)
    next_on = counting[0] + timedelta(days=1) if used >= QUOTA_LIMIT else None
    return Quota(limit=QUOTA_LIMIT, window_days=QUOTA_WINDOW_DAYS, used=used, next_available_on=next_on)


def free_slot(slots: Iterable[QuotaSlot], today: date) -> int | None:
    """A slot an application on `today` may take, or None when the quota is used up.

    A slot is free when it was never used or its annotation no longer counts; a failed
    annotation gives its slot back by emptying it.
    """
    taken = {s.slot for s in slots if s.counts_until >= today}
    return next((i for i in range(QUOTA_LIMIT) if i not in taken), None)


# --- identifiers -------------------------------------------------------------------------------

def new_annotation_id() -> str:
    return "a" + secrets.token_hex(12)


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(raw: str) -> str | None:
    """A code as people type it (any case, with spaces or dashes) in canonical form, or
    None when it cannot be one of ours."""
    text = "".join(ch for ch in raw.upper() if ch not in " -")
    if len(text) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in text):
        return None
    return text


def format_code(code: str) -> str:
    """Grouped for reading aloud: XXXX-XXXX-XXXX-XXXX."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def annotation_number(ready_on: date, annotation_id: str) -> str:
    """Printed on the copy: the date it was made and a part of its ID, e.g. JZ20261123-5F3A9C1E."""
    return f"JZ{ready_on:%Y%m%d}-{annotation_id[1:9].upper()}"
