"""Batch files split into chunks that each load far inside a function's timeout, and the one
report assembled from the chunks' results.

A chunk is a byte range of one version of the file that begins and ends on a record boundary,
with the number of the physical line it begins on, so every chunk reports the lines of the
file. Finding the boundaries reads the file once and looks at line ends only (LF, CRLF, or CR
alone as old spreadsheet exports write), and for CSV at quotes the way Python's csv module reads
them: a line that has none cannot open or close a quoted field; one that has is followed through
its fields, so that a quoted newline never splits a record and a stray quote inside an unquoted
field (`12"屏`) opens nothing. No row is parsed. A record still inside quotes after
MAX_RECORD_BYTES ends at the next line end anyway (its row is then rejected, not the file).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from chalicelib.domain.errors import DomainError
from chalicelib.domain.text import Text

# Rows per chunk: 2,000 rows load in a few seconds on DynamoDB (one BatchGetItem and one
# transaction per 100 rows), far inside the import worker's 300 s.
ROWS_PER_CHUNK = 2000
# A CSV header longer than this is not a header; a record longer than this is not a row; a
# chunk closes at whichever comes first, its rows or its bytes.
MAX_HEADER_BYTES = 4096
MAX_RECORD_BYTES = 64 * 1024
MAX_CHUNK_BYTES = 8 * 1024 * 1024
NEVER_PROCESSED = "该部分多次处理失败，未能全部导入；请重新上传该文件"


@dataclass(frozen=True)
class ObjectVersion:
    version_id: str  # the bucket's version of the object ("null" in a bucket never versioned)
    etag: str  # its content: the same bytes under any name, the same tag
    modified: str  # when it was written

    @property
    def upload(self) -> str:
        """What tells this upload from any other of the same key (without versions, the same
        bytes uploaded again are told apart by their time)."""
        return self.version_id if self.version_id != "null" else f"null:{self.etag}:{self.modified}"


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # first byte
    end: int  # one past the last byte
    first_line: int
    last_line: int


@dataclass(frozen=True)
class Layout:
    """How a file splits: its CSV header line (None for JSON lines), its chunks, and the SHA-256
    of its bytes (what tells this content from another, whoever uploaded it how)."""

    header: str | None
    chunks: tuple[Chunk, ...]
    sha256: str


class BatchUnreadable(DomainError):
    """A batch file that has no usable header; its report says why."""

    TEXT = Text("文件第一行不是有效的表头（UTF-8 CSV，字段名以逗号分隔，以换行结束）",
                "The first line is no valid header (UTF-8 CSV, field names separated by commas, ending in a newline)")


def is_json_lines(name: str) -> bool:
    return name.lower().endswith((".jsonl", ".ndjson", ".json"))


def split(blocks: Iterable[bytes], *, csv: bool, rows_per_chunk: int = ROWS_PER_CHUNK) -> Layout:
    """The chunks of a file read as `blocks` of bytes. For CSV, the first record is the
    header and the chunks hold the records after it. BatchUnreadable without a header."""
    splitter = _Splitter(csv=csv, rows_per_chunk=rows_per_chunk)
    for block in blocks:
        splitter.feed(block)
    return splitter.finish()


_START, _FIELD, _QUOTED, _QUOTE_IN_QUOTED = range(4)
_QUOTE, _COMMA = ord('"'), ord(",")


def ends_inside_quotes(line: bytes, inside: bool) -> bool:
    """Whether a CSV record is still inside a quoted field at the end of this line, as Python's
    csv module (excel dialect) reads it: a quote opens a field only at the field's start, `""`
    inside one is a quote, and the field closes at the quote before `,` or the line's end."""
    state = _QUOTED if inside else _START
    for byte in line:
        if state == _START:
            state = _QUOTED if byte == _QUOTE else _START if byte == _COMMA else _FIELD
        elif state == _FIELD:
            if byte == _COMMA:
                state = _START
        elif state == _QUOTED:
            if byte == _QUOTE:
                state = _QUOTE_IN_QUOTED
        else:
            state = _QUOTED if byte == _QUOTE else _START if byte == _COMMA else _FIELD
    return state == _QUOTED


