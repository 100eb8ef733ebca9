"""Checking a copy: by its code (or QR code), by the file itself, or many codes at once.
A check that finds a copy goes into its holder's log, once a minute per client and copy
whatever the channel; every miss counts toward the client's limit, a batch's all at once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib import observability, pdf_changes
from chalicelib.content import scenario_named
from chalicelib.domain import identity
from chalicelib.domain.annotations import Annotation, normalize_code
from chalicelib.domain.certificates import Certificate
from chalicelib.domain.clock import iso
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    DocumentTooLarge,
    InvalidDocument,
    InvalidRequest,
    RateLimited,
    UnknownCode,
    UnknownDocument,
)
from chalicelib.domain.revisions import Modification, candidate_prefixes, prefix_digests
from chalicelib.domain.verification import (
    MISS_LIMIT,
    WINDOW,
    Channel,
    VerificationRecord,
    VerificationResult,
    log_once_key,
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
    def record_verification(self, annotation: Annotation, record: VerificationRecord, once_key: str,
                            once_until: datetime) -> bool: ...
    def verifications(self, annotation_id: str, limit: int) -> list[VerificationRecord]: ...
    def misses(self, client_key: str) -> int: ...
    def misses_and_certificate(self, client_key: str,
                               certificate_id: str | None) -> tuple[int, Certificate | None]: ...
    def add_misses(self, client_key: str, count: int, limit: int, expires_at: datetime) -> bool: ...


# What was appended to an issued copy (`data`, the copy's length): pdf_changes.changes_after.
Examine = Callable[[bytes, int], pdf_changes.Examination]


class CertificateLookup(Protocol):
    def certificates_by_id(self, certificate_ids: list[str]) -> dict[str, Certificate]: ...


class Verifier:
    def __init__(self, store: VerificationStore, certificates: CertificateLookup, client: str,
                 now: datetime, examine: Examine = pdf_changes.changes_after) -> None:
        self.store = store
        self.examine = examine
        self.certificates = certificates
        self.window = window_at(now)
        self.client = client
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
        """Count misses, all or none: RateLimited when they would pass the client's limit."""
        if not self.store.add_misses(self.client_key, count, MISS_LIMIT, self.window.end + WINDOW):
            observability.count("VerificationsRefused")
            raise RateLimited(self.window.retry_after(self.now))
        observability.count("VerificationsUnknown", count)

    def _found(self, annotation: Annotation | None,
               cert: Certificate | None) -> tuple[Annotation, Certificate, VerificationResult] | None:
        if annotation is None or cert is None:
            return None
        result = verify(annotation, cert, self.now)
        return None if result is None else (annotation, cert, result)

    def _logged(self, found: tuple[Annotation, Certificate, VerificationResult], channel: Channel) -> dict[str, Any]:
        annotation, cert, result = found
        try:
            self.store.record_verification(annotation, VerificationRecord(self.now, channel, result),
                                           log_once_key(annotation.annotation_id, self.client, self.window),
                                           self.window.end + WINDOW)
        except ConcurrentUpdate:
            # The verifier still gets the answer; an operator sees the entries lost this way.
            observability.count("VerificationsUnlogged")
        observability.count(f"Verifications{result.value.title()}")
        return verification_view(result, annotation, cert)

    def _outcome(self, annotation: Annotation | None, cert: Certificate | None,
                 channel: Channel) -> dict[str, Any] | None:
        found = self._found(annotation, cert)
        return None if found is None else self._logged(found, channel)

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
        issued_length = None
        if annotation is None:  # perhaps an issued copy to which revisions were appended
            annotation, issued_length = self._issued_prefix(data)
        cert = self._checked(annotation)
        modifications: frozenset[Modification] = frozenset()
        if annotation is not None and issued_length is not None:
            # Only now, for a client within its limit, the bounded parse of what was appended.
            changes = self.examine(data, issued_length).modifications
            if changes is None:
                annotation = None
            else:
                modifications = changes
        found = self._outcome(annotation, cert, Channel.FILE)
        if found is None:
            self._missed()
            raise UnknownDocument()
        return {**found, "modified_after_signing": bool(modifications),
                "modifications": sorted(m.value for m in modifications)}

    def _issued_prefix(self, data: bytes) -> tuple[Annotation | None, int | None]:
        """The issued copy that `data` begins with, and its length; a prefix lookup for each
        place a signed revision may end (`domain/revisions.py`), longest first."""
        lengths = candidate_prefixes(data)
        digests = prefix_digests(data, lengths)
        for length in lengths:
            annotation = self.store.by_file(digests[length])
            if annotation is not None:
                return annotation, length
        return None, None

    def batch(self, codes: list[Any]) -> dict[str, Any]:
        if not 1 <= len(codes) <= MAX_BATCH or not all(isinstance(c, str) for c in codes):
            raise InvalidRequest(f"codes 须为 1 至 {MAX_BATCH} 个验证码", details={"field": "codes"})
        self._check_throttle(self.store.misses(self.client_key))
        # Each code is checked once, however often it is repeated, and each position answered.
        keys = [_batch_key(raw) for raw in codes]
        # One index Query a code (a GSI cannot be batch-read), their certificates in one read.
        annotations = {key: self.store.by_code(key[0]) if key[0] else None for key in dict.fromkeys(keys)}
        certs = self.certificates.certificates_by_id(sorted({a.certificate_id for a in annotations.values() if a}))
        found = {key: self._found(a, certs.get(a.certificate_id) if a else None) for key, a in annotations.items()}
        # The misses are counted before anything is logged: a batch that would pass the limit
        # is refused whole, its finds neither logged nor answered.
        if misses := sum(1 for f in found.values() if f is None):
            self._missed(misses)
        answers = {key: {"result": "unknown"} if f is None else self._logged(f, Channel.BATCH)
                   for key, f in found.items()}
        return {"items": [{"code": raw, **answers[key]} for raw, key in zip(codes, keys, strict=True)]}


def _batch_key(raw: str) -> tuple[str | None, str]:
    """What makes two codes of a batch one check: the code in canonical form, or for text that
    cannot be a code, the text itself (a miss of its own)."""
    code = normalize_code(raw)
    return (code, "") if code else (None, raw)


def verification_view(result: VerificationResult, a: Annotation, cert: Certificate) -> dict[str, Any]:
    scenario = scenario_named(a.scenario)
    return {
        "result": result.value,
        "kind": "annotated_copy",
        # By code the copy itself is not seen; by file the caller says what was appended.
        "modified_after_signing": False,
        "modifications": [],
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

