"""The page parts both documents share: colours and measures, the checks and formats of their
values, and `Page`, one page being drawn with the primitives and blocks they are made of."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import segno
from fpdf import FPDF
from fpdf.enums import TextMode

from chalicelib.domain.clock import BEIJING
from chalicelib.domain.errors import RenderError
from chalicelib.domain.text import Text
from chalicelib.render.fonts import DocumentFont, DocumentOutputProducer, engine, missing_glyphs

TITLE = "专业技术人员职业资格电子证书"

INK = (34, 34, 34)
MUTED = (110, 110, 110)
ACCENT = (140, 28, 28)  # a seal red, darkened for print
SEAL_RED = (214, 30, 32)  # the red of an official seal's ink
PAPER_TINT = (252, 248, 241)
RULE = (205, 195, 185)
WHITE = (255, 255, 255)
WATERMARK = (128, 128, 128)

PAGE_W, PAGE_H = 210.0, 297.0
LEFT, RIGHT = 30.0, 180.0
LABEL_W = 24.0  # labels are spread over this width, as on a printed form
VALUE_X = LEFT + LABEL_W + 8.0
PT = 25.4 / 72  # mm per point
SEAL_MM = 36.0  # the seal's diameter on both documents
EN_LABEL_PT = 6.5  # English labels under the Chinese ones (a bilingual copy)
MIN_STEP_BILINGUAL = 8.0  # rows closer than this would put an English label on the next row

NO_DATE = datetime(1969, 12, 31, 19, tzinfo=UTC)

Color = tuple[int, int, int]
Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in mm from the top left


def clean(value: str) -> str:
    # Any run of whitespace (tabs, newlines, U+3000) becomes one space, which the font has.
    return " ".join(value.split())


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def local(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("naive datetime")
    return instant.astimezone(BEIJING)


def check(fields: Iterable[tuple[str, str]]) -> None:
    """Refuse, naming field and characters, any value the font cannot draw."""
    problems = [(label, missing_glyphs(value)) for label, value in fields]
    named = [
        f"{label}中的" + "、".join(f"“{ch}”（U+{ord(ch):04X}）" for ch in sorted(chars))
        for label, chars in problems
        if chars
    ]
    named_en = [
        ", ".join(f"“{ch}” (U+{ord(ch):04X})" for ch in sorted(chars)) + f" in {label}"
        for label, chars in problems
        if chars
    ]
    if named:
        raise RenderError(Text(f"字体无法显示以下字符，文件未生成：{'；'.join(named)}",
                               f"The font cannot draw these characters, no file was made: {'; '.join(named_en)}"))


def points(box: Box) -> tuple[float, float, float, float]:
    """A box in mm from the page's top left as PDF points (x1, y1, x2, y2) from its bottom left."""
    x1, y1, x2, y2 = box
    k = 72 / 25.4
    return (round(x1 * k, 2), round((PAGE_H - y2) * k, 2), round(x2 * k, 2), round((PAGE_H - y1) * k, 2))


@dataclass(frozen=True)
class Lines:
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


def width(text: str, size: float, spacing: float = 0.0) -> float:
    """The width in mm of `text` at `size` points, `spacing` points between characters."""
    w = engine().widths
    return sum(w[ord(ch)] for ch in text) * size / 1000 * PT + spacing * PT * len(text)


def fit(label: str, text: str, *, size: float, min_size: float, width_mm: float, max_lines: int = 1) -> Lines:
    """The largest size from `size` down to `min_size` at which `text` fits on one line;
    otherwise `min_size` and up to `max_lines` lines; otherwise a RenderError."""
    size_fit = size
    while size_fit > min_size and width(text, size_fit) > width_mm:
        size_fit = max(size_fit - 0.5, min_size)
    lines: list[str] = []
    rest = text
    while rest and len(lines) < max_lines:
        cut = len(rest)
        while cut > 1 and width(rest[:cut], size_fit) > width_mm:
            cut -= 1
        if cut < len(rest) and rest[cut - 1].isascii() and rest[cut - 1].isalpha() and rest[cut].isascii() \
                and rest[cut].isalpha() and (space := rest.rfind(" ", 0, cut)) > 0:
            cut = space  # an English word is not cut in two
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        raise RenderError(Text(f"{label}过长，无法排入证书版面", f"{label}: too long for the certificate's layout"))
    return Lines(size_fit, tuple(lines) or ("",))


