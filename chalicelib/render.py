"""Certificates as PDF: data in, bytes out, nothing else.

Two documents, both one A4 page drawn with fpdf2 and an embedded CJK font:

- `render_annotated_copy`: the annotated copy (加注件) of an e-certificate, with its
  annotation block, QR code and a watermark of the scenario and expiry;
- `render_certificate_file`: the stored electronic file (证书电子文件) of an older certificate.

Every text is checked against the font first (`missing_glyphs`): a character the font cannot
draw is a `RenderError`, never a blank or a box on a certificate.

Speed. A plain fpdf2 document parses the font file (about 100 ms for a GBK font) and, on
output, subsets it with fontTools (another 20 to 60 ms, most of it decompiling and
recompiling the used glyphs). Here the font is parsed once per process into a prototype
`TTFFont`; each document gets a cheap per-document copy of it, and its own `OutputProducer`
embeds the glyphs it used by slicing them, as raw bytes, out of `glyf`/`loca` into a small
TrueType font whose glyph IDs are the document's character codes (so CIDToGIDMap is
/Identity). Nothing is recompiled, nothing is shared mutably between documents, and two
renders of the same data give the same bytes.

fpdf2 internals this relies on (fpdf2 2.8.9; `tests/unit/test_render.py` fails loudly when
any of them changes):

- `TTFFont.__slots__` (the per-document copy sets every slot; the list is pinned in
  `_TTFFONT_SLOTS`), `TTFFont.cw` / `.cmap` / `.glyph_ids` / `.desc` as `TTFFont.__init__`
  fills them, and `SubsetMap(font)` with `.items()` yielding `(Glyph | None, code)`, where
  `Glyph.glyph_id` is the glyph's ID in the font file and code 0 is `.notdef`;
- `FPDF.fonts` as the dict `add_font` fills, `FPDF.output(output_producer_class=...)`, and
  `FPDF._out(str)` to append operators to the page (the QR code's single path);
- `OutputProducer._add_fonts(self, images, gfxstates, patterns) -> {font.i: font object}` and
  `OutputProducer._add_pdf_obj`, with `PDFFont`, `CIDSystemInfo`, `PDFContentStream`,
  `PDFFontStream` and `PDFArray` serialising their attributes as PDF dictionary entries.
"""

from __future__ import annotations

import hashlib
import struct
import sys
import threading
from array import array
from collections.abc import Iterable, Sequence
from copy import copy as shallow_copy
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import segno
from fpdf import FPDF
from fpdf.enums import TextMode
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont, PDFFontStream
from fpdf.syntax import Name, PDFArray, PDFContentStream, PDFString

from chalicelib.domain.clock import BEIJING
from chalicelib.domain.errors import RenderError

_LITTLE_ENDIAN = sys.byteorder == "little"
_U32 = "I" if array("I").itemsize == 4 else "L"
FONT_PATH = Path(__file__).resolve().parent / "assets" / "fonts" / "NotoSansCJKsc-Regular-GBK.ttf"


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


def missing_glyphs(text: str) -> set[str]:
    """The characters of `text` that the embedded font cannot draw (whitespace ignored)."""
    codepoints = _engine().codepoints
    return {ch for ch in text if ord(ch) not in codepoints and not ch.isspace()}


