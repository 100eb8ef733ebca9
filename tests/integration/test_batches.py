"""Batch files loaded in chunks against moto: every row once, an exact report after a retried
or a dead chunk, the same file twice changing nothing, a trigger run twice queuing nothing new."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import deps
from chalicelib.domain.batches import RowStamp
from chalicelib.domain.certificates import Certificate, certificate_id_for
from chalicelib.services import batches
from chalicelib.services.imports import FIELDS, report_key
from tests.unit.test_imports import GOOD

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
# A good row as the unit tests of rows know it; each batch gives it numbers of its own.
ROW = GOOD


class Queue:
    """The chunk queue as the worker sees it: the messages sent, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def send_chunks(self, import_id: str, indexes: list[int]) -> None:
        self.sent += [(import_id, i) for i in indexes]


def a_batch(prefix: str, count: int, **change: str) -> bytes:
    lines = [",".join(FIELDS)]
    for i in range(count):
        row = {**ROW, "certificate_no": f"{prefix}{i:06d}", **change}
        lines.append(",".join(row.get(f, "") for f in FIELDS))
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


def upload(key: str, body: bytes) -> None:
    deps.files().put(key, body, "text/csv")


def start(key: str, queue: Queue, now: datetime = NOW, rows_per_chunk: int = 400) -> batches.Progress:
    repo = deps.repository()
    return batches.start_import(key, files=deps.files(), imports=repo.imports, first_loads=repo.accounts,
                                queue=queue, now=now, rows_per_chunk=rows_per_chunk)


def rows(store: Any = None) -> batches.RowLoading:
    repo = deps.repository()
    return batches.RowLoading(store=store or repo, phones=repo.accounts, id_hash=deps.id_hasher())


def load(queue: Queue, loading: batches.RowLoading | None = None) -> None:
    for import_id, index in queue.sent:
        batches.load_chunk(import_id, index, files=deps.files(), imports=deps.repository().imports,
                           rows=loading or rows(), now=NOW)


def report(key: str) -> dict[str, Any]:
    return deps.files().get_json(report_key(key))


def test_a_batch_loads_in_chunks_with_one_exact_report(aws: dict[str, str]) -> None:
    key = "imports/chunks/five-thousand.csv"
    upload(key, a_batch("CK", 2500))
    queue = Queue()
    progress = start(key, queue)
    assert len(progress.chunks) == 7 and len(queue.sent) == 7
    load(queue)
    got = report(key)
    assert (got["rows"], got["loaded"], got["unchanged"], got["rejected"], got["never_processed"]) == \
        (2500, 2500, 0, [], [])
    assert deps.repository().certificate(certificate_id_for("CK002499")) is not None


