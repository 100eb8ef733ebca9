"""The annotation pipeline on moto: quota under races, the worker's idempotence, failures
giving slots back, and the files' presigned links."""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from pynamodb.exceptions import UpdateError

from chalicelib import deps
from chalicelib.domain.annotations import AnnotationStatus
from chalicelib.domain.certificates import Certificate, CertificateStatus, certificate_id_for
from chalicelib.domain.errors import (
    AnnotationExpired,
    AnnotationNotRequired,
    AnnotationPending,
    AnnotationQuotaExceeded,
    AnnotationRequired,
    CertificateNotValid,
    NotFound,
)
from chalicelib.models import IdDocumentModel
from chalicelib.queue import SendFailed
from chalicelib.services import annotating, efiles, rendering
from chalicelib.services.rendering import CopyFacts, Outcome, RenderMessage

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def a_certificate(repo, *, issued_on: date = date(2023, 12, 20),  # type: ignore[no-untyped-def]
                  status: CertificateStatus = CertificateStatus.VALID, holder_key: str | None = None) -> Certificate:
    number = "T" + secrets.token_hex(6).upper()
    cert = Certificate(
        certificate_id=certificate_id_for(number), certificate_no=number, qualification="注册测绘师", level="",
        specialty="", holder_name="张三", id_type="resident_id", id_number="11010519900307451X",
        holder_key=holder_key or secrets.token_hex(16), issued_on=issued_on, approved_on=issued_on,
        issuer_name="北京市人力资源和社会保障局", issuer_contact="010-87901800", status=status)
    repo.put_certificate(cert, NOW)
    return cert


class RecordingQueue:
    """Stands in for SQS where a test drives the worker itself."""

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[str] = []
        self.files: list[str] = []
        self.fail = fail

    def send(self, annotation_id: str) -> None:
        if self.fail:
            raise SendFailed(annotation_id)
        self.sent.append(annotation_id)

    def send_file(self, certificate_id: str) -> None:
        self.files.append(certificate_id)


def fake_pdf(facts: CopyFacts) -> bytes:
    return f"%PDF-1.7 {facts.annotation_no} {facts.verification_code} {facts.ready_at.isoformat()}".encode()


def render(annotation_id: str, now: datetime = NOW, renderer=fake_pdf) -> Outcome:  # type: ignore[no-untyped-def]
    repo = deps.repository()
    return rendering.render_annotation(annotation_id, store=repo.annotations, certificates=repo,
                                       files=deps.files(), renderer=renderer, verify_url=deps.links().verify_url,
                                       now=now)


def apply(repo, cert: Certificate, queue: RecordingQueue | None = None, now: datetime = NOW,  # type: ignore[no-untyped-def]
          account_id: str = "u-test", **body: object):
    """Apply as `account_id`, which holds the certificate's ID document unless another account does."""
    with contextlib.suppress(UpdateError):
        IdDocumentModel(f"id#{cert.holder_key}").update(actions=[IdDocumentModel.user_id.set(account_id)],
                                                        condition=IdDocumentModel.user_id.does_not_exist())
    return annotating.apply(cert, {"scenario": "self_use", **body}, account_id=account_id, store=repo.annotations,
                            queue=queue or RecordingQueue(), now=now)


def test_thirty_concurrent_applications_give_exactly_three_annotations(repo) -> None:
    cert = a_certificate(repo)
    queue = RecordingQueue()

    def attempt(_: int) -> str:
        try:
            apply(repo, cert, queue)
            return "accepted"
        except AnnotationQuotaExceeded:
            return "refused"

    with ThreadPoolExecutor(max_workers=30) as pool:
        outcomes = list(pool.map(attempt, range(30)))
    assert outcomes.count("accepted") == 3
    assert outcomes.count("refused") == 27
    stored = repo.annotations.annotations_of(cert.certificate_id)
    assert len(stored) == 3 and sorted(a.annotation_id for a in stored) == sorted(queue.sent)
    assert sorted(a.quota_slot for a in stored) == [0, 1, 2]


