"""Verification (证书查验): what a copy verifies as, and the throttle that keeps the public
check from being an oracle for guessing codes."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from chalicelib.domain.annotations import Annotation, AnnotationStatus, retention_until
from chalicelib.domain.certificates import Certificate, CertificateKind


class VerificationResult(StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"
    REVOKED = "revoked"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"valid": "有效", "expired": "已过期", "withdrawn": "已撤回", "revoked": "已撤销",
                "cancelled": "已注销"}[self.value]


class DocumentKind(StrEnum):
    ANNOTATED_COPY = "annotated_copy"
    E_FILE = "e_file"


@dataclass(frozen=True)
class IssuedDocument:
    """A document the service issued and can be checked: an annotated copy, or the electronic
    file (证书电子文件) of an older certificate. `log_id` names the holder's log it goes into
    (the annotation's, or the certificate's)."""

    kind: DocumentKind
    certificate_id: str
    annotation: Annotation | None = None

    @classmethod
    def copy(cls, annotation: Annotation) -> IssuedDocument:
        return cls(DocumentKind.ANNOTATED_COPY, annotation.certificate_id, annotation)

    @classmethod
    def e_file(cls, certificate_id: str) -> IssuedDocument:
        return cls(DocumentKind.E_FILE, certificate_id)

    @property
    def log_id(self) -> str:
        return self.annotation.annotation_id if self.annotation is not None else self.certificate_id


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
        return standing(certificate)
    if status is AnnotationStatus.WITHDRAWN:
        return VerificationResult.WITHDRAWN
    if status is AnnotationStatus.EXPIRED:
        return VerificationResult.EXPIRED
    return VerificationResult.VALID


def standing(certificate: Certificate) -> VerificationResult:
    """What the certificate's own state makes of any document of it."""
    return VerificationResult(certificate.status.value)  # valid, cancelled, revoked: the same words


def verify_document(document: IssuedDocument, certificate: Certificate, now: datetime) -> VerificationResult | None:
    """A copy's standing (`verify`); an electronic file's is its certificate's state now."""
    if document.annotation is not None:
        return verify(document.annotation, certificate, now)
    return standing(certificate) if certificate.kind is CertificateKind.E_FILE else None


# A check of an electronic file stays in its holder's log this long (a copy's, as long as the copy).
FILE_LOG_KEPT = timedelta(days=365)


def log_kept_until(document: IssuedDocument, at: datetime) -> datetime:
    if document.annotation is not None:
        return retention_until(document.annotation.applied_at, document.annotation.valid_until)
    return at + FILE_LOG_KEPT


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

def log_once_key(log_id: str, client: str, window: ThrottleWindow) -> str:
    """The key that lets one client's checks of one document into the holder's log once a window,
    whatever the channel. A digest: the marker it names is kept beside the throttle's counters
    (for two windows), and there it names neither the client nor the copy."""
    digest = hashlib.sha256(f"{log_id}\n{client}\n{window.key_suffix}".encode()).hexdigest()
    return f"verify-log#{digest}"