def render_annotated_copy(copy: AnnotatedCopy) -> bytes:
    """The annotated copy as a one-page A4 PDF."""
    for instant in (copy.valid_from, copy.valid_until, copy.annotated_at):
        if instant.tzinfo is None:
            raise ValueError("naive datetime")
    fields = _certificate_fields(copy)
    block = [
        ("加注编号", _clean(copy.annotation_no)),
        ("使用场景", _clean(copy.scenario_name)),
        ("有效期自", f"{_local(copy.valid_from):%Y-%m-%d %H:%M:%S}"),
        ("有效期至", f"{_local(copy.valid_until):%Y-%m-%d %H:%M:%S}"),
        ("加注时间", f"{_local(copy.annotated_at):%Y-%m-%d %H:%M:%S}"),
    ]
    code = _clean(copy.verification_code)
    url = _clean(copy.verify_url)
    watermark = f"{_clean(copy.scenario_name)} · 有效期至 {_local(copy.valid_until):%Y-%m-%d}"
    _check([*fields, *block, ("验证码", code), ("查验网址", url)])
    page = _Page(title=f"{TITLE}（加注件）", author=_clean(copy.issuer_name), created=copy.annotated_at)
    try:
        page.frame(TITLE, "加 注 件")
        page.fields(fields, top=72.0, bottom=168.0, step=10.5)
        page.annotation(block, code, url)
        page.footer(FOOTER_COPY)
        page.watermark(watermark)
        return page.output()
    finally:
        page.release()


def render_certificate_file(cert: CertificateFile) -> bytes:
    """The certificate electronic file as a one-page A4 PDF."""
    fields = _certificate_fields(cert)
    _check(fields)
    page = _Page(title=f"{FILE_TITLE}（证书电子文件）", author=_clean(cert.issuer_name),
                 created=datetime.combine(cert.issued_on, time(), BEIJING))
    try:
        page.frame(FILE_TITLE, "证书电子文件")
        page.fields(fields, top=84.0, bottom=200.0, step=12.5)
        page.signoff(_clean(cert.issuer_name), _chinese_date(cert.issued_on))
        page.footer(FOOTER_FILE)
        return page.output()
    finally:
        page.release()


# -- wording and layout ----------------------------------------------------------------------

TITLE = "专业技术人员职业资格电子证书"
FILE_TITLE = "专业技术人员职业资格证书"
FOOTER_COPY = (
    "查验方式：扫描右侧二维码，或在证书查验页面输入验证码。",
    "本加注件仅在加注有效期内可供查验；有效期届满后须重新申请加注。",
)
FOOTER_FILE = ("本文件为发证机构制发证书的电子文件，证书信息以发证机构记录为准。",)

INK = (34, 34, 34)
MUTED = (110, 110, 110)
ACCENT = (140, 28, 28)  # a seal red, darkened for print
PAPER_TINT = (252, 248, 241)
RULE = (205, 195, 185)
WHITE = (255, 255, 255)
WATERMARK = (128, 128, 128)

PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT = 30.0, 180.0
LABEL_W = 24.0  # labels are spread over this width, as on a printed form
VALUE_X = LEFT + LABEL_W + 8.0
BLOCK_VALUE_RIGHT = 128.0  # the QR code sits to the right of the annotation block's values
PT = 25.4 / 72  # mm per point

Color = tuple[int, int, int]


def _certificate_fields(cert: CertificateFile) -> list[tuple[str, str]]:
    return [
        ("资格名称", _clean(cert.qualification)),
        ("级别", _clean(cert.level) or "—"),
        ("专业", _clean(cert.specialty) or "—"),
        ("姓名", _clean(cert.holder_name)),
        ("证件号码", _clean(cert.id_number)),
        ("证书编号", _clean(cert.certificate_no)),
        ("发证机构", _clean(cert.issuer_name)),
        ("签发日期", _chinese_date(cert.issued_on)),
        ("批准日期", _chinese_date(cert.approved_on)),
    ]


def _clean(value: str) -> str:
    # Any run of whitespace (tabs, newlines, U+3000) becomes one space, which the font has.
    return " ".join(value.split())


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _local(instant: datetime) -> datetime:
    return instant.astimezone(BEIJING)


def _check(fields: Iterable[tuple[str, str]]) -> None:
    """Refuse, naming field and characters, any value the font cannot draw."""
    problems = [(label, missing_glyphs(value)) for label, value in fields]
    named = [
        f"{label}中的" + "、".join(f"“{ch}”（U+{ord(ch):04X}）" for ch in sorted(chars))
        for label, chars in problems
        if chars
    ]
    if named:
        raise RenderError(f"字体无法显示以下字符，文件未生成：{'；'.join(named)}")


