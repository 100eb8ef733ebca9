"""What was appended to a signed copy, told by pyHanko in a bounded child: annotations, pages,
validation data (no modification), and hostile updates that end within the limits."""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime

import pytest
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import add_validation_info
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfWriter
from pypdf.annotations import FreeText

from chalicelib.domain.revisions import Modification, candidate_prefixes, prefix_digests
from chalicelib.pdf_changes import CPU_SECONDS, MEMORY_BYTES, changes_after
from chalicelib.signing import PdfSigner, SigningMaterial, _blank_pdf
from infra.pki import create_local_material
from tests.hostile_pdfs import hostile_files, hostile_updates

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def material() -> SigningMaterial:
    return create_local_material(now=NOW)


@pytest.fixture(scope="module")
def copy(material: SigningMaterial) -> bytes:
    return PdfSigner(material, unstamped=True).sign(_blank_pdf(), signing_time=NOW)


def incremental(pdf: bytes, change: str) -> bytes:
    """`pdf` re-saved by pypdf as an incremental update, as a reader saves a comment or a page."""
    writer = PdfWriter(io.BytesIO(pdf), incremental=True)
    if change == "annotation":
        writer.add_annotation(0, FreeText(text="已核对", rect=(10, 10, 100, 50)))
    else:
        writer.add_blank_page(595, 842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def with_dss(pdf: bytes, material: SigningMaterial) -> bytes:
    """`pdf` with the chain added as validation data (DSS, VRI) by pyHanko."""
    reader = PdfFileReader(io.BytesIO(pdf))
    context = ValidationContext(trust_roots=list(load_certs_from_pemder_data(material.chain_pem)),
                                allow_fetching=False, revocation_mode="soft-fail")
    return bytes(add_validation_info(reader.embedded_signatures[0], context, in_place=False).getvalue())


def test_a_copy_as_issued_has_no_shorter_prefix_to_look_up(copy: bytes) -> None:
    assert candidate_prefixes(copy) == []


@pytest.mark.parametrize(("change", "kind"), [("annotation", Modification.ANNOTATIONS), ("page", Modification.PAGES)])
def test_an_appended_annotation_or_page_is_found_behind_the_issued_prefix(copy: bytes, change: str,
                                                                         kind: Modification) -> None:
    changed = incremental(copy, change)
    assert changed.startswith(copy)
    assert len(copy) in candidate_prefixes(changed)
    assert prefix_digests(changed, [len(copy)])[len(copy)] == hashlib.sha256(copy).hexdigest()
    examined = changes_after(changed, len(copy))
    assert (examined.outcome, examined.modifications) == ("ok", frozenset({kind}))


def test_validation_data_added_by_pyhanko_is_no_modification(copy: bytes, material: SigningMaterial) -> None:
    changed = with_dss(copy, material)
    assert b"/DSS" in changed[len(copy):]
    examined = changes_after(changed, len(copy))
    assert (examined.outcome, examined.modifications) == ("ok", frozenset())


def test_an_issued_file_that_ends_in_validation_data_is_a_prefix_too(copy: bytes, material: SigningMaterial) -> None:
    """Tomorrow's B-LT copies: the signed revision, then the service's DSS revision, issued as one."""
    issued = with_dss(copy, material)
    changed = incremental(issued, "annotation")
    assert len(issued) in candidate_prefixes(changed)
    assert changes_after(changed, len(issued)).modifications == frozenset({Modification.ANNOTATIONS})


def test_a_flipped_byte_in_the_signed_range_leaves_no_issued_prefix(copy: bytes) -> None:
    changed = bytearray(incremental(copy, "annotation"))
    changed[100] ^= 0x01
    digests = prefix_digests(bytes(changed), candidate_prefixes(bytes(changed)))
    assert hashlib.sha256(copy).hexdigest() not in digests.values()


@pytest.fixture(scope="module")
def hostile(copy: bytes) -> dict[str, bytes]:
    return hostile_updates(copy)


def test_hostile_updates_to_a_genuine_copy_end_within_the_limits_and_never_pass_as_unmodified(
        copy: bytes, hostile: dict[str, bytes]) -> None:
    for name, data in hostile.items():
        assert len(data) <= 5 * 1024 * 1024, name
        examined = changes_after(data, len(copy))
        assert examined.cpu_seconds <= CPU_SECONDS + 0.5, (name, examined)
        assert examined.memory_bytes is None or examined.memory_bytes <= MEMORY_BYTES, (name, examined)
        assert examined.outcome in ("ok", "killed", "failed"), (name, examined)
        assert examined.modifications is None or examined.modifications, (name, examined)
    # The limits are what ends the worst of them, not their luck.
    assert any(changes_after(data, len(copy)).outcome == "killed" for data in hostile.values())


def test_hostile_files_of_their_own_offer_no_issued_prefix(copy: bytes) -> None:
    issued = hashlib.sha256(copy).hexdigest()
    for name, data in hostile_files().items():
        assert issued not in prefix_digests(data, candidate_prefixes(data)).values(), name
