"""Batch files split into chunks that each load far inside a function's timeout, and the one
report assembled from the chunks' results.

A chunk is a byte range of one version of the file that begins and ends on a record boundary,
with the number of the physical line it begins on, so every chunk reports the lines of the
file. Finding the boundaries reads the file once and looks at bytes only (newlines, and for
CSV the parity of double quotes: RFC 4180 doubles a quote inside a quoted field, so a newline
ends a record only after an even number of quotes); no row is parsed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Rows per chunk: 2,000 rows load in a few seconds on DynamoDB (one BatchGetItem and one
# transaction per 100 rows), far inside the import worker's 300 s.
ROWS_PER_CHUNK = 2000
# A CSV header longer than this is not a header.
MAX_HEADER_BYTES = 4096
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
    """How a file splits: its CSV header line (None for JSON lines) and its chunks."""

    header: str | None
    chunks: tuple[Chunk, ...]


def is_json_lines(name: str) -> bool:
    return name.lower().endswith((".jsonl", ".ndjson", ".json"))


def split(blocks: Iterable[bytes], *, csv: bool, rows_per_chunk: int = ROWS_PER_CHUNK) -> Layout:
    """The chunks of a file read as `blocks` of bytes. For CSV, the first record is the
    header and the chunks hold the records after it."""
    splitter = _Splitter(csv=csv, rows_per_chunk=rows_per_chunk)
    for block in blocks:
        splitter.feed(block)
    return splitter.finish()


class _Splitter:
    def __init__(self, *, csv: bool, rows_per_chunk: int) -> None:
        self.csv = csv
        self.rows_per_chunk = rows_per_chunk
        self.position = 0  # bytes seen
        self.line = 1  # the physical line the next byte is on
        self.odd_quotes = False
        self.header: bytearray | None = bytearray() if csv else None
        self.in_header = csv
        self.chunks: list[Chunk] = []
        self.chunk_start = 0
        self.chunk_line = 1
        self.records = 0
        self.last_byte = b""

    def feed(self, block: bytes) -> None:
        if block:
            self.last_byte = block[-1:]
        at = 0
        while True:
            newline = block.find(b"\n", at)
            end = len(block) if newline < 0 else newline + 1
            if self.csv and block.count(b'"', at, end) % 2:
                self.odd_quotes = not self.odd_quotes
            if self.in_header and self.header is not None:
                self.header += block[at:end]
                if len(self.header) > MAX_HEADER_BYTES:
                    raise ValueError("the first line is too long to be a header")
            if newline < 0:
                self.position += len(block) - at
                return
            self.position += end - at
            self.line += 1
            at = end
            if not self.odd_quotes:
                self._record_ended()

    def _record_ended(self) -> None:
        if self.in_header:
            self.in_header = False
            self.chunk_start, self.chunk_line = self.position, self.line
            return
        self.records += 1
        if self.records == self.rows_per_chunk:
            self._close(self.position, self.line - 1)

    def _close(self, end: int, last_line: int) -> None:
        self.chunks.append(Chunk(len(self.chunks), self.chunk_start, end, self.chunk_line, last_line))
        self.chunk_start, self.chunk_line, self.records = end, last_line + 1, 0

    def finish(self) -> Layout:
        if self.in_header:  # a file of one line: the header alone
            self.in_header = False
            self.chunk_start, self.chunk_line = self.position, self.line + 1
        if self.position > self.chunk_start:
            # After a final newline `line` points at an empty line that is not the file's.
            self._close(self.position, self.line - 1 if self.last_byte == b"\n" else self.line)
        header = None
        if self.header is not None:
            header = bytes(self.header).decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
        return Layout(header, tuple(self.chunks))


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
             failed: set[int]) -> dict[str, Any]:
    """The batch's report from each chunk's result; a chunk that died is listed with its lines,
    never processed (or not all of them)."""
    report: dict[str, Any] = {"file": file, "version": version, "rows": 0, "loaded": 0, "unchanged": 0,
                              "rejected": [], "never_processed": []}
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
