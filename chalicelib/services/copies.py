"""The worker side of the PDFs: the annotated copy from the render facts, the certificate
electronic file of an older certificate, and the font check for imports.

Only the workers import this module (through `deps`), so fpdf2 never loads on the API path.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from datetime import UTC, datetime
from typing import Any

from chalicelib import render
from chalicelib.domain.certificates import Certificate, CertificateKind, certificate_file_key
from chalicelib.services.rendering import CopyFacts
from chalicelib.signing import PdfSigner, Seal
from chalicelib.storage import FileStore


def _content(cert: Certificate) -> dict[str, Any]:
    """The certificate's printed content, as both PDFs take it."""
    return {f.name: getattr(cert, f.name) for f in fields(render.CertificateFile)}


def annotated_copy(facts: CopyFacts) -> render.AnnotatedCopy:
    return render.AnnotatedCopy(
        **_content(facts.certificate), annotation_no=facts.annotation_no, scenario_name=facts.scenario_name,
        valid_from=facts.ready_at, valid_until=facts.valid_until, annotated_at=facts.ready_at,
        verification_code=facts.verification_code, verify_url=facts.verify_url)


def render_copy(facts: CopyFacts) -> bytes:
    return render.render_annotated_copy(annotated_copy(facts))


def signed_copy(facts: CopyFacts, *, signer: PdfSigner) -> bytes:
    """The annotated copy, certified (PAdES B-LT) at the moment it was made. Its timestamp
    differs from one signature to the next, so two renders never give the same bytes: the
    worker keeps the first upload (services/rendering.py)."""
    copy = annotated_copy(facts)
    seal = Seal(render.seal_pdf(copy.issuer_name), render.copy_seal_box(copy))
    return signer.sign(render.render_annotated_copy(copy), signing_time=facts.ready_at, seal=seal)


def certificate_file(cert: Certificate, *, generated_at: datetime | None = None) -> bytes:
    """The electronic file, dated when it is generated (`generated_at`, now by default)."""
    return render.render_certificate_file(render.CertificateFile(**_content(cert)),
                                          generated_at=generated_at or datetime.now(UTC))


def missing_glyphs(text: str) -> set[str]:
    return render.missing_glyphs(text)


def attach_certificate_file(cert: Certificate, *, files: FileStore) -> Certificate:
    """An older certificate's electronic file is stored before the certificate is written,
    under a key derived from the certificate, so a repeated import stores the same file."""
    if cert.kind is not CertificateKind.E_FILE:
        return cert
    pdf = certificate_file(cert)
    key = certificate_file_key(cert.certificate_id)
    files.put_pdf(key, pdf, hashlib.sha256(pdf).hexdigest())
    return replace(cert, file_key=key)