def test_the_fourth_application_is_refused_with_the_date_the_next_becomes_possible(repo) -> None:
    cert = a_certificate(repo)
    for day in range(3):
        apply(repo, cert, now=NOW + timedelta(days=day))
    with pytest.raises(AnnotationQuotaExceeded) as refused:
        apply(repo, cert, now=NOW + timedelta(days=3))
    assert refused.value.details == {"next_available_on": "2027-02-21"}
    assert apply(repo, cert, now=datetime(2027, 2, 20, 16, 0, tzinfo=UTC))  # 2027-02-21 in Beijing


def test_only_valid_e_certificates_can_be_annotated(repo) -> None:
    with pytest.raises(AnnotationNotRequired):
        apply(repo, a_certificate(repo, issued_on=date(2021, 12, 17)))
    with pytest.raises(CertificateNotValid):
        apply(repo, a_certificate(repo, status=CertificateStatus.REVOKED))


def test_the_worker_makes_a_pending_annotation_ready_once_however_often_the_message_comes(repo) -> None:
    cert = a_certificate(repo)
    annotation = apply(repo, cert, validity_days=30)
    assert annotation.status_at(NOW) is AnnotationStatus.PENDING
    with pytest.raises(AnnotationPending):
        annotating.file_link(annotation, cert, "inline", files=deps.files(), now=NOW)
    outcomes = [render(annotation.annotation_id, NOW + timedelta(seconds=i)) for i in range(5)]
    assert outcomes == [Outcome.READY] + [Outcome.ALREADY_DONE] * 4
    ready = repo.annotations.annotation(annotation.annotation_id)
    assert ready.stored_status is AnnotationStatus.READY
    assert ready.ready_at == NOW and ready.valid_until == NOW + timedelta(days=30)
    assert len(ready.verification_code) == 16 and ready.annotation_no.startswith("JZ20261123-")
    body = deps.files().get(ready.file_key)
    assert ready.verification_code[:4] in body.decode()

    assert hashlib.sha256(body).hexdigest() == ready.file_sha256
    s3 = boto3.client("s3")
    versions = s3.list_object_versions(Bucket=deps.files().bucket, Prefix=ready.file_key).get("Versions", [])
    assert len(versions) == 1
    head = s3.head_object(Bucket=deps.files().bucket, Key=ready.file_key)
    assert head["ContentType"] == "application/pdf" and head["ServerSideEncryption"] == "AES256"


def different_every_time(facts: CopyFacts) -> bytes:
    """A renderer like the signed one: its timestamp makes every render's bytes differ."""
    return fake_pdf(facts) + f" {secrets.token_hex(8)}".encode()


def stored_versions(key: str) -> list[dict[str, Any]]:
    versions = boto3.client("s3").list_object_versions(Bucket=deps.files().bucket, Prefix=key)
    return [v for v in versions.get("Versions", []) if v["Key"] == key]


def test_a_render_that_crashed_after_uploading_completes_on_redelivery_with_the_uploaded_file(repo) -> None:
    cert = a_certificate(repo)
    annotation = apply(repo, cert)
    uploaded: list[bytes] = []

    class CrashAfterUpload:
        def __init__(self) -> None:
            self.files = deps.files()

        def stored_sha256(self, key: str) -> str | None:
            return self.files.stored_sha256(key)

        def put_pdf_once(self, key: str, data: bytes, sha: str) -> str:
            uploaded.append(data)
            self.files.put_pdf_once(key, data, sha)
            raise RuntimeError("the Lambda died here")

    repo_ = deps.repository()
    with pytest.raises(RuntimeError):
        rendering.render_annotation(annotation.annotation_id, store=repo_.annotations, certificates=repo_,
                                    files=CrashAfterUpload(), renderer=different_every_time,
                                    verify_url=deps.links().verify_url, now=NOW)
    assert repo.annotations.annotation(annotation.annotation_id).stored_status is AnnotationStatus.PENDING
    rendered: list[bytes] = []

    def must_not_render(facts: CopyFacts) -> bytes:
        rendered.append(b"")
        return different_every_time(facts)

    assert render(annotation.annotation_id, NOW + timedelta(minutes=1), renderer=must_not_render) is Outcome.READY
    ready = repo.annotations.annotation(annotation.annotation_id)
    assert ready.ready_at == NOW  # the first attempt's time
    assert not rendered  # the redelivery found the file and took it as it is
    (first,) = uploaded
    assert deps.files().get(ready.file_key) == first
    assert ready.file_sha256 == hashlib.sha256(first).hexdigest()
    assert len(stored_versions(ready.file_key)) == 1


