"""The indexes that project some attributes (infra/resources.yaml, chalicelib/models.py): the
template and the models agree, and what an index holds is all that `annotation_from` and
`certificate_from` read, but for the counters kept out of them on purpose."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib import models
from chalicelib.models import AnnotationModel, CertificateModel, QuotaSlotAttribute
from chalicelib.repositories.annotations import annotation_from
from chalicelib.repositories.certificates import certificate_from
from infra.deploy import TEMPLATE, load_template

NOW = datetime(2026, 11, 23, 2, tzinfo=UTC)
TABLES = {"CertificatesTable": CertificateModel, "AnnotationsTable": AnnotationModel}


def projections() -> list[tuple[str, str, dict[str, Any], list[str]]]:
    template = load_template(TEMPLATE.read_text(encoding="utf-8"))
    found = []
    for table in TABLES:
        for index in template["Resources"][table]["Properties"]["GlobalSecondaryIndexes"]:
            keys = [k["AttributeName"] for k in index["KeySchema"]]
            found.append((table, index["IndexName"], index["Projection"], keys))
    return found


@pytest.mark.parametrize(("table", "name", "projection", "keys"), projections())
def test_each_index_projects_in_the_model_what_the_template_says(table: str, name: str, projection: dict[str, Any],
                                                                  keys: list[str]) -> None:
    index = getattr(TABLES[table], name)
    meta = index.Meta.projection
    assert meta.projection_type == projection["ProjectionType"]
    assert sorted(getattr(meta, "non_key_attributes", None) or []) == sorted(projection.get("NonKeyAttributes", []))
    assert not set(projection.get("NonKeyAttributes", [])) & set(keys)


def _only(model: Any, kept: set[str]) -> Any:
    """The model as an index holding `kept` (and the keys) gives it back."""
    raw = model.serialize()
    return type(model).from_raw_data({k: v for k, v in raw.items() if k in kept})


def test_an_annotation_read_from_an_index_is_the_stored_one_but_its_check_count() -> None:
    full = AnnotationModel(
        "a1", certificate_id="c1", holder_key="h", account_id="u", scenario="self_use", validity_days=90,
        status="ready", verification_count=7, pending=None, expiry_day="2027-02-21#3", reminded_at=NOW,
        applied_at=NOW.isoformat(), applied_on="2026-11-23", quota_slot=1, render_started_at=NOW, ready_at=NOW,
        valid_from=NOW, valid_until=NOW, annotation_no="JZ1", verification_code="CODE", file_sha256="0" * 64,
        file_key="k", withdrawn_at=NOW, failed_reason="r", expires_at=NOW)
    for name, keys in (("by_certificate", {"certificate_id", "applied_at"}), ("by_code", {"verification_code"}),
                       ("by_file", {"file_sha256"})):
        kept = {"annotation_id", *keys, *getattr(models, f"_{name.upper()}")}
        assert annotation_from(_only(full, kept)) == replace(annotation_from(full), verification_count=0), name


def test_a_certificate_read_from_its_holders_index_is_the_stored_one_but_its_counters_and_quota() -> None:
    full = CertificateModel(
        "c1", certificate_no="N1", qualification="注册测绘师", level="一级", specialty="s", holder_name="张三",
        id_type="resident_id", id_number="11010519900307451X", holder_key="h", issued_on="2019-12-20",
        approved_on="2019-11-30", issuer_name="机构", issuer_contact="010", status="valid", file_code="F",
        file_key="k", file_sha256="0" * 64, file_printed="p", file_requested_at=NOW, file_verification_count=4,
        updated_at=NOW, loaded_at=NOW, latest_annotation_id="a1", announce="3", row_stamp="s", loaded_by="l",
        row_digest="d", quota_slot_0=QuotaSlotAttribute(annotation_id="a1", applied_on="2026-11-23",
                                                        counts_until="2027-02-20"))
    kept = {"certificate_id", "holder_key", "issued_on", *models._BY_HOLDER}
    assert certificate_from(_only(full, kept)) == replace(certificate_from(full), file_verification_count=0,
                                                          quota_slots=())
