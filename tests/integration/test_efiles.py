"""The electronic file (证书电子文件) of an older certificate on moto: its code from the first
load, rendered and signed on first download (not at import) by the render worker, kept, and
verifiable by code and by file like a copy, answering the certificate's state now."""

from __future__ import annotations

import hashlib
import io
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date, timedelta

import boto3
import pytest
from pypdf import PdfReader

from chalicelib import deps
from chalicelib.domain.annotations import format_code, new_verification_code, normalize_code
from chalicelib.domain.certificates import Certificate, CertificateStatus, certificate_id_for
from chalicelib.domain.errors import AnnotationRequired, CertificateNotValid, FileNotReady, NotFound, UnknownCode
from chalicelib.services import certificates, copies, efiles, verifying
from chalicelib.services.efiles import FileFacts
from chalicelib.services.imports import import_lines
from chalicelib.services.rendering import Outcome
from chalicelib.signing import PdfSigner
from infra.pki import create_local_material
from tests.integration.test_annotations import NOW, RecordingQueue, a_certificate
from tests.integration.test_verification import verifier
from tests.unit.test_file_changes import incremental

SIGNER = PdfSigner(create_local_material(now=NOW), unstamped=True)
NO_WAIT = efiles.Waiting(0)


def signed_file(facts: FileFacts) -> bytes:
    """The real layout, signed without a timestamp (the TSA's part is test_signed_copies')."""
    return copies.signed_certificate_file(facts, signer=SIGNER)


def an_e_file(repo, **changes: object) -> Certificate:  # type: ignore[no-untyped-def]
    number = "HS" + secrets.token_hex(6).upper()
    cert = Certificate(
        certificate_id=certificate_id_for(number), certificate_no=number, qualification="护士执业资格", level="",
        specialty="护理", holder_name="张三", id_type="resident_id", id_number="11010519900307451X",
        holder_key=secrets.token_hex(16), issued_on=date(2019, 12, 20), approved_on=date(2019, 11, 30),
        issuer_name="北京市卫生健康委员会", issuer_contact="010-12345678", status=CertificateStatus.VALID,
        file_code=new_verification_code())
    cert = replace(cert, **changes)  # type: ignore[arg-type]
    repo.put_certificate(cert, NOW)
    return repo.certificate(cert.certificate_id)


def render_file(certificate_id: str, now=NOW, renderer=signed_file) -> Outcome:  # type: ignore[no-untyped-def]
    return efiles.render_file(certificate_id, store=deps.repository(), files=deps.files(), renderer=renderer,
                              verify_url=deps.links().verify_url, now=now)


def link(repo, cert: Certificate, queue: RecordingQueue | None = None,  # type: ignore[no-untyped-def]
         waiting: efiles.Waiting = NO_WAIT, now=NOW) -> dict[str, str]:
    return efiles.file_link(repo.certificate(cert.certificate_id), "attachment", store=repo,
                            queue=queue or RecordingQueue(), files=deps.files(), waiting=waiting, now=now)


def stored_files(prefix: str = "certificates/") -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=deps.files().bucket, Prefix=prefix)
    return [o["Key"] for o in listed.get("Contents", [])]


def downloaded(repo, cert: Certificate) -> tuple[Certificate, bytes]:  # type: ignore[no-untyped-def]
    assert render_file(cert.certificate_id) is Outcome.READY
    fresh = repo.certificate(cert.certificate_id)
    assert fresh.current_file is not None
    return fresh, deps.files().get(fresh.current_file)


