"""chalicelib.render: the annotated copy and the certificate file as PDF, the seal, the font they
embed, and the fpdf2 internals the fast embedding relies on."""

from __future__ import annotations

import inspect
import io
import re
import shutil
import subprocess
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
import segno
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import Glyph, SubsetMap, TTFFont
from fpdf.output import OutputProducer
from pypdf import PdfReader

from chalicelib import render
from chalicelib.domain.errors import RenderError
from chalicelib.render import AnnotatedCopy, ElectronicFile, annotated_copy, fonts, missing_glyphs
from chalicelib.render.page import Page

READY = datetime(2026, 11, 23, 6, 5, 9, tzinfo=UTC)  # 14:05:09 in Beijing
GENERATED = datetime(2026, 12, 1, 2, 3, 4, tzinfo=UTC)  # 10:03:04 in Beijing

COPY = AnnotatedCopy(
    qualification="注册测绘师",
    level="中级",
    specialty="测绘工程",
    holder_name="欧阳〇娟",
    id_number="11010519491231002X",
    certificate_no="ZCCH-2023-0012345",
    issuer_name="中华人民共和国人力资源和社会保障部",
    issued_on=date(2023, 5, 20),
    approved_on=date(2023, 4, 28),
    annotation_no="JZ20261123-5F3A9C1E",
    scenario_name="本人调用",
    valid_from=READY,
    # 16:30 UTC on the 20th is already the 21st in Beijing.
    valid_until=datetime(2027, 2, 20, 16, 30, tzinfo=UTC),
    annotated_at=READY,
    verification_code="K7QM-4XPR-9TDA-2WHC",
    verify_url="https://zscx.example.cn/verify?code=K7QM4XPR9TDA2WHC",
)

FILE = ElectronicFile(
    qualification="注册护士",
    level="",
    specialty="护理",
    holder_name="李晓娟",
    id_number="44030619850612008X",
    certificate_no="HS-2019-000321",
    issuer_name="广东省卫生健康委员会",
    issued_on=date(2019, 12, 20),
    approved_on=date(2019, 11, 30),
    verification_code="F3WX-8KQA-ZP2M-7RTN",
    verify_url="https://zscx.example.cn/verify?code=F3WX8KQAZP2M7RTN",
    generated_at=GENERATED,
)


@pytest.fixture(scope="module")
def copy_pdf() -> bytes:
    return render.render_annotated_copy(COPY)


@pytest.fixture(scope="module")
def file_pdf() -> bytes:
    return render.render_certificate_file(FILE)


def text_of(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def embedded_font(pdf: bytes) -> tuple[Any, TTFont]:
    reader = PdfReader(io.BytesIO(pdf))
    (font,) = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    cid_font = font["/DescendantFonts"][0].get_object()
    program = cid_font["/FontDescriptor"]["/FontFile2"].get_data()
    return cid_font, TTFont(io.BytesIO(program))


# -- what the documents show ----------------------------------------------------------------


def test_the_annotated_copy_is_one_a4_page_showing_holder_certificate_and_annotation(copy_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(copy_pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width) * 25.4 / 72), round(float(box.height) * 25.4 / 72)) == (210, 297)
    text = reader.pages[0].extract_text()
    for shown in ("欧阳〇娟", "11010519491231002X", "ZCCH-2023-0012345", "本人调用", "JZ20261123-5F3A9C1E",
                  "K7QM-4XPR-9TDA-2WHC", "注册测绘师", "中华人民共和国人力资源和社会保障部", "2023年5月20日",
                  "2023年4月28日", COPY.verify_url):
        assert shown in text


def test_the_copy_prints_times_in_beijing_and_the_watermark_names_scenario_and_beijing_expiry(
        copy_pdf: bytes) -> None:
    text = text_of(copy_pdf)
    assert "2026-11-23 14:05:09" in text  # valid from, annotated at
    assert "2027-02-21 00:30:00" in text  # valid until
    assert "2027-02-20" not in text
    assert annotated_copy.watermark_text(COPY) == "本人调用 · 有效期至 2027-02-21"


