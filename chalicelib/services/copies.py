"""The worker side of the PDFs: the annotated copy from the render facts, the certificate
electronic file of an older certificate, and the font check for imports.

Only the workers import this module (through `deps`), so fpdf2 never loads on the API path.
"""

from __future__ import annotations

import hashlib
from dataclasses import fields, replace
from typing import Any

from chalicelib import render
from chalicelib.domain.certificates import Certificate, CertificateKind, certificate_file_key
from chalicelib.services.rendering import CopyFacts
from chalicelib.signing import PdfSigner
from chalicelib.storage import FileStore


def _content(cert: Certificate) -> dict[str, Any]:
    """The certificate's printed content, as both PDFs take it."""
    return {f.name: getattr(cert, f.name) for f in fields(render.CertificateFile)}


def render_copy(facts: CopyFacts) -> bytes:
    return render.render_annotated_copy(render.AnnotatedCopy(
        **_content(facts.certificate), annotation_no=facts.annotation_no, scenario_name=facts.scenario_name,
        valid_from=facts.ready_at, valid_until=facts.valid_until, annotated_at=facts.ready_at,
        verification_code=facts.verification_code, verify_url=facts.verify_url))


def signed_copy(facts: CopyFacts, *, signer: PdfSigner) -> bytes:
    """The annotated copy, signed (PAdES) at the moment it was made: the same facts always
    give the same bytes, so a redelivered job stores an identical file."""
    return signer.sign(render_copy(facts), signing_time=facts.ready_at)


def certificate_file(cert: Certificate) -> bytes:
    return render.render_certificate_file(render.CertificateFile(**_content(cert)))


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
