"""The page of the copy (text extraction gives the fields alone, in reading order; the
watermark is an artifact kept off the QR code; the footer says where the code is), the e-file
dated when it is generated, and the issuing authority's seal: a vector drawing in its own PDF,
and where it goes on each document."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from chalicelib import render
from chalicelib.domain.errors import RenderError
from chalicelib.render import annotated_copy, certificate_file, check_block, page
from chalicelib.render.page import PAGE_H, PAGE_W, PT, width
from tests.unit.test_render import COPY, FILE, GENERATED, READY, copy_pdf, embedded_font, file_pdf, text_of

__all__ = ["copy_pdf", "file_pdf"]  # the fixtures, shared with test_render.py

POPPLER = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
MM = 72 / 25.4
LONG_ISSUER = "中华人民共和国人力资源和社会保障部人事考试中心暨全国专业技术人员职业资格证书管理办公室"


def runs(pdf: bytes) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each text run drawn on the page with its box in points from the bottom left (all text
    here is horizontal: the only turned text, the watermark, is no text at all)."""
    found: list[tuple[str, tuple[float, float, float, float]]] = []

    def visit(text: str, cm: Any, tm: Any, font: Any, size: float) -> None:
        if text.strip():
            x, y = tm[4] * cm[0] + cm[4], tm[5] * cm[3] + cm[5]
            found.append((text, (x, y - 0.25 * size, x + width(text, size) * MM, y + 0.9 * size)))

    PdfReader(io.BytesIO(pdf)).pages[0].extract_text(visitor_text=visit)
    return found


def overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def gray_pixels(pdf: bytes, tmp_path: Path) -> tuple[list[bytes], int]:
    """The page as 8-bit gray rows at 50 dpi, without anti-aliasing, and the dpi."""
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-gray", "-aa", "no", "-aaVector", "no", str(path),
                    str(tmp_path / "page")], check=True)
    (image,) = tmp_path.glob("page*.pgm")
    data = image.read_bytes()
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", data)
    assert header is not None
    w, h = int(header.group(1)), int(header.group(2))
    body = data[header.end():]
    return [body[r * w:(r + 1) * w] for r in range(h)], 50


def watermark_shade(rows: list[bytes], dpi: int, box_mm: tuple[float, float, float, float]) -> int:
    """How many pixels in the box have the watermark's shade (20 % grey over white or tint)."""
    px = dpi / 25.4
    x1, y1, x2, y2 = (round(v * px) for v in box_mm)
    return sum(1 for row in rows[y1:y2] for v in row[x1:x2] if 218 <= v <= 236)


# -- the page of the copy ------------------------------------------------------------------------


def test_extracted_text_gives_the_fields_in_reading_order_with_no_watermark_interleaved(copy_pdf: bytes) -> None:
    order = ["专业技术人员职业资格电子证书", "加 注 件", "注册测绘师", "中级", "测绘工程", "欧阳〇娟",
             "11010519491231002X", "ZCCH-2023-0012345", "中华人民共和国人力资源和社会保障部", "2023年5月20日",
             "2023年4月28日", "加注信息", "JZ20261123-5F3A9C1E", "本人调用", "2026-11-23 14:05:09",
             "2027-02-21 00:30:00", "K7QM-4XPR-9TDA-2WHC", COPY.verify_url, "查验方式"]
    texts = {"pypdf": text_of(copy_pdf)}
    if shutil.which("pdftotext"):
        texts["pdftotext"] = subprocess.run(["pdftotext", "-", "-"], input=copy_pdf, capture_output=True,
                                            check=True).stdout.decode()
    for tool, text in texts.items():
        at = [text.find(shown) for shown in order]
        assert -1 not in at, (tool, [s for s, i in zip(order, at, strict=True) if i < 0])
        assert at == sorted(at), tool
        assert "·" not in text and "有效期至 2027" not in text, tool  # the watermark's words
        lines = [line.strip() for line in text.splitlines()]
        assert "中华人民共和国人力资源和社会保障部" in lines and "ZCCH-2023-0012345" in " ".join(lines)


def test_the_watermark_is_marked_content_tagged_as_an_artifact(copy_pdf: bytes) -> None:
    content = PdfReader(io.BytesIO(copy_pdf)).pages[0].get_contents()
    assert content is not None
    data = content.get_data()
    start = data.index(b"/Artifact <</Type /Pagination /Subtype /Watermark>> BDC")
    end = data.index(b"EMC", start)
    assert b"Tj" not in data[start:end] and b"BT" not in data[start:end]  # outlines, not text
    assert data[start:end].count(b" f ") > 30  # the glyphs are there


@POPPLER
@pytest.mark.parametrize("scenario", ["本人调用", "本人调用，供用人单位核验职业资格及执业注册"])
def test_the_watermark_shades_the_page_but_not_the_qr_code_nor_the_seal(scenario: str, tmp_path: Path) -> None:
    copy = replace(COPY, scenario_name=scenario)
    rows, dpi = gray_pixels(render.render_annotated_copy(copy), tmp_path)
    assert watermark_shade(rows, dpi, (0, 0, PAGE_W, PAGE_H)) > 2000
    assert watermark_shade(rows, dpi, annotated_copy.QR_BOX) == 0  # the clip is 1 mm wider
    x1, y1, x2, y2 = render.copy_seal_box(copy)
    # (a pixel's width inside the box: its edge pixels are partly outside)
    assert watermark_shade(rows, dpi, (x1 / MM + 1, PAGE_H - y2 / MM + 1, x2 / MM - 1, PAGE_H - y1 / MM - 1)) == 0
    if len(scenario) > 10:
        # Without the clip, this longer line would cross the QR code: the test can fail.
        qx1, qy1, qx2, qy2 = annotated_copy.QR_BOX
        around = watermark_shade(rows, dpi, (qx1 - 5, qy1 - 5, qx2 + 5, qy2 + 5))
        assert around - watermark_shade(rows, dpi, (qx1 - 1, qy1 - 1, qx2 + 1, qy2 + 1)) > 0


