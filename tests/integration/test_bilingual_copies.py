"""Bilingual copies (issue 15): the import's English names, the annotation's `language`, and a
zh-en copy whose text (pdftotext) holds the English labels beside the unchanged Chinese ones."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime

import pytest

from chalicelib import render
from chalicelib.domain.annotations import CopyLanguage, parse_copy_language
from chalicelib.domain.errors import InvalidRequest
from chalicelib.services.imports import FIELDS, OPTIONAL, parse_row

NOW = datetime(2026, 1, 5, 2, tzinfo=UTC)
ROW = {"certificate_no": "CH2023", "qualification": "注册测绘师", "level": "", "specialty": "",
       "holder_name": "张三", "id_type": "resident_id", "id_number": "11010519900307451X",
       "issued_on": "2023-05-01", "approved_on": "2023-04-01", "issuer_name": "北京市人力资源和社会保障局",
       "issuer_contact": "010-12345678", "status": "valid", "phone": "",
       "qualification_en": "Registered Surveyor",
       "issuer_name_en": "Beijing Municipal Human Resources and Social Security Bureau"}


def copy(bilingual: bool) -> render.AnnotatedCopy:
    cert = parse_row(ROW, id_hash=lambda t, n: "h", today=date(2026, 1, 5)).certificate
    return render.AnnotatedCopy(
        qualification=cert.qualification, level=cert.level, specialty=cert.specialty, holder_name=cert.holder_name,
        id_number=cert.id_number, certificate_no=cert.certificate_no, issuer_name=cert.issuer_name,
        issued_on=cert.issued_on, approved_on=cert.approved_on, annotation_no="JZ20260105-ABCDEF12",
        scenario_name="本人调用", valid_from=NOW, valid_until=datetime(2026, 4, 5, 2, tzinfo=UTC), annotated_at=NOW,
        verification_code="ABCD-EFGH-JKLM-NPQR", verify_url="http://127.0.0.1:8000/verify?code=ABCDEFGHJKLMNPQR",
        bilingual=bilingual, scenario_name_en="Self use", qualification_en=cert.qualification_en,
        issuer_name_en=cert.issuer_name_en)


def text_of(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def test_the_import_takes_the_optional_english_names() -> None:
    assert {"qualification_en", "issuer_name_en"} <= set(FIELDS) & OPTIONAL
    cert = parse_row(ROW, id_hash=lambda t, n: "h", today=date(2026, 1, 5)).certificate
    assert (cert.qualification_en, cert.issuer_name_en) == (ROW["qualification_en"], ROW["issuer_name_en"])
    without = parse_row({k: v for k, v in ROW.items() if not k.endswith("_en")}, id_hash=lambda t, n: "h",
                        today=date(2026, 1, 5)).certificate
    assert (without.qualification_en, without.issuer_name_en) == ("", "")


def test_a_copy_language_is_zh_or_zh_en_and_anything_else_names_the_field() -> None:
    assert parse_copy_language(None) is CopyLanguage.ZH and parse_copy_language("zh-en") is CopyLanguage.ZH_EN
    for bad in ("en", "ZH", 1, ""):
        with pytest.raises(InvalidRequest) as caught:
            parse_copy_language(bad)
        assert caught.value.details == {"field": "language", "allowed": ["zh", "zh-en"]}


def test_a_zh_en_copy_holds_the_english_labels_and_names_beside_the_unchanged_chinese() -> None:
    text = " ".join(text_of(render.render_annotated_copy(copy(bilingual=True))).split())
    for english in ("Qualification", "Issuing Authority", "Annotation No.", "Scenario", "Valid From",
                    "Valid Until", "Verification Code", "Registered Surveyor", "Self use",
                    "Beijing Municipal Human Resources", "Social Security Bureau", "To verify:"):
        assert english in text, english
    for chinese in ("资 格 名 称", "加 注 编 号", "注册测绘师", "北京市人力资源和社会保障局", "本人调用", "查验方式"):
        assert chinese in text, chinese


def test_a_zh_copy_has_no_english_labels() -> None:
    text = text_of(render.render_annotated_copy(copy(bilingual=False)))
    assert "Qualification" not in text and "Registered Surveyor" not in text and "资 格 名 称" in text
