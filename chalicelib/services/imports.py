"""Loading issued certificates in batches: validate each row, write the good ones
idempotently (keyed by certificate number), report the bad ones with line and reason."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib.domain import identity
from chalicelib.domain.annotations import new_verification_code
from chalicelib.domain.batches import RowStamp, is_json_lines
from chalicelib.domain.certificates import (
    Certificate,
    CertificateKind,
    CertificateStatus,
    certificate_id_for,
    kind_for,
)
from chalicelib.domain.clock import beijing_date
from chalicelib.domain.errors import DomainError
from chalicelib.domain.text import Text

FIELDS = ("certificate_no", "qualification", "level", "specialty", "holder_name", "id_type", "id_number",
          "issued_on", "approved_on", "issuer_name", "issuer_contact", "status", "phone",
          "qualification_en", "issuer_name_en")
# `phone` is the holder's mobile phone as the issuing authority has it on record; a file
# without the column is accepted too. `qualification_en` and `issuer_name_en` are the English
# names printed beside the Chinese ones on a bilingual copy.
OPTIONAL = {"level", "specialty", "phone", "qualification_en", "issuer_name_en"}


class CertificateWriter(Protocol):
    def load_certificates(self, rows: Sequence[tuple[Certificate, RowStamp]], now: datetime) -> list[bool]: ...


class IdHash(Protocol):
    def __call__(self, id_type: str, id_number: str) -> str: ...


class PhoneRecords(Protocol):
    def record_phone(self, holder_key: str, phone: str, stamp: RowStamp) -> bool: ...


@dataclass(frozen=True)
class Row:
    certificate: Certificate
    phone: str | None


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    loaded: int = 0
    unchanged: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "rows": self.rows, "loaded": self.loaded, "unchanged": self.unchanged,
                "rejected": self.rejected}


class RowError(DomainError):
    """A row of an import file cannot be loaded."""

    TEXT = Text("该行无法导入", "The row cannot be loaded")


def read_rows(name: str, lines: Iterable[str], *, fieldnames: list[str] | None = None,
              first_line: int = 1) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, parse error or None) for each data line, streaming. A chunk of
    a file is read with the file's CSV header as `fieldnames`, from its `first_line`."""
    if is_json_lines(name):
        for number, line in enumerate(lines, start=first_line):
            text = line.lstrip("\ufeff").strip()
            if not text:
                continue
            try:
                row = json.loads(text)
            except ValueError:
                yield number, None, "该行不是有效的 JSON"
                continue
            if not isinstance(row, dict):
                yield number, None, "该行不是 JSON 对象"
                continue
            yield number, row, None
        return
    seen = 0  # lines handed to the csv reader so far (its own count stops at an error)

    def counted() -> Iterator[str]:
        nonlocal seen
        for line in lines:
            seen += 1
            yield line.lstrip("\ufeff") if seen == 1 else line

    reader = csv.DictReader(counted(), fieldnames=fieldnames)
    offset = first_line - 1
    if fieldnames is None:
        try:
            _ = reader.fieldnames  # reads the header line
        except csv.Error as e:
            yield first_line, None, f"表头无法解析为 CSV：{e}"
            return
    while True:
        started = seen + 1  # a record is reported at the line it begins on
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as e:  # a field longer than the csv module allows, a NUL byte
            yield offset + started, None, f"该行无法解析为 CSV：{e}"
            continue
        yield offset + started, row, None


def header_fields(header: str) -> list[str]:
    """The column names of a CSV header line."""
    return next(csv.reader([header]), [])