@dataclass(frozen=True)
class _Lines:
    """A text fitted to a width: its font size and its lines."""

    size: float
    lines: tuple[str, ...]

    @property
    def leading(self) -> float:
        return self.size * PT * 1.3

    @property
    def extra(self) -> float:
        """The height taken below the first line's baseline by the others."""
        return (len(self.lines) - 1) * self.leading


class _Page:
    """One A4 page being drawn. Lengths in mm, font sizes in points."""

    def __init__(self, *, title: str, author: str, created: datetime) -> None:
        engine = _engine()
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        pdf.set_creation_date(created)  # also makes the output deterministic
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_subject(TITLE)
        pdf.set_creator("chalicelib.render")
        pdf.set_lang("zh-CN")
        pdf.fonts["cjk"] = engine.document_font(len(pdf.fonts) + 1)
        pdf.add_page()
        pdf.set_font("cjk", size=12)
        self.pdf = pdf
        self.widths = engine.widths
        self.codepoints = engine.codepoints

    def output(self) -> bytes:
        return bytes(self.pdf.output(output_producer_class=_OutputProducer))

    def release(self) -> None:
        """Let go of the document, drawn or not. fpdf2 caches `SubsetMap.pick` and
        `.get_glyph` per class, keyed by the SubsetMap: without clearing (fpdf2's own
        `_add_fonts` clears too) every document would stay in memory. Clearing while another
        thread draws only costs that thread a recomputation: both methods give the same
        answer again for the same SubsetMap."""
        font = self.pdf.fonts["cjk"]
        assert isinstance(font, _DocumentFont)
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()

    # -- primitives

    def width(self, text: str, size: float, spacing: float = 0.0) -> float:
        w = self.widths
        return sum(w[ord(ch)] for ch in text) * size / 1000 * PT + spacing * PT * len(text)

    def text(self, x: float, y: float, text: str, *, size: float, color: Color = INK, align: str = "L",
             spacing: float = 0.0) -> None:
        """Draw `text` with its baseline at `y`, left, right or centre (`align` L, R, C) at `x`."""
        codepoints = self.codepoints
        if any(ord(ch) not in codepoints for ch in text):
            # The values were checked with their field names; this catches the layout's own words.
            missing = "".join(sorted({ch for ch in text if ord(ch) not in codepoints}))
            raise RenderError(f"字体无法显示以下字符，文件未生成：{missing}")
        pdf = self.pdf
        pdf.set_font_size(size)
        pdf.set_text_color(*color)
        pdf.set_char_spacing(spacing)
        if align != "L":
            w = self.width(text, size, spacing) - spacing * PT
            x -= w if align == "R" else w / 2
        pdf.text(x, y, text)

    def fit(self, label: str, text: str, *, size: float, min_size: float, width: float,
            max_lines: int = 1) -> _Lines:
        """The largest size from `size` down to `min_size` at which `text` fits on one line;
        otherwise `min_size` and up to `max_lines` lines; otherwise a RenderError."""
        fit = size
        while fit > min_size and self.width(text, fit) > width:
            fit = max(fit - 0.5, min_size)
        lines: list[str] = []
        rest = text
        while rest and len(lines) < max_lines:
            cut = len(rest)
            while cut > 1 and self.width(rest[:cut], fit) > width:
                cut -= 1
            lines.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
        if rest:
            raise RenderError(f"{label}过长，无法排入证书版面")
        return _Lines(fit, tuple(lines) or ("",))

    def draw(self, x: float, y: float, lines: _Lines, *, color: Color = INK, align: str = "L") -> None:
        for i, line in enumerate(lines.lines):
            self.text(x, y + i * lines.leading, line, size=lines.size, color=color, align=align)

    def label(self, y: float, label: str, *, size: float) -> None:
        """A label whose characters are spread evenly over LABEL_W, like 姓　　名, and a colon."""
        gap = 0.0
        if len(label) > 1:
            gap = (LABEL_W - self.width(label, size)) / (len(label) - 1) / PT
        self.text(LEFT, y, label, size=size, color=MUTED, spacing=max(gap, 0.0))
        self.text(LEFT + LABEL_W + 2.0, y, "：", size=size, color=MUTED)

    # -- blocks

    def frame(self, title: str, subtitle: str) -> None:
        pdf = self.pdf
        pdf.set_draw_color(*ACCENT)
        pdf.set_fill_color(*ACCENT)
        pdf.set_line_width(1.0)
        pdf.rect(9, 9, PAGE_W - 18, PAGE_H - 18)
        pdf.set_line_width(0.25)
        pdf.rect(12.5, 12.5, PAGE_W - 25, PAGE_H - 25)
        for cx in (12.5, PAGE_W - 12.5):
            for cy in (12.5, PAGE_H - 12.5):
                pdf.rect(cx - 1.6, cy - 1.6, 3.2, 3.2, style="F")
        with pdf.local_context():
            # fpdf2 has no synthetic bold for TrueType: fill and stroke the outlines instead.
            pdf.text_mode = TextMode.FILL_STROKE
            pdf.set_line_width(0.45)
            self.text(PAGE_W / 2, 38, title, size=23, color=ACCENT, align="C", spacing=2.0)
        self.text(PAGE_W / 2, 50, subtitle, size=13, color=ACCENT, align="C", spacing=3.0)
        pdf.set_line_width(0.6)
        pdf.line(LEFT, 57, RIGHT, 57)
        pdf.set_line_width(0.2)
        pdf.line(LEFT, 58.4, RIGHT, 58.4)

    def fields(self, fields: Sequence[tuple[str, str]], *, top: float, bottom: float, step: float) -> None:
        """Label and value rows from baseline `top`, the last rule no lower than `bottom`;
        rows move closer together when long values take a second line."""
        laid = [(label, self.fit(label, value, size=13.5, min_size=10, width=RIGHT - VALUE_X, max_lines=2))
                for label, value in fields]
        extra = sum(lines.extra for _, lines in laid)
        step = min(step, (bottom - 2.4 - top - extra) / max(len(laid) - 1, 1))
        if step < 7.0:
            raise RenderError("证书信息过长，无法排入证书版面")
        pdf = self.pdf
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.15)
        y = top
        for label, lines in laid:
            self.label(y, label, size=11)
            self.draw(VALUE_X, y, lines)
            pdf.line(VALUE_X, y + 2.4 + lines.extra, RIGHT, y + 2.4 + lines.extra)
            y += step + lines.extra

    def annotation(self, block: Sequence[tuple[str, str]], code: str, url: str) -> None:
        pdf = self.pdf
        top, height = 174.0, 74.0
        pdf.set_fill_color(*PAPER_TINT)
        pdf.set_draw_color(*ACCENT)
        pdf.set_line_width(0.35)
        pdf.rect(LEFT - 4, top, RIGHT - LEFT + 8, height, style="DF")
        pdf.set_fill_color(*ACCENT)
        pdf.rect(LEFT - 4, top, RIGHT - LEFT + 8, 9, style="F")
        self.text(LEFT, top + 6.4, "加注信息", size=12, color=WHITE, spacing=2.0)
        y = top + 18
        for label, value in block:
            self.label(y, label, size=10.5)
            self.draw(VALUE_X, y, self.fit(label, value, size=12, min_size=8, width=BLOCK_VALUE_RIGHT - VALUE_X))
            y += 8.6
        self.label(y + 2, "验证码", size=10.5)
        with pdf.local_context():
            pdf.text_mode = TextMode.FILL_STROKE
            pdf.set_line_width(0.3)
            pdf.set_draw_color(*ACCENT)
            lines = self.fit("验证码", code, size=15, min_size=9, width=BLOCK_VALUE_RIGHT - VALUE_X)
            self.draw(VALUE_X, y + 2.3, lines, color=ACCENT)
        side = 40.0
        qx, qy = RIGHT - side, top + 14
        self.qr(url, qx, qy, side)
        self.text(qx + side / 2, qy + side + 5.5, "扫码查验", size=10, color=MUTED, align="C", spacing=1.0)
        lines = self.fit("查验网址", url, size=7.5, min_size=5, width=RIGHT - LEFT, max_lines=2)
        self.draw(LEFT, top + height - 3.5 - lines.extra, lines, color=MUTED)

    def qr(self, data: str, x: float, y: float, side: float) -> None:
        """A QR code of `data`, quiet zone included, in the square at (x, y)."""
        qr = segno.make(data, error="m", micro=False)
        rows = [list(row) for row in qr.matrix]
        n = len(rows) + 8  # four modules of quiet zone on each side
        pdf = self.pdf
        pdf.set_fill_color(*WHITE)
        pdf.rect(x, y, side, side, style="F")
        # All dark modules as one filled path, a rectangle per horizontal run: one operator
        # string instead of some 300 `rect()` calls (1.5 ms), and no hairline seams between
        # neighbouring modules, which a single fill unites.
        k, m = pdf.k, side / n * pdf.k
        left, top = x * k + 4 * m, (pdf.h - y) * k - 4 * m
        ops: list[str] = []
        for r, row in enumerate(rows):
            c, count = 0, len(row)
            while c < count:
                if row[c]:
                    start = c
                    while c < count and row[c]:
                        c += 1
                    ops.append(f"{left + start * m:.3f} {top - (r + 1) * m:.3f} {(c - start) * m:.3f} {m:.3f} re")
                else:
                    c += 1
        pdf._out(f"q 0 g {' '.join(ops)} f Q")  # fpdf2 has no public call for a raw path

    def signoff(self, issuer: str, issued: str) -> None:
        """The issuing authority and date at the foot, where a paper certificate is signed."""
        lines = self.fit("发证机构", issuer, size=13, min_size=9, width=RIGHT - LEFT, max_lines=2)
        self.draw(RIGHT, 226, lines, align="R")
        self.text(RIGHT, 237 + lines.extra, issued, size=12, align="R")

    def footer(self, lines: Sequence[str]) -> None:
        y = PAGE_H - 33 - 5 * (len(lines) - 1)
        for line in lines:
            self.text(PAGE_W / 2, y, line, size=9, color=MUTED, align="C")
            y += 5

    def watermark(self, text: str) -> None:
        """Three diagonal lines across the page, drawn last so that nothing covers them."""
        lines = self.fit("水印", text, size=22, min_size=10, width=150)
        pdf = self.pdf
        with pdf.local_context(fill_opacity=0.2):
            for cy in (PAGE_H / 2 - 92, PAGE_H / 2, PAGE_H / 2 + 92):
                # Each line turns about its own centre, so that all three stay on the page.
                with pdf.rotation(32, PAGE_W / 2, cy):
                    self.draw(PAGE_W / 2, cy + 3, lines, color=WATERMARK, align="C")


