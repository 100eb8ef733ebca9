"""Certificates as PDF: data in, bytes out, nothing else.

Two documents, both one A4 page drawn with fpdf2 and an embedded CJK font, and the seal:

- `annotated_copy`: the annotated copy (加注件) of an e-certificate, with its annotation
  block, QR code and a watermark of the scenario and expiry;
- `certificate_file`: the electronic file (证书电子文件) of an older certificate, with its
  verification code and QR code (`check_block`, which the copy's annotation block shares);
- `seal`: the issuing authority's seal as a one-page vector PDF, for the signature's
  appearance; each document's `seal_box` says where on its page the seal goes;
- `page`: the page parts they share; `fonts`: the font, parsed once per process, and its
  per-document embedding (fast, deterministic; see there).

Every text is checked against the font first (`missing_glyphs`): a character the font cannot
draw is a `RenderError`, never a blank or a box on a certificate.

Only the workers import this package: fpdf2 never loads on the API's path.
"""

from chalicelib.render.annotated_copy import AnnotatedCopy, render_annotated_copy
from chalicelib.render.annotated_copy import seal_box as copy_seal_box
from chalicelib.render.certificate_file import CertificateFile, ElectronicFile, render_certificate_file
from chalicelib.render.certificate_file import seal_box as file_seal_box
from chalicelib.render.fonts import FONT_PATH, missing_glyphs
from chalicelib.render.seal import seal_pdf

__all__ = [
    "FONT_PATH",
    "AnnotatedCopy",
    "CertificateFile",
    "ElectronicFile",
    "copy_seal_box",
    "file_seal_box",
    "missing_glyphs",
    "render_annotated_copy",
    "render_certificate_file",
    "seal_pdf",
]
