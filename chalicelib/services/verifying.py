"""Checking a document the service issued (an annotated copy, or an older certificate's
electronic file): by its code (or QR code), by the file itself, or many codes at once. A check
that finds a document goes into its holder's log, once a minute per client and document
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
from chalicelib.domain.certificates import Certificate, CertificateKind
from chalicelib.domain.clock import iso
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    DocumentTooLarge,
    InvalidDocument,
    InvalidRequest,
    NotFound,
    RateLimited,
    UnknownCode,
    UnknownDocument,
)
from chalicelib.domain.revisions import Modification, candidate_prefixes, prefix_digests
from chalicelib.domain.text import DEFAULT_LANGUAGE, Language, Text
from chalicelib.domain.verification import (
    MISS_LIMIT,
    WINDOW,
    Channel,
    IssuedDocument,
    VerificationRecord,
    VerificationResult,
    log_kept_until,
    log_once_key,
    over_limit,
    verify_document,
    window_at,
)

# A found document, its certificate as it is now, and what it verifies as.
Found = tuple[IssuedDocument, Certificate, VerificationResult]

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
MAX_BATCH = 100
LOG_ITEMS = 50


class VerificationStore(Protocol):
    def by_code(self, code: str) -> IssuedDocument | None: ...
    def by_file(self, sha256_hex: str) -> IssuedDocument | None: ...
    def record_verification(self, document: IssuedDocument, record: VerificationRecord, once_key: str,
                            once_until: datetime, keep_until: datetime) -> bool: ...
    def verifications(self, log_id: str, limit: int) -> list[VerificationRecord]: ...
    def misses(self, client_key: str) -> int: ...
    def misses_and_certificate(self, client_key: str,
                               certificate_id: str | None) -> tuple[int, Certificate | None]: ...
    def add_misses(self, client_key: str, count: int, limit: int, expires_at: datetime) -> bool: ...


# What was appended to an issued document (`data`, its length as issued): pdf_changes.changes_after.
Examine = Callable[[bytes, int], pdf_changes.Examination]


class CertificateLookup(Protocol):
    def certificates_by_id(self, certificate_ids: list[str]) -> dict[str, Certificate]: ...


class Verifier:
    def __init__(self, store: VerificationStore, certificates: CertificateLookup, client: str,
                 now: datetime, examine: Examine = pdf_changes.changes_after,
                 language: Language = DEFAULT_LANGUAGE) -> None:
        self.store = store
        self.language = language  # of the display texts in the answer (the scenario's name)
        self.examine = examine
        self.certificates = certificates
        self.window = window_at(now)
        self.client = client
        self.client_key = f"verify#{client}#{self.window.key_suffix}"
        self.now = now

    def _check_throttle(self, misses: int) -> None:
        if over_limit(misses):
            raise RateLimited(self.window.retry_after(self.now))

    def _checked(self, document: IssuedDocument | None) -> Certificate | None:
        """The throttle and the found document's certificate, read together. A client over its
        limit is refused whatever it found (otherwise the refusal itself tells it apart). Nothing
        found, nothing read: the miss is counted next, on the condition that the client is
        within its limit, which refuses it just the same."""
        if document is None:
            return None
        misses, cert = self.store.misses_and_certificate(self.client_key, document.certificate_id)
        self._check_throttle(misses)
        return cert

    def _missed(self, count: int = 1) -> None:
        """Count misses, all or none: RateLimited when they would pass the client's limit."""
        if not self.store.add_misses(self.client_key, count, MISS_LIMIT, self.window.end + WINDOW):
            observability.count("VerificationsRefused")
            raise RateLimited(self.window.retry_after(self.now))
        observability.count("VerificationsUnknown", count)

    def _found(self, document: IssuedDocument | None, cert: Certificate | None) -> Found | None:
        if document is None or cert is None:
            return None
        result = verify_document(document, cert, self.now)
        return None if result is None else (document, cert, result)

    def _logged(self, found: Found, channel: Channel) -> dict[str, Any]:
        document, cert, result = found
        try:
            self.store.record_verification(document, VerificationRecord(self.now, channel, result),
                                           log_once_key(document.log_id, self.client, self.window),
                                           self.window.end + WINDOW, log_kept_until(document, self.now))
        except ConcurrentUpdate:
            # The verifier still gets the answer; an operator sees the entries lost this way.
            observability.count("VerificationsUnlogged")
        observability.count(f"Verifications{result.value.title()}")
        return verification_view(result, document, cert, self.language)

    def _outcome(self, document: IssuedDocument | None, cert: Certificate | None,
                 channel: Channel) -> dict[str, Any] | None:
        found = self._found(document, cert)
        return None if found is None else self._logged(found, channel)

    def by_code(self, raw: str) -> dict[str, Any]:
        code = normalize_code(raw)
        document = self.store.by_code(code) if code else None
        found = self._outcome(document, self._checked(document), Channel.CODE)
        if found is None:
            self._missed()
            raise UnknownCode()
        return found

    def by_file(self, data: bytes) -> dict[str, Any]:
        if len(data) > MAX_DOCUMENT_BYTES:
            raise DocumentTooLarge(details={"max_bytes": MAX_DOCUMENT_BYTES})
        if not data.lstrip()[:5] == b"%PDF-":
            raise InvalidDocument()
        document = self.store.by_file(hashlib.sha256(data).hexdigest())
        issued_length = None
        if document is None:  # perhaps an issued document to which revisions were appended
            # Up to two index Queries per place a signed revision may end: only for a client
            # within its limit, so that a throttled one cannot make each upload cost them.
            self._check_throttle(self.store.misses(self.client_key))
            document, issued_length = self._issued_prefix(data)
        cert = self._checked(document)
        modifications: frozenset[Modification] = frozenset()
        if document is not None and issued_length is not None:
            # Only now, for a client within its limit, the bounded parse of what was appended.
            changes = self.examine(data, issued_length).modifications
            if changes is None:
                document = None
            else:
                modifications = changes
        found = self._outcome(document, cert, Channel.FILE)
        if found is None:
            self._missed()
            raise UnknownDocument()
        return {**found, "modified_after_signing": bool(modifications),
                "modifications": sorted(m.value for m in modifications)}

    def _issued_prefix(self, data: bytes) -> tuple[IssuedDocument | None, int | None]:
        """The issued document that `data` begins with, and its length; a prefix lookup for each
        place a signed revision may end (`domain/revisions.py`), longest first."""
        lengths = candidate_prefixes(data)
        digests = prefix_digests(data, lengths)
        for length in lengths:
            document = self.store.by_file(digests[length])
            if document is not None:
                return document, length
        return None, None

    def batch(self, codes: list[Any]) -> dict[str, Any]:
        if not 1 <= len(codes) <= MAX_BATCH or not all(isinstance(c, str) for c in codes):
            raise InvalidRequest(Text(f"codes 须为 1 至 {MAX_BATCH} 个验证码",
                                      f"codes must be 1 to {MAX_BATCH} verification codes"), details={"field": "codes"})
        self._check_throttle(self.store.misses(self.client_key))
        # Each code is checked once, however often it is repeated, and each position answered.
        keys = [_batch_key(raw) for raw in codes]
        # One index Query a code (a GSI cannot be batch-read), their certificates in one read.
        documents = {key: self.store.by_code(key[0]) if key[0] else None for key in dict.fromkeys(keys)}
        certs = self.certificates.certificates_by_id(sorted({d.certificate_id for d in documents.values() if d}))
        found = {key: self._found(d, certs.get(d.certificate_id) if d else None) for key, d in documents.items()}
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