def died_before_uploading(annotation_id: str) -> None:
    """A first attempt that claimed the annotation (fixing its time and code) and died."""
    def crash(facts: CopyFacts) -> bytes:
        raise RuntimeError("the Lambda died here")

    with pytest.raises(RuntimeError):
        render(annotation_id, NOW, renderer=crash)


def test_two_concurrent_redeliveries_store_one_file_and_the_annotation_names_its_hash(repo) -> None:
    annotation = apply(repo, a_certificate(repo))
    died_before_uploading(annotation.annotation_id)
    outcomes: list[Outcome] = []

    def render_while_another_does(facts: CopyFacts) -> bytes:
        # Meanwhile, a second redelivery renders, uploads and moves the annotation to ready.
        outcomes.append(render(annotation.annotation_id, NOW + timedelta(minutes=2), renderer=different_every_time))
        return different_every_time(facts)

    outcomes.append(render(annotation.annotation_id, NOW + timedelta(minutes=1), renderer=render_while_another_does))
    assert outcomes == [Outcome.READY, Outcome.ALREADY_DONE]
    ready = repo.annotations.annotation(annotation.annotation_id)
    stored = deps.files().get(ready.file_key)
    assert ready.file_sha256 == hashlib.sha256(stored).hexdigest()
    assert len(stored_versions(ready.file_key)) == 1


def test_a_concurrent_attempt_that_loses_the_upload_takes_the_winners_hash(repo) -> None:
    annotation = apply(repo, a_certificate(repo))
    died_before_uploading(annotation.annotation_id)

    class UploadedMeanwhile:
        """Another attempt's upload lands between this one's render and its upload."""

        def __init__(self) -> None:
            self.files = deps.files()
            self.winner = b"%PDF-1.7 the other attempt's file"

        def stored_sha256(self, key: str) -> str | None:
            return self.files.stored_sha256(key)

        def put_pdf_once(self, key: str, data: bytes, sha: str) -> str:
            self.files.put_pdf_once(key, self.winner, hashlib.sha256(self.winner).hexdigest())
            return self.files.put_pdf_once(key, data, sha)

    files = UploadedMeanwhile()
    repo_ = deps.repository()
    assert rendering.render_annotation(annotation.annotation_id, store=repo_.annotations, certificates=repo_,
                                       files=files, renderer=different_every_time,
                                       verify_url=deps.links().verify_url,
                                       now=NOW + timedelta(minutes=1)) is Outcome.READY
    ready = repo.annotations.annotation(annotation.annotation_id)
    assert deps.files().get(ready.file_key) == files.winner
    assert ready.file_sha256 == hashlib.sha256(files.winner).hexdigest()
    assert len(stored_versions(ready.file_key)) == 1


def test_a_certificate_revoked_between_reading_it_and_applying_refuses_the_application(repo) -> None:
    read = a_certificate(repo)
    repo.put_certificate(Certificate(**{**read.__dict__, "status": CertificateStatus.REVOKED}), NOW)
    with pytest.raises(CertificateNotValid):
        apply(repo, read)  # the certificate as it was read, still valid
    assert repo.annotations.annotations_of(read.certificate_id) == []


