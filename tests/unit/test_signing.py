"""chalicelib/signing/ and infra/pki.py: PAdES signatures that pyHanko and poppler's pdfsig accept,
that one changed byte breaks, and that come out the same for the same input and time."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fpdf import FPDF
from pyhanko.keys import load_certs_from_pemder_data, load_private_key_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.signers import SimpleSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pypdf import PdfReader

from chalicelib.signing import DEFAULT_REASON, PdfSigner, SigningMaterial
from infra.pki import DOCUMENT_SIGNING, LOCAL_COMMON_NAME, create_local_material

# pdfsig checks the certificates against the machine's clock, so the material is made, and the
# copies signed, at the time the tests run (passed in as an argument like any other time).
NOW = datetime.now(UTC).replace(microsecond=0)
CERT_NO = b"ZCCH-2023-0012345"
PDFSIG = Path("/usr/bin/pdfsig")
CERTUTIL = Path("/usr/bin/certutil")

needs_pdfsig = pytest.mark.skipif(not PDFSIG.exists(),
                                  reason="/usr/bin/pdfsig is missing: apt-get install poppler-utils")


def small_pdf() -> bytes:
    """One page with a line of plain text, uncompressed so that a test can find the text."""
    pdf = FPDF()
    pdf.set_compression(False)
    pdf.set_creation_date(NOW)
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=f"Certificate No. {CERT_NO.decode()}")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def ec_material() -> SigningMaterial:
    return create_local_material(now=NOW)


@pytest.fixture(scope="module")
def rsa_material() -> SigningMaterial:
    return create_local_material(now=NOW, key_type="rsa-2048")


@pytest.fixture(scope="module", params=["ec-p256", "rsa-2048"])
def material(request: pytest.FixtureRequest, ec_material: SigningMaterial,
             rsa_material: SigningMaterial) -> SigningMaterial:
    return ec_material if request.param == "ec-p256" else rsa_material


@pytest.fixture(scope="module")
def signer(material: SigningMaterial) -> PdfSigner:
    return PdfSigner(material, unstamped=True)


@pytest.fixture(scope="module")
def signed(signer: PdfSigner) -> bytes:
    return signer.sign(small_pdf(), signing_time=NOW)


def validate(pdf: bytes, material: SigningMaterial) -> Any:
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    context = ValidationContext(trust_roots=list(load_certs_from_pemder_data(material.chain_pem)), moment=NOW)
    return validate_pdf_signature(signature, context)


def flip_one_byte_of_the_text(pdf: bytes) -> bytes:
    at = pdf.index(CERT_NO)
    assert pdf.count(CERT_NO) == 1 and at < pdf.index(b"/ByteRange")  # in the original content
    forged = bytearray(pdf)
    forged[at + len(CERT_NO) - 1] ^= 0x02  # "…12345" becomes "…12347"
    return bytes(forged)


def pdfsig(path: Path, home: Path, *options: str) -> str:
    # HOME decides which NSS database pdfsig reads (~/.pki/nssdb): none, unless -nssdir says.
    # Not -no-ocsp: with it, poppler 22.12 fails every chain ("Unknown issue with Certificate");
    # the certificates name no OCSP responder, so nothing is fetched without it either.
    done = subprocess.run([str(PDFSIG), *options, str(path)], capture_output=True, text=True,
                          env={"HOME": str(home), "LC_ALL": "C", "TZ": "UTC"}, check=False, timeout=30)
    return done.stdout


# -- pyHanko's validation ---------------------------------------------------------------------


def test_a_signed_copy_is_intact_valid_and_trusted_against_the_test_ca(signed: bytes,
                                                                       material: SigningMaterial) -> None:
    status = validate(signed, material)
    assert status.intact and status.valid and status.trusted
    assert status.bottom_line
    assert status.coverage.name == "ENTIRE_FILE"
    assert status.md_algorithm == "sha256"


def test_the_signature_is_pades_with_the_reason_given(signed: bytes) -> None:
    (signature,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert signature.sig_object["/Reason"] == DEFAULT_REASON


def test_the_signature_records_the_signing_time_it_was_given(signer: PdfSigner, material: SigningMaterial) -> None:
    at = NOW - timedelta(minutes=20)
    status = validate(signer.sign(small_pdf(), signing_time=at.replace(microsecond=123456)), material)
    assert status.signer_reported_dt == at  # to the second: PDF dates have no fractions


def test_the_modification_date_is_the_signing_time_not_the_clock(signer: PdfSigner) -> None:
    at = NOW - timedelta(minutes=30)
    signed = signer.sign(small_pdf(), signing_time=at)
    metadata = PdfReader(io.BytesIO(signed)).metadata
    recorded = [metadata.modification_date] if metadata is not None and "/ModDate" in metadata else []
    # With ECDSA P-256 pyHanko marks the file PDF 2.0 (ISO/TS 32002) and records the date in
    # XMP instead (the Info dictionary is only updated where it already has the entry).
    recorded += [datetime.fromisoformat(found.decode()) for found in re.findall(rb'xmp:ModifyDate="([^"]+)"', signed)]
    assert recorded and all(modified == at for modified in recorded)


def test_a_naive_signing_time_is_refused(signer: PdfSigner) -> None:
    with pytest.raises(ValueError, match="naive"):
        signer.sign(small_pdf(), signing_time=datetime(2026, 11, 23, 6, 5, 9))


def test_one_flipped_byte_in_the_original_content_breaks_the_signature(signed: bytes,
                                                                       material: SigningMaterial) -> None:
    status = validate(flip_one_byte_of_the_text(signed), material)
    assert not status.intact
    assert not status.bottom_line


# -- poppler's pdfsig -------------------------------------------------------------------------


@needs_pdfsig
def test_pdfsig_reports_the_signature_valid_and_the_self_signed_issuer_untrusted(signed: bytes,
                                                                                tmp_path: Path) -> None:
    path = tmp_path / "copy.pdf"
    path.write_bytes(signed)
    report = pdfsig(path, tmp_path)
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report
    assert "Signature Type: ETSI.CAdES.detached" in report
    assert f"Signing Time: {NOW:%b %d %Y %H:%M:%S}" in report
    # With no trust store holding the local CA, that is all pdfsig can say of the chain.
    assert "Certificate Validation: Certificate issuer isn't Trusted." in report


@needs_pdfsig
@pytest.mark.skipif(not CERTUTIL.exists(), reason="/usr/bin/certutil is missing: apt-get install libnss3-tools")
def test_pdfsig_trusts_the_chain_once_the_ca_is_in_its_nss_database(signed: bytes, material: SigningMaterial,
                                                                    tmp_path: Path) -> None:
    database = tmp_path / "nssdb"
    database.mkdir()
    (tmp_path / "ca.pem").write_bytes(material.chain_pem)
    trust_the_ca = ["-A", "-n", "local CA", "-t", "C,C,C", "-i", str(tmp_path / "ca.pem")]
    for command in (["-N", "--empty-password"], trust_the_ca):
        subprocess.run([str(CERTUTIL), *command, "-d", f"sql:{database}"], check=True, capture_output=True, timeout=30)
    path = tmp_path / "copy.pdf"
    path.write_bytes(signed)
    report = pdfsig(path, tmp_path, "-nssdir", f"sql:{database}")
    assert "Signature Validation: Signature is Valid." in report
    assert "Certificate Validation: Certificate is Trusted." in report


@needs_pdfsig
def test_pdfsig_reports_a_flipped_byte_as_a_digest_mismatch(signed: bytes, tmp_path: Path) -> None:
    path = tmp_path / "forged.pdf"
    path.write_bytes(flip_one_byte_of_the_text(signed))
    report = pdfsig(path, tmp_path)
    assert "Signature Validation: Digest Mismatch." in report
    assert "Signature is Valid." not in report


# -- the signed file --------------------------------------------------------------------------


def test_the_signed_copy_still_opens_with_pypdf_and_has_its_one_page(signed: bytes) -> None:
    reader = PdfReader(io.BytesIO(signed))
    assert len(reader.pages) == 1
    assert CERT_NO.decode() in reader.pages[0].extract_text()


def test_the_signature_is_an_incremental_update_that_keeps_the_original_bytes(signer: PdfSigner) -> None:
    original = small_pdf()
    assert signer.sign(original, signing_time=NOW).startswith(original)


def test_signing_the_same_copy_at_the_same_time_gives_the_same_bytes(signer: PdfSigner,
                                                                     material: SigningMaterial) -> None:
    assert signer.deterministic
    first = signer.sign(small_pdf(), signing_time=NOW)
    assert PdfSigner(material, unstamped=True).sign(small_pdf(), signing_time=NOW) == first
    assert signer.sign(small_pdf(), signing_time=NOW + timedelta(seconds=1)) != first


def test_concurrent_signs_give_the_bytes_that_one_at_a_time_gives(signer: PdfSigner) -> None:
    pdf = small_pdf()
    times = [NOW + timedelta(seconds=i) for i in range(24)]
    expected = [signer.sign(pdf, signing_time=at) for at in times]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(lambda at: signer.sign(pdf, signing_time=at), times)) == expected


def test_the_signature_container_is_the_one_pyhankos_own_signer_makes(signed: bytes,
                                                                      material: SigningMaterial) -> None:
    # PdfSigner assembles the CMS from a template; pyHanko's stock SimpleSigner, given the same
    # document digest, must make the same structure (the same bytes with RSA, whose signatures
    # are deterministic; ECDSA signatures from SimpleSigner are random, so those are set aside).
    (embedded,) = PdfFileReader(io.BytesIO(signed)).embedded_signatures
    start, length, rest, rest_length = embedded.sig_object["/ByteRange"]
    digest = hashlib.sha256(signed[start:start + length] + signed[rest:rest + rest_length]).digest()
    registry = SimpleCertificateStore()  # type: ignore[no-untyped-call]
    registry.register_multiple(list(load_certs_from_pemder_data(material.chain_pem)))
    stock = SimpleSigner(signing_cert=next(iter(load_certs_from_pemder_data(material.cert_pem))),
                         signing_key=load_private_key_from_pemder_data(material.key_pem, None),
                         cert_registry=registry)
    theirs = asyncio.run(stock.async_sign(digest, "sha256", use_pades=True,
                                          signed_attr_settings=PdfCMSSignedAttributes()))["content"]
    ours = embedded.signed_data
    if _is_rsa(material):
        assert ours.dump() == theirs.dump()
    else:
        assert _without_signature(ours) == _without_signature(theirs)


def _is_rsa(material: SigningMaterial) -> bool:
    return isinstance(x509.load_pem_x509_certificate(material.cert_pem).public_key(), rsa.RSAPublicKey)


def _without_signature(signed_data: Any) -> bytes:
    copy = signed_data.copy()
    copy["signer_infos"][0]["signature"] = b""
    dumped: bytes = copy.dump(force=True)
    return dumped


# -- the material -----------------------------------------------------------------------------


def test_material_round_trips_through_its_json(ec_material: SigningMaterial) -> None:
    assert SigningMaterial.from_json(ec_material.to_json()) == ec_material


def test_material_json_without_one_of_its_three_parts_is_refused(ec_material: SigningMaterial) -> None:
    with pytest.raises(ValueError, match="chain_pem"):
        SigningMaterial.from_json(ec_material.to_json().replace('"chain_pem"', '"chain"'))


def test_the_material_never_shows_its_private_key_in_a_repr(ec_material: SigningMaterial) -> None:
    assert b"PRIVATE KEY" in ec_material.key_pem
    assert "PRIVATE KEY" not in repr(ec_material)


def test_a_key_and_a_certificate_that_do_not_belong_together_are_refused(ec_material: SigningMaterial) -> None:
    other = create_local_material(now=NOW)
    with pytest.raises(ValueError, match="not the signing key"):
        PdfSigner(SigningMaterial(key_pem=other.key_pem, cert_pem=ec_material.cert_pem,
                                  chain_pem=ec_material.chain_pem), unstamped=True)
    with pytest.raises(ValueError, match="chain issued"):
        PdfSigner(SigningMaterial(key_pem=ec_material.key_pem, cert_pem=ec_material.cert_pem,
                                  chain_pem=other.chain_pem), unstamped=True)


def test_the_local_ca_issued_an_ec_p256_document_signing_certificate(ec_material: SigningMaterial) -> None:
    cert = x509.load_pem_x509_certificate(ec_material.cert_pem)
    (ca,) = x509.load_pem_x509_certificates(ec_material.chain_pem)
    cert.verify_directly_issued_by(ca)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    public_key = cert.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey) and public_key.curve.name == "secp256r1"
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    extended = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert DOCUMENT_SIGNING in extended and ExtendedKeyUsageOID.EMAIL_PROTECTION in extended
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == LOCAL_COMMON_NAME
    assert cert.not_valid_before_utc <= NOW < NOW + timedelta(days=2 * 365) < cert.not_valid_after_utc
    assert ca.not_valid_after_utc >= cert.not_valid_after_utc


def test_local_material_needs_a_timezone_aware_now() -> None:
    with pytest.raises(ValueError, match="naive"):
        create_local_material(now=datetime(2026, 11, 23))


# -- the visible seal -------------------------------------------------------------------------

def test_the_signature_shows_the_authoritys_seal_where_the_copy_puts_it_and_stays_valid(
        ec_material: SigningMaterial) -> None:
    from chalicelib import render
    from chalicelib.domain.certificates import Certificate, CertificateStatus
    from chalicelib.services import copies
    from chalicelib.services.rendering import CopyFacts

    cert = Certificate("c1", "CH1", "注册测绘师", "", "", "张三", "resident_id", "11010519900307451X", "h",
                       NOW.date(), NOW.date(), "北京市人力资源和社会保障局", "010", CertificateStatus.VALID)
    facts = CopyFacts(cert, "JZ1", "本人调用", NOW, NOW + timedelta(days=90), "ABCD-EFGH-JKLM-NPQR",
                      "http://127.0.0.1/verify")
    pdf = copies.signed_copy(facts, signer=PdfSigner(ec_material, unstamped=True))
    (widget,) = [a.get_object() for a in PdfReader(io.BytesIO(pdf)).pages[0]["/Annots"]
                 if a.get_object().get("/FT") == "/Sig"]
    box = render.copy_seal_box(copies.annotated_copy(facts))
    assert [float(v) for v in widget["/Rect"]] == pytest.approx(box, abs=0.5)  # not [0 0 0 0]
    assert "/N" in widget["/AP"]  # the appearance a reader draws, and clicks through to the signature
    status = validate(pdf, ec_material)
    assert status.intact and status.valid and status.trusted
