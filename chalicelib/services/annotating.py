"""Applying for an annotation, following it, fetching its file, withdrawing it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib import observability
from chalicelib.content import scenario_named
from chalicelib.domain.annotations import (
    Annotation,
    AnnotationStatus,
    Quota,
    format_code,
    free_slot,
    new_annotation_id,
    parse_copy_language,
    parse_validity,
    quota,
)
from chalicelib.domain.certificates import Certificate, CertificateKind
from chalicelib.domain.clock import beijing_date, iso
from chalicelib.domain.errors import (
    AnnotationExpired,
    AnnotationFailed,
    AnnotationNotReady,
    AnnotationNotRequired,
    AnnotationPending,
    AnnotationQuotaExceeded,
    AnnotationWithdrawn,
    CertificateNotValid,
    ConcurrentUpdate,
    InvalidScenario,
    NotFound,
)
from chalicelib.domain.text import Text


class AnnotationStore(Protocol):
    def certificate(self, certificate_id: str) -> Certificate | None: ...
    def create_annotation(self, annotation: Annotation, today: date) -> None: ...
    def annotation(self, annotation_id: str) -> Annotation | None: ...
    def annotations_of(self, certificate_id: str, limit: int | None = None) -> list[Annotation]: ...
    def annotations_by_id(self, annotation_ids: list[str]) -> dict[str, Annotation]: ...
    def mark_failed(self, annotation: Annotation, reason: str) -> bool: ...
    def withdraw(self, annotation_id: str, now: datetime) -> Annotation | None: ...


class Queue(Protocol):
    def send(self, annotation_id: str) -> None: ...


class Files(Protocol):
    def presigned_pdf(self, key: str, *, disposition: str, filename: str, now: datetime,
                      not_after: datetime | None = None) -> tuple[str, datetime]: ...


MAX_CLAIM_ATTEMPTS = 8


def apply(cert: Certificate, body: dict[str, Any], *, account_id: str, store: AnnotationStore, queue: Queue,
          now: datetime) -> Annotation:
    """Rule 5: a valid e-certificate, a known scenario, 1-90 days, at most 3 in 90 days.

    `cert` was read with its quota slots; the claim is conditional on them, so a race lost
    (or a certificate revoked meanwhile) reads the certificate again and looks again.
    """
    if cert.kind is not CertificateKind.E_CERTIFICATE:
        raise AnnotationNotRequired()
    scenario = scenario_named(str(body.get("scenario", "")))
    if scenario is None:
        raise InvalidScenario(details={"field": "scenario"})
    validity_days = parse_validity(body.get("validity_days"))
    language = parse_copy_language(body.get("language"))
    today = beijing_date(now)
    for _ in range(MAX_CLAIM_ATTEMPTS):
        if not cert.is_valid:
            raise CertificateNotValid()
        slot = free_slot(cert.quota_slots, today)
        if slot is None:
            q = quota(cert.quota_slots, today)
            next_on = q.next_available_on.isoformat() if q.next_available_on else None
            raise AnnotationQuotaExceeded(
                Text(f"90 日内同一证书最多可申请 3 次加注，{next_on} 起可再次申请",
                     f"A certificate can be annotated at most 3 times in 90 days; apply again from {next_on}"),
                details={"next_available_on": next_on})
        annotation = Annotation(
            annotation_id=new_annotation_id(), certificate_id=cert.certificate_id, holder_key=cert.holder_key,
            scenario=scenario.code, validity_days=validity_days, stored_status=AnnotationStatus.PENDING,
            applied_at=now, quota_slot=slot, account_id=account_id, language=language)
        try:
            store.create_annotation(annotation, today)
        except ConcurrentUpdate:
            fresh = store.certificate(cert.certificate_id)
            if fresh is None or fresh.holder_key != cert.holder_key:
                raise NotFound(Text("未找到该证书", "Certificate not found")) from None
            cert = fresh
            continue
        _queue_or_give_back(annotation, store=store, queue=queue)
        observability.count("AnnotationsRequested")
        return annotation
    raise ConcurrentUpdate("too many concurrent applications")


def _queue_or_give_back(annotation: Annotation, *, store: AnnotationStore, queue: Queue) -> None:
    """An annotation must never wait forever for a job that was never queued: if the
    queue cannot be reached, the application is undone (failed, its slot given back)."""
    try:
        queue.send(annotation.annotation_id)
    except Exception:
        store.mark_failed(annotation, "render job could not be queued")
        raise


def owned_annotation(annotation_id: str, holder_key: str, *, store: AnnotationStore) -> Annotation:
    annotation = store.annotation(annotation_id)
    if annotation is None or annotation.holder_key != holder_key:
        raise NotFound(Text("未找到该加注件", "Annotated copy not found"))
    return annotation


def list_for(cert: Certificate, *, store: AnnotationStore, now: datetime) -> tuple[list[Annotation], Quota]:
    return store.annotations_of(cert.certificate_id), quota(cert.quota_slots, beijing_date(now))


def latest(cert: Certificate, *, store: AnnotationStore) -> Annotation | None:
    return latest_of([cert], store=store).get(cert.certificate_id)


def latest_of(certs: list[Certificate], *, store: AnnotationStore) -> dict[str, Annotation]:
    """Each certificate's newest annotation, by certificate ID, in one read."""
    found = store.annotations_by_id([c.latest_annotation_id for c in certs if c.latest_annotation_id])
    return {c.certificate_id: found[c.latest_annotation_id] for c in certs
            if c.latest_annotation_id and c.latest_annotation_id in found}