class _Splitter:
    def __init__(self, *, csv: bool, rows_per_chunk: int) -> None:
        self.csv = csv
        self.rows_per_chunk = rows_per_chunk
        self.digest = hashlib.sha256()
        self.position = 0  # bytes of the lines ended so far
        self.line = 1  # the number of the line being read
        self.partial = bytearray()  # the line being read (its first MAX_RECORD_BYTES)
        self.partial_length = 0
        self.terminator: bytes | None = None  # b"\n", or b"\r" in a file of CR line ends
        self.after_cr = False  # the last byte fed was a CR (it may begin a CRLF)
        self.inside_quotes = False
        self.record_bytes = 0
        self.header: str | None = None
        self.in_header = csv
        self.chunks: list[Chunk] = []
        self.chunk_start = 0
        self.chunk_line = 1
        self.records = 0

    def feed(self, block: bytes) -> None:
        self.digest.update(block)
        if self.terminator is None:
            self._choose_terminator(block)
        if self.terminator is None:
            self._extend(block)
            return
        at = 0
        while True:
            end = block.find(self.terminator, at)
            if end < 0:
                self._extend(block[at:])
                return
            self._extend(block[at:end + 1])
            self._line_ended()
            at = end + 1

    def _choose_terminator(self, block: bytes) -> None:
        """LF (and so CRLF) unless the first line end is a CR alone."""
        for byte in block:
            if self.after_cr:
                self.terminator = b"\n" if byte == 0x0A else b"\r"
                return
            if byte == 0x0A:
                self.terminator = b"\n"
                return
            self.after_cr = byte == 0x0D

    def _extend(self, piece: bytes) -> None:
        room = MAX_RECORD_BYTES - len(self.partial)
        if room > 0:
            self.partial += piece[:room]
        self.partial_length += len(piece)

    def _line_ended(self) -> None:
        line, length = bytes(self.partial), self.partial_length
        self.partial.clear()
        self.partial_length = 0
        self.position += length
        self.line += 1
        self.record_bytes += length
        if self.in_header:
            if length > MAX_HEADER_BYTES:
                raise BatchUnreadable()
            self.header = line.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
            self.in_header = False
            self.chunk_start, self.chunk_line, self.record_bytes = self.position, self.line, 0
            return
        if self.csv and (self.inside_quotes or _QUOTE in line):
            self.inside_quotes = ends_inside_quotes(line.rstrip(b"\r\n"), self.inside_quotes)
            if self.inside_quotes and self.record_bytes <= MAX_RECORD_BYTES:
                return  # the record goes on on the next line
        self.inside_quotes, self.record_bytes = False, 0
        self.records += 1
        if self.records == self.rows_per_chunk or self.position - self.chunk_start >= MAX_CHUNK_BYTES:
            self._close(self.position, self.line - 1)

    def _close(self, end: int, last_line: int) -> None:
        self.chunks.append(Chunk(len(self.chunks), self.chunk_start, end, self.chunk_line, last_line))
        self.chunk_start, self.chunk_line, self.records = end, last_line + 1, 0

    def finish(self) -> Layout:
        if self.partial_length:  # the last line, without its line end
            self.position += self.partial_length
            last = self.line
        else:
            last = self.line - 1
        if self.in_header:  # no line end at all: a file of a header alone, or nothing
            if self.position > MAX_HEADER_BYTES:
                raise BatchUnreadable()
            self.header = bytes(self.partial).decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
            self.chunk_start = self.position
        if self.position > self.chunk_start:
            self._close(self.position, last)
        return Layout(self.header, tuple(self.chunks), self.digest.hexdigest())


def stamp_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class RowStamp:
    """Which row of which load wrote a record: `order` (when the file's content was first
    loaded, then its line) decides which of two rows wins, whatever order they are loaded in;
    `loaded_by` (the object version and the line) tells a retry of this very load, so a chunk
    run again reports what its first run wrote as loaded, not as unchanged."""

    order: str
    loaded_by: str

    @classmethod
    def of(cls, *, first_loaded: datetime, version: str, line: int) -> RowStamp:
        return cls(f"{stamp_time(first_loaded)}#{line:010d}", f"{version}#{line}")


def assemble(file: str, version: str, chunks: list[dict[str, Any]], results: dict[int, dict[str, Any]],
             failed: set[int], problem: str | None = None) -> dict[str, Any]:
    """The batch's report from each chunk's result; a chunk that died is listed with its lines,
    never processed (or not all of them); a file that could not be split, with its first line."""
    report: dict[str, Any] = {"file": file, "version": version, "rows": 0, "loaded": 0, "unchanged": 0,
                              "rejected": [], "never_processed": []}
    if problem is not None:
        report["rejected"].append({"line": 1, "certificate_no": None, "reason": problem})
    for chunk in chunks:
        index = int(chunk["index"])
        if index in failed and index not in results:
            report["never_processed"].append({"first_line": chunk["first_line"], "last_line": chunk["last_line"],
                                              "reason": NEVER_PROCESSED})
            continue
        result = results[index]
        for name in ("rows", "loaded", "unchanged"):
            report[name] += int(result[name])
        report["rejected"].extend(result["rejected"])
    report["rejected"].sort(key=lambda r: r["line"])
    report["chunks"] = len(chunks)
    return report
