"""The electronic file (证书电子文件) of a certificate issued on or before 2021-12-17: the
certificate's content, the block through which it is checked (its verification code and QR
code, and when the file was generated), and the issuing authority's sign-off with its seal's
place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from chalicelib.render import check_block
from chalicelib.render.page import (
    PAGE_H,
    SEAL_MM,
    TITLE,
    Page,
    Signoff,
    check,
    chinese_date,
    clean,
    local,
    points,
)

FILE_TITLE = "专业技术人员职业资格证书"
FOOTER_FILE = (
    "本文件为发证机构制发证书的电子文件，证书信息以发证机构记录为准。",
    "查验方式：扫描查验信息栏中的二维码，或在证书查验页面输入验证码。",
)
FIELDS_TOP, FIELDS_BOTTOM, FIELDS_STEP = 70.0, 160.0, 11.0
BLOCK_TOP = 166.0
SIGNOFF_TOP = 244.0
FOOTER_BOTTOM = PAGE_H - 22


@dataclass(frozen=True)
class CertificateFile:
    """What the electronic file of a certificate issued on or before 2021-12-17 shows."""

    qualification: str
    level: str
    specialty: str
    holder_name: str
    id_number: str
    certificate_no: str
    issuer_name: str
    issued_on: date
    approved_on: date


def certificate_fields(cert: CertificateFile) -> list[tuple[str, str]]:
    """The certificate's rows, as both documents print them."""
    return [
        ("资格名称", clean(cert.qualification)),
        ("级别", clean(cert.level) or "—"),
        ("专业", clean(cert.specialty) or "—"),
        ("姓名", clean(cert.holder_name)),
        ("证件号码", clean(cert.id_number)),
        ("证书编号", clean(cert.certificate_no)),
        ("发证机构", clean(cert.issuer_name)),
        ("签发日期", chinese_date(cert.issued_on)),
        ("批准日期", chinese_date(cert.approved_on)),
    ]


def signoff(cert: CertificateFile, *, top: float) -> Signoff:
    return Signoff.of(clean(cert.issuer_name), chinese_date(cert.issued_on), top=top)


@dataclass(frozen=True)
class ElectronicFile(CertificateFile):
    """What the electronic file shows besides the certificate: how it is checked, and when it
    was generated (timezone-aware; printed in Beijing time)."""

    verification_code: str
    verify_url: str
    generated_at: datetime


def render_certificate_file(efile: ElectronicFile) -> bytes:
    """The certificate electronic file as a one-page A4 PDF, dated when it is generated (the
    certificate's own dates are in its rows and sign-off, never back-dating the file)."""
    fields = certificate_fields(efile)
    block = [("文件类型", "证书电子文件"), ("生成时间", f"{local(efile.generated_at):%Y-%m-%d %H:%M:%S}（北京时间）")]
    code, url = clean(efile.verification_code), clean(efile.verify_url)
    check([*fields, *block, ("验证码", code), ("查验网址", url)])
    page = Page(title=f"{FILE_TITLE}（证书电子文件）", author=clean(efile.issuer_name), created=efile.generated_at)
    try:
        page.frame(FILE_TITLE, "证书电子文件")
        page.fields(fields, top=FIELDS_TOP, bottom=FIELDS_BOTTOM, step=FIELDS_STEP)
        check_block.draw(page, "查验信息", block, code, url, top=BLOCK_TOP)
        page.signoff(signoff(efile, top=SIGNOFF_TOP))
        page.footer(FOOTER_FILE, bottom=FOOTER_BOTTOM)
        return page.output()
    finally:
        page.release()


def seal_box(cert: CertificateFile, diameter_mm: float = SEAL_MM) -> tuple[float, float, float, float]:
    """Where the authority's seal goes on the file: over its sign-off, below the rows. PDF
    points (x1, y1, x2, y2) from the page's bottom left."""
    return points(signoff(cert, top=SIGNOFF_TOP).seal_box(diameter_mm))


__all__ = ["TITLE", "CertificateFile", "ElectronicFile", "render_certificate_file", "seal_box"]