def test_the_copy_carries_title_and_issuing_authority_as_metadata(copy_pdf: bytes) -> None:
    meta = PdfReader(io.BytesIO(copy_pdf)).metadata
    assert meta is not None
    assert meta.title == "专业技术人员职业资格电子证书（加注件）"
    assert meta.author == "中华人民共和国人力资源和社会保障部"


def test_the_qr_code_holds_the_verify_url(copy_pdf: bytes) -> None:
    # Rebuild the module grid from the rectangles drawn and compare with segno's matrix.
    content = PdfReader(io.BytesIO(copy_pdf)).pages[0].get_contents()
    assert content is not None
    path = re.search(rb"q 0 g ((?:[\d.]+ [\d.]+ [\d.]+ [\d.]+ re ?)+) f Q", content.get_data())
    assert path is not None
    rects = [tuple(map(float, r.split()[:4])) for r in path.group(1).split(b"re") if r.strip()]
    module = rects[0][3]
    left = min(x for x, _, _, _ in rects)
    top = max(y + h for _, y, _, h in rects)
    matrix = [list(row) for row in segno.make(COPY.verify_url, error="m", micro=False).matrix]
    drawn = [[False] * len(matrix) for _ in matrix]
    for x, y, w, _ in rects:
        row = round((top - y) / module) - 1
        for col in range(round((x - left) / module), round((x + w - left) / module)):
            drawn[row][col] = True
    assert drawn == [[bool(v) for v in row] for row in matrix]


def test_the_certificate_file_shows_the_certificate_without_annotation(file_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(file_pdf))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    for shown in ("李晓娟", "44030619850612008X", "HS-2019-000321", "注册护士", "广东省卫生健康委员会",
                  "2019年12月20日", "证书电子文件", "F3WX-8KQA-ZP2M-7RTN", "查验信息"):
        assert shown in text
    assert "加注" not in text
    assert "有效期至" not in text


def test_a_long_issuer_name_takes_a_second_line_and_an_absurd_one_is_refused() -> None:
    long_name = "中华人民共和国人力资源和社会保障部人事考试中心暨全国专业技术人员职业资格证书管理办公室"
    text = text_of(render.render_annotated_copy(replace(COPY, issuer_name=long_name)))
    assert long_name[:10] in text and long_name[-10:] in text
    with pytest.raises(RenderError, match="发证机构过长"):
        render.render_annotated_copy(replace(COPY, issuer_name=long_name * 3))


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        render.render_annotated_copy(replace(COPY, valid_until=datetime(2027, 2, 21, 12)))


# -- glyphs ------------------------------------------------------------------------------------


def test_missing_glyphs_names_what_the_font_lacks_and_ignores_whitespace() -> None:
    assert missing_glyphs("欧阳〇娟，（注册）；：。ABC-123") == set()
    assert missing_glyphs("张 三\t丰\n\u3000") == set()
    assert missing_glyphs("张𠀀三😀") == {"𠀀", "😀"}
    assert missing_glyphs("") == set()


@pytest.mark.parametrize("name", ["张𠀀", "王小😀"])
def test_a_character_outside_the_font_is_refused_naming_it_not_drawn_as_a_box(name: str) -> None:
    bad = name[-1]
    for attempt in (lambda: render.render_annotated_copy(replace(COPY, holder_name=name)),
                    lambda: render.render_certificate_file(replace(FILE, holder_name=name))):
        with pytest.raises(RenderError) as caught:
            attempt()
        assert bad in caught.value.message
        assert "姓名" in caught.value.message
        assert f"U+{ord(bad):04X}" in caught.value.message


def test_every_character_drawn_has_a_real_glyph_in_the_embedded_font(copy_pdf: bytes, file_pdf: bytes) -> None:
    shipped = TTFont(render.FONT_PATH, lazy=True)
    shipped_cmap = shipped.getBestCmap()
    for pdf in (copy_pdf, file_pdf):
        cid_font, font = embedded_font(pdf)
        assert str(cid_font["/CIDToGIDMap"]) == "/Identity"
        cmap = font.getBestCmap()
        assert missing_glyphs(text_of(pdf)) == set()
        for ch in set(text_of(pdf)) - {" ", "\n"}:
            glyph = font["glyf"][cmap[ord(ch)]]
            assert glyph.numberOfContours > 0, f"{ch!r} would print blank"
            source = shipped["glyf"][shipped_cmap[ord(ch)]]
            assert glyph.getCoordinates(font["glyf"])[0] == source.getCoordinates(shipped["glyf"])[0]


