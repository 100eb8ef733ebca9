"""The issuing authority's seal as a vector drawing: a red ring, a five-pointed star in the
middle and the authority's name along the upper ring, each character turned to face the
centre, as on a Chinese official seal (公章). No image files: lines, a filled polygon and
text in the embedded font, so it prints sharp at any size.

`seal_pdf` gives it as a one-page PDF exactly the seal's size, for a signature field's
appearance (the seal is where the signature is: a reader shows the signature when it is
clicked). Where the seal goes on each document: `annotated_copy.seal_box`,
`certificate_file.seal_box`."""

from __future__ import annotations

import math

from chalicelib.domain.errors import RenderError
from chalicelib.domain.text import Text
from chalicelib.render.page import PT, SEAL_MM, SEAL_RED, Page, check, clean, width

RING = 0.035  # the ring's width, as a share of the diameter
STAR = 0.19  # the star's outer radius, as a share of the diameter
ARC_MAX = 250.0  # degrees the name may take along the ring, at most
NAME_EM = 0.15  # the characters' em at most, as a share of the diameter
NAME_MIN_PT = 4.0


def seal_pdf(authority: str, diameter_mm: float = SEAL_MM) -> bytes:
    """The seal of `authority` as a one-page PDF of `diameter_mm` × `diameter_mm`, nothing
    else on the page (transparent around the ring). The same arguments give the same bytes."""
    name = clean(authority)
    if not name:
        raise RenderError(Text("印章缺少发证机构名称", "The seal has no issuing authority name"))
    if not 10 <= diameter_mm <= 100:
        raise ValueError("the seal's diameter must be 10 to 100 mm")
    check([("印章", name)])
    page = Page(title=f"{name}（印章）", author=name, created=None, size=(diameter_mm, diameter_mm))
    try:
        draw_seal(page, name, diameter_mm / 2, diameter_mm / 2, diameter_mm)
        return page.output()
    finally:
        page.release()


def draw_seal(page: Page, name: str, cx: float, cy: float, diameter: float) -> None:
    """Draw the seal centred at (cx, cy), mm from the page's top left."""
    pdf = page.pdf
    ring = diameter * RING
    radius = diameter / 2 - ring / 2 - diameter * 0.01
    pdf.set_draw_color(*SEAL_RED)
    pdf.set_fill_color(*SEAL_RED)
    pdf.set_line_width(ring)
    pdf.circle(cx, cy, radius)
    outer, inner = diameter * STAR, diameter * STAR * 0.382
    star = [(cx + (outer if i % 2 == 0 else inner) * math.cos(math.radians(90 + 36 * i)),
             cy - (outer if i % 2 == 0 else inner) * math.sin(math.radians(90 + 36 * i))) for i in range(10)]
    pdf.polygon(star, style="F")
    size, text_radius, step = _name_layout(name, radius - ring / 2, diameter)
    start = 90 + step * (len(name) - 1) / 2  # the first character at the left, reading clockwise
    for i, ch in enumerate(name):
        phi = start - i * step
        x = cx + text_radius * math.cos(math.radians(phi))
        y = cy - text_radius * math.sin(math.radians(phi))
        with pdf.rotation(phi - 90, x, y):
            # An ideograph's middle is about 0.38 em above its baseline.
            page.text(x, y + 0.38 * size * PT, ch, size=size, color=SEAL_RED, align="C")


def _name_layout(name: str, inside: float, diameter: float) -> tuple[float, float, float]:
    """The characters' size (points), the radius of their middles (mm) and the angle between
    neighbours (degrees): as large as the seal allows, smaller for a long name."""
    count = len(name)
    size = NAME_EM * diameter / PT
    for _ in range(8):
        em = size * PT
        text_radius = inside - diameter * 0.02 - 0.55 * em
        advance = max(width(name, size) / count, em * 0.7) * 1.08
        step = math.degrees(advance / text_radius)
        if step * count <= ARC_MAX:
            return size, text_radius, step
        size *= ARC_MAX / (step * count) * 0.98
        if size < NAME_MIN_PT:
            break
    raise RenderError(Text("发证机构名称过长，无法排入印章", "The issuing authority name is too long for the seal"))