def parse_row(row: dict[str, Any], *, id_hash: IdHash, today: date,
              renderable: Callable[[str], set[str]] | None = None) -> Row:
    values = {k: ("" if row.get(k) is None else str(row.get(k))).strip() for k in FIELDS}
    if any("\ufffd" in value for value in values.values()):
        raise RowError(Text("该行含有无法识别的字符（文件须为 UTF-8 编码）",
                            "The row has characters that cannot be read (the file must be UTF-8)"))
    if None in row:  # csv.DictReader's key for the values past the header's columns
        raise RowError(Text("该行的字段多于表头", "The row has more fields than the header"))
    unknown = sorted(str(k) for k in set(row) - set(FIELDS))
    if unknown:
        raise RowError(Text(f"不支持的字段：{', '.join(unknown)}", f"Unknown fields: {', '.join(unknown)}"))
    missing = [k for k in FIELDS if k not in OPTIONAL and not values[k]]
    if missing:
        raise RowError(Text(f"缺少必填字段：{', '.join(missing)}", f"Missing required fields: {', '.join(missing)}"))
    id_type = identity.parse_id_type(values["id_type"])
    id_number = identity.normalize_id_number(id_type, values["id_number"], today=today)
    phone = identity.validate_phone(values["phone"]) if values["phone"] else None
    issued_on = _date(values["issued_on"], "issued_on")
    approved_on = _date(values["approved_on"], "approved_on")
    if issued_on > today:
        raise RowError(Text("签发日期不能晚于今天", "issued_on may not be after today"))
    try:
        status = CertificateStatus(values["status"])
    except ValueError as e:
        raise RowError(Text("状态须为 valid、cancelled 或 revoked",
                            "status must be valid, cancelled or revoked")) from e
    if renderable is not None:
        text = "".join(values[k] for k in ("qualification", "level", "specialty", "holder_name", "issuer_name",
                                             "issuer_contact", "certificate_no", "qualification_en",
                                             "issuer_name_en"))
        missing_glyphs = renderable(text)
        if missing_glyphs:
            chars = "".join(sorted(missing_glyphs))
            raise RowError(Text(f"以下字符无法在证书中显示：{chars}", f"These characters cannot be printed: {chars}"))
    return Row(phone=phone, certificate=Certificate(
        certificate_id=certificate_id_for(values["certificate_no"]),
        certificate_no=values["certificate_no"], qualification=values["qualification"],
        level=values["level"], specialty=values["specialty"], holder_name=values["holder_name"],
        id_type=id_type.value, id_number=id_number, holder_key=id_hash(id_type.value, id_number),
        issued_on=issued_on, approved_on=approved_on, issuer_name=values["issuer_name"],
        issuer_contact=values["issuer_contact"], status=status,
        qualification_en=values["qualification_en"], issuer_name_en=values["issuer_name_en"],
        # An electronic file's code, kept by the store if the certificate has one already. The file
        # itself is rendered when it is first asked for, so a batch renders nothing.
        file_code=new_verification_code() if kind_for(issued_on) is CertificateKind.E_FILE else None))


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise RowError(Text(f"{name} 不是有效日期（YYYY-MM-DD）", f"{name} is not a valid date (YYYY-MM-DD)")) from e


# Rows written together: one BatchGetItem and at most one transaction per group.
GROUP = 100


def import_lines(name: str, lines: Iterable[str], *, store: CertificateWriter, id_hash: IdHash,
                 now: datetime, renderable: Callable[[str], set[str]] | None = None,
                 phones: PhoneRecords | None = None, first_loaded: datetime | None = None,
                 version: str = "", fieldnames: list[str] | None = None, first_line: int = 1) -> ImportReport:
    """Load every good row.

    Each row is stamped (RowStamp) with the time this file's content was first loaded
    (`first_loaded`) and its line: of two rows for one certificate or one ID document's phone,
    the one of the file first loaded later (or the later line of one file) wins, so loading an
    old file again never reverts a correction. The stamp also names `version`, so that a load
    run again (a chunk retried) reports what it wrote the first time as loaded.
    """
    report = ImportReport(file=name)
    today = beijing_date(now)
    group: list[tuple[Row, RowStamp]] = []

    def flush() -> None:
        changed = store.load_certificates([(row.certificate, stamp) for row, stamp in group], now)
        for (row, stamp), certificate_changed in zip(group, changed, strict=True):
            phone_changed = (row.phone is not None and phones is not None
                             and phones.record_phone(row.certificate.holder_key, row.phone, stamp))
            if certificate_changed or phone_changed:
                report.loaded += 1
            else:
                report.unchanged += 1
        group.clear()

    for line, row, error in read_rows(name, lines, fieldnames=fieldnames, first_line=first_line):
        report.rows += 1
        certificate_no = str((row or {}).get("certificate_no") or "").strip() or None
        if error is not None or row is None:
            report.rejected.append({"line": line, "certificate_no": certificate_no, "reason": error})
            continue
        try:
            parsed = parse_row(row, id_hash=id_hash, today=today, renderable=renderable)
        except DomainError as e:
            report.rejected.append({"line": line, "certificate_no": certificate_no, "reason": e.message})
            continue
        # A certificate twice in one group would race itself: the earlier row goes first.
        if len(group) == GROUP or any(r.certificate.certificate_id == parsed.certificate.certificate_id
                                      for r, _ in group):
            flush()
        group.append((parsed, RowStamp.of(first_loaded=first_loaded or now, version=version, line=line)))
    if group:
        flush()
    return report


def text_lines(data: bytes) -> Iterator[str]:
    """Lines of a UTF-8 file held in memory (a chunk, the tests); bytes that are not UTF-8
    become U+FFFD, which rejects their row."""
    yield from io.StringIO(data.decode("utf-8", errors="replace"), newline="")


def report_key(key: str) -> str:
    """`imports/2026/batch-07.csv` -> `import-reports/2026/batch-07.csv.json`."""
    return "import-reports/" + key.removeprefix("imports/") + ".json"
