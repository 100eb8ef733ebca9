"""Loading issued certificates in batches: validate each row, write the good ones
idempotently (keyed by certificate number), report the bad ones with line and reason."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

from chalicelib import observability
from chalicelib.domain import identity
from chalicelib.domain.certificates import Certificate, CertificateStatus, certificate_id_for
from chalicelib.domain.clock import beijing_date
from chalicelib.domain.errors import DomainError

FIELDS = ("certificate_no", "qualification", "level", "specialty", "holder_name", "id_type", "id_number",
          "issued_on", "approved_on", "issuer_name", "issuer_contact", "status", "phone")
# `phone` is the holder's mobile phone as the issuing authority has it on record; a file
# without the column is accepted too.
OPTIONAL = {"level", "specialty", "phone"}


class CertificateWriter(Protocol):
    def put_certificate(self, cert: Certificate, now: datetime) -> bool: ...


class IdHash(Protocol):
    def __call__(self, id_type: str, id_number: str) -> str: ...


class PhoneRecords(Protocol):
    def record_phone(self, holder_key: str, phone: str, stamp: str) -> bool: ...
    def file_first_loaded(self, file_id: str, now: datetime) -> datetime: ...


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


def read_rows(name: str, lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """(line number, row or None, parse error or None) for each data line, streaming."""
    if name.lower().endswith((".jsonl", ".ndjson", ".json")):
        for number, line in enumerate(lines, start=1):
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
    first = True

    def stripped() -> Iterator[str]:
        nonlocal first
        for line in lines:
            yield line.lstrip("\ufeff") if first else line
            first = False

    reader = csv.DictReader(stripped())
    for row in reader:
        yield reader.line_num, row, None


def parse_row(row: dict[str, Any], *, id_hash: IdHash, today: date,
              renderable: Callable[[str], set[str]] | None = None) -> Row:
    values = {k: ("" if row.get(k) is None else str(row.get(k))).strip() for k in FIELDS}
    unknown = sorted(set(row) - set(FIELDS))
    if unknown:
        raise RowError(f"不支持的字段：{', '.join(unknown)}")
    missing = [k for k in FIELDS if k not in OPTIONAL and not values[k]]
    if missing:
        raise RowError(f"缺少必填字段：{', '.join(missing)}")
    id_type = identity.parse_id_type(values["id_type"])
    id_number = identity.normalize_id_number(id_type, values["id_number"], today=today)
    phone = identity.validate_phone(values["phone"]) if values["phone"] else None
    issued_on = _date(values["issued_on"], "issued_on")
    approved_on = _date(values["approved_on"], "approved_on")
    if issued_on > today:
        raise RowError("签发日期不能晚于今天")
    try:
        status = CertificateStatus(values["status"])
    except ValueError as e:
        raise RowError("状态须为 valid、cancelled 或 revoked") from e
    if renderable is not None:
        text = "".join(values[k] for k in ("qualification", "level", "specialty", "holder_name", "issuer_name",
                                             "issuer_contact", "certificate_no"))
        missing_glyphs = renderable(text)
        if missing_glyphs:
            raise RowError(f"以下字符无法在证书中显示：{''.join(sorted(missing_glyphs))}")
    return Row(phone=phone, certificate=Certificate(
        certificate_id=certificate_id_for(values["certificate_no"]),
        certificate_no=values["certificate_no"], qualification=values["qualification"],
        level=values["level"], specialty=values["specialty"], holder_name=values["holder_name"],
        id_type=id_type.value, id_number=id_number, holder_key=id_hash(id_type.value, id_number),
        issued_on=issued_on, approved_on=approved_on, issuer_name=values["issuer_name"],
        issuer_contact=values["issuer_contact"], status=status))


def _date(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise RowError(f"{name} 不是有效日期（YYYY-MM-DD）") from e


def import_lines(name: str, lines: Iterable[str], *, store: CertificateWriter, id_hash: IdHash,
                 now: datetime, renderable: Callable[[str], set[str]] | None = None,
                 prepare: Callable[[Certificate], Certificate] | None = None,
                 phones: PhoneRecords | None = None, first_loaded: datetime | None = None) -> ImportReport:
    """Load every good row; `prepare` may attach a stored file to a certificate first.

    A row's phone becomes the phone on record of its ID document unless a row of a file first
    loaded later (or a later row of this file) set it: each row is stamped with the time this
    file was first loaded (`first_loaded`) and its line, so loading an old file again never
    reverts a correction.
    """
    report = ImportReport(file=name)
    loaded = (first_loaded or now).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    today = beijing_date(now)
    for line, row, error in read_rows(name, lines):
        report.rows += 1
        certificate_no = str((row or {}).get("certificate_no") or "").strip() or None
        if error is not None or row is None:
            report.rejected.append({"line": line, "certificate_no": certificate_no, "reason": error})
            continue
        try:
            parsed = parse_row(row, id_hash=id_hash, today=today, renderable=renderable)
            cert = prepare(parsed.certificate) if prepare is not None else parsed.certificate
        except DomainError as e:
            report.rejected.append({"line": line, "certificate_no": certificate_no, "reason": e.message})
            continue
        changed = store.put_certificate(cert, now)
        if parsed.phone is not None and phones is not None:
            changed = phones.record_phone(cert.holder_key, parsed.phone, f"{loaded}#{line:010d}") or changed
        if changed:
            report.loaded += 1
        else:
            report.unchanged += 1
    return report


def text_lines(data: bytes) -> Iterator[str]:
    """Lines of a UTF-8 file held in memory (tests and the demo)."""
    yield from io.StringIO(data.decode("utf-8"), newline="")


class ImportSource(Protocol):
    def lines(self, key: str) -> Iterator[str]: ...
    def version(self, key: str) -> str: ...
    def put_report(self, key: str, report: dict[str, Any]) -> None: ...


def report_key(key: str) -> str:
    """`imports/2026/batch-07.csv` -> `import-reports/2026/batch-07.csv.json`."""
    return "import-reports/" + key.removeprefix("imports/") + ".json"


def import_object(key: str, *, source: ImportSource, store: CertificateWriter, phones: PhoneRecords,
                  id_hash: IdHash, now: datetime, renderable: Callable[[str], set[str]] | None = None,
                  prepare: Callable[[Certificate], Certificate] | None = None) -> ImportReport:
    """Load one batch file from the bucket and write its report beside it. Loading the
    same file twice writes the same certificates (the second time `unchanged`)."""
    observability.correlate(key)
    # A file is known by its content, not its name: the same bytes uploaded again under another
    # name are the old file still, and revert no correction.
    first_loaded = phones.file_first_loaded(source.version(key), now)
    report = import_lines(key.rsplit("/", 1)[-1], source.lines(key), store=store, id_hash=id_hash, now=now,
                          renderable=renderable, prepare=prepare, phones=phones, first_loaded=first_loaded)
    source.put_report(report_key(key), {**report.as_dict(), "file": key})
    observability.count("ImportRowsLoaded", report.loaded)
    observability.count("ImportRowsRejected", len(report.rejected))
    return report