@dataclass(frozen=True)
class Signoff:
    """The issuing authority and the date at the foot, right-aligned, where a paper certificate
    is signed and sealed; the seal goes over it, covering the date (压年盖月), as on paper."""

    issuer: Lines
    issued: str
    top: float  # the issuer's first baseline

    ISSUED_SIZE = 12.0

    @classmethod
    def of(cls, issuer: str, issued: str, *, top: float) -> Signoff:
        return cls(fit("发证机构", issuer, size=13, min_size=9, width_mm=RIGHT - LEFT, max_lines=2), issued, top)

    @property
    def issued_y(self) -> float:
        return self.top + 9 + self.issuer.extra

    def seal_box(self, diameter: float = SEAL_MM) -> Box:
        """Where the seal goes: centred on the sign-off, kept inside the page's frame."""
        block = max([width(line, self.issuer.size) for line in self.issuer.lines]
                    + [width(self.issued, self.ISSUED_SIZE)])
        cx = min(RIGHT - block / 2, PAGE_W - 16 - diameter / 2)
        cy = (self.top - self.issuer.size * PT * 0.8 + self.issued_y) / 2
        return (cx - diameter / 2, cy - diameter / 2, cx + diameter / 2, cy + diameter / 2)


class Page:
    """One page being drawn (A4 unless told). Lengths in mm, font sizes in points."""

    def __init__(self, *, title: str, author: str, created: datetime | None,
                 size: tuple[float, float] = (PAGE_W, PAGE_H)) -> None:
        found = engine()
        pdf = FPDF(orientation="portrait", unit="mm", format=size)
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0, 0)
        # Also makes the output deterministic; a drawing with no date of its own (the seal) gets
        # the instant fpdf2 itself treats as "no date".
        pdf.set_creation_date(created or NO_DATE)
        pdf.set_title(title)
        pdf.set_author(author)
        pdf.set_subject(TITLE)
        pdf.set_creator("chalicelib.render")
        pdf.set_lang("zh-CN")
        pdf.fonts["cjk"] = found.document_font(len(pdf.fonts) + 1)
        pdf.add_page()
        pdf.set_font("cjk", size=12)
        self.pdf = pdf
        self.codepoints = found.codepoints

    def output(self) -> bytes:
        return bytes(self.pdf.output(output_producer_class=DocumentOutputProducer))

    def release(self) -> None:
        """Let go of the document, drawn or not. fpdf2 caches `SubsetMap.pick` and
        `.get_glyph` per class, keyed by the SubsetMap: without clearing (fpdf2's own
        `_add_fonts` clears too) every document would stay in memory. Clearing while another
        thread draws only costs that thread a recomputation: both methods give the same
        answer again for the same SubsetMap."""
        font = self.pdf.fonts["cjk"]
        assert isinstance(font, DocumentFont)
        font.subset.pick.cache_clear()
        font.subset.get_glyph.cache_clear()

    # -- primitives

    def width(self, text: str, size: float, spacing: float = 0.0) -> float:
        return width(text, size, spacing)

    def fit(self, label: str, text: str, *, size: float, min_size: float, width: float,
            max_lines: int = 1) -> Lines:
        return fit(label, text, size=size, min_size=min_size, width_mm=width, max_lines=max_lines)

    def text(self, x: float, y: float, text: str, *, size: float, color: Color = INK, align: str = "L",
             spacing: float = 0.0) -> None:
        """Draw `text` with its baseline at `y`, left, right or centre (`align` L, R, C) at `x`."""
        codepoints = self.codepoints
        if any(ord(ch) not in codepoints for ch in text):
            # The values were checked with their field names; this catches the layout's own words.
            missing = "".join(sorted({ch for ch in text if ord(ch) not in codepoints}))
            raise RenderError(Text(f"字体无法显示以下字符，文件未生成：{missing}",
                                   f"The font cannot draw these characters, no file was made: {missing}"))
        pdf = self.pdf
        pdf.set_font_size(size)
        pdf.set_text_color(*color)
        pdf.set_char_spacing(spacing)
        if align != "L":
            w = width(text, size, spacing) - spacing * PT
            x -= w if align == "R" else w / 2
        pdf.text(x, y, text)

    def draw(self, x: float, y: float, lines: Lines, *, color: Color = INK, align: str = "L") -> None:
        for i, line in enumerate(lines.lines):
            self.text(x, y + i * lines.leading, line, size=lines.size, color=color, align=align)

    def label(self, y: float, label: str, *, size: float, en: str | None = None) -> None:
        """A label whose characters are spread evenly over LABEL_W, like 姓　　名, and a colon;
        on a bilingual copy its English in small type below it (fitted to the label column)."""
        gap = 0.0
        if len(label) > 1:
            gap = (LABEL_W - width(label, size)) / (len(label) - 1) / PT
        self.text(LEFT, y, label, size=size, color=MUTED, spacing=max(gap, 0.0))
        self.text(LEFT + LABEL_W + 2.0, y, "：", size=size, color=MUTED)
        if en:
            lines = fit(en, en, size=EN_LABEL_PT, min_size=4.5, width_mm=VALUE_X - LEFT - 2.0)
            self.draw(LEFT, y + size * PT * 0.95, lines, color=MUTED)

    def outlined(self, x: float, y: float, text: str, *, size: float, angle: float, about: tuple[float, float],
                 gray: float) -> str:
        """PDF operators that fill `text` as glyph outlines, baseline from (x, y), turned by
        `angle` degrees counter-clockwise about `about`: seen on the page, but no text to
        extract, select or copy."""
        pdf = self.pdf
        found = engine()
        k, h = pdf.k, pdf.h
        theta = math.radians(angle)
        cos, sin = math.cos(theta), math.sin(theta)
        cx, cy = about[0] * k, (h - about[1]) * k
        ox, oy = x * k - cx, (h - y) * k - cy
        e, f = cx + cos * ox - sin * oy, cy + sin * ox + cos * oy
        s = size / found.units_per_em
        ops = [f"q {s * cos:.5f} {s * sin:.5f} {-s * sin:.5f} {s * cos:.5f} {e:.2f} {f:.2f} cm {gray:.3f} g"]
        for ch in text:
            path, advance = found.outline(ch)
            if path:
                ops.append(f"{path} f")
            ops.append(f"1 0 0 1 {advance} 0 cm")
        ops.append("Q")
        return " ".join(ops)

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

    def fields(self, fields: Sequence[tuple[str, str]], *, top: float, bottom: float, step: float,
               labels_en: Sequence[str] | None = None) -> float:
        """Label and value rows from baseline `top`, the last rule no lower than `bottom`;
        rows move closer together when long values take a second line (less close when English
        labels sit under the Chinese ones). The last rule's y."""
        laid = [(label, fit(label, value, size=13.5, min_size=10, width_mm=RIGHT - VALUE_X, max_lines=2))
                for label, value in fields]
        extra = sum(lines.extra for _, lines in laid)
        step = min(step, (bottom - 2.4 - top - extra) / max(len(laid) - 1, 1))
        if step < (MIN_STEP_BILINGUAL if labels_en else 7.0):
            raise RenderError(Text("证书信息过长，无法排入证书版面",
                                   "The certificate's details are too long for its layout"))
        pdf = self.pdf
        pdf.set_draw_color(*RULE)
        pdf.set_line_width(0.15)
        y = top
        rule = top
        for i, (label, lines) in enumerate(laid):
            self.label(y, label, size=11, en=labels_en[i] if labels_en else None)
            self.draw(VALUE_X, y, lines)
            rule = y + 2.4 + lines.extra
            pdf.line(VALUE_X, rule, RIGHT, rule)
            y += step + lines.extra
        return rule

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

    def signoff(self, signoff: Signoff) -> None:
        self.draw(RIGHT, signoff.top, signoff.issuer, align="R")
        self.text(RIGHT, signoff.issued_y, signoff.issued, size=Signoff.ISSUED_SIZE, align="R")

    def footer(self, lines: Sequence[str], *, bottom: float = PAGE_H - 33, size: float = 9.0,
               step: float = 5.0) -> None:
        """Centred lines of small print, the last one's baseline at `bottom`, each fitted to the
        frame's width."""
        y = bottom - step * (len(lines) - 1)
        for line in lines:
            fitted = fit("页脚", line, size=size, min_size=5.5, width_mm=PAGE_W - 36)
            self.text(PAGE_W / 2, y, fitted.lines[0], size=fitted.size, color=MUTED, align="C")
            y += step
