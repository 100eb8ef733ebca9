"""The worker side of the PDFs: the annotated copy from the render facts, the electronic file
of an older certificate from its facts, both signed, and the font check for imports.

Only the workers import this module (through `deps`), so fpdf2 never loads on the API path.
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from chalicelib import render
from chalicelib.domain.annotations import CopyLanguage
from chalicelib.domain.certificates import Certificate
from chalicelib.services.efiles import FileFacts
from chalicelib.services.rendering import CopyFacts
from chalicelib.signing import PdfSigner, Seal


def _content(cert: Certificate) -> dict[str, Any]:
    """The certificate's printed content, as both PDFs take it."""
    return {f.name: getattr(cert, f.name) for f in fields(render.CertificateFile)}


def annotated_copy(facts: CopyFacts) -> render.AnnotatedCopy:
    return render.AnnotatedCopy(
        **_content(facts.certificate), annotation_no=facts.annotation_no, scenario_name=facts.scenario_name,
        valid_from=facts.ready_at, valid_until=facts.valid_until, annotated_at=facts.ready_at,
        verification_code=facts.verification_code, verify_url=facts.verify_url,
        bilingual=facts.language is CopyLanguage.ZH_EN, scenario_name_en=facts.scenario_name_en,
        qualification_en=facts.certificate.qualification_en, issuer_name_en=facts.certificate.issuer_name_en)


def render_copy(facts: CopyFacts) -> bytes:
    return render.render_annotated_copy(annotated_copy(facts))


def signed_copy(facts: CopyFacts, *, signer: PdfSigner) -> bytes:
    """The annotated copy, certified (PAdES B-LT) at the moment it was made. Its timestamp
    differs from one signature to the next, so two renders never give the same bytes: the
    worker keeps the first upload (services/rendering.py)."""
    copy = annotated_copy(facts)
    seal = Seal(render.seal_pdf(copy.issuer_name), render.copy_seal_box(copy))
    return signer.sign(render.render_annotated_copy(copy), signing_time=facts.ready_at, seal=seal)


def electronic_file(facts: FileFacts) -> render.ElectronicFile:
    return render.ElectronicFile(**_content(facts.certificate), verification_code=facts.verification_code,
                                 verify_url=facts.verify_url, generated_at=facts.generated_at)


def render_file(facts: FileFacts) -> bytes:
    """The electronic file, unsigned (the signer's input)."""
    return render.render_certificate_file(electronic_file(facts))


def signed_certificate_file(facts: FileFacts, *, signer: PdfSigner) -> bytes:
    """The electronic file, dated and certified (PAdES B-LT) when it is generated, with the
    authority's seal over its sign-off."""
    efile = electronic_file(facts)
    seal = Seal(render.seal_pdf(efile.issuer_name), render.file_seal_box(efile))
    return signer.sign(render.render_certificate_file(efile), signing_time=facts.generated_at, seal=seal)


def missing_glyphs(text: str) -> set[str]:
    return render.missing_glyphs(text)
