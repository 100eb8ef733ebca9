"""The local stack's embedded AWS (infra/moto_server.py): a DynamoDB transaction is all or
nothing, rolled back item by item instead of from a copy of every table it touches; a Query
answers as moto's does without sorting the whole table first."""

from __future__ import annotations

import http.client
import json
import os
import secrets
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType

from infra.harness import free_port
from infra.local import start_moto
from infra.moto_server import install_item_rollback, install_partition_queries


@pytest.fixture()
def ddb(aws: dict[str, str]) -> Any:
    # As the local stack's moto server does (the aws fixture does too).
    install_item_rollback()
    install_partition_queries()
    return boto3.client("dynamodb")


def s(value: str) -> dict[str, str]:
    return {"S": value}


def everything(ddb: Any, *tables: str) -> dict[str, list[dict[str, Any]]]:
    return {t: sorted(ddb.scan(TableName=t, ConsistentRead=True)["Items"], key=repr) for t in tables}


def a_transaction(annotations: str, verifications: str, ids: dict[str, str], *, last_passes: bool) -> list[Any]:
    """Six writes over a table with a hash key and one with a hash and a range key: an update in
    place, a new item, a replaced item, a delete, an update that creates, then a condition."""
    return [
        {"Update": {"TableName": annotations, "Key": {"annotation_id": s(ids["updated"])},
                    "UpdateExpression": "SET #s = :ready, tags = list_append(tags, :more) REMOVE note",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":ready": s("ready"), ":more": {"L": [s("b")]}}}},
        {"Put": {"TableName": annotations, "Item": {"annotation_id": s(ids["new"]), "status": s("pending")},
                 "ConditionExpression": "attribute_not_exists(annotation_id)"}},
        {"Put": {"TableName": verifications,
                 "Item": {"annotation_id": s(ids["log"]), "at_id": s("1"), "result": s("expired")}}},
        {"Delete": {"TableName": annotations, "Key": {"annotation_id": s(ids["deleted"])}}},
        {"Update": {"TableName": verifications, "Key": {"annotation_id": s(ids["new_log"]), "at_id": s("1")},
                    "UpdateExpression": "SET #r = :r", "ExpressionAttributeNames": {"#r": "result"},
                    "ExpressionAttributeValues": {":r": s("valid")}}},
        {"ConditionCheck": {"TableName": annotations, "Key": {"annotation_id": s(ids["checked"])},
                            "ConditionExpression": "#s = :s", "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {":s": s("ready" if last_passes else "withdrawn")}}},
    ]


@pytest.fixture()
def stored(ddb: Any) -> tuple[str, str, dict[str, str]]:
    annotations, verifications = os.environ["ANNOTATIONS_TABLE"], os.environ["VERIFICATIONS_TABLE"]
    ids = {name: f"embedded-{name}-{secrets.token_hex(4)}"
           for name in ("updated", "new", "log", "deleted", "new_log", "checked")}
    ddb.put_item(TableName=annotations, Item={"annotation_id": s(ids["updated"]), "status": s("pending"),
                                              "note": s("n"), "tags": {"L": [s("a")]}})
    ddb.put_item(TableName=verifications, Item={"annotation_id": s(ids["log"]), "at_id": s("1"),
                                                "result": s("valid")})
    ddb.put_item(TableName=annotations, Item={"annotation_id": s(ids["deleted"]), "status": s("failed")})
    ddb.put_item(TableName=annotations, Item={"annotation_id": s(ids["checked"]), "status": s("ready")})
    return annotations, verifications, ids


def test_a_cancelled_transaction_leaves_every_item_exactly_as_it_was(ddb: Any, stored: Any) -> None:
    annotations, verifications, ids = stored
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
    tables = {name: backend.tables[name] for name in (annotations, verifications)}
    before = everything(ddb, annotations, verifications)

    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=a_transaction(annotations, verifications, ids, last_passes=False))

    assert refused.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in refused.value.response["CancellationReasons"]] == \
        ["None"] * 5 + ["ConditionalCheckFailed"]
    assert everything(ddb, annotations, verifications) == before
    # Restored in place: moto's rollback would have swapped in whole copies of the tables, and
    # no empty entry is left behind for the range-keyed item that never existed.
    assert all(backend.tables[name] is table for name, table in tables.items())
    assert ids["new_log"] not in {k.value for k in tables[verifications].items}


def test_a_transaction_naming_one_item_twice_is_refused_and_changes_nothing(ddb: Any, stored: Any) -> None:
    annotations, verifications, ids = stored
    before = everything(ddb, annotations, verifications)
    twice = a_transaction(annotations, verifications, ids, last_passes=True)[:1] * 2

    with pytest.raises(ClientError) as refused:
        ddb.transact_write_items(TransactItems=twice)

    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert everything(ddb, annotations, verifications) == before


