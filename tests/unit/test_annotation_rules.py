"""Validity, expiry and verification codes, with time pinned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.annotations import (
    CODE_ALPHABET,
    Annotation,
    AnnotationStatus,
    annotation_number,
    format_code,
    new_verification_code,
    normalize_code,
    parse_validity,
    retention_until,
    valid_until,
)
from chalicelib.domain.clock import beijing_date, iso
from chalicelib.domain.errors import InvalidValidity

NOW = datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC)


def a_ready_annotation(ready_at: datetime, days: int) -> Annotation:
    return Annotation(
        annotation_id="a" + "0" * 24, certificate_id="c1", holder_key="h", scenario="self_use", validity_days=days,
        stored_status=AnnotationStatus.READY, applied_at=ready_at, quota_slot=0, ready_at=ready_at,
        valid_from=ready_at, valid_until=valid_until(ready_at, days))


@pytest.mark.parametrize("value", [0, 91, -1, 1.5, "90", True])
def test_validity_outside_one_to_ninety_whole_days_is_refused(value: object) -> None:
    with pytest.raises(InvalidValidity):
        parse_validity(value)


def test_validity_defaults_to_the_recommended_ninety_days() -> None:
    assert parse_validity(None) == 90
    assert parse_validity(1) == 1


def test_validity_runs_validity_days_times_24_hours_from_the_moment_the_copy_is_ready() -> None:
    assert valid_until(NOW, 3) == NOW + timedelta(hours=72)


def test_a_copy_is_ready_until_the_last_second_and_expired_from_valid_until_on() -> None:
    a = a_ready_annotation(NOW, 1)
    assert a.status_at(NOW + timedelta(hours=24) - timedelta(microseconds=1)) is AnnotationStatus.READY
    assert a.status_at(NOW + timedelta(hours=24)) is AnnotationStatus.EXPIRED
    assert AnnotationStatus.EXPIRED.label == "加注件已过期"
    assert AnnotationStatus.PENDING.label == "证书生成中…"


def test_records_are_kept_until_the_copy_expires_and_at_least_ninety_days_after_applying() -> None:
    assert retention_until(NOW, NOW + timedelta(days=1)) == NOW + timedelta(days=90)
    assert retention_until(NOW, NOW + timedelta(days=95)) == NOW + timedelta(days=95)


def test_beijing_dates_turn_at_sixteen_hundred_utc() -> None:
    assert beijing_date(NOW).isoformat() == "2026-11-23"
    assert beijing_date(NOW + timedelta(seconds=1)).isoformat() == "2026-11-24"
    assert iso(NOW) == "2026-11-23T23:59:59+08:00"


def test_verification_codes_carry_eighty_random_bits_without_look_alike_characters() -> None:
    assert len(CODE_ALPHABET) == 32 and not set("01OI") & set(CODE_ALPHABET)
    codes = {new_verification_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 16 for c in codes)


def test_codes_are_read_back_however_people_type_them() -> None:
    code = new_verification_code()
    shown = format_code(code)
    assert shown.count("-") == 3
    assert normalize_code(shown.lower()) == code
    assert normalize_code(" ".join(shown.split("-"))) == code
    assert normalize_code("0" * 16) is None
    assert normalize_code(code[:-1]) is None


def test_annotation_numbers_carry_the_date_and_part_of_the_id() -> None:
    assert annotation_number(beijing_date(NOW), "a5f3a9c1e" + "0" * 16) == "JZ20261123-5F3A9C1E"