# -- the font engine ---------------------------------------------------------------------------

# TTFFont.__slots__ of fpdf2 2.8.9: `_Engine.document_font` fills each of them, so a new slot
# in a later fpdf2 must be looked at (is it per-document state?) before this code runs again.
_TTFFONT_SLOTS = frozenset({
    "i", "type", "name", "desc", "glyph_ids", "_hbfont", "sp", "ss", "up", "ut", "cw", "ttffile",
    "fontkey", "emphasis", "scale", "subset", "cmap", "ttfont", "missing_glyphs", "biggest_size_pt",
    "color_font", "unicode_range", "palette_index", "is_compressed", "is_cff", "is_cid_keyed",
    "is_symbol", "cff_ros", "collection_font_number",
})
# Set per document; every other slot is shared with the prototype and never written to.
_PER_DOCUMENT = frozenset({"i", "desc", "subset", "missing_glyphs", "biggest_size_pt", "_hbfont"})


class _DocumentFont(TTFFont):
    """A per-document copy of the prototype font, recognised by `_OutputProducer`."""

    __slots__ = ()


class _Widths(dict[int, float]):
    """fpdf2's width table, without the defaultdict's habit of inserting on a miss: the
    prototype's table is shared by every document and thread, so it must stay read-only."""

    def __init__(self, items: dict[int, float], default: float) -> None:
        super().__init__(items)
        self.default = default

    def __missing__(self, key: int) -> float:
        return self.default