def test_a_successful_transaction_applies_every_write(ddb: Any, stored: Any) -> None:
    annotations, verifications, ids = stored

    ddb.transact_write_items(TransactItems=a_transaction(annotations, verifications, ids, last_passes=True))

    def item(table: str, **key: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = ddb.get_item(TableName=table, Key={k: s(v) for k, v in key.items()},
                                                    ConsistentRead=True).get("Item")
        return found

    assert item(annotations, annotation_id=ids["updated"]) == {
        "annotation_id": s(ids["updated"]), "status": s("ready"), "tags": {"L": [s("a"), s("b")]}}
    assert item(annotations, annotation_id=ids["new"]) == {"annotation_id": s(ids["new"]), "status": s("pending")}
    assert item(verifications, annotation_id=ids["log"], at_id="1") == {
        "annotation_id": s(ids["log"]), "at_id": s("1"), "result": s("expired")}
    assert item(annotations, annotation_id=ids["deleted"]) is None
    assert item(verifications, annotation_id=ids["new_log"], at_id="1") == {
        "annotation_id": s(ids["new_log"]), "at_id": s("1"), "result": s("valid")}


@pytest.fixture()
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How often moto compares two values' order (sorting items by key does, a lot)."""
    counted = [0]
    original = DynamoType.__lt__

    def less_than(self: DynamoType, other: DynamoType) -> bool:
        counted[0] += 1
        return original(self, other)

    monkeypatch.setattr(DynamoType, "__lt__", less_than)
    return counted


def test_a_query_on_the_table_key_reads_only_its_partition_and_answers_as_dynamodb(
        ddb: Any, comparisons: list[int]) -> None:
    table = os.environ["VERIFICATIONS_TABLE"]
    wanted = f"embedded-log-{secrets.token_hex(4)}"
    for n in range(300):
        ddb.put_item(TableName=table, Item={"annotation_id": s(f"embedded-other-{n % 100}"), "at_id": s(f"{n:03d}")})
    for at in ("3", "1", "5", "2", "4"):
        ddb.put_item(TableName=table, Item={"annotation_id": s(wanted), "at_id": s(at)})
    comparisons[0] = 0

    def query(**extra: Any) -> Any:
        return ddb.query(TableName=table, KeyConditionExpression="annotation_id = :a" + extra.pop("and", ""),
                         ExpressionAttributeValues={":a": s(wanted), **extra.pop("values", {})}, **extra)

    pages, start = [], {}
    while True:
        page = query(ScanIndexForward=False, Limit=2, **start)
        pages.append([i["at_id"]["S"] for i in page["Items"]])
        if "LastEvaluatedKey" not in page:
            break
        start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    assert pages == [["5", "4"], ["3", "2"], ["1"]]
    assert [i["at_id"]["S"] for i in query(**{"and": " AND at_id > :b", "values": {":b": s("2")}})["Items"]] == \
        ["3", "4", "5"]
    assert ddb.query(TableName=table, KeyConditionExpression="annotation_id = :a",
                     ExpressionAttributeValues={":a": s("embedded-nobody")})["Items"] == []
    # Sorting 300 items would take thousands of comparisons; five items take a handful.
    assert comparisons[0] < 100


def test_a_query_on_an_index_answers_in_the_index_order_without_sorting_the_table(
        ddb: Any, comparisons: list[int]) -> None:
    table = os.environ["ANNOTATIONS_TABLE"]
    certificate = f"embedded-cert-{secrets.token_hex(4)}"
    for n in range(300):
        ddb.put_item(TableName=table, Item={"annotation_id": s(f"embedded-{certificate}-other-{n}"),
                                            "certificate_id": s(f"embedded-other-{n}"), "applied_at": s(f"{n:03d}")})
    for n, applied in enumerate(("2026-11-02", "2026-11-03", "2026-11-01")):
        ddb.put_item(TableName=table, Item={"annotation_id": s(f"embedded-{certificate}-{n}"),
                                            "certificate_id": s(certificate), "applied_at": s(applied)})
    comparisons[0] = 0

    found = ddb.query(TableName=table, IndexName="by_certificate", KeyConditionExpression="certificate_id = :c",
                      ExpressionAttributeValues={":c": s(certificate)}, ScanIndexForward=False)["Items"]

    assert [i["applied_at"]["S"] for i in found] == ["2026-11-03", "2026-11-02", "2026-11-01"]
    assert comparisons[0] < 100


def test_the_embedded_aws_keeps_a_connection_alive_across_requests_with_bodies() -> None:
    """Two requests with bodies on one connection get their own answers: the first one's body
    is not taken for the second request, nor the second swallowed by werkzeug's drain."""
    port = free_port()
    server = start_moto("127.0.0.1", port)
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.connect()
        sock = connection.sock
        headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.CreateTable",
                   "Authorization": "AWS4-HMAC-SHA256 Credential=test/20261123/us-east-1/dynamodb/aws4_request, "
                                    "SignedHeaders=host, Signature=0"}
        for name in ("first", "second"):
            body = json.dumps({"TableName": name, "BillingMode": "PAY_PER_REQUEST",
                               "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                               "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}]})
            connection.request("POST", "/", body=body, headers=headers)
            answer = connection.getresponse()
            assert answer.status == 200, answer.read()
            assert json.loads(answer.read())["TableDescription"]["TableName"] == name
        assert connection.sock is sock  # one connection for both
    finally:
        server.terminate()
        server.wait(timeout=10)
