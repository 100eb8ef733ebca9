"""The annotated copy (加注件) of an e-certificate: the certificate's rows, the issuing
authority's sign-off with its seal's place, the annotation block with the verification code
and QR code, and a watermark of the scenario and expiry.

The watermark is drawn as glyph outlines, not text, inside marked content tagged
`/Artifact /Watermark`: a reader shows it, but text extraction and copy-paste (pdftotext,
pypdf, a PDF reader's selection) give the fields alone, in reading order. It is clipped off
the QR code and the seal, so that neither is ever greyed over.

A bilingual copy (中英文) is the same page with English labels under the Chinese ones, an
English title line, the English names the issuer gave beside the Chinese ones, and the footer
in both languages; the certificate's own values stay as the issuer wrote them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from chalicelib.render import check_block
from chalicelib.render.certificate_file import CertificateFile, certificate_fields, signoff
from chalicelib.render.page import (
    MUTED,
    PAGE_H,
    PAGE_W,
    SEAL_MM,
    TITLE,
    Box,
    Page,
    check,
    clean,
    local,
    points,
)

FOOTER_COPY = (
    "查验方式：扫描加注信息栏中的二维码，或在证书查验页面输入验证码。",
    "本加注件仅在加注有效期内可供查验；有效期届满后须重新申请加注。",
)
FOOTER_COPY_EN = (
    "To verify: scan the QR code in the annotation block, or enter the verification code on the verification page.",
    "This copy can be verified only within its validity; after that, a new annotation must be applied for.",
)
TITLE_EN = "Professional Qualification E-Certificate · Annotated Copy"
# The English labels of certificate_fields' rows, in their order, and of the annotation block's.
FIELD_LABELS_EN = ("Qualification", "Level", "Specialty", "Name", "ID No.", "Certificate No.",
                   "Issuing Authority", "Date of Issue", "Date of Approval")
BLOCK_LABELS_EN = ("Annotation No.", "Scenario", "Valid From", "Valid Until", "Annotated At",
                   "Verification Code", "Scan to verify")
FIELDS_TOP, FIELDS_BOTTOM, FIELDS_STEP = 68.0, 150.0, 10.0
BLOCK_TOP = 155.0
QR_BOX: Box = check_block.qr_box(BLOCK_TOP)
SIGNOFF_TOP = 244.0
FOOTER_BOTTOM = PAGE_H - 22
WATERMARK_GRAY = 0.5
WATERMARK_OPACITY = 0.2
WATERMARK_ANGLE = 32.0


@dataclass(frozen=True)
class AnnotatedCopy(CertificateFile):
    """What an annotated copy (加注件) shows: the certificate's content plus the annotation.
    Instants are timezone-aware UTC and are printed in Beijing time."""

    annotation_no: str
    scenario_name: str
    valid_from: datetime
    valid_until: datetime
    annotated_at: datetime
    verification_code: str
    verify_url: str
    # A bilingual copy (中英文), and the English names it prints (empty: none given).
    bilingual: bool = False
    scenario_name_en: str = ""
    qualification_en: str = ""
    issuer_name_en: str = ""


def _beside(chinese: str, english: str) -> str:
    return f"{chinese} {clean(english)}" if english.strip() else chinese


def render_annotated_copy(copy: AnnotatedCopy) -> bytes:
    """The annotated copy as a one-page A4 PDF."""
    for instant in (copy.valid_from, copy.valid_until, copy.annotated_at):
        local(instant)  # refuses a naive one
    fields = certificate_fields(copy)
    scenario = clean(copy.scenario_name)
    if copy.bilingual:
        fields = [(label, _beside(value, copy.qualification_en) if label == "资格名称" else
                   _beside(value, copy.issuer_name_en) if label == "发证机构" else value) for label, value in fields]
        scenario = _beside(scenario, copy.scenario_name_en)
    block = [
        ("加注编号", clean(copy.annotation_no)),
        ("使用场景", scenario),
        ("有效期自", f"{local(copy.valid_from):%Y-%m-%d %H:%M:%S}"),
        ("有效期至", f"{local(copy.valid_until):%Y-%m-%d %H:%M:%S}"),
        ("加注时间", f"{local(copy.annotated_at):%Y-%m-%d %H:%M:%S}"),
    ]
    code = clean(copy.verification_code)
    url = clean(copy.verify_url)
    watermark = watermark_text(copy)
    english = [*FIELD_LABELS_EN, *BLOCK_LABELS_EN, *FOOTER_COPY_EN, TITLE_EN] if copy.bilingual else []
    check([*fields, *block, ("验证码", code), ("查验网址", url), ("水印", watermark),
           *(("English", text) for text in english)])
    page = Page(title=f"{TITLE}（加注件）", author=clean(copy.issuer_name), created=copy.annotated_at)
    try:
        page.frame(TITLE, "加 注 件")
        if copy.bilingual:
            page.text(PAGE_W / 2, 54.6, TITLE_EN, size=8, color=MUTED, align="C")
        page.fields(fields, top=FIELDS_TOP, bottom=FIELDS_BOTTOM, step=FIELDS_STEP,
                    labels_en=FIELD_LABELS_EN if copy.bilingual else None)
        check_block.draw(page, "加注信息  Annotation" if copy.bilingual else "加注信息", block, code, url,
                         top=BLOCK_TOP, english=BLOCK_LABELS_EN if copy.bilingual else None)
        sign = signoff(copy, top=SIGNOFF_TOP)
        page.signoff(sign)
        if copy.bilingual:
            both = [line for pair in zip(FOOTER_COPY, FOOTER_COPY_EN, strict=True) for line in pair]
            page.footer(both, bottom=FOOTER_BOTTOM, size=7.5, step=3.8)
        else:
            page.footer(FOOTER_COPY, bottom=FOOTER_BOTTOM)
        _watermark(page, watermark, keep_off=(_grown(QR_BOX, 1.0), sign.seal_box(SEAL_MM)))
        return page.output()
    finally:
        page.release()


def seal_box(copy: AnnotatedCopy, diameter_mm: float = SEAL_MM) -> tuple[float, float, float, float]:
    """Where the authority's seal goes on the copy: over its sign-off, between the annotation
    block and the footer, clear of the rows, the QR code and the footer. PDF points
    (x1, y1, x2, y2) from the page's bottom left."""
    return points(signoff(copy, top=SIGNOFF_TOP).seal_box(diameter_mm))


