"""A BatchGetItem over several tables asks again for the keys DynamoDB left unprocessed
(moto never leaves any, so a hand-written client stands in for DynamoDB here)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.repositories.base import batch_get as _batch_get

USER = {"user_id": {"S": "u1"}}
REVOKED = {"jti": {"S": "j1"}}


class ThrottledClient:
    """Answers with the given pages in turn and records each request."""

    def __init__(self, *pages: dict[str, Any]) -> None:
        self.pages = list(pages)
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:  # botocore names it so
        self.requests.append(RequestItems)
        return self.pages.pop(0)


class Connection:
    def __init__(self, client: ThrottledClient) -> None:
        self.client = client


def test_keys_left_unprocessed_are_asked_again_and_every_item_is_returned_by_table() -> None:
    request = {"users": {"Keys": [USER]}, "revoked": {"Keys": [REVOKED]}}
    client = ThrottledClient(
        {"Responses": {"users": [USER]}, "UnprocessedKeys": {"revoked": {"Keys": [REVOKED]}}},
        {"Responses": {"revoked": [REVOKED]}, "UnprocessedKeys": {}})
    found = _batch_get(Connection(client), request)  # type: ignore[arg-type]
    assert found == {"users": [USER], "revoked": [REVOKED]}
    assert client.requests == [request, {"revoked": {"Keys": [REVOKED]}}]


def test_a_table_with_no_item_found_is_an_empty_list() -> None:
    client = ThrottledClient({"Responses": {"users": [USER]}})
    found = _batch_get(Connection(client), {"users": {"Keys": [USER]}, "revoked": {"Keys": [REVOKED]}})  # type: ignore[arg-type]
    assert found == {"users": [USER], "revoked": []}


def test_keys_never_processed_fail_the_request_instead_of_answering_without_them() -> None:
    stuck = {"Responses": {}, "UnprocessedKeys": {"revoked": {"Keys": [REVOKED]}}}
    client = ThrottledClient(*[stuck] * 4)
    with pytest.raises(RuntimeError):
        _batch_get(Connection(client), {"revoked": {"Keys": [REVOKED]}})  # type: ignore[arg-type]
    assert len(client.requests) == 4
