"""Build the font shipped in chalicelib/assets/fonts/ from a Debian font package.

Run by hand (its output is committed), on a Debian machine:

    apt-get install fonts-noto-cjk
    .venv/bin/python tools/build_font.py

The source is Noto Sans CJK SC Regular (SIL Open Font License 1.1) from `fonts-noto-cjk`.
The result is cut down to what a certificate can contain and still small enough for a
Lambda package:

- characters: every character of GBK (all 21 003 hanzi incl. 〇, full-width punctuation and
  forms, kana, Greek, Cyrillic, box drawing …) except ≒ (U+2252), which the source lacks;
  the rest of the CJK Unified Ideographs block that the source covers; printable ASCII;
- outlines converted from CFF to TrueType (quadratic) `glyf`, because render.py embeds a
  per-document copy by slicing `loca`/`glyf`, which is cheap for TrueType and not for CFF;
- no hinting (CFF hints do not survive the conversion anyway), no OpenType layout tables
  (fpdf2 renders CJK without shaping), no vertical metrics, glyph names not stored
  (`post` format 3).

The licence text is copied from the package's copyright file next to the font.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTFont, newTable

SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FAMILY = "Noto Sans CJK SC"
COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")
OUT_DIR = Path(__file__).resolve().parent.parent / "chalicelib" / "assets" / "fonts"
FONT_NAME = "NotoSansCJKsc-Regular-GBK.ttf"
LICENCE_NAME = "NotoSansCJKsc-OFL.txt"
FAMILY = "Noto Sans CJK SC GBK"
PS_NAME = "NotoSansCJKsc-Regular-GBK"

# Beyond GBK: typographic marks a layout may use.
EXTRA = "·•—–‘’“”…‰※№€￥"


def gbk_characters() -> set[str]:
    chars: set[str] = set()
    for lead in range(0x81, 0xFF):
        for trail in range(0x40, 0xFF):
            if trail == 0x7F:
                continue
            try:
                ch = bytes((lead, trail)).decode("gbk")
            except UnicodeDecodeError:
                continue
            if not 0xE000 <= ord(ch) <= 0xF8FF:  # GBK's user-defined areas map to the PUA
                chars.add(ch)
    return chars


def wanted_codepoints() -> set[int]:
    chars = gbk_characters() | {chr(c) for c in range(0x20, 0x7F)} | set(EXTRA)
    chars |= {chr(c) for c in range(0x4E00, 0xA000)}  # kept where the source has them
    return {ord(c) for c in chars}


def find_font_number(path: Path, family: str) -> int:
    from fontTools.ttLib import TTCollection

    for number, font in enumerate(TTCollection(path, lazy=True).fonts):
        if font["name"].getBestFullName() == family:
            return number
    raise SystemExit(f"{family} not found in {path}")


def cut(font: TTFont, codepoints: set[int]) -> None:
    options = subset.Options()
    options.layout_features = []
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG", "meta"]
    options.hinting = False
    options.desubroutinize = True
    options.notdef_outline = True
    options.recommended_glyphs = True
    options.glyph_names = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 11, 12, 13, 14]
    options.name_languages = [0x409]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints)
    subsetter.subset(font)


def to_truetype(font: TTFont, max_err: float = 1.0) -> None:
    """CFF → glyf, after fontTools' otf2ttf recipe."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        tt_pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(tt_pen, max_err, reverse_direction=True))
        glyphs[name] = tt_pen.glyph()
    font["loca"] = newTable("loca")
    glyf = font["glyf"] = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    del font["CFF "]
    glyf.compile(font)
    hmtx = font["hmtx"]
    for name, glyph in glyphs.items():
        advance, _ = hmtx[name]
        hmtx[name] = (advance, getattr(glyph, "xMin", 0))
    if any(glyph.isComposite() for glyph in glyphs.values()):
        # render.py renumbers glyphs when it cuts a document's subset; components would
        # point at the wrong glyphs.
        raise SystemExit("composite glyphs in the converted font")
    maxp = font["maxp"] = newTable("maxp")
    maxp.tableVersion = 0x00010000
    maxp.maxZones = 1
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements"):
        setattr(maxp, field, 0)  # no hinting, no components; the rest is recalculated on save
    post = font["post"]
    post.formatType = 3.0
    font.sfntVersion = "\x00\x01\x00\x00"


def rename(font: TTFont) -> None:
    # A Modified Version under the OFL: say so in the names.
    name = font["name"]
    for record in list(name.names):
        if record.nameID in (1, 4):
            name.setName(FAMILY, record.nameID, record.platformID, record.platEncID, record.langID)
        elif record.nameID == 3:
            name.setName(f"{PS_NAME};subset of NotoSansCJKsc-Regular", 3, record.platformID, record.platEncID,
                         record.langID)
        elif record.nameID == 6:
            name.setName(PS_NAME, 6, record.platformID, record.platEncID, record.langID)


def licence_text(copyright_file: Path, font: TTFont) -> str:
    text = copyright_file.read_text(encoding="utf-8")
    match = re.search(r"^License: SIL-1\.1\n((?: .*\n?)+)", text, re.MULTILINE)
    if not match:
        raise SystemExit(f"no SIL-1.1 licence text in {copyright_file}")
    body = "\n".join("" if line.strip() == "." else line[1:] for line in match.group(1).splitlines())
    notice = font["name"].getDebugName(0)
    return (f"{FONT_NAME}: a subset of Noto Sans CJK SC Regular (Debian fonts-noto-cjk), made by\n"
            f"tools/build_font.py, renamed \"{FAMILY}\" as a Modified Version.\n"
            f"Original copyright: {notice}\n"
            "Some upstream notices of this design (Source Han Sans) declare the Reserved Font Name\n"
            "'Source'; this font does not use it.\n"
            f"Licensed under the SIL Open Font License, Version 1.1:\n\n{body.strip()}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out-dir", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    font = TTFont(args.source, fontNumber=find_font_number(args.source, SOURCE_FAMILY), recalcTimestamp=False)
    licence = licence_text(COPYRIGHT, font)
    cut(font, wanted_codepoints())
    to_truetype(font)
    rename(font)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / FONT_NAME
    font.save(out)
    (args.out_dir / LICENCE_NAME).write_text(licence, encoding="utf-8")
    cmap = TTFont(out)["cmap"].getBestCmap()
    print(f"{out}: {out.stat().st_size:,} bytes, {len(cmap):,} characters", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