def watermark_text(copy: AnnotatedCopy) -> str:
    return f"{clean(copy.scenario_name)} · 有效期至 {local(copy.valid_until):%Y-%m-%d}"


def _grown(box: Box, by: float) -> Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def _watermark(page: Page, text: str, *, keep_off: Sequence[Box]) -> None:
    """Three diagonal lines across the page, drawn last so that nothing covers them, except
    where `keep_off` (the QR code, the seal) lies: clipped out there."""
    lines = page.fit("水印", text, size=22, min_size=10, width=150)
    line = lines.lines[0]
    w = page.width(line, lines.size)
    pdf = page.pdf
    k = pdf.k
    # Even-odd clip: the page minus each box.
    holes = " ".join(f"{x1 * k:.2f} {(PAGE_H - y2) * k:.2f} {(x2 - x1) * k:.2f} {(y2 - y1) * k:.2f} re"
                     for x1, y1, x2, y2 in keep_off)
    pdf._out("/Artifact <</Type /Pagination /Subtype /Watermark>> BDC")
    with pdf.local_context(fill_opacity=WATERMARK_OPACITY):
        pdf._out(f"0 0 {PAGE_W * k:.2f} {PAGE_H * k:.2f} re {holes} W* n")
        for cy in (PAGE_H / 2 - 92, PAGE_H / 2, PAGE_H / 2 + 92):
            # Each line turns about its own centre, so that all three stay on the page.
            pdf._out(page.outlined(PAGE_W / 2 - w / 2, cy + 3, line, size=lines.size, angle=WATERMARK_ANGLE,
                                   about=(PAGE_W / 2, cy), gray=WATERMARK_GRAY))
    pdf._out("EMC")
