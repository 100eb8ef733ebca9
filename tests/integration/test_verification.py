"""Verification on moto: results, revocation taking effect at once, the holder's log,
batch order, withdrawal, and the throttle."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib import deps
from chalicelib.domain.certificates import Certificate, CertificateStatus
from chalicelib.domain.errors import AnnotationNotReady, RateLimited, UnknownCode, UnknownDocument
from chalicelib.domain.verification import MISS_LIMIT
from chalicelib.services import annotating, verifying
from tests.integration.test_annotations import NOW, a_certificate, apply, render


def ready_copy(repo, validity_days: int = 30):  # type: ignore[no-untyped-def]
    cert = a_certificate(repo)
    annotation = apply(repo, cert, validity_days=validity_days)
    render(annotation.annotation_id)
    return cert, repo.annotations.annotation(annotation.annotation_id)


def verifier(repo, now=NOW, client: str = "203.0.113.7") -> verifying.Verifier:  # type: ignore[no-untyped-def]
    return verifying.Verifier(repo.verifications, repo, client, now)


def test_a_ready_copy_verifies_as_valid_with_a_masked_id_number(repo) -> None:
    cert, ready = ready_copy(repo)
    answer = verifier(repo).by_code(ready.verification_code.lower())
    assert answer["result"] == "valid"
    assert answer["certificate"]["certificate_no"] == cert.certificate_no
    assert answer["certificate"]["id_number_masked"] == "110105********451X"
    assert answer["annotation"]["annotation_no"] == ready.annotation_no
    assert "11010519900307451X" not in str(answer)


def test_a_copy_verifies_as_expired_after_valid_until(repo) -> None:
    _, ready = ready_copy(repo, validity_days=1)
    assert verifier(repo, NOW + timedelta(days=1)).by_code(ready.verification_code)["result"] == "expired"


def test_revoking_the_certificate_takes_effect_on_the_next_check(repo) -> None:
    cert, ready = ready_copy(repo)
    assert verifier(repo).by_code(ready.verification_code)["result"] == "valid"
    repo.put_certificate(Certificate(**{**cert.__dict__, "status": CertificateStatus.REVOKED}), NOW)
    assert verifier(repo).by_code(ready.verification_code)["result"] == "revoked"


def test_a_withdrawn_copy_verifies_as_withdrawn_and_is_no_longer_served(repo) -> None:
    cert, ready = ready_copy(repo)
    withdrawn = annotating.withdraw(ready, store=repo.annotations, now=NOW + timedelta(hours=1))
    assert withdrawn.stored_status.value == "withdrawn"
    assert verifier(repo).by_code(ready.verification_code)["result"] == "withdrawn"
    from chalicelib.domain.errors import AnnotationWithdrawn

    with pytest.raises(AnnotationWithdrawn):
        annotating.file_link(withdrawn, cert, "inline", files=deps.files(), now=NOW)
    with pytest.raises(AnnotationNotReady):
        annotating.withdraw(withdrawn, store=repo.annotations, now=NOW)
    assert annotating.list_for(repo.certificate(cert.certificate_id), store=repo.annotations, now=NOW)[1].used == 1


def test_the_file_itself_verifies_and_a_changed_byte_does_not(repo) -> None:
    _, ready = ready_copy(repo)
    data = deps.files().get(ready.file_key)
    assert verifier(repo).by_file(data)["result"] == "valid"
    tampered = bytearray(data)
    tampered[-3] ^= 0x01
    with pytest.raises(UnknownDocument):
        verifier(repo).by_file(bytes(tampered))


def test_a_batch_answers_each_code_in_order(repo) -> None:
    _, first = ready_copy(repo)
    _, second = ready_copy(repo)
    answer = verifier(repo).batch([second.verification_code, "NOPE", first.verification_code])
    assert [i["result"] for i in answer["items"]] == ["valid", "unknown", "valid"]
    assert [i["code"] for i in answer["items"]] == [second.verification_code, "NOPE", first.verification_code]


def test_every_check_lands_in_the_holders_log_without_verifier_data(repo) -> None:
    _, ready = ready_copy(repo)
    verifier(repo).by_code(ready.verification_code)
    verifier(repo, NOW + timedelta(minutes=1)).by_file(deps.files().get(ready.file_key))
    verifier(repo, NOW + timedelta(minutes=2)).batch([ready.verification_code])
    log = verifying.copy_log(repo.annotations.annotation(ready.annotation_id), store=repo.verifications)
    assert log["count"] == 3
    assert [i["channel"] for i in log["items"]] == ["batch", "file", "code"]
    assert all(set(i) == {"at", "channel", "result"} for i in log["items"])
    assert "203.0.113.7" not in str(log)


def test_a_burst_of_unknown_codes_is_throttled_but_known_ones_do_not_count(repo) -> None:
    _, ready = ready_copy(repo)
    client = "198.51.100.23"
    for _ in range(50):
        verifier(repo, client=client).by_code(ready.verification_code)
    for _ in range(MISS_LIMIT):
        with pytest.raises(UnknownCode):
            verifier(repo, client=client).by_code("AAAA-BBBB-CCCC-DDDD")
    with pytest.raises(RateLimited) as limited:
        verifier(repo, client=client).by_code(ready.verification_code)
    assert 0 < limited.value.retry_after_seconds <= 60
    assert verifier(repo, NOW + timedelta(minutes=1), client=client).by_code(ready.verification_code)
    assert verifier(repo, client="192.0.2.1").by_code(ready.verification_code)
