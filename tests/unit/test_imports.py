"""Import rows: every rejection reason, BOM, JSON Lines, and streaming."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.batches import RowStamp
from chalicelib.domain.certificates import Certificate
from chalicelib.services.imports import FIELDS, import_lines, report_key

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
GOOD = {"certificate_no": "CH1", "qualification": "注册测绘师", "level": "", "specialty": "", "holder_name": "张三",
        "id_type": "resident_id", "id_number": "11010519900307451X", "issued_on": "2023-12-20",
        "approved_on": "2023-11-25", "issuer_name": "北京市人力资源和社会保障局", "issuer_contact": "010-87901800",
        "status": "valid", "phone": ""}


class MemoryStore:
    """Keeps certificates by ID and answers like the repository: False when identical, or
    written by a row of a later stamp, unless this very row wrote it."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[Certificate, RowStamp]] = {}

    def load_certificates(self, rows: Sequence[tuple[Certificate, RowStamp]], now: datetime) -> list[bool]:
        return [self._load(cert, stamp) for cert, stamp in rows]

    def _load(self, cert: Certificate, stamp: RowStamp) -> bool:
        held = self.items.get(cert.certificate_id)
        again = held is not None and held[1].loaded_by == stamp.loaded_by
        if held is not None and not again and (held[0] == cert or held[1].order >= stamp.order):
            return False
        self.items[cert.certificate_id] = (cert, stamp)
        return True


def id_hash(id_type: str, id_number: str) -> str:
    return f"h({id_type}:{id_number[-4:]})"


def csv_lines(*rows: dict[str, str], bom: bool = False) -> list[str]:
    header = ",".join(FIELDS) + "\n"
    lines = [("\ufeff" if bom else "") + header]
    lines += [",".join(row.get(f, "") for f in FIELDS) + "\n" for row in rows]
    return lines


@pytest.mark.parametrize(("change", "reason"), [
    ({"holder_name": ""}, "缺少必填字段"),
    ({"id_number": "11010519900307451A"}, "证件号码不正确"),
    ({"id_type": "driving_licence"}, "证件类型不正确"),
    ({"issued_on": "2023-02-30"}, "issued_on 不是有效日期"),
    ({"approved_on": "yesterday"}, "approved_on 不是有效日期"),
    ({"issued_on": "2027-01-01"}, "签发日期不能晚于今天"),
    ({"status": "lost"}, "状态须为"),
])
def test_each_bad_row_is_rejected_with_its_line_and_reason_and_good_rows_still_load(change: dict[str, str],
                                                                                   reason: str) -> None:
    bad = {**GOOD, "certificate_no": "BAD", **change}
    report = import_lines("batch.csv", csv_lines(GOOD, bad, {**GOOD, "certificate_no": "CH2"}),
                          store=MemoryStore(), id_hash=id_hash, now=NOW)
    assert (report.rows, report.loaded, report.unchanged) == (3, 2, 0)
    (rejected,) = report.rejected
    assert rejected["line"] == 3 and rejected["certificate_no"] == "BAD"
    assert reason in rejected["reason"]
    assert "11010519900307451" not in json.dumps(report.as_dict(), ensure_ascii=False)


def test_a_name_the_font_cannot_show_is_rejected() -> None:
    report = import_lines("batch.csv", csv_lines({**GOOD, "holder_name": "张𠀀"}), store=MemoryStore(),
                          id_hash=id_hash, now=NOW, renderable=lambda text: {c for c in text if ord(c) > 0xFFFF})
    assert "无法在证书中显示" in report.rejected[0]["reason"]


def test_a_byte_order_mark_is_ignored() -> None:
    report = import_lines("batch.csv", csv_lines(GOOD, bom=True), store=MemoryStore(), id_hash=id_hash, now=NOW)
    assert (report.loaded, report.rejected) == (1, [])


def test_json_lines_load_the_same_rows() -> None:
    lines = [json.dumps(GOOD, ensure_ascii=False) + "\n", "\n", "{not json\n", "[1]\n"]
    report = import_lines("batch.jsonl", lines, store=MemoryStore(), id_hash=id_hash, now=NOW)
    assert report.loaded == 1
    assert [r["line"] for r in report.rejected] == [3, 4]


def test_loading_the_same_batch_twice_changes_nothing_and_a_changed_row_updates() -> None:
    store = MemoryStore()
    import_lines("b.csv", csv_lines(GOOD), store=store, id_hash=id_hash, now=NOW, version="v1")
    again = import_lines("b.csv", csv_lines(GOOD), store=store, id_hash=id_hash, now=NOW, version="v2")
    assert (again.loaded, again.unchanged) == (0, 1)
    later = NOW + timedelta(hours=1)
    revoked = import_lines("b.csv", csv_lines({**GOOD, "status": "revoked"}), store=store, id_hash=id_hash, now=later,
                           version="v3")
    assert revoked.loaded == 1
    assert next(iter(store.items.values()))[0].status.value == "revoked"


