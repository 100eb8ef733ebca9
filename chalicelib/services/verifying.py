"""Checking a copy: by its code (or QR code), by the file itself, or many codes at once.
Every check that finds a copy goes into its holder's log."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Protocol

from chalicelib import observability
from chalicelib.content import scenario_named
from chalicelib.domain import identity
from chalicelib.domain.annotations import Annotation, normalize_code
from chalicelib.domain.certificates import Certificate
from chalicelib.domain.clock import iso
from chalicelib.domain.errors import (
    DocumentTooLarge,
    InvalidDocument,
    InvalidRequest,
    RateLimited,
    UnknownCode,
    UnknownDocument,
)
from chalicelib.domain.verification import (
    WINDOW,
    Channel,
    VerificationRecord,
    VerificationResult,
    over_limit,
    verify,
    window_at,
)

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_BATCH = 100
LOG_ITEMS = 50


class VerificationStore(Protocol):
    def by_code(self, code: str) -> Annotation | None: ...
    def by_file(self, sha256_hex: str) -> Annotation | None: ...
    def record_verification(self, annotation: Annotation, record: VerificationRecord) -> None: ...
    def verifications(self, annotation_id: str, limit: int) -> list[VerificationRecord]: ...
    def misses(self, client_key: str) -> int: ...
    def misses_and_certificate(self, client_key: str,
                               certificate_id: str | None) -> tuple[int, Certificate | None]: ...
    def add_misses(self, client_key: str, count: int, expires_at: datetime) -> None: ...


class CertificateLookup(Protocol):
    def certificates_by_id(self, certificate_ids: list[str]) -> dict[str, Certificate]: ...


class Verifier:
    def __init__(self, store: VerificationStore, certificates: CertificateLookup, client: str,
                 now: datetime) -> None:
        self.store = store
        self.certificates = certificates
        self.window = window_at(now)
        self.client_key = f"verify#{client}#{self.window.key_suffix}"
        self.now = now

    def _check_throttle(self, misses: int) -> None:
        if over_limit(misses):
            raise RateLimited(self.window.retry_after(self.now))

    def _checked(self, annotation: Annotation | None) -> Certificate | None:
        """The throttle and the found copy's certificate, read together. A client over its
        limit is refused whatever it found (otherwise the refusal itself tells it apart)."""
        misses, cert = self.store.misses_and_certificate(
            self.client_key, annotation.certificate_id if annotation else None)
        self._check_throttle(misses)
        return cert

    def _missed(self, count: int = 1) -> None:
        observability.count("VerificationsUnknown", count)
        self.store.add_misses(self.client_key, count, self.window.end + WINDOW)

    def _outcome(self, annotation: Annotation | None, cert: Certificate | None,
                 channel: Channel) -> dict[str, Any] | None:
        if annotation is None:
            return None
        result = verify(annotation, cert, self.now) if cert else None
        if cert is None or result is None:
            return None
        self.store.record_verification(annotation, VerificationRecord(self.now, channel, result))
        observability.count(f"Verifications{result.value.title()}")
        return verification_view(result, annotation, cert)

    def by_code(self, raw: str) -> dict[str, Any]:
        code = normalize_code(raw)
        annotation = self.store.by_code(code) if code else None
        found = self._outcome(annotation, self._checked(annotation), Channel.CODE)
        if found is None:
            self._missed()
            raise UnknownCode()
        return found

    def by_file(self, data: bytes) -> dict[str, Any]:
        if len(data) > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(details={"max_bytes": MAX_DOCUMENT_BYTES})
        if not data.lstrip()[:5] == b"%PDF-":
            raise InvalidDocument()
        annotation = self.store.by_file(hashlib.sha256(data).hexdigest())
        found = self._outcome(annotation, self._checked(annotation), Channel.FILE)
        if found is None:
            self._missed()
            raise UnknownDocument()
        return found

    def batch(self, codes: list[Any]) -> dict[str, Any]:
        if not 1 <= len(codes) <= MAX_BATCH or not all(isinstance(c, str) for c in codes):
            raise InvalidRequest(f"codes 须为 1 至 {MAX_BATCH} 个验证码", details={"field": "codes"})
        self._check_throttle(self.store.misses(self.client_key))
        # One index Query a code (a GSI cannot be batch-read), their certificates in one read.
        found_by_code = [(raw, self.store.by_code(code) if (code := normalize_code(raw)) else None) for raw in codes]
        certs = self.certificates.certificates_by_id(sorted({a.certificate_id for _, a in found_by_code if a}))
        items: list[dict[str, Any]] = []
        misses = 0
        for raw, annotation in found_by_code:
            cert = certs.get(annotation.certificate_id) if annotation else None
            found = self._outcome(annotation, cert, Channel.BATCH)
            if found is None:
                misses += 1
                items.append({"code": raw, "result": "unknown"})
            else:
                items.append({"code": raw, **found})
        if misses:
            self._missed(misses)
        return {"items": items}


def verification_view(result: VerificationResult, a: Annotation, cert: Certificate) -> dict[str, Any]:
    scenario = scenario_named(a.scenario)
    return {
        "result": result.value,
        "certificate": {
            "certificate_no": cert.certificate_no,
            "qualification": cert.qualification,
            "level": cert.level,
            "holder_name": cert.holder_name,
            "id_number_masked": identity.mask_id_number(cert.id_number),
            "issued_on": cert.issued_on.isoformat(),
            "issuer": cert.issuer_name,
        },
        "annotation": {
            "annotation_no": a.annotation_no,
            "scenario": scenario.name if scenario else a.scenario,
            "valid_from": iso(a.valid_from),
            "valid_until": iso(a.valid_until),
        },
    }


def holder_log(annotation: Annotation, *, store: VerificationStore) -> dict[str, Any]:
    items = store.verifications(annotation.annotation_id, LOG_ITEMS)
    return {"count": annotation.verification_count,
            "items": [{"at": iso(r.at), "channel": r.channel.value, "result": r.result.value} for r in items]}

