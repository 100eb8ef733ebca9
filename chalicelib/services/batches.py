"""Batch files of any size, loaded in chunks that cannot be lost.

The import trigger splits a new version of a file under imports/ into chunks
(domain.batches) and queues one message per chunk; the import worker loads a chunk and records
it done; a chunk that fails five times reaches the dead-letter queue, whose consumer records
it as dead. Whichever records the last chunk writes the report, once: its rows, loaded,
unchanged and rejected lines, and the lines never processed. Every step is safe to run twice:
the import is keyed by the object's version, a chunk by its index, a row by its RowStamp.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib import observability
from chalicelib.domain.batches import (
    ROWS_PER_CHUNK,
    BatchUnreadable,
    Layout,
    ObjectVersion,
    assemble,
    is_json_lines,
    split,
)
from chalicelib.repositories.imports import ImportRepository, Progress
from chalicelib.services.imports import (
    CertificateWriter,
    IdHash,
    PhoneRecords,
    header_fields,
    import_lines,
    report_key,
    text_lines,
)

log = logging.getLogger(__name__)


class BatchFiles(Protocol):
    def object_version(self, key: str, version_id: str | None = None) -> ObjectVersion: ...
    def blocks(self, key: str, version_id: str) -> Iterator[bytes]: ...
    def byte_range(self, key: str, version_id: str, start: int, end: int) -> bytes: ...
    def put_json(self, key: str, data: dict[str, Any]) -> None: ...
    def get_json(self, key: str) -> dict[str, Any]: ...


class FirstLoads(Protocol):
    def file_first_loaded(self, file_id: str, now: datetime) -> datetime: ...


class ChunkQueue(Protocol):
    def send_chunks(self, import_id: str, indexes: list[int]) -> None: ...


def import_id_for(key: str, upload: str) -> str:
    """An import is one upload of a key (domain.batches.ObjectVersion.upload)."""
    return f"{key}#{upload}"


def part_key(import_id: str, index: int) -> str:
    """Where a chunk's result waits for the report (the bucket expires them after 30 days)."""
    return f"import-chunks/{hashlib.sha256(import_id.encode()).hexdigest()[:32]}/{index:06d}.json"


def start_import(key: str, *, files: BatchFiles, imports: ImportRepository, first_loads: FirstLoads,
                 queue: ChunkQueue, now: datetime, version_id: str | None = None,
                 rows_per_chunk: int = ROWS_PER_CHUNK) -> Progress | None:
    """Split this version of the file (the event's, or the current one) and queue its chunks;
    for a trigger run twice, the chunks not yet accounted for, with the first run's layout and
    times. None when the object is gone (deleted before the event came)."""
    observability.correlate(key)
    try:
        version = files.object_version(key, version_id)
    except LookupError:
        log.warning("import of %s: the object is gone; nothing to load", key)
        return None
    import_id = import_id_for(key, version.upload)
    try:
        progress = imports.progress(import_id)
    except LookupError:
        progress = _start(import_id, key, version, files=files, imports=imports, first_loads=first_loads,
                          now=now, rows_per_chunk=rows_per_chunk)
    waiting = [c["index"] for c in progress.chunks if c["index"] not in progress.done | progress.failed]
    if waiting:
        queue.send_chunks(import_id, waiting)
    log.info("import of %s: %d chunk(s), %d queued", key, len(progress.chunks), len(waiting))
    finish(progress, files=files, imports=imports, now=now)  # a file with no rows: its report now
    return progress


def _start(import_id: str, key: str, version: ObjectVersion, *, files: BatchFiles, imports: ImportRepository,
           first_loads: FirstLoads, now: datetime, rows_per_chunk: int) -> Progress:
    problem = None
    try:
        layout = split(files.blocks(key, version.upload), csv=not is_json_lines(key), rows_per_chunk=rows_per_chunk)
    except BatchUnreadable as e:
        layout, problem = Layout(None, (), ""), e.message
    # A file is known by its bytes (their SHA-256), however and under whatever name it was
    # uploaded: loading an old file again is that old file still, and reverts no correction.
    first_loaded = first_loads.file_first_loaded(layout.sha256 or version.upload, now)
    progress, _ = imports.start(import_id, key=key, version=version.upload, layout=layout, started_at=now,
                                first_loaded_at=first_loaded, problem=problem)
    return progress


@dataclass(frozen=True)
class RowLoading:
    """What loading rows needs: the stores, the ID hash and the checks of each row."""

    store: CertificateWriter
    phones: PhoneRecords
    id_hash: IdHash
    renderable: Callable[[str], set[str]] | None = None


