"""The render worker's use case: turn a pending annotation into a ready, stored copy.

Safe to run twice, or concurrently: the first attempt fixes the render time and the
verification code on the annotation, and the first upload wins. A signed copy's bytes differ
from one render to the next (its timestamp), so no attempt relies on rendering what another
uploaded: the file goes to S3 only if nothing is under its key yet (a conditional PUT), an
attempt that finds a file there (a redelivery after a crash between upload and transition, or
a concurrent attempt that uploaded first) takes that file's hash instead of its own, and the
hash is written with the one conditional update that moves the annotation to ready. So the
annotation's `file_sha256` is always the stored file's, and no second, different file is
ever stored under the key.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from chalicelib import observability
from chalicelib.content import scenario_named
from chalicelib.domain.annotations import (
    Annotation,
    CopyLanguage,
    annotation_number,
    format_code,
    new_verification_code,
    retention_until,
    valid_until,
)
from chalicelib.domain.certificates import Certificate
from chalicelib.domain.clock import beijing_date
from chalicelib.domain.errors import RenderError
from chalicelib.storage import annotation_key

log = logging.getLogger(__name__)


class RenderStore(Protocol):
    def annotation(self, annotation_id: str) -> Annotation | None: ...
    def claim_render(self, annotation_id: str, now: datetime, code: str) -> Annotation | None: ...
    def mark_ready(self, annotation_id: str, code: str, *, ready_at: datetime, valid_until: datetime,
                   annotation_no: str, sha256: str, file_key: str, expires_at: datetime) -> bool: ...
    def mark_failed(self, annotation: Annotation, reason: str) -> bool: ...


class CertificateLookup(Protocol):
    def certificate(self, certificate_id: str) -> Certificate | None: ...


class PdfStore(Protocol):
    def put_pdf_once(self, key: str, data: bytes, sha256_hex: str) -> str:
        """Store `data` unless a file is under `key` already; the stored file's SHA-256 either way."""
        ...

    def stored_sha256(self, key: str) -> str | None: ...


@dataclass(frozen=True)
class CopyFacts:
    """Everything printed on an annotated copy."""

    certificate: Certificate
    annotation_no: str
    scenario_name: str
    ready_at: datetime
    valid_until: datetime
    verification_code: str
    verify_url: str
    language: CopyLanguage = CopyLanguage.ZH
    scenario_name_en: str = ""


Renderer = Callable[[CopyFacts], bytes]


class Outcome(StrEnum):
    READY = "ready"
    ALREADY_DONE = "already_done"
    FAILED = "failed"


def render_annotation(annotation_id: str, *, store: RenderStore, certificates: CertificateLookup,
                      files: PdfStore, renderer: Renderer, verify_url: Callable[[str], str],
                      now: datetime) -> Outcome:
    claimed = store.claim_render(annotation_id, now, new_verification_code())
    if claimed is None:
        return Outcome.ALREADY_DONE  # ready, failed or withdrawn already: nothing to do
    cert = certificates.certificate(claimed.certificate_id)
    if cert is None or not cert.is_valid:
        store.mark_failed(claimed, "certificate is no longer valid")
        return Outcome.FAILED
    assert claimed.render_started_at is not None and claimed.verification_code is not None
    ready_at = claimed.render_started_at
    until = valid_until(ready_at, claimed.validity_days)
    scenario = scenario_named(claimed.scenario)
    facts = CopyFacts(
        certificate=cert, annotation_no=annotation_number(beijing_date(ready_at), claimed.annotation_id),
        scenario_name=scenario.name if scenario else claimed.scenario, ready_at=ready_at, valid_until=until,
        verification_code=format_code(claimed.verification_code),
        verify_url=verify_url(claimed.verification_code), language=claimed.language,
        scenario_name_en=scenario.name_en if scenario else "")
    key = annotation_key(annotation_id)
    # An earlier attempt fixed the render time (this one did not): it may have uploaded before
    # it died. Its file is the copy, whatever this attempt would render (and the TSA need not
    # be up for the copy to become ready).
    sha256 = files.stored_sha256(key) if claimed.render_started_at != now else None
    if sha256 is None:
        started = time.perf_counter()
        try:
            pdf = renderer(facts)
        except RenderError as e:
            # Retrying cannot help a character the font lacks: fail now, give the slot back.
            log.warning("render refused for %s: %s", annotation_id, e.message)
            store.mark_failed(claimed, e.message)
            observability.count("AnnotationsFailed")
            return Outcome.FAILED
        # Anything else (the TSA or a CRL out of reach, the signing material missing) is raised:
        # the message returns to the queue, and only the last receive fails the copy.
        observability.milliseconds("RenderMilliseconds", (time.perf_counter() - started) * 1000)
        sha256 = files.put_pdf_once(key, pdf, hashlib.sha256(pdf).hexdigest())
    moved = store.mark_ready(annotation_id, claimed.verification_code, ready_at=ready_at, valid_until=until,
                             annotation_no=facts.annotation_no, sha256=sha256, file_key=key,
                             expires_at=retention_until(claimed.applied_at, until))
    if moved:
        observability.count("AnnotationsReady")
    return Outcome.READY if moved else Outcome.ALREADY_DONE


def give_up(annotation_id: str, reason: str, *, store: RenderStore) -> bool:
    """After the last retry: the annotation fails and its quota slot is given back."""
    annotation = store.annotation(annotation_id)
    failed = annotation is not None and store.mark_failed(annotation, reason)
    if failed:
        observability.count("AnnotationsFailed")
    return failed


@dataclass(frozen=True)
class RenderMessage:
    message_id: str
    body: str
    receive_count: int


def process_batch(messages: list[RenderMessage], *, max_receives: int, render_one: Callable[[str], Outcome],
                  render_file: Callable[[str], Outcome], store: RenderStore) -> list[str]:
    """Render each message's annotation copy (`{"annotation_id"}`) or electronic file
    (`{"certificate_id"}`, services.efiles); return the IDs of the messages that failed, so
    that only they return to the queue (SQS partial batch response)."""
    import json

    failed: list[str] = []
    for message in messages:
        try:
            body = json.loads(message.body)
            annotation_id = body.get("annotation_id")
            subject = str(annotation_id or body["certificate_id"])
        except (ValueError, KeyError, TypeError, AttributeError):
            log.error("dropping malformed render message %s", message.message_id)
            continue
        observability.correlate(subject)
        try:
            (render_one if annotation_id else render_file)(subject)
        except Exception:
            log.exception("render of %s failed (receive %s of %s)", subject, message.receive_count, max_receives)
            if annotation_id and message.receive_count >= max_receives:
                give_up(subject, "render failed after retries", store=store)
            failed.append(message.message_id)
    return failed