def test_a_batch_gives_each_e_file_a_code_and_renders_nothing(repo) -> None:
    header = ("certificate_no,qualification,level,specialty,holder_name,id_type,id_number,issued_on,approved_on,"
              "issuer_name,issuer_contact,status")
    number = "HS" + secrets.token_hex(5).upper()
    rows = [header, f"{number},护士执业资格,,护理,王芳,resident_id,11010519900307451X,2019-12-20,2019-11-30,"
                    "北京市卫生健康委员会,010-1,valid",
            f"E{number},注册测绘师,,,王芳,resident_id,11010519900307451X,2023-12-20,2023-11-30,北京市,010-1,valid"]
    before = stored_files()
    report = import_lines("b.csv", rows, store=repo, id_hash=lambda t, n: "h-" + n, now=NOW)
    assert report.loaded == 2
    e_file, e_cert = repo.certificate(certificate_id_for(number)), repo.certificate(certificate_id_for("E" + number))
    assert e_file.file_code is not None and normalize_code(e_file.file_code) == e_file.file_code
    assert e_cert.file_code is None
    assert certificates.view(e_file, None)["file_verification_code"] == format_code(e_file.file_code)
    assert certificates.view(e_cert, None)["file_verification_code"] is None
    assert stored_files() == before  # nothing rendered at import

    # Loaded again, even with a changed row, the file keeps its code.
    rows[1] = rows[1].replace("王芳", "王芳芳", 1)
    import_lines("b2.csv", rows, store=repo, id_hash=lambda t, n: "h-" + n, now=NOW + timedelta(days=1),
                 version="v2")
    again = repo.certificate(e_file.certificate_id)
    assert again.holder_name == "王芳芳" and again.file_code == e_file.file_code


def test_the_first_download_asks_the_worker_once_and_then_links_the_signed_file(repo) -> None:
    cert = an_e_file(repo)
    queue = RecordingQueue()
    with pytest.raises(FileNotReady) as refused:
        link(repo, cert, queue)
    assert refused.value.retry_after_seconds == efiles.RETRY_AFTER_SECONDS
    with pytest.raises(FileNotReady):  # asked again at once: no second render queued
        link(repo, cert, queue, now=NOW + timedelta(seconds=5))
    assert queue.files == [cert.certificate_id]

    fresh, pdf = downloaded(repo, cert)
    answer = link(repo, cert, queue, now=NOW + timedelta(seconds=6))
    assert fresh.current_file is not None and fresh.current_file in answer["url"]
    assert queue.files == [cert.certificate_id]
    assert fresh.file_sha256 == hashlib.sha256(pdf).hexdigest()
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert format_code(cert.file_code) in text and "证书电子文件" in text and cert.certificate_no in text
    (signature,) = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/AcroForm"]["/Fields"]
    assert signature.get_object()["/FT"] == "/Sig"


def test_a_download_waits_for_the_worker_and_gets_the_file_it_renders_meanwhile(repo) -> None:
    cert = an_e_file(repo)
    queue = RecordingQueue()
    clock = [0.0]

    def sleep(seconds: float) -> None:  # the worker renders while the API waits
        clock[0] += seconds
        if queue.files:
            render_file(queue.files.pop())

    answer = link(repo, cert, queue, waiting=efiles.Waiting(5, sleep=sleep, monotonic=lambda: clock[0]))
    assert "certificates/" in answer["url"] and clock[0] < 0.1


def test_rendering_twice_or_concurrently_stores_one_file(repo) -> None:
    cert = an_e_file(repo)
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(lambda _: render_file(cert.certificate_id), range(4)))
    assert outcomes.count(Outcome.READY) >= 1
    fresh = repo.certificate(cert.certificate_id)
    assert stored_files(f"certificates/{cert.certificate_id}/") == [fresh.current_file]
    assert render_file(cert.certificate_id) is Outcome.ALREADY_DONE
    assert hashlib.sha256(deps.files().get(fresh.current_file)).hexdigest() == fresh.file_sha256


