"""The rules of proof (rule 1): a certificate number with the holder's name as on record, and
one-time codes: how they are made, bound and compared, and the limits on sending them."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta

from hypothesis import assume, given
from hypothesis import strategies as st

from chalicelib.domain.certificates import Certificate, CertificateStatus
from chalicelib.domain.codes import CODE_LIFETIME, MAX_TRIES, IssuedCode, new_code, well_formed

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def certificate(name: str = "王芳", number: str = "YS20251100777", holder_key: str = "doc-a",
                status: CertificateStatus = CertificateStatus.VALID) -> Certificate:
    return Certificate(
        certificate_id="c1", certificate_no=number, qualification="执业药师", level="", specialty="药学",
        holder_name=name, id_type="resident_id", id_number="310104199203154320", holder_key=holder_key,
        issued_on=date(2025, 11, 20), approved_on=date(2025, 10, 18), issuer_name="上海市药品监督管理局",
        issuer_contact="021-23118000", status=status)


def test_the_number_and_the_name_as_on_record_prove_the_document_in_any_state_of_the_certificate() -> None:
    for status in CertificateStatus:
        assert certificate(status=status).proves("doc-a", "YS20251100777", "王芳")
    assert certificate().proves("doc-a", "  YS20251100777 ", " 王芳\u3000")


def test_the_name_is_compared_in_unicode_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "José")
    assert certificate(name="José").proves("doc-a", "YS20251100777", decomposed)


names = st.text(alphabet=st.characters(codec="utf-8", categories=("Lu", "Ll", "Lo")), min_size=1, max_size=12)


@given(names, names)
def test_no_name_other_than_the_one_on_record_passes(on_record: str, given_name: str) -> None:
    assume(unicodedata.normalize("NFC", on_record).strip() != unicodedata.normalize("NFC", given_name).strip())
    assert not certificate(name=on_record).proves("doc-a", "YS20251100777", given_name)


@given(st.text(min_size=1, max_size=8))
def test_no_certificate_number_of_another_document_passes(other_key: str) -> None:
    assume(other_key != "doc-a")
    # The certificate looked up by its number belongs to doc-a; it proves nothing for another document.
    assert not certificate().proves(other_key, "YS20251100777", "王芳")


@given(st.text(min_size=1, max_size=20))
def test_no_other_certificate_number_passes(number: str) -> None:
    assume(number.strip() != "YS20251100777")
    assert not certificate().proves("doc-a", number, "王芳")


def test_codes_are_six_digits_and_vary() -> None:
    codes = {new_code() for _ in range(200)}
    assert all(well_formed(c) for c in codes)
    assert len(codes) > 190
    assert not well_formed("12345") and not well_formed("１２３４５６") and not well_formed("12345a")


def issued(**changes: object) -> IssuedCode:
    fields: dict[str, object] = {"code_hash": "h-right", "destination": "d-phone", "tries": 0,
                                 "expires_at": NOW + CODE_LIFETIME}
    return IssuedCode(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_code_is_tried_only_while_unexpired_for_its_destination_and_under_five_tries() -> None:
    assert issued().live("d-phone", NOW) and issued().matches("h-right")
    assert not issued().matches("h-wrong")
    assert not issued().live("d-other-phone", NOW)
    assert not issued().live("d-phone", NOW + CODE_LIFETIME)
    assert issued().live("d-phone", NOW + CODE_LIFETIME - timedelta(seconds=1))
    assert issued(tries=MAX_TRIES - 1).live("d-phone", NOW)
    assert not issued(tries=MAX_TRIES).live("d-phone", NOW)


def test_a_code_that_went_nowhere_is_tried_like_any_other_and_matches_nothing() -> None:
    assert issued(code_hash="").live("d-phone", NOW)
    assert not issued(code_hash="").matches("") and not issued().matches("")