class _FontFile:
    """The raw tables of the shipped TrueType font, to cut per-document subsets from."""

    def __init__(self, data: bytes) -> None:
        view = memoryview(data)  # slices of it share the file's bytes instead of copying 7 MB
        num_tables = struct.unpack_from(">H", data, 4)[0]
        self.tables: dict[str, memoryview] = {}
        for i in range(num_tables):
            tag, _, offset, length = struct.unpack_from(">4sIII", data, 12 + 16 * i)
            self.tables[tag.decode("latin-1")] = view[offset:offset + length]
        head, hhea = self.tables["head"], self.tables["hhea"]
        num_glyphs = struct.unpack_from(">H", self.tables["maxp"], 4)[0]
        loca = array(_U32 if struct.unpack_from(">h", head, 50)[0] else "H")
        loca.frombytes(self.tables["loca"])
        if _LITTLE_ENDIAN:
            loca.byteswap()
        self.loca = [o * 2 for o in loca] if loca.typecode == "H" else list(loca)
        if len(self.loca) != num_glyphs + 1:
            raise ValueError("loca does not match maxp.numGlyphs")
        self.glyf = self.tables["glyf"]
        self.num_h_metrics = struct.unpack_from(">H", hhea, 34)[0]
        self.hmtx = self.tables["hmtx"]

    def metrics(self, gid: int) -> tuple[int, int]:
        n = self.num_h_metrics
        if gid < n:
            advance, lsb = struct.unpack_from(">Hh", self.hmtx, 4 * gid)
            return advance, lsb
        advance = struct.unpack_from(">H", self.hmtx, 4 * (n - 1))[0]
        return advance, struct.unpack_from(">h", self.hmtx, 4 * n + 2 * (gid - n))[0]

    def cut(self, glyphs: Sequence[tuple[int, int]], chars: Sequence[tuple[int, int]]) -> bytes:
        """A TrueType font whose glyph i is the source glyph `glyphs[j][1]` where
        `glyphs[j][0] == i` (other IDs are empty), with a cmap of `chars` (unicode, new ID)."""
        count = max(code for code, _ in glyphs) + 1
        source = dict(glyphs)
        loca = array(_U32)
        hmtx = bytearray()
        parts: list[bytes | memoryview] = []
        offset = 0
        for new in range(count):
            loca.append(offset)
            old = source.get(new)
            if old is None:
                hmtx += b"\x00\x00\x00\x00"
                continue
            hmtx += struct.pack(">Hh", *self.metrics(old))
            start, end = self.loca[old], self.loca[old + 1]
            if end > start:
                outline = self.glyf[start:end]
                if outline[0] & 0x80:
                    # Composite glyphs point at other glyph IDs, which this cut renumbers;
                    # tools/build_font.py makes a font without them.
                    raise ValueError(f"composite glyph {old} in the font")
                parts.append(outline)
                offset += end - start
                if offset % 4:
                    parts.append(b"\x00" * (4 - offset % 4))
                    offset += 4 - offset % 4
        loca.append(offset)
        if _LITTLE_ENDIAN:
            loca.byteswap()
        head = bytearray(self.tables["head"])
        struct.pack_into(">I", head, 8, 0)  # checkSumAdjustment, set below
        struct.pack_into(">h", head, 50, 1)  # long loca
        hhea = bytearray(self.tables["hhea"])
        struct.pack_into(">H", hhea, 34, count)
        maxp = bytearray(self.tables["maxp"])
        struct.pack_into(">H", maxp, 4, count)
        tables = {
            "OS/2": bytes(self.tables["OS/2"]),
            "cmap": _cmap_format4(chars),
            "glyf": b"".join(parts),
            "head": bytes(head),
            "hhea": bytes(hhea),
            "hmtx": bytes(hmtx),
            "loca": loca.tobytes(),
            "maxp": bytes(maxp),
            "name": bytes(self.tables["name"]),
            "post": _post_format3(self.tables["post"]),
        }
        return _sfnt(tables)