def test_an_e_file_verifies_by_code_and_by_file_and_lands_in_its_holders_log(repo) -> None:
    cert, pdf = downloaded(repo, an_e_file(repo))
    by_code = verifier(repo).by_code(format_code(cert.file_code).lower())
    assert by_code["result"] == "valid" and by_code["kind"] == "e_file" and by_code["annotation"] is None
    assert by_code["certificate"]["certificate_no"] == cert.certificate_no
    assert by_code["certificate"]["id_number_masked"] != cert.id_number
    by_file = verifier(repo, NOW + timedelta(minutes=1)).by_file(pdf)
    assert by_file == {**by_code, "modified_after_signing": False, "modifications": []}
    resaved = verifier(repo, NOW + timedelta(minutes=2)).by_file(incremental(pdf, "annotation"))
    assert resaved["kind"] == "e_file" and resaved["modified_after_signing"] is True
    assert resaved["modifications"] == ["annotations"]

    log = verifying.file_log(repo.certificate(cert.certificate_id), store=repo.verifications)
    assert log["count"] == 3
    assert [e["channel"] for e in log["items"]] == ["file", "file", "code"]
    # The same client again within the minute: answered, not logged twice.
    verifier(repo, NOW + timedelta(minutes=2, seconds=30)).by_code(cert.file_code)
    assert verifying.file_log(repo.certificate(cert.certificate_id), store=repo.verifications)["count"] == 3


def test_a_batch_answers_copies_and_e_files_together(repo) -> None:
    from tests.integration.test_verification import ready_copy

    cert, _ = downloaded(repo, an_e_file(repo))
    _, copy = ready_copy(repo)
    answer = verifier(repo).batch([cert.file_code, copy.verification_code, "NOPE"])
    assert [(i["result"], i.get("kind")) for i in answer["items"]] == [
        ("valid", "e_file"), ("valid", "annotated_copy"), ("unknown", None)]


@pytest.mark.parametrize("status", [CertificateStatus.REVOKED, CertificateStatus.CANCELLED])
def test_an_e_file_answers_its_certificates_state_now_and_is_no_longer_served(repo, status) -> None:
    cert, pdf = downloaded(repo, an_e_file(repo))
    repo.put_certificate(replace(cert, status=status), NOW + timedelta(days=1))
    assert verifier(repo).by_code(cert.file_code)["result"] == status.value
    assert verifier(repo, NOW + timedelta(minutes=1)).by_file(pdf)["result"] == status.value
    with pytest.raises(CertificateNotValid):
        link(repo, cert)


def test_a_change_to_what_the_certificate_prints_makes_a_new_file_under_the_same_code(repo) -> None:
    cert, _ = downloaded(repo, an_e_file(repo))
    repo.put_certificate(replace(cert, holder_name="张三丰"), NOW + timedelta(days=1))
    changed = repo.certificate(cert.certificate_id)
    assert changed.current_file is None  # the stored file prints the old name
    with pytest.raises(FileNotReady):
        link(repo, changed)
    renamed, second = downloaded(repo, changed)
    assert renamed.current_file != cert.current_file and renamed.file_code == cert.file_code
    assert "张三丰" in PdfReader(io.BytesIO(second)).pages[0].extract_text()
    assert verifier(repo).by_code(cert.file_code)["certificate"]["holder_name"] == "张三丰"


def test_an_e_certificate_has_no_file_log_and_no_file_code_to_find(repo) -> None:
    e_cert = a_certificate(repo)
    with pytest.raises(NotFound):
        verifying.file_log(e_cert, store=repo.verifications)
    with pytest.raises(AnnotationRequired):
        link(repo, e_cert)
    assert render_file(e_cert.certificate_id) is Outcome.FAILED
    with pytest.raises(UnknownCode):
        verifier(repo).by_code("K7QM-4XPR-9TDA-2WHC")


def test_an_e_file_loaded_before_files_had_codes_is_given_one_when_first_rendered(repo) -> None:
    cert = an_e_file(repo, file_code=None)
    assert cert.file_code is None
    fresh, pdf = downloaded(repo, cert)
    assert fresh.file_code is not None
    assert format_code(fresh.file_code) in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert verifier(repo).by_code(fresh.file_code)["kind"] == "e_file"