def servable(annotation: Annotation, now: datetime) -> Annotation:
    """The annotation if its copy may be served now; otherwise why not."""
    status = annotation.status_at(now)
    refusal = {
        AnnotationStatus.PENDING: AnnotationPending,
        AnnotationStatus.FAILED: AnnotationFailed,
        AnnotationStatus.EXPIRED: AnnotationExpired,
        AnnotationStatus.WITHDRAWN: AnnotationWithdrawn,
    }.get(status)
    if refusal is not None:
        raise refusal()
    return annotation


def file_link(annotation: Annotation, cert: Certificate, disposition: str, *, files: Files,
              now: datetime) -> dict[str, Any]:
    ready = servable(annotation, now)
    if not cert.is_valid:
        raise CertificateNotValid()
    assert ready.file_key is not None  # a ready annotation always has its file
    url, expires_at = files.presigned_pdf(
        ready.file_key, disposition=disposition, filename=f"{cert.qualification}-{cert.certificate_no}-加注件.pdf",
        now=now, not_after=ready.valid_until)
    return {"url": url, "expires_at": iso(expires_at)}


def withdraw(annotation: Annotation, *, store: AnnotationStore, now: datetime) -> Annotation:
    withdrawn = None
    if annotation.status_at(now) is AnnotationStatus.READY:
        withdrawn = store.withdraw(annotation.annotation_id, now)
    if withdrawn is None:
        raise AnnotationNotReady()
    return withdrawn


@dataclass(frozen=True)
class Links:
    public_base_url: str

    def verify_url(self, code: str) -> str:
        return f"{self.public_base_url}/verify?code={code}"


def view(a: Annotation, now: datetime, links: Links) -> dict[str, Any]:
    status = a.status_at(now)
    ready = a.stored_status is not AnnotationStatus.PENDING and a.stored_status is not AnnotationStatus.FAILED
    code = a.verification_code if ready else None
    return {
        "annotation_id": a.annotation_id,
        "annotation_no": a.annotation_no,
        "certificate_id": a.certificate_id,
        "scenario": a.scenario,
        "validity_days": a.validity_days,
        "language": a.language.value,
        "status": status.value,
        "status_label": status.label,
        "applied_at": iso(a.applied_at),
        "ready_at": iso(a.ready_at),
        "valid_from": iso(a.valid_from),
        "valid_until": iso(a.valid_until),
        "verification_code": format_code(code) if code else None,
        "verify_url": links.verify_url(code) if code else None,
        "file_sha256": a.file_sha256 if ready else None,
    }


def quota_view(q: Quota) -> dict[str, Any]:
    return {"limit": q.limit, "window_days": q.window_days, "used": q.used,
            "next_available_on": q.next_available_on.isoformat() if q.next_available_on else None}
