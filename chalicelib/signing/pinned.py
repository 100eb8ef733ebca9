"""The pyHanko internals that make a signature deterministic, pinned in one place.

Determinism (unstamped signatures only: a timestamp differs every time, which is why the
worker keeps the first upload rather than relying on identical re-renders,
`services/rendering.py`). The same PDF, signing time, reason, location and material give the
same bytes:
ECDSA is RFC 6979 deterministic (`deterministic_signing=True`, which needs OpenSSL 3.2 or
later; `PdfSigner.deterministic` says whether it is in effect), RSA PKCS#1 v1.5 is
deterministic by nature, and the values pyHanko would take from the machine, the trailer
`/ID`'s second half (random) and the modification date (the clock: Info `/ModDate`, or
`xmp:ModifyDate` in PDF 2.0), come from the input and the signing time instead. The bytes
do change with the pyHanko version, which is in `/Producer`.

pyHanko internals this relies on (pyHanko 0.38; `tests/unit/test_signing.py` fails when one
of them changes): `IncrementalPdfFileWriter._document_id` (the trailer `/ID` array); the
writer's `_meta` (`DocumentMetadata`), whose `last_modified` pyHanko sets to `"now"` before
each write (both in `PinnedWriter`); a signing session's `system_time`, set between
`PdfSigner.init_signing_session` and `prepare_tbs_document` (the steps `PdfSigner.async_sign_pdf`
takes itself), is the `/M` entry (`pin_signing_time`). The rest is pyHanko's documented
interface for a CMS made elsewhere (`digest_tbs_document`, then
`PreparedByteRangeDigest.fill_with_cms`).
"""

from __future__ import annotations

import hashlib
import io
from datetime import datetime

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.sign.signers.pdf_signer import PdfSigningSession


class PinnedWriter(IncrementalPdfFileWriter):
    """An incremental update whose trailer /ID and modification date (the Info dictionary's
    /ModDate and, when pyHanko writes XMP, xmp:ModifyDate) come from its input and signing
    time, not from the machine."""

    def __init__(self, pdf: bytes, signing_time: datetime) -> None:
        super().__init__(io.BytesIO(pdf))
        self._meta = _PinnedModificationTime(signing_time)
        # ISO 32000 §14.4: the first half stays the original's; the second names this version.
        first = self._document_id[0]
        second = hashlib.sha256(pdf + signing_time.isoformat().encode()).digest()[:16]
        self._document_id = generic.ArrayObject([first, generic.ByteStringObject(second)])


class _PinnedModificationTime(DocumentMetadata):
    """Document metadata whose modification time stays the one given: pyHanko sets
    `last_modified = "now"` each time it writes, and reads the clock when it serialises."""

    _modified: datetime  # not a dataclass field: this subclass is not a dataclass

    def __init__(self, modified: datetime) -> None:
        object.__setattr__(self, "_modified", modified)
        super().__init__(last_modified=modified)

    def __setattr__(self, name: str, value: object) -> None:
        if name == "last_modified" and value == "now":
            value = self._modified
        super().__setattr__(name, value)


def pin_signing_time(session: PdfSigningSession, signing_time: datetime) -> None:
    """The signature dictionary's /M: pyHanko would take the machine's clock."""
    session.system_time = signing_time