def test_the_shipped_font_covers_every_gbk_character_including_all_hanzi_and_ling() -> None:
    cmap = TTFont(render.FONT_PATH, lazy=True).getBestCmap()
    gbk: list[str] = []
    for lead in range(0x81, 0xFF):
        for trail in (t for t in range(0x40, 0xFF) if t != 0x7F):
            try:
                ch = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            if not 0xE000 <= ord(ch) <= 0xF8FF:  # GBK's user-defined areas
                gbk.append(ch)
    hanzi = [ch for ch in gbk if unicodedata.name(ch, "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEO"))]
    assert len(hanzi) > 20_900
    assert "〇" in gbk
    assert [ch for ch in hanzi if ord(ch) not in cmap] == []
    # Noto Sans CJK SC itself lacks one GBK symbol, the math sign ≒ (U+2252); nothing else.
    assert [ch for ch in gbk if ord(ch) not in cmap] == ["≒"]
    punctuation = "，。：；（）！？、“”‘’《》【】—…·～￥"
    ascii_ = "".join(chr(c) for c in range(0x20, 0x7F))
    assert [ch for ch in punctuation + ascii_ + "〇" if ord(ch) not in cmap] == []
    assert missing_glyphs("".join(gbk) + punctuation + ascii_) == {"≒"}


def test_the_shipped_font_is_truetype_without_composite_glyphs_and_its_licence_is_beside_it() -> None:
    font = TTFont(render.FONT_PATH, lazy=True)
    assert "glyf" in font and "CFF " not in font
    loca, glyf = list(font["loca"]), font.reader["glyf"]
    # A glyph is composite when its numberOfContours (first int16) is negative.
    assert [gid for gid in range(len(loca) - 1) if loca[gid + 1] > loca[gid] and glyf[loca[gid]] & 0x80] == []
    licence = render.FONT_PATH.parent / "NotoSansCJKsc-OFL.txt"
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence.read_text(encoding="utf-8")
    assert render.FONT_PATH.stat().st_size < 8_000_000


# -- determinism, repetition, threads ------------------------------------------------------------


def test_the_same_data_renders_to_the_same_bytes_and_other_data_to_other_bytes(copy_pdf: bytes,
                                                                               file_pdf: bytes) -> None:
    assert render.render_annotated_copy(COPY) == copy_pdf
    assert render.render_certificate_file(FILE) == file_pdf
    assert render.render_annotated_copy(replace(COPY, holder_name="欧阳〇娴")) != copy_pdf


def test_renders_in_a_row_and_in_four_threads_give_the_same_valid_pdfs() -> None:
    copies = [replace(COPY, holder_name=name, verification_code=f"CODE-{i:04d}", verify_url=f"{COPY.verify_url}{i}")
              for i, name in enumerate(["赵一", "钱二", "孙三", "李四", "周五", "吴六", "郑七", "王八"])]
    expected = [render.render_annotated_copy(c) for c in copies]
    assert [render.render_annotated_copy(c) for c in copies] == expected
    with ThreadPoolExecutor(max_workers=4) as pool:
        for _ in range(3):
            assert list(pool.map(render.render_annotated_copy, copies)) == expected
    for c, pdf in zip(copies, expected, strict=True):
        assert c.holder_name in text_of(pdf)
        assert c.verification_code in text_of(pdf)


def test_the_embedded_subset_is_a_valid_small_truetype_font(copy_pdf: bytes) -> None:
    _, font = embedded_font(copy_pdf)
    font.ensureDecompiled()
    buffer = io.BytesIO()
    font.save(buffer)  # fontTools recompiles every table
    assert font["maxp"].numGlyphs == len(font.getGlyphOrder()) < 300
    assert len(copy_pdf) < 60_000


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_poppler_sees_an_embedded_subset_unicode_font_and_extracts_the_text(copy_pdf: bytes, tmp_path: Any) -> None:
    path = tmp_path / "copy.pdf"
    path.write_bytes(copy_pdf)
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"CID TrueType\s+Identity-H\s+yes\s+yes\s+yes", fonts)
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "ZCCH-2023-0012345" in text and "欧阳〇娟" in text