def verification_view(result: VerificationResult, document: IssuedDocument, cert: Certificate,
                      language: Language = DEFAULT_LANGUAGE) -> dict[str, Any]:
    """The answer of a check. Codes and the issuer's own values never change with `language`;
    the display texts of the service (the scenario's name) are in it."""
    return {
        "result": result.value,
        "kind": document.kind.value,
        # By code the document itself is not seen; by file the caller says what was appended.
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
        "annotation": None if document.annotation is None else _annotation_view(document.annotation, language),
    }


def _annotation_view(a: Annotation, language: Language) -> dict[str, Any]:
    scenario = scenario_named(a.scenario)
    return {
        "annotation_no": a.annotation_no,
        "scenario": scenario.names.in_language(language) if scenario else a.scenario,
        "valid_from": iso(a.valid_from),
        "valid_until": iso(a.valid_until),
    }


class LogReader(Protocol):
    def verifications(self, log_id: str, limit: int) -> list[VerificationRecord]: ...


def holder_log(document: IssuedDocument, count: int, *, store: LogReader) -> dict[str, Any]:
    """A document's checks for its holder: how many in all, the newest LOG_ITEMS of them."""
    items = store.verifications(document.log_id, LOG_ITEMS)
    return {"count": count,
            "items": [{"at": iso(r.at), "channel": r.channel.value, "result": r.result.value} for r in items]}


def copy_log(annotation: Annotation, *, store: LogReader) -> dict[str, Any]:
    return holder_log(IssuedDocument.copy(annotation), annotation.verification_count, store=store)


def file_log(cert: Certificate, *, store: LogReader) -> dict[str, Any]:
    """The checks of an older certificate's electronic file (an e-certificate has none)."""
    if cert.kind is not CertificateKind.E_FILE:
        raise NotFound(Text("电子证书没有证书电子文件；查验记录见其加注件",
                            "An e-certificate has no electronic file; its checks are listed with its annotated copies"))
    return holder_log(IssuedDocument.e_file(cert.certificate_id), cert.file_verification_count, store=store)