def test_the_quota_slots_travel_with_the_certificate_and_a_reimport_keeps_them(repo) -> None:
    cert = a_certificate(repo)
    applied = [apply(repo, cert, now=NOW + timedelta(days=day)) for day in range(2)]
    repo.put_certificate(Certificate(**{**cert.__dict__, "issuer_contact": "010-00000000"}), NOW)
    stored = repo.certificate(cert.certificate_id)
    assert stored is not None and stored.issuer_contact == "010-00000000"
    assert {(s.slot, s.annotation_id) for s in stored.quota_slots} == {(a.quota_slot, a.annotation_id)
                                                                         for a in applied}
    assert stored.latest_annotation_id == applied[-1].annotation_id


def test_a_poison_message_fails_the_annotation_after_the_last_receive_and_frees_its_slot(repo) -> None:
    cert = a_certificate(repo)
    held = [apply(repo, cert) for _ in range(3)]
    poisoned = held[0]

    def explode(_: str) -> Outcome:
        raise RuntimeError("renderer down")

    message = json.dumps({"annotation_id": poisoned.annotation_id})
    for receive in range(1, 6):
        failed = rendering.process_batch([RenderMessage("m1", message, receive)], max_receives=5,
                                         render_one=explode, render_file=explode, store=repo.annotations)
        assert failed == ["m1"]
        expected = AnnotationStatus.FAILED if receive == 5 else AnnotationStatus.PENDING
        assert repo.annotations.annotation(poisoned.annotation_id).stored_status is expected
    assert apply(repo, cert).quota_slot == poisoned.quota_slot


def test_a_batch_reports_only_its_failed_messages(repo) -> None:
    cert = a_certificate(repo)
    good, bad = apply(repo, cert), apply(repo, cert)

    def render_one(annotation_id: str) -> Outcome:
        if annotation_id == bad.annotation_id:
            raise RuntimeError("boom")
        return render(annotation_id)

    files: list[str] = []

    def render_file(certificate_id: str) -> Outcome:
        files.append(certificate_id)
        if certificate_id == "c-bad":
            raise RuntimeError("TSA down")
        return Outcome.READY

    failed = rendering.process_batch(
        [RenderMessage("ok", json.dumps({"annotation_id": good.annotation_id}), 1),
         RenderMessage("ko", json.dumps({"annotation_id": bad.annotation_id}), 1),
         RenderMessage("file", json.dumps({"certificate_id": "c-good"}), 1),
         RenderMessage("file-ko", json.dumps({"certificate_id": "c-bad"}), 5),  # its last receive
         RenderMessage("junk", "not json", 1), RenderMessage("list", "[1]", 1)],
        max_receives=5, render_one=render_one, render_file=render_file, store=repo.annotations)
    assert failed == ["ko", "file-ko"]
    assert files == ["c-good", "c-bad"]
    assert repo.annotations.annotation(good.annotation_id).stored_status is AnnotationStatus.READY


def test_when_the_job_cannot_be_queued_the_application_is_undone(repo) -> None:
    cert = a_certificate(repo)
    with pytest.raises(SendFailed):
        apply(repo, cert, RecordingQueue(fail=True))
    (failed,) = repo.annotations.annotations_of(cert.certificate_id)
    assert failed.stored_status is AnnotationStatus.FAILED
    assert annotating.list_for(repo.certificate(cert.certificate_id), store=repo.annotations, now=NOW)[1].used == 0


def test_a_revoked_certificate_fails_its_pending_render(repo) -> None:
    cert = a_certificate(repo)
    annotation = apply(repo, cert)
    repo.put_certificate(Certificate(**{**cert.__dict__, "status": CertificateStatus.REVOKED}), NOW)
    assert render(annotation.annotation_id) is Outcome.FAILED