def _cmap_format4(chars: Sequence[tuple[int, int]]) -> bytes:
    # One segment per character (the document's codes follow first use, not Unicode order)
    # and the closing 0xFFFF segment.
    pairs = [*sorted(chars), (0xFFFF, 0)]
    seg = len(pairs)
    power = 1 << (seg.bit_length() - 1)
    ends = [u for u, _ in pairs]
    deltas = [(g - u) % 0x10000 if u != 0xFFFF else 1 for u, g in pairs]
    body = struct.pack(f">{seg}H", *ends) + b"\x00\x00" + struct.pack(f">{seg}H", *ends)
    body += struct.pack(f">{seg}H", *deltas) + b"\x00\x00" * seg
    header = struct.pack(">HHHHHHH", 4, 14 + len(body), 0, seg * 2, power * 2, power.bit_length() - 1,
                         seg * 2 - power * 2)
    return struct.pack(">HHHHI", 0, 1, 3, 1, 12) + header + body


def _post_format3(post: memoryview) -> bytes:
    return b"\x00\x03\x00\x00" + bytes(post[4:32])


def _sfnt(tables: dict[str, bytes]) -> bytes:
    tags = sorted(tables)
    num = len(tags)
    power = 1 << (num.bit_length() - 1)
    offset = 12 + 16 * num
    directory = bytearray(struct.pack(">IHHHH", 0x00010000, num, power * 16, power.bit_length() - 1,
                                      num * 16 - power * 16))
    body = bytearray()
    for tag in tags:
        data = tables[tag]
        directory += struct.pack(">4sIII", tag.encode("latin-1"), _checksum(data), offset + len(body), len(data))
        body += data + b"\x00" * (-len(data) % 4)
    font = directory + body
    head_at = offset + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in tags[: tags.index("head")])
    struct.pack_into(">I", font, head_at + 8, (0xB1B0AFBA - _checksum(bytes(font))) % 0x100000000)
    return bytes(font)


