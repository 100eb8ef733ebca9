"""Every copy is certified (DocMDP, no changes), timestamped by the local RFC 3161 TSA (B-T) and
carries its validation data (B-LT): checked with pyHanko's validator and poppler's pdfsig,
against the local trust services (infra/tsa.py: OpenSSL's `ts -reply` and the CA's CRL)."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import crl as asn1_crl
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from fpdf import FPDF
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.fields import MDPPerm
from pyhanko.sign.validation import DocumentSecurityStore, read_certification_data, validate_pdf_signature
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy

from chalicelib import observability
from chalicelib.signing import PdfSigner, RevocationInfo, Timestamper, TimestampUnavailable
from infra.tsa import TrustServices

NOW = datetime.now(UTC).replace(microsecond=0)
CERT_NO = b"ZCCH-2023-0012345"


def small_pdf() -> bytes:
    pdf = FPDF()
    pdf.set_compression(False)
    pdf.add_page()
    pdf.set_font("helvetica", size=14)
    pdf.cell(text=f"Certificate No. {CERT_NO.decode()}")
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def signer(trust_services: TrustServices) -> PdfSigner:
    assert trust_services.pki is not None
    return PdfSigner(trust_services.pki.material, timestamper=Timestamper(trust_services.tsa_url),
                     revocation=RevocationInfo())


@pytest.fixture(scope="module")
def signed(signer: PdfSigner) -> bytes:
    return signer.sign(small_pdf(), signing_time=NOW)


@pytest.fixture()
def tsa_down(trust_services: TrustServices) -> Iterator[None]:
    trust_services.available = False
    yield
    trust_services.available = True


def offline_validation(pdf: bytes, trust_services: TrustServices) -> Any:
    """What `pyhanko sign validate --force-revinfo --trust ca.pem` does, with no network: the
    validation context holds only the DSS's certificates and CRLs, revocation info is required
    for every certificate (REQUIRE_REVINFO), nothing may be fetched."""
    assert trust_services.pki is not None
    reader = PdfFileReader(io.BytesIO(pdf))
    (signature,) = reader.embedded_signatures
    (root,) = load_certs_from_pemder_data(trust_services.pki.ca_cert_pem)
    settings = {"trust_roots": [root], "allow_fetching": False, "revinfo_policy": CertRevTrustPolicy(REQUIRE_REVINFO)}
    try:
        context = DocumentSecurityStore.read_dss(reader).as_validation_context(settings)
    except NoDSSFoundError:
        context = ValidationContext(**settings, crls=[], ocsps=[])
    return validate_pdf_signature(signature, signer_validation_context=context, ts_validation_context=context)


def pdfsig(pdf: bytes, tmp_path: Path) -> str:
    if shutil.which("pdfsig") is None:
        pytest.skip("poppler's pdfsig is not installed (make test installs poppler-utils)")
    path = tmp_path / "copy.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdfsig", str(path)], capture_output=True, text=True, check=False, timeout=30,
                          env={"HOME": str(tmp_path), "LC_ALL": "C", "TZ": "UTC"}).stdout


def appended_text(pdf: bytes) -> bytes:
    """Someone else's incremental update after signing: a line of text added to the page."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    stream = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 12 Tf 72 72 Td (FORGED) Tj ET"))
    contents = page["/Contents"]
    page["/Contents"] = generic.ArrayObject([contents, stream]) if not isinstance(contents, generic.ArrayObject) \
        else generic.ArrayObject([*contents, stream])
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_copy_is_a_certification_signature_that_permits_no_changes(signed: bytes) -> None:
    reader = PdfFileReader(io.BytesIO(signed))
    certification = read_certification_data(reader)
    assert certification is not None and certification.permission is MDPPerm.NO_CHANGES
    (signature,) = reader.embedded_signatures
    assert signature.docmdp_level is MDPPerm.NO_CHANGES
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"


def test_a_copy_carries_a_timestamp_from_a_tsa_the_local_ca_certified(signed: bytes,
                                                                       trust_services: TrustServices) -> None:
    status = offline_validation(signed, trust_services)
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid and status.timestamp_validity.trusted
    assert NOW <= status.timestamp_validity.timestamp <= datetime.now(UTC)  # the TSA's time, when signed
    tsa_cert = x509.load_der_x509_certificate(status.timestamp_validity.signing_cert.dump())
    usage = tsa_cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert usage.critical and list(usage.value) == [ExtendedKeyUsageOID.TIME_STAMPING]


def test_a_copy_validates_offline_with_revocation_info_required(signed: bytes, trust_services: TrustServices) -> None:
    status = offline_validation(signed, trust_services)
    assert status.bottom_line, status.pretty_print_details()
    assert status.trusted
    assert status.modification_level is ModificationLevel.NONE and status.docmdp_ok
    dss = DocumentSecurityStore.read_dss(PdfFileReader(io.BytesIO(signed)))
    assert len(list(dss.load_certs())) == 3 and len(dss.crls) == 1  # signer, CA, TSA; the CA's CRL


