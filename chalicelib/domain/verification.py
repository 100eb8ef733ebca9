"""Verification (证书查验): what a copy verifies as, and the throttle that keeps the public
check from being an oracle for guessing codes."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chalicelib.domain.annotations import Annotation, AnnotationStatus
from chalicelib.domain.certificates import Certificate


class VerificationResult(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return {"valid": "有效", "expired": "已过期", "withdrawn": "已撤回", "revoked": "已撤销"}[self.value]


class Channel(StrEnum):
    CODE = "code"
    FILE = "file"
    BATCH = "batch"


@dataclass(frozen=True)
class VerificationRecord:
    """One entry of the holder's log: when, how, and with what result. Nothing about the
    verifier is kept."""

    at: datetime
    channel: Channel
    result: VerificationResult


def verify(annotation: Annotation, certificate: Certificate, now: datetime) -> VerificationResult | None:
    """The copy's standing at `now`, or None when it was never issued (pending, failed).

    The certificate's state is read at this moment, so a revocation or cancellation
    takes effect on the next check; it outranks the annotation's own state.
    """
    status = annotation.status_at(now)
    if status in (AnnotationStatus.PENDING, AnnotationStatus.FAILED):
        return None
    if not certificate.is_valid:
        return VerificationResult.REVOKED
    if status is AnnotationStatus.WITHDRAWN:
        return VerificationResult.WITHDRAWN
    if status is AnnotationStatus.EXPIRED:
        return VerificationResult.EXPIRED
    return VerificationResult.VALID


# --- throttling ------------------------------------------------------------------------------

# Misses (codes or files that match nothing) one client may make per window. Checks that
# find a copy do not count, so an employer checking many real copies is never held up.
MISS_LIMIT = 20
WINDOW = timedelta(minutes=1)


@dataclass(frozen=True)
class ThrottleWindow:
    start: datetime

    @property
    def key_suffix(self) -> str:
        return self.start.strftime("%Y%m%dT%H%M")

    @property
    def end(self) -> datetime:
        return self.start + WINDOW

    def retry_after(self, now: datetime) -> int:
        return max(1, math.ceil((self.end - now).total_seconds()))


def window_at(now: datetime) -> ThrottleWindow:
    return ThrottleWindow(now.replace(second=0, microsecond=0))


def over_limit(misses: int) -> bool:
    return misses >= MISS_LIMIT


# --- the holder's log --------------------------------------------------------------------------

def log_once_key(annotation_id: str, client: str, window: ThrottleWindow) -> str:
    """The key that lets one client's checks of one copy into the holder's log once a window,
    whatever the channel. A digest: the marker it names is kept beside the throttle's counters
    (for two windows), and there it names neither the client nor the copy."""
    digest = hashlib.sha256(f"{annotation_id}\n{client}\n{window.key_suffix}".encode()).hexdigest()
    return f"verify-log#{digest}"