def test_the_footer_says_the_code_is_in_the_annotation_block_where_it_is(copy_pdf: bytes) -> None:
    text = text_of(copy_pdf)
    assert "右侧" not in text
    assert "扫描加注信息栏中的二维码" in text
    block = (page.LEFT - 4, annotated_copy.BLOCK_TOP, page.RIGHT + 4,
             annotated_copy.BLOCK_TOP + check_block.height(5))
    qx1, qy1, qx2, qy2 = annotated_copy.QR_BOX
    assert block[0] <= qx1 < qx2 <= block[2] and block[1] <= qy1 < qy2 <= block[3]


def test_the_e_file_is_dated_when_it_is_generated_not_back_dated(file_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(file_pdf))
    assert reader.metadata is not None and reader.metadata.creation_date is not None
    assert reader.metadata.creation_date.timestamp() == GENERATED.timestamp()
    text = text_of(file_pdf)
    assert "2026-12-01 10:03:04（北京时间）" in text
    assert "2019年12月20日" in text  # the certificate's own issue date, as its content
    later = render.render_certificate_file(replace(FILE, generated_at=READY))
    assert "2026-11-23 14:05:09（北京时间）" in text_of(later)


# -- the seal ------------------------------------------------------------------------------------


@pytest.mark.parametrize("diameter", [36.0, 42.0])
def test_the_seal_is_a_one_page_vector_pdf_of_its_size_showing_the_authoritys_name(diameter: float) -> None:
    pdf = render.seal_pdf(COPY.issuer_name, diameter)
    assert pdf == render.seal_pdf(COPY.issuer_name, diameter)
    reader = PdfReader(io.BytesIO(pdf))
    (page,) = reader.pages
    assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx((diameter * MM,) * 2, abs=0.01)
    xobjects = page["/Resources"].get("/XObject", {})
    assert [n for n, x in xobjects.items() if x.get_object().get("/Subtype") == "/Image"] == []
    content = page.get_contents()
    assert content is not None
    data = content.get_data()
    assert b"0.8392 0.1176 0.1255 RG" in data and b"0.8392 0.1176 0.1255 rg" in data  # the seal's red
    assert re.search(rb" c\b", data)  # the ring, as curves
    text = text_of(pdf)
    assert [ch for ch in COPY.issuer_name if ch not in text] == []
    _, font = embedded_font(pdf)
    cmap = font.getBestCmap()
    shipped = TTFont(render.FONT_PATH, lazy=True)
    for ch in COPY.issuer_name:
        assert font["glyf"][cmap[ord(ch)]].numberOfContours > 0, ch
        assert shipped.getBestCmap().get(ord(ch)) is not None


def test_the_seal_refuses_a_name_the_font_cannot_draw_or_the_ring_cannot_hold() -> None:
    with pytest.raises(RenderError, match="U\\+20000"):
        render.seal_pdf("北京𠀀局", 36)
    with pytest.raises(RenderError, match="印章"):
        render.seal_pdf(LONG_ISSUER * 2, 36)
    assert render.seal_pdf(LONG_ISSUER[:26], 36).startswith(b"%PDF")  # long, but it fits


def documents() -> list[tuple[str, bytes, tuple[float, float, float, float], int]]:
    """(name, PDF, seal box, how many text runs from the end are the sign-off and footer)."""
    made = []
    for issuer in (COPY.issuer_name, LONG_ISSUER, "某某局"):
        copy = replace(COPY, issuer_name=issuer)
        made.append((f"copy {issuer}", render.render_annotated_copy(copy), render.copy_seal_box(copy), 0))
        cert = replace(FILE, issuer_name=issuer)
        made.append((f"file {issuer}", render.render_certificate_file(cert),
                     render.file_seal_box(cert), 0))
    return made


def test_the_seal_goes_on_the_sign_off_inside_the_frame_over_no_text_of_the_data_or_the_qr_code() -> None:
    frame = (12.5 * MM, 12.5 * MM, (PAGE_W - 12.5) * MM, (PAGE_H - 12.5) * MM)
    for name, pdf, box, _ in documents():
        assert frame[0] < box[0] < box[2] < frame[2] and frame[1] < box[1] < box[3] < frame[3], name
        assert box[2] - box[0] == pytest.approx(36 * MM, abs=0.05), name
        issuer = text_of(pdf).split("\n")
        sign_off = [r for r in runs(pdf) if overlaps(r[1], box)]
        # What the seal covers is the authority's name and the date at the foot, nothing else.
        names = "".join(t for t, _ in sign_off)
        assert sign_off, name
        assert all(t.strip() in names for t, _ in sign_off)
        covered = {t for t, _ in sign_off}
        data_rows = [r for r in runs(pdf) if r[0] not in covered]
        assert not any(overlaps(r[1], box) for r in data_rows), name
        assert re.fullmatch(r"(\S*?)(\d{4}年\d{1,2}月\d{1,2}日)?", names.replace(" ", "")), (name, names)
        assert issuer  # the page has text
    qx1, qy1, qx2, qy2 = annotated_copy.QR_BOX
    qr = (qx1 * MM, (PAGE_H - qy2) * MM, qx2 * MM, (PAGE_H - qy1) * MM)
    assert not overlaps(render.copy_seal_box(COPY), qr)
    assert PT > 0 and certificate_file.SIGNOFF_TOP > certificate_file.FIELDS_BOTTOM