def test_a_copy_without_its_validation_data_fails_the_same_check(trust_services: TrustServices) -> None:
    # The check above can fail: an unstamped signer writes no DSS, and then the certificates
    # have no revocation information offline.
    assert trust_services.pki is not None
    bare = PdfSigner(trust_services.pki.material, unstamped=True).sign(small_pdf(), signing_time=NOW)
    assert not offline_validation(bare, trust_services).bottom_line


def test_pdfsig_calls_a_genuine_copy_valid_and_wholly_signed(signed: bytes, tmp_path: Path) -> None:
    report = pdfsig(signed, tmp_path)
    assert "Signature Validation: Signature is Valid." in report
    assert "Total document signed" in report
    assert "Signature Type: ETSI.CAdES.detached" in report


def test_an_update_appended_after_signing_is_flagged_by_pyhanko_and_pdfsig(signed: bytes, tmp_path: Path,
                                                                           trust_services: TrustServices) -> None:
    changed = appended_text(signed)
    status = offline_validation(changed, trust_services)
    assert status.intact  # the signed revision itself is untouched ...
    assert not status.docmdp_ok and not status.bottom_line  # ... but DocMDP forbids what came after
    assert status.modification_level not in (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES)
    report = pdfsig(changed, tmp_path)
    # Poppler checks no DocMDP: it still calls the signature valid, and says it no longer covers the file.
    assert "Not total document signed" in report and "Total document signed" not in report


def test_a_later_dss_revision_such_as_the_services_own_is_no_modification(signed: bytes,
                                                                       trust_services: TrustServices) -> None:
    assert trust_services.pki is not None
    out = io.BytesIO(signed)
    DocumentSecurityStore.add_dss(out, None, crls=[asn1_crl.CertificateList.load(trust_services.pki.crl(NOW))],
                                  force_write=True)
    status = offline_validation(out.getvalue(), trust_services)
    assert status.bottom_line and status.docmdp_ok
    assert status.modification_level is ModificationLevel.LTA_UPDATES


def test_a_flipped_byte_is_invalid(signed: bytes, tmp_path: Path, trust_services: TrustServices) -> None:
    at = signed.index(CERT_NO)
    forged = bytearray(signed)
    forged[at + len(CERT_NO) - 1] ^= 0x02
    status = offline_validation(bytes(forged), trust_services)
    assert not status.intact and not status.bottom_line
    report = pdfsig(bytes(forged), tmp_path)
    assert "Signature Validation: Digest Mismatch." in report


def test_two_signatures_of_one_copy_differ_by_their_timestamps(signer: PdfSigner, signed: bytes) -> None:
    assert signer.sign(small_pdf(), signing_time=NOW) != signed


def test_with_the_tsa_down_no_copy_is_signed_and_the_failure_is_counted(
        signer: PdfSigner, tsa_down: None, capsys: pytest.CaptureFixture[str]) -> None:
    observability.flush()
    capsys.readouterr()
    with pytest.raises(TimestampUnavailable, match="HTTP 503"):
        signer.sign(small_pdf(), signing_time=NOW)
    observability.flush()
    assert '"TimestampFailed"' in capsys.readouterr().out


def test_a_signer_without_a_tsa_is_refused_unless_told(trust_services: TrustServices) -> None:
    assert trust_services.pki is not None
    with pytest.raises(ValueError, match="never signed without a timestamp"):
        PdfSigner(trust_services.pki.material)


def test_with_the_tsa_down_the_worker_retries_the_copy_and_counts_it_then_makes_it_when_the_tsa_is_back(
        repo, trust_services: TrustServices, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from chalicelib import deps, workers
    from chalicelib.domain.annotations import AnnotationStatus
    from tests.integration.test_annotations import a_certificate, apply, stored_versions
    from tests.integration.test_secrets import emitted_metrics, sqs_event

    annotation = apply(repo, a_certificate(repo))
    capsys.readouterr()
    trust_services.available = False
    try:
        for receive in range(1, workers.MAX_RECEIVES):
            assert workers.render_worker(sqs_event(annotation.annotation_id, receive), None) == {
                "batchItemFailures": [{"itemIdentifier": "m1"}]}
            # Not failed early: the message returns to the queue.
            assert repo.annotations.annotation(annotation.annotation_id).stored_status is AnnotationStatus.PENDING
    finally:
        trust_services.available = True
    assert emitted_metrics(capsys.readouterr().out).count("TimestampFailed") == workers.MAX_RECEIVES - 1
    assert not stored_versions(f"annotations/{annotation.annotation_id}.pdf")  # nothing went out unstamped
    assert workers.render_worker(sqs_event(annotation.annotation_id, workers.MAX_RECEIVES), None) == {
        "batchItemFailures": []}
    ready = repo.annotations.annotation(annotation.annotation_id)
    assert ready.stored_status is AnnotationStatus.READY
    status = offline_validation(deps.files().get(ready.file_key), trust_services)
    assert status.bottom_line and status.timestamp_validity is not None and status.timestamp_validity.trusted