def test_links_live_at_most_five_minutes_and_never_past_valid_until(repo) -> None:
    cert = a_certificate(repo)
    annotation = apply(repo, cert, validity_days=1)
    render(annotation.annotation_id)
    ready = repo.annotations.annotation(annotation.annotation_id)
    link = annotating.file_link(ready, cert, "attachment", files=deps.files(), now=NOW)
    query = parse_qs(urlparse(link["url"]).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert query["response-content-type"] == ["application/pdf"]
    disposition = query["response-content-disposition"][0]
    assert disposition.startswith("attachment;") and "filename*=UTF-8''" in disposition
    assert "%E6%B3%A8%E5%86%8C" in disposition  # 注册 survives, percent-encoded
    near_end = NOW + timedelta(days=1) - timedelta(seconds=42)
    link = annotating.file_link(ready, cert, "inline", files=deps.files(), now=near_end)
    assert parse_qs(urlparse(link["url"]).query)["X-Amz-Expires"] == ["42"]
    with pytest.raises(AnnotationExpired):
        annotating.file_link(ready, cert, "inline", files=deps.files(), now=NOW + timedelta(days=1))


def test_an_e_certificate_is_never_served_directly(repo) -> None:
    with pytest.raises(AnnotationRequired):
        efiles.file_link(a_certificate(repo), "inline", store=repo, queue=RecordingQueue(), files=deps.files(),
                         waiting=efiles.Waiting(0), now=NOW)


def test_another_holders_annotation_is_not_found(repo) -> None:
    cert = a_certificate(repo)
    annotation = apply(repo, cert)
    with pytest.raises(NotFound):
        annotating.owned_annotation(annotation.annotation_id, "someone-else", store=repo.annotations)


def test_the_sweeper_requeues_stuck_annotations_and_fails_dead_lettered_ones(repo) -> None:
    from chalicelib.services import sweeping

    cert = a_certificate(repo)
    stuck, dead, fresh = (apply(repo, cert, now=NOW + timedelta(seconds=i)) for i in range(3))
    render(fresh.annotation_id)

    class DeadLetters:
        def annotation_ids(self, limit: int = 100) -> list[str]:
            return [dead.annotation_id]

    queue = RecordingQueue()
    later = NOW + timedelta(minutes=10)
    first = sweeping.sweep(store=repo.annotations, queue=queue, dead_letters=DeadLetters(), now=later)
    assert first.failed == 1
    assert stuck.annotation_id in queue.sent  # (other tests' pending annotations share the table)
    assert dead.annotation_id not in queue.sent and fresh.annotation_id not in queue.sent
    assert repo.annotations.annotation(dead.annotation_id).stored_status is AnnotationStatus.FAILED
    again = sweeping.sweep(store=repo.annotations, queue=queue, dead_letters=DeadLetters(), now=later)
    assert again.failed == 0  # already failed: nothing changes
    not_yet = RecordingQueue()
    sweeping.sweep(store=repo.annotations, queue=not_yet, dead_letters=DeadLetters(), now=NOW + timedelta(minutes=1))
    assert stuck.annotation_id not in not_yet.sent  # pending for a minute is not stuck yet


def test_the_worker_stores_a_signed_copy_that_pdfsig_calls_valid_and_a_changed_byte_breaks(repo, tmp_path) -> None:
    import shutil
    import subprocess

    if shutil.which("pdfsig") is None:
        pytest.skip("poppler's pdfsig is not installed (make test installs poppler-utils)")
    cert = a_certificate(repo)
    annotation = apply(repo, cert)
    assert render(annotation.annotation_id, renderer=deps.copy_renderer()) is Outcome.READY
    ready = repo.annotations.annotation(annotation.annotation_id)
    signed = tmp_path / "copy.pdf"
    signed.write_bytes(deps.files().get(ready.file_key))
    report = subprocess.run(["pdfsig", str(signed)], capture_output=True, text=True, check=False).stdout
    assert "Signature is Valid." in report and "Total document signed" in report
    data = bytearray(signed.read_bytes())
    data[len(data) // 3] ^= 0x01
    signed.write_bytes(bytes(data))
    report = subprocess.run(["pdfsig", str(signed)], capture_output=True, text=True, check=False).stdout
    assert "Signature is Valid." not in report