def load_chunk(import_id: str, index: int, *, files: BatchFiles, imports: ImportRepository, rows: RowLoading,
               now: datetime) -> None:
    """Load one chunk's rows and record it done; raises (and the queue redelivers) when any
    row could not be written. Every run of a chunk writes with the import's start time and
    the same row stamps, so a retry reports exactly what the first run wrote."""
    progress = imports.progress(import_id)
    observability.correlate(progress.key)
    if index not in progress.done:
        chunk = progress.chunk(index)
        data = files.byte_range(progress.key, progress.version, chunk.start, chunk.end)
        report = import_lines(progress.key.rsplit("/", 1)[-1], text_lines(data), store=rows.store,
                              id_hash=rows.id_hash, now=progress.started_at, renderable=rows.renderable,
                              phones=rows.phones, first_loaded=progress.first_loaded_at,
                              version=progress.version, first_line=chunk.first_line,
                              fieldnames=header_fields(progress.header) if progress.header is not None else None)
        files.put_json(part_key(import_id, index), report.as_dict())
        progress = imports.chunk_done(import_id, index)
        observability.count("ImportRowsLoaded", report.loaded)
        observability.count("ImportRowsRejected", len(report.rejected))
    finish(progress, files=files, imports=imports, now=now)


def chunk_died(import_id: str, index: int, *, files: BatchFiles, imports: ImportRepository, now: datetime) -> None:
    """A chunk that reached the dead-letter queue: its lines are reported as never processed."""
    progress = imports.chunk_died(import_id, index)
    observability.correlate(progress.key)
    if index not in progress.done:
        chunk = progress.chunk(index)
        log.error("import of %s: lines %d-%d failed every attempt", progress.key, chunk.first_line, chunk.last_line)
        observability.count("ImportChunksFailed")
    finish(progress, files=files, imports=imports, now=now)


def load_chunks(messages: list[tuple[str, str]], *, files: BatchFiles, imports: ImportRepository,
                rows: RowLoading, now: datetime) -> list[str]:
    """The import worker's batch of (message ID, body): the IDs of the messages to retry."""
    return _each_chunk(messages, "import chunk %s", lambda import_id, index: load_chunk(
        import_id, index, files=files, imports=imports, rows=rows, now=now))


def bury_chunks(messages: list[tuple[str, str]], *, files: BatchFiles, imports: ImportRepository,
                now: datetime) -> list[str]:
    """The dead-letter consumer's batch: each chunk recorded as dead (retried when that fails)."""
    return _each_chunk(messages, "dead import chunk %s", lambda import_id, index: chunk_died(
        import_id, index, files=files, imports=imports, now=now))


def _each_chunk(messages: list[tuple[str, str]], what: str, handle: Callable[[str, int], None]) -> list[str]:
    """`handle` each message's chunk; the IDs of the messages that failed, to retry. A message
    that names no chunk, or a chunk of no import (removed, or never started), is dropped."""
    failed: list[str] = []
    for message_id, body in messages:
        chunk = chunk_of(body)
        if chunk is None:
            continue
        try:
            handle(*chunk)
        except LookupError:
            log.error(what + " names no import (removed, or never started); dropped", chunk)
        except Exception:
            log.exception(what + " failed; it is retried", chunk)
            failed.append(message_id)
    return failed


def chunk_of(body: str) -> tuple[str, int] | None:
    """(import ID, chunk index) of a chunk message; None (and a log line) for anything else,
    which is dropped: it names nothing to load."""
    try:
        message = json.loads(body)
        return str(message["import_id"]), int(message["chunk"])
    except (ValueError, KeyError, TypeError):
        log.error("an import queue message that names no chunk was dropped")
        return None


def finish(progress: Progress, *, files: BatchFiles, imports: ImportRepository, now: datetime) -> bool:
    """Write the report when every chunk is accounted for and no run has written it yet (or
    wrote it before a chunk recorded dead finished after all). Two runs writing at once: the
    one whose record of the report loses reads the import again and writes once more, so the
    last report written is the newest."""
    written = False
    while progress.report_due:
        done = sorted(progress.done)
        parts = [part_key(progress.import_id, i) for i in done]
        with ThreadPoolExecutor(max_workers=8) as pool:  # a 10^6-row file has 500 parts
            results = dict(zip(done, pool.map(files.get_json, parts), strict=True))
        report = assemble(progress.key, progress.version, progress.chunks, results, set(progress.failed),
                          progress.problem)
        files.put_json(report_key(progress.key), report)
        written = True
        if imports.mark_reported(progress.import_id, now, done=len(done)):
            log.info("import of %s reported: %d rows, %d loaded, %d unchanged, %d rejected, "
                     "%d chunk(s) never processed", progress.key, report["rows"], report["loaded"],
                     report["unchanged"], len(report["rejected"]), len(report["never_processed"]))
            break
        progress = imports.progress(progress.import_id)
    return written
