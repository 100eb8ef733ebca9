"""A batch of 100,000 rows through the local stack as ops drop it into the bucket: loaded in
chunks by the import worker with one exact report, a chunk that fails once retried without a
wrong count, and the same file again changing nothing.

A stack of its own: 100,000 more certificates would slow every other test's index queries on
the embedded AWS."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
import requests

from chalicelib.domain.identity import resident_id_check_digit
from infra.harness import Stack
from tests.e2e.conftest import checked_stack
from tests.e2e.helpers import HEADER, s3

ROWS = 100_000


@pytest.fixture(scope="module")
def batch_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"IMPORT_ROWS_PER_CHUNK": "2000", "EMBEDDED_AWS_FAULTS": "1"}  # faults on request (infra/moto_server.py)
    with checked_stack(tmp_path_factory, "batches", env) as running:
        yield running


def rows(prefix: str, count: int) -> bytes:
    """电子证书 rows (issued after 2023), one holder each."""
    born = date(1970, 1, 1)
    lines = [HEADER]
    for i in range(count):
        first17 = f"110105{born + timedelta(days=i % 9000):%Y%m%d}{i % 1000:03d}"
        lines.append(f"{prefix}{i:07d},注册测绘师,,,周九,resident_id,{first17 + resident_id_check_digit(first17)},"
                     f"2024-03-01,2024-01-20,自然资源部,010-66558888,valid,\n")
    return ("\ufeff" + "".join(lines)).encode("utf-8")


def drop_and_wait(stack: Stack, key: str, body: bytes, *, after: str | None = None,
                  timeout: float = 600) -> dict[str, Any]:
    """Put a batch under imports/ and wait for the report of this upload (its version)."""
    client, bucket = s3(stack)
    version = client.put_object(Bucket=bucket, Key=f"imports/{key}", Body=body)["VersionId"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            report = json.loads(client.get_object(Bucket=bucket, Key=f"import-reports/{key}.json")["Body"].read())
            if report.get("version") == version:
                return dict(report)
        except client.exceptions.NoSuchKey:
            pass
        time.sleep(1)
    raise AssertionError(f"no report for {key} ({after or 'first upload'}):\n{stack.log.read_text()[-3000:]}")


def imports_table(stack: Stack) -> str:
    client = boto3.client("dynamodb", endpoint_url=stack.aws, region_name="us-east-1", aws_access_key_id="local",
                          aws_secret_access_key="local")
    return next(t for t in client.list_tables()["TableNames"] if "ImportsTable" in t)


def test_a_hundred_thousand_rows_load_completely_and_the_same_file_again_changes_nothing(batch_stack: Stack) -> None:
    body = rows("DZ", ROWS)
    first = drop_and_wait(batch_stack, "national/2026-12.csv", body)
    assert (first["rows"], first["loaded"], first["unchanged"], first["rejected"], first["never_processed"]) == \
        (ROWS, ROWS, 0, [], [])
    assert first["chunks"] == ROWS // 2000
    again = drop_and_wait(batch_stack, "national/2026-12.csv", body, after="the same bytes again")
    assert (again["rows"], again["loaded"], again["unchanged"], again["rejected"]) == (ROWS, 0, ROWS, [])


def test_a_chunk_that_fails_once_is_retried_and_the_report_is_still_exact(batch_stack: Stack) -> None:
    # The first chunk to finish cannot record that it is done (its rows are written by then):
    # the queue hands it to the worker again, which writes nothing new and counts it all loaded.
    r = requests.post(f"{batch_stack.aws}/_faults", timeout=5, json={
        "target": "DynamoDB_20120810.UpdateItem", "contains": imports_table(batch_stack), "count": 1})
    assert r.status_code == 204
    report = drop_and_wait(batch_stack, "national/retried.csv", rows("RT", 5000), timeout=120)
    assert (report["rows"], report["loaded"], report["unchanged"], report["never_processed"]) == (5000, 5000, 0, [])
    assert "import chunk" in batch_stack.log.read_text() and "failed; it is retried" in batch_stack.log.read_text()
