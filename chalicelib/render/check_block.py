"""The block through which a document is checked, as both documents print it: a heading bar,
the document's own rows, its verification code in large type, the QR code that opens the
verification page (to the right of the values), and the page's address in small print."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf.enums import TextMode

from chalicelib.render.page import ACCENT, LEFT, MUTED, PAPER_TINT, RIGHT, VALUE_X, WHITE, Box, Page

VALUE_RIGHT = 128.0  # the values end here; the QR code sits to their right
QR_SIDE = 38.0
ROW_STEP = 8.2


def qr_box(top: float) -> Box:
    """Where the QR code of a block whose top is `top` lies (mm from the page's top left)."""
    return (RIGHT - QR_SIDE, top + 13, RIGHT, top + 13 + QR_SIDE)


def height(rows: int) -> float:
    """The block's height for `rows` rows: room for them, the code and the address, and never
    less than the QR code and its caption need."""
    return max(17 + rows * ROW_STEP + 14, 13 + QR_SIDE + 14)


def draw(page: Page, heading: str, rows: Sequence[tuple[str, str]], code: str, url: str, *, top: float,
         english: Sequence[str] | None = None) -> None:
    """`english`, on a bilingual copy: the rows' English labels, then the code's, then the QR
    code caption's."""
    pdf = page.pdf
    tall = height(len(rows))
    pdf.set_fill_color(*PAPER_TINT)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.35)
    pdf.rect(LEFT - 4, top, RIGHT - LEFT + 8, tall, style="DF")
    pdf.set_fill_color(*ACCENT)
    pdf.rect(LEFT - 4, top, RIGHT - LEFT + 8, 9, style="F")
    page.text(LEFT, top + 6.4, heading, size=12, color=WHITE, spacing=2.0)
    y = top + 17
    for i, (label, value) in enumerate(rows):
        page.label(y, label, size=10.5, en=english[i] if english else None)
        page.draw(VALUE_X, y, page.fit(label, value, size=12, min_size=8, width=VALUE_RIGHT - VALUE_X))
        y += ROW_STEP
    page.label(y + 2, "验证码", size=10.5, en=english[len(rows)] if english else None)
    with pdf.local_context():
        pdf.text_mode = TextMode.FILL_STROKE
        pdf.set_line_width(0.3)
        pdf.set_draw_color(*ACCENT)
        lines = page.fit("验证码", code, size=15, min_size=9, width=VALUE_RIGHT - VALUE_X)
        page.draw(VALUE_X, y + 2.3, lines, color=ACCENT)
    qx, qy, qx2, _ = qr_box(top)
    page.qr(url, qx, qy, qx2 - qx)
    page.text((qx + qx2) / 2, qy + QR_SIDE + 5.0, "扫码查验", size=10, color=MUTED, align="C", spacing=1.0)
    if english:
        page.text((qx + qx2) / 2, qy + QR_SIDE + 8.5, english[len(rows) + 1], size=7, color=MUTED, align="C")
    lines = page.fit("查验网址", url, size=7.5, min_size=5, width=RIGHT - LEFT, max_lines=2)
    page.draw(LEFT, top + tall - 3.5 - lines.extra, lines, color=MUTED)