def test_a_load_run_again_reports_what_it_wrote_the_first_time_as_loaded() -> None:
    store = MemoryStore()
    first = import_lines("b.csv", csv_lines(GOOD), store=store, id_hash=id_hash, now=NOW, version="v1")
    retried = import_lines("b.csv", csv_lines(GOOD), store=store, id_hash=id_hash, now=NOW, version="v1")
    assert (first.loaded, retried.loaded, retried.unchanged) == (1, 1, 0)


class MemoryPhones:
    """The phone on record by holder key, changed only by a row of a greater stamp (as the
    repository's conditional write does)."""

    def __init__(self) -> None:
        self.phones: dict[str, tuple[str, RowStamp]] = {}

    def record_phone(self, holder_key: str, phone: str, stamp: RowStamp) -> bool:
        held = self.phones.get(holder_key)
        again = held is not None and held[1].loaded_by == stamp.loaded_by
        if held is not None and not again and (held[0] == phone or held[1].order >= stamp.order):
            return False
        self.phones[holder_key] = (phone, stamp)
        return True


def test_a_row_with_a_phone_sets_the_phone_on_record_and_the_last_row_of_a_file_wins() -> None:
    phones = MemoryPhones()
    rows = csv_lines({**GOOD, "phone": "138 0013 8000"}, {**GOOD, "certificate_no": "CH2", "phone": "+8613912345678"})
    report = import_lines("b.csv", rows, store=MemoryStore(), phones=phones, id_hash=id_hash, now=NOW)
    assert report.loaded == 2
    assert phones.phones[id_hash("resident_id", GOOD["id_number"])][0] == "13912345678"
    assert "139" not in json.dumps(report.as_dict())


def test_loading_an_old_file_again_never_reverts_a_phone_a_newer_file_set() -> None:
    phones, store = MemoryPhones(), MemoryStore()
    old = csv_lines({**GOOD, "phone": "13800138000"})
    new = csv_lines({**GOOD, "phone": "13912345678"})
    import_lines("old.csv", old, store=store, phones=phones, id_hash=id_hash, now=NOW, first_loaded=NOW, version="v1")
    later = NOW + timedelta(days=3)
    import_lines("new.csv", new, store=store, phones=phones, id_hash=id_hash, now=later, first_loaded=later,
                 version="v2")
    again = import_lines("old.csv", old, store=store, phones=phones, id_hash=id_hash, now=later + timedelta(days=1),
                         first_loaded=NOW, version="v3")
    assert (again.loaded, again.unchanged) == (0, 1)
    assert phones.phones[id_hash("resident_id", GOOD["id_number"])][0] == "13912345678"


def test_a_bad_phone_rejects_its_row_without_repeating_it_and_a_file_without_the_column_loads() -> None:
    report = import_lines("b.csv", csv_lines({**GOOD, "phone": "12345678901"}), store=MemoryStore(),
                          phones=MemoryPhones(), id_hash=id_hash, now=NOW)
    assert report.loaded == 0 and "手机号码不正确" in report.rejected[0]["reason"]
    assert "12345678901" not in json.dumps(report.as_dict(), ensure_ascii=False)
    header = [f for f in FIELDS if f != "phone"]
    lines = [",".join(header) + "\n", ",".join(GOOD.get(f, "") for f in header) + "\n"]
    assert import_lines("b.csv", lines, store=MemoryStore(), phones=MemoryPhones(), id_hash=id_hash,
                        now=NOW).loaded == 1


def test_reports_land_beside_the_batch_under_import_reports() -> None:
    assert report_key("imports/2026/batch-07.csv") == "import-reports/2026/batch-07.csv.json"


def test_a_hundred_thousand_rows_are_streamed_in_bounded_memory() -> None:
    class CountingStore:
        loaded = 0

        def load_certificates(self, rows: Sequence[tuple[Certificate, RowStamp]], now: datetime) -> list[bool]:
            self.loaded += len(rows)
            return [True] * len(rows)

    def rows(count: int) -> Iterator[str]:
        yield ",".join(FIELDS) + "\n"
        for i in range(count):
            yield ",".join({**GOOD, "certificate_no": f"N{i:06d}"}.get(f, "") for f in FIELDS) + "\n"

    def peak(count: int) -> int:
        tracemalloc.start()
        import_lines("big.csv", rows(count), store=CountingStore(), id_hash=id_hash, now=NOW)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top

    store = CountingStore()
    report = import_lines("big.csv", rows(100_000), store=store, id_hash=id_hash, now=NOW)
    assert report.loaded == store.loaded == 100_000
    # Memory does not grow with the file: ten times the rows, about the same peak.
    assert peak(20_000) < 2 * peak(2_000) + 64 * 1024


def test_a_row_with_more_fields_than_the_header_or_an_unreadable_field_is_rejected_on_its_line() -> None:
    lines = [*csv_lines(GOOD), ",".join(GOOD.get(f, "") for f in FIELDS) + ",extra\n", "x" * 200_000 + "\n",
             ",".join({**GOOD, "certificate_no": "CH2"}.get(f, "") for f in FIELDS) + "\n"]
    report = import_lines("b.csv", lines, store=MemoryStore(), id_hash=id_hash, now=NOW, version="v1")
    assert [(r["line"], r["reason"][:6]) for r in report.rejected] == [(3, "该行的字段多"), (4, "该行无法解析")]
    assert (report.rows, report.loaded) == (4, 2)
