"""Verification by file on moto: a copy re-saved after signing answers as that copy, marked
modified with what was appended; validation data is no modification; a broken or foreign
signature, and hostile files, answer unknown (never a 5XX)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from chalicelib import deps
from chalicelib.domain.errors import UnknownDocument
from chalicelib.signing import PdfSigner, _blank_pdf
from infra.pki import create_local_material
from tests.hostile_pdfs import hostile_files, hostile_updates
from tests.integration.test_annotations import NOW, a_certificate, apply, render
from tests.integration.test_verification import verifier
from tests.unit.test_file_changes import incremental

SIGNER = PdfSigner(create_local_material(now=NOW), unstamped=True)


def signed_blank(facts):  # type: ignore[no-untyped-def]
    """A signed copy (a blank page: the layout is not what this checks), one per annotation."""
    return SIGNER.sign(_blank_pdf(), signing_time=facts.ready_at, reason=facts.annotation_no)


def ready_copy(repo):  # type: ignore[no-untyped-def]
    cert = a_certificate(repo)
    annotation = apply(repo, cert, validity_days=30)
    render(annotation.annotation_id, renderer=signed_blank)
    return cert, repo.annotations.annotation(annotation.annotation_id)


def test_a_copy_as_issued_is_valid_and_not_modified(repo) -> None:
    _, ready = ready_copy(repo)
    answer = verifier(repo).by_file(deps.files().get(ready.file_key))
    assert (answer["result"], answer["modified_after_signing"], answer["modifications"]) == ("valid", False, [])
    assert answer["kind"] == "annotated_copy"


@pytest.mark.parametrize(("change", "kind"), [("annotation", "annotations"), ("page", "pages")])
def test_a_copy_re_saved_with_an_annotation_or_a_page_is_that_copy_modified(repo, change: str, kind: str) -> None:
    _, ready = ready_copy(repo)
    answer = verifier(repo).by_file(incremental(deps.files().get(ready.file_key), change))
    assert answer["annotation"]["annotation_no"] == ready.annotation_no
    assert (answer["result"], answer["modified_after_signing"], answer["modifications"]) == ("valid", True, [kind])
    log = verifying_log(repo, ready)
    assert [(i["channel"], i["result"]) for i in log] == [("file", "valid")]


def verifying_log(repo, ready):  # type: ignore[no-untyped-def]
    from chalicelib.services import verifying

    return verifying.copy_log(repo.annotations.annotation(ready.annotation_id), store=repo.verifications)["items"]


def test_a_modified_copy_of_a_revoked_certificate_answers_revoked_and_modified(repo) -> None:
    from chalicelib.domain.certificates import Certificate, CertificateStatus

    cert, ready = ready_copy(repo)
    repo.put_certificate(Certificate(**{**cert.__dict__, "status": CertificateStatus.REVOKED}), NOW)
    answer = verifier(repo).by_file(incremental(deps.files().get(ready.file_key), "annotation"))
    assert (answer["result"], answer["modified_after_signing"]) == ("revoked", True)


def test_a_flipped_byte_in_the_signed_range_is_unknown(repo) -> None:
    _, ready = ready_copy(repo)
    changed = bytearray(incremental(deps.files().get(ready.file_key), "annotation"))
    changed[200] ^= 0x01
    with pytest.raises(UnknownDocument):
        verifier(repo).by_file(bytes(changed))


def test_a_pdf_signed_by_another_key_with_the_copys_byte_range_is_unknown(repo) -> None:
    _, ready = ready_copy(repo)
    genuine = deps.files().get(ready.file_key)
    byte_range = re.search(rb"/ByteRange\s*\[[^\]]*\]", genuine)
    assert byte_range
    forged = PdfSigner(create_local_material(now=NOW), unstamped=True).sign(_blank_pdf(), signing_time=NOW)
    forged = re.sub(rb"/ByteRange\s*\[[^\]]*\]", lambda _: byte_range.group(0), forged, count=1)
    with pytest.raises(UnknownDocument):
        verifier(repo).by_file(forged)
    with pytest.raises(UnknownDocument):
        verifier(repo).by_file(incremental(forged, "annotation"))


def test_hostile_files_are_unknown_and_hostile_updates_never_pass_as_unmodified(repo) -> None:
    _, ready = ready_copy(repo)
    for i, data in enumerate(hostile_files().values()):
        with pytest.raises(UnknownDocument):
            verifier(repo, client=f"198.51.100.{i}").by_file(data)
    for i, (name, data) in enumerate(hostile_updates(deps.files().get(ready.file_key)).items()):
        try:
            answer = verifier(repo, NOW + timedelta(minutes=i + 1)).by_file(data)
        except UnknownDocument:
            continue
        assert answer["modified_after_signing"] is True and answer["modifications"], name


def test_a_throttled_client_is_refused_before_its_upload_costs_any_prefix_lookup(repo) -> None:
    from chalicelib.domain.errors import RateLimited
    from chalicelib.domain.verification import MISS_LIMIT

    _, ready = ready_copy(repo)
    resaved = incremental(deps.files().get(ready.file_key), "annotation")
    client = "198.51.100.250"
    for _ in range(MISS_LIMIT):
        with pytest.raises(UnknownDocument):
            verifier(repo, client=client).by_file(b"%PDF-1.7 nothing of ours")
    class Counting:
        """The real store, counting the file-hash lookups it is asked for."""

        def __init__(self) -> None:
            self.lookups = 0

        def by_file(self, sha256_hex: str):  # type: ignore[no-untyped-def]
            self.lookups += 1
            return repo.verifications.by_file(sha256_hex)

        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return getattr(repo.verifications, name)

    counting = Counting()
    checking = verifier(repo, client=client)
    checking.store = counting
    with pytest.raises(RateLimited):
        checking.by_file(resaved)
    assert counting.lookups == 1  # the exact hash only, then the refusal