# -- the fpdf2 internals render.py relies on (see its module docstring) ---------------------------


def test_fpdf2_font_slots_are_the_ones_the_per_document_copy_handles() -> None:
    assert frozenset(TTFFont.__slots__) == fonts._TTFFONT_SLOTS


def test_fpdf2_output_still_takes_a_producer_class_whose_add_fonts_has_this_shape() -> None:
    assert "output_producer_class" in inspect.signature(FPDF.output).parameters
    assert list(inspect.signature(OutputProducer._add_fonts).parameters) == [
        "self", "image_objects_per_index", "gfxstate_objs_per_name", "pattern_objs_per_name"]
    assert callable(OutputProducer._add_pdf_obj)
    assert "bufferize" in OutputProducer.__dict__


def test_fpdf2_subset_map_hands_out_codes_for_glyphs_with_their_font_file_ids() -> None:
    engine = fonts.engine()
    font = engine.document_font(1)
    assert isinstance(font.subset, SubsetMap)
    code = font.subset.pick(ord("证"))
    items = {c: g for g, c in font.subset.items() if g is not None}
    assert set(items) == {0, 0x20, code}
    glyph = items[code]
    assert isinstance(glyph, Glyph)
    shipped = TTFont(render.FONT_PATH, lazy=True)
    assert glyph.glyph_id == shipped.getGlyphID(shipped.getBestCmap()[ord("证")])
    assert glyph.unicode == (ord("证"),)
    assert glyph.glyph_width == 1000
    font.subset.pick.cache_clear()
    font.subset.get_glyph.cache_clear()


def test_documents_do_not_share_per_document_font_state() -> None:
    engine = fonts.engine()
    a, b = engine.document_font(1), engine.document_font(1)
    for slot in ("desc", "subset", "missing_glyphs"):
        assert getattr(a, slot) is not getattr(b, slot)
    assert a.cw is b.cw and a.cw[0x10FFFF] == a.desc.missing_width
    assert 0x10FFFF not in a.cw  # a miss does not write into the shared table
    assert engine.proto.color_font is None


def test_our_producer_embeds_the_font_not_fpdf2s_subsetter(copy_pdf: bytes) -> None:
    cid_font, _ = embedded_font(copy_pdf)
    # fpdf2's own subsetter writes a CIDToGIDMap stream and names the font MPDFAA+…
    assert str(cid_font["/CIDToGIDMap"]) == "/Identity"
    assert not str(cid_font["/BaseFont"]).startswith("/MPDFAA+")
    assert str(cid_font["/CIDSystemInfo"]["/Ordering"]) == "Identity"


def test_the_creation_date_is_the_annotation_time_not_the_clock(copy_pdf: bytes) -> None:
    meta = PdfReader(io.BytesIO(copy_pdf)).metadata
    assert meta is not None and meta.creation_date is not None
    assert meta.creation_date.astimezone(UTC) == READY


def test_fpdf2_still_has_the_raw_operator_call_the_qr_path_uses() -> None:
    assert list(inspect.signature(FPDF._out).parameters) == ["self", "s"]


def test_a_render_that_fails_leaves_nothing_in_fpdf2s_class_level_caches() -> None:
    with pytest.raises(RenderError):
        render.render_annotated_copy(replace(COPY, issuer_name="很长的机构名称" * 30))
    assert SubsetMap.pick.cache_info().currsize == 0
    assert SubsetMap.get_glyph.cache_info().currsize == 0


def test_the_layout_itself_cannot_draw_a_character_the_font_lacks() -> None:
    page = Page(title="t", author="a", created=READY)
    try:
        with pytest.raises(RenderError, match="😀"):
            page.text(10, 10, "版式😀", size=10)
    finally:
        page.release()