class FailsOnce:
    """The repository, but the first write of rows fails after the first half of its rows
    were written, as a DynamoDB error or a timeout halfway through a chunk would."""

    def __init__(self) -> None:
        self.failed = False

    def load_certificates(self, rows: Sequence[tuple[Certificate, RowStamp]], now: datetime) -> list[bool]:
        repo = deps.repository()
        if not self.failed and len(rows) > 1:
            self.failed = True
            repo.load_certificates(rows[: len(rows) // 2], now)
            raise RuntimeError("DynamoDB went away")
        return repo.load_certificates(rows, now)


def test_a_chunk_that_fails_halfway_is_retried_and_the_report_is_still_exact(aws: dict[str, str]) -> None:
    key = "imports/chunks/fails-once.csv"
    upload(key, a_batch("FO", 1000))
    queue = Queue()
    start(key, queue)
    flaky = rows(FailsOnce())
    import_id, first = queue.sent[0]
    with pytest.raises(RuntimeError):
        batches.load_chunk(import_id, first, files=deps.files(), imports=deps.repository().imports, rows=flaky,
                           now=NOW)
    load(queue, flaky)  # the failed chunk comes back from the queue, then the others
    got = report(key)
    assert (got["rows"], got["loaded"], got["unchanged"], got["never_processed"]) == (1000, 1000, 0, [])


def test_the_same_file_twice_changes_nothing_and_a_trigger_run_twice_queues_nothing_new(aws: dict[str, str]) -> None:
    key = "imports/chunks/twice.csv"
    body = a_batch("TW", 900)
    upload(key, body)
    queue = Queue()
    start(key, queue)
    load(queue)
    again = Queue()
    assert start(key, again).reported and again.sent == []  # EventBridge delivered the upload twice
    upload(key, body)  # the same bytes uploaded again: a new version
    second = Queue()
    start(key, second, now=NOW + timedelta(hours=1))
    load(second)
    got = report(key)
    assert (got["rows"], got["loaded"], got["unchanged"]) == (900, 0, 900)


def test_a_chunk_that_died_is_reported_with_its_lines_never_processed(aws: dict[str, str]) -> None:
    key = "imports/chunks/dead.csv"
    upload(key, a_batch("DE", 1000))
    queue = Queue()
    progress = start(key, queue)
    (dead_id, dead), *rest = queue.sent
    for import_id, index in rest:
        batches.load_chunk(import_id, index, files=deps.files(), imports=deps.repository().imports, rows=rows(),
                           now=NOW)
    batches.chunk_died(dead_id, dead, files=deps.files(), imports=deps.repository().imports, now=NOW)
    batches.chunk_died(dead_id, dead, files=deps.files(), imports=deps.repository().imports, now=NOW)  # twice
    got = report(key)
    chunk = progress.chunk(dead)
    assert got["never_processed"] == [{"first_line": 2, "last_line": chunk.last_line,
                                       "reason": got["never_processed"][0]["reason"]}]
    assert (got["rows"], got["loaded"]) == (1000 - 400, 1000 - 400)
    # The dead chunk's message comes once more (a duplicate, a redrive) and loads after all: the
    # report is written again and says so.
    batches.load_chunk(dead_id, dead, files=deps.files(), imports=deps.repository().imports, rows=rows(), now=NOW)
    got = report(key)
    assert (got["rows"], got["loaded"], got["never_processed"]) == (1000, 1000, [])


def test_rows_split_at_a_quoted_newline_and_json_lines_keep_their_line_numbers(aws: dict[str, str]) -> None:
    header = ",".join(FIELDS)
    rows_text = [",".join({**ROW, "certificate_no": f"QN{i}"}.get(f, "") for f in FIELDS) for i in range(5)]
    rows_text[2] = rows_text[2].replace("张三", '"张\n三"')  # a quoted newline: one record, lines 4-5
    rows_text[3] = rows_text[3].replace("valid", "lost")  # rejected, on line 6
    key = "imports/chunks/quoted.csv"
    upload(key, ("\n".join([header, *rows_text]) + "\n").encode())
    queue = Queue()
    start(key, queue, rows_per_chunk=2)
    load(queue)
    got = report(key)
    assert got["rows"] == 5 and got["loaded"] == 4
    assert [r["line"] for r in got["rejected"]] == [6]
    key = "imports/chunks/lines.jsonl"
    upload(key, "\n".join(json.dumps({**ROW, "certificate_no": f"JL{i}", **({"status": "lost"} if i == 3 else {})},
                                     ensure_ascii=False) for i in range(5)).encode())
    queue = Queue()
    start(key, queue, rows_per_chunk=2)
    load(queue)
    got = report(key)
    assert (got["rows"], got["loaded"], [r["line"] for r in got["rejected"]]) == (5, 4, [4])


def test_an_empty_file_is_reported_at_once_and_one_without_a_header_says_why(aws: dict[str, str]) -> None:
    key = "imports/chunks/empty.csv"
    upload(key, ",".join(FIELDS).encode() + b"\n")
    queue = Queue()
    start(key, queue)
    assert queue.sent == [] and report(key)["rows"] == 0
    key = "imports/chunks/no-header.csv"
    upload(key, b"x" * 5000 + b"\n")
    start(key, queue)
    got = report(key)
    assert queue.sent == [] and (got["rows"], got["rejected"][0]["line"]) == (0, 1)
    assert "表头" in got["rejected"][0]["reason"]


def test_the_trigger_loads_the_version_its_event_names_and_nothing_for_a_deleted_object(aws: dict[str, str]) -> None:
    key = "imports/chunks/versions.csv"
    upload(key, a_batch("VA", 3))
    first = boto3.client("s3").head_object(Bucket=deps.files().bucket, Key=key)["VersionId"]
    upload(key, a_batch("VB", 5))
    queue = Queue()
    repo = deps.repository()
    progress = batches.start_import(key, version_id=first, files=deps.files(), imports=repo.imports,
                                    first_loads=repo.accounts, queue=queue, now=NOW)
    assert progress is not None and progress.version == first
    load(queue)
    assert report(key)["rows"] == 3
    assert batches.start_import("imports/chunks/gone.csv", files=deps.files(), imports=repo.imports,
                                first_loads=repo.accounts, queue=queue, now=NOW) is None


def test_messages_for_no_import_are_dropped_not_retried(aws: dict[str, str]) -> None:
    repo = deps.repository()
    messages = [("m1", json.dumps({"import_id": "imports/none.csv#v", "chunk": 0})), ("m2", "not json")]
    assert batches.load_chunks(messages, files=deps.files(), imports=repo.imports, rows=rows(), now=NOW) == []
    assert batches.bury_chunks(messages, files=deps.files(), imports=repo.imports, now=NOW) == []
