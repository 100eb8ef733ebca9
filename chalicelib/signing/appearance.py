"""The signature field: its name, where it sits and what it shows. Without a `Seal` the field
is invisible and readers show the signature in their signature panel; with one, the issuing
authority's seal is drawn on the first page, and clicking it shows the signature."""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pyhanko.pdf_utils.content import ImportedPdfPage
from pyhanko.sign.fields import SigFieldSpec
from pyhanko.stamp import StaticStampStyle

FIELD_NAME = "Signature1"

_SEALS = Path(tempfile.gettempdir()) / "certificate-seals"


@dataclass(frozen=True)
class Seal:
    """The signature's visible appearance: the issuing authority's seal drawn as a one-page PDF
    (render.seal_pdf) and where it goes on the first page, in points from the bottom left.
    Clicking it in a reader shows the signature."""

    pdf: bytes = field(repr=False)
    box: tuple[float, float, float, float]


def field_spec(seal: Seal | None) -> SigFieldSpec:
    """The new signature field: invisible, or on the first page where the seal goes."""
    return SigFieldSpec(sig_field_name=FIELD_NAME) if seal is None else \
        SigFieldSpec(sig_field_name=FIELD_NAME, on_page=0, box=_whole_points(seal.box))


def stamp_style(seal: Seal | None) -> StaticStampStyle | None:
    """The field's appearance: none, or the seal drawn edge to edge, with no border."""
    return None if seal is None else StaticStampStyle(
        background=ImportedPdfPage(_seal_file(seal.pdf)),  # type: ignore[no-untyped-call]
        background_opacity=1.0, border_width=0)


def _whole_points(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """pyHanko places a field on whole points."""
    return (round(box[0]), round(box[1]), round(box[2]), round(box[3]))


def _seal_file(pdf: bytes) -> str:
    """pyHanko imports an appearance from a PDF file by name: the seal's bytes, kept once per
    drawing in the function's /tmp."""
    path = _SEALS / f"{hashlib.sha256(pdf).hexdigest()[:32]}.pdf"
    if not path.exists():
        _SEALS.mkdir(exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}")
        partial.write_bytes(pdf)
        partial.replace(path)  # atomic: another thread never reads half a file
    return str(path)