def _checksum(data: bytes) -> int:
    words = array(_U32, data + b"\x00" * (-len(data) % 4))
    if _LITTLE_ENDIAN:
        words.byteswap()
    return sum(words) % 0x100000000


class _Engine:
    """Everything parsed from the font once per process; read-only afterwards."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        self.file = _FontFile(data)
        scratch = FPDF()
        proto = TTFFont(scratch, path, "cjk", "")
        proto.ttfont.close()  # every table fpdf2 reads was read in __init__
        default = proto.desc.missing_width
        proto.cw = _Widths(dict(proto.cw), default)
        self.proto = proto
        self.widths: dict[int, float] = proto.cw
        self.codepoints = frozenset(proto.cmap)

    def document_font(self, index: int) -> _DocumentFont:
        proto = self.proto
        font = _DocumentFont.__new__(_DocumentFont)
        for slot in _TTFFONT_SLOTS - _PER_DOCUMENT:
            if hasattr(proto, slot):  # `unicode_range` is declared but never set by fpdf2
                setattr(font, slot, getattr(proto, slot))
        font.i = index
        font.desc = shallow_copy(proto.desc)  # the output gives it an object ID and a font file
        font.missing_glyphs = []
        font.biggest_size_pt = 0
        font._hbfont = None
        font.subset = SubsetMap(font)
        return font


_ENGINES: dict[Path, _Engine] = {}
_ENGINE_LOCK = threading.Lock()


def _engine() -> _Engine:
    engine = _ENGINES.get(FONT_PATH)
    if engine is None:
        with _ENGINE_LOCK:
            engine = _ENGINES.get(FONT_PATH)
            if engine is None:
                engine = _ENGINES[FONT_PATH] = _Engine(FONT_PATH)
    return engine


class _OutputProducer(OutputProducer):
    """fpdf2's output, except that our font is embedded by `_FontFile.cut`."""

    def _add_fonts(self, image_objects_per_index: Any, gfxstate_objs_per_name: Any,
                   pattern_objs_per_name: Any) -> dict[int, Any]:
        objects: dict[int, Any] = {}
        for font in sorted(self.fpdf.fonts.values(), key=lambda f: f.i):
            if not isinstance(font, _DocumentFont):
                raise TypeError(f"unexpected font {font!r}")
            objects[font.i] = self._embed(font)
        return objects

    def _embed(self, font: _DocumentFont) -> PDFFont:
        used = [(code, glyph) for glyph, code in font.subset.items() if glyph is not None]
        if font.missing_glyphs:
            raise RenderError("字体无法显示以下字符：" + "".join(chr(c) for c in font.missing_glyphs))
        used.sort(key=lambda item: item[0])
        # Code 0 is .notdef (fpdf2 reserves it, with a meaningless glyph_id): glyph 0.
        glyphs = [(code, 0 if code == 0 else glyph.glyph_id) for code, glyph in used]
        chars = [(glyph.unicode[0], code) for code, glyph in used
                 if code and isinstance(glyph.unicode, tuple) and len(glyph.unicode) == 1]
        engine = _engine()
        program = engine.file.cut(glyphs, chars)
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(program).digest()[:6])
        fontname = f"{tag}+{font.name}"

        type0 = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(type0, "fonts")
        widths = " ".join(f"{code} [{glyph.glyph_width}]" for code, glyph in used if code)
        cid_font = PDFFont(subtype="CIDFontType2", base_font=fontname, d_w=font.desc.missing_width,
                           w=f"[{widths}]")
        self._add_pdf_obj(cid_font, "fonts")
        type0.descendant_fonts = PDFArray([cid_font])

        to_unicode = PDFContentStream(_to_unicode_cmap(used).encode("latin-1"))
        self._add_pdf_obj(to_unicode, "fonts")
        type0.to_unicode = to_unicode

        system_info = CIDSystemInfo()
        system_info.ordering = PDFString("Identity", encrypt=True)
        self._add_pdf_obj(system_info, "fonts")
        cid_font.c_i_d_system_info = system_info

        descriptor = font.desc
        descriptor.font_name = Name(fontname)
        self._add_pdf_obj(descriptor, "fonts")
        cid_font.font_descriptor = descriptor
        # The subset's glyph IDs are the document's codes: no map to write.
        cid_font.c_i_d_to_g_i_d_map = Name("Identity")  # type: ignore[assignment]

        stream = PDFFontStream(contents=program)
        self._add_pdf_obj(stream, "fonts")
        descriptor.font_file2 = stream  # type: ignore[attr-defined]
        return type0


def _to_unicode_cmap(used: Sequence[tuple[int, Any]]) -> str:
    entries = [
        f"<{code:04X}> <{''.join(chr(u).encode('utf-16-be').hex().upper() for u in glyph.unicode)}>\n"
        for code, glyph in used
        if code and isinstance(glyph.unicode, tuple) and glyph.unicode
    ]
    blocks = "".join(
        f"{len(chunk)} beginbfchar\n{''.join(chunk)}endbfchar\n"
        for chunk in (entries[i:i + 100] for i in range(0, len(entries), 100))
    )
    return (
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
        "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
        "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
        "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
        f"{blocks}endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend"
    )
