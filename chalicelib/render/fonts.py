"""The font machinery: the shipped CJK font parsed once per process, a cheap per-document copy
of it for fpdf2, our own embedding of the glyphs a document used, and glyph outlines as PDF
paths (for text that must be seen but never extracted, like the copy's watermark).

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
  `FPDF._out(str)` to append operators to the page (the QR code's path, the watermark's
  outlines and its artifact marks);
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
from collections.abc import Sequence
from copy import copy as shallow_copy
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import SubsetMap, TTFFont
from fpdf.output import CIDSystemInfo, OutputProducer, PDFFont, PDFFontStream
from fpdf.syntax import Name, PDFArray, PDFContentStream, PDFString

from chalicelib.domain.errors import RenderError
from chalicelib.domain.text import Text

_LITTLE_ENDIAN = sys.byteorder == "little"
_U32 = "I" if array("I").itemsize == 4 else "L"
FONT_PATH = Path(__file__).resolve().parent.parent / "assets" / "fonts" / "NotoSansCJKsc-Regular-GBK.ttf"


def missing_glyphs(text: str) -> set[str]:
    """The characters of `text` that the embedded font cannot draw (whitespace ignored)."""
    codepoints = engine().codepoints
    return {ch for ch in text if ord(ch) not in codepoints and not ch.isspace()}



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


class DocumentFont(TTFFont):
    """A per-document copy of the prototype font, recognised by `DocumentOutputProducer`."""

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

    def outline(self, gid: int) -> str:
        """The glyph's outline as PDF path operators in font units (nonzero winding, as
        TrueType fills), quadratic curves raised to cubic ones; empty for a blank glyph."""
        start, end = self.loca[gid], self.loca[gid + 1]
        if end <= start:
            return ""
        data = self.glyf[start:end]
        contours = struct.unpack_from(">h", data, 0)[0]
        if contours < 0:
            raise ValueError(f"composite glyph {gid} in the font")
        ends = struct.unpack_from(f">{contours}H", data, 10)
        at = 10 + 2 * contours
        at += 2 + struct.unpack_from(">H", data, at)[0]  # skip the instructions
        count = ends[-1] + 1 if contours else 0
        flags: list[int] = []
        while len(flags) < count:
            flag = data[at]
            at += 1
            repeat = 1
            if flag & 8:
                repeat += data[at]
                at += 1
            flags.extend([flag] * repeat)
        coordinates: list[list[int]] = [[], []]
        for axis, short, same in ((0, 2, 16), (1, 4, 32)):
            value = 0
            for flag in flags:
                if flag & short:
                    delta = data[at]
                    at += 1
                    value += delta if flag & same else -delta
                elif not flag & same:
                    value += struct.unpack_from(">h", data, at)[0]
                    at += 2
                coordinates[axis].append(value)
        ops: list[str] = []
        first = 0
        for last in ends:
            points = [(float(coordinates[0][i]), float(coordinates[1][i]), bool(flags[i] & 1))
                      for i in range(first, last + 1)]
            first = last + 1
            ops.extend(_contour(points))
        return " ".join(ops)

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


def _contour(points: list[tuple[float, float, bool]]) -> list[str]:
    """One closed TrueType contour as `m`/`l`/`c` operators."""
    if not points:
        return []
    # Start on an on-curve point; between two off-curve points lies an implied on-curve one.
    if not points[0][2]:
        if points[-1][2]:
            points = [points[-1], *points[:-1]]
        else:
            x0, y0, _ = points[0]
            x1, y1, _ = points[-1]
            points = [((x0 + x1) / 2, (y0 + y1) / 2, True), *points]
    x, y, _ = points[0]
    ops = [f"{x:.0f} {y:.0f} m"]
    control: tuple[float, float] | None = None
    for px, py, on in [*points[1:], points[0]]:
        if on:
            if control is None:
                ops.append(f"{px:.0f} {py:.0f} l")
            else:
                ops.append(_cubic(x, y, *control, px, py))
                control = None
            x, y = px, py
        elif control is None:
            control = (px, py)
        else:
            mx, my = (control[0] + px) / 2, (control[1] + py) / 2
            ops.append(_cubic(x, y, *control, mx, my))
            x, y, control = mx, my, (px, py)
    ops.append("h")
    return ops


def _cubic(x0: float, y0: float, qx: float, qy: float, x1: float, y1: float) -> str:
    # The cubic Bézier equal to the quadratic (x0, y0) (qx, qy) (x1, y1).
    return (f"{x0 + 2 / 3 * (qx - x0):.0f} {y0 + 2 / 3 * (qy - y0):.0f} "
            f"{x1 + 2 / 3 * (qx - x1):.0f} {y1 + 2 / 3 * (qy - y1):.0f} {x1:.0f} {y1:.0f} c")


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
        self.units_per_em = struct.unpack_from(">H", self.file.tables["head"], 18)[0]
        self._outlines: dict[str, tuple[str, int]] = {}

    def outline(self, ch: str) -> tuple[str, int]:
        """The character's outline (PDF path operators in font units) and its advance.
        Kept per process: a watermark draws the same few characters on every copy."""
        found = self._outlines.get(ch)
        if found is None:
            gid = self.proto.glyph_ids.get(ord(ch))
            if gid is None:
                raise RenderError(Text(f"字体无法显示以下字符，文件未生成：{ch}",
                                       f"The font cannot draw these characters, no file was made: {ch}"))
            found = self._outlines[ch] = (self.file.outline(gid), self.file.metrics(gid)[0])
        return found

    def document_font(self, index: int) -> DocumentFont:
        proto = self.proto
        font = DocumentFont.__new__(DocumentFont)
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


def engine() -> _Engine:
    """The process's font engine, parsed on first use."""
    found = _ENGINES.get(FONT_PATH)
    if found is None:
        with _ENGINE_LOCK:
            found = _ENGINES.get(FONT_PATH)
            if found is None:
                found = _ENGINES[FONT_PATH] = _Engine(FONT_PATH)
    return found


class DocumentOutputProducer(OutputProducer):
    """fpdf2's output, except that our font is embedded by `_FontFile.cut`."""

    def _add_fonts(self, image_objects_per_index: Any, gfxstate_objs_per_name: Any,
                   pattern_objs_per_name: Any) -> dict[int, Any]:
        objects: dict[int, Any] = {}
        for font in sorted(self.fpdf.fonts.values(), key=lambda f: f.i):
            if not isinstance(font, DocumentFont):
                raise TypeError(f"unexpected font {font!r}")
            objects[font.i] = self._embed(font)
        return objects

    def _embed(self, font: DocumentFont) -> PDFFont:
        used = [(code, glyph) for glyph, code in font.subset.items() if glyph is not None]
        if font.missing_glyphs:
            raise RenderError(Text("字体无法显示以下字符：" + "".join(chr(c) for c in font.missing_glyphs),
                                   "The font cannot draw these characters: "
                                   + "".join(chr(c) for c in font.missing_glyphs)))
        used.sort(key=lambda item: item[0])
        # Code 0 is .notdef (fpdf2 reserves it, with a meaningless glyph_id): glyph 0.
        glyphs = [(code, 0 if code == 0 else glyph.glyph_id) for code, glyph in used]
        chars = [(glyph.unicode[0], code) for code, glyph in used
                 if code and isinstance(glyph.unicode, tuple) and len(glyph.unicode) == 1]
        program = engine().file.cut(glyphs, chars)
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
