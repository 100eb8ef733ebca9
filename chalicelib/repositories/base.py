"""What every repository needs: telling a failed condition apart, a BatchGetItem over several
tables, and an UpdateItem that asks for nothing back."""

from __future__ import annotations

import time
from typing import Any

from pynamodb.connection import Connection
from pynamodb.constants import NONE
from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

# DynamoDB may leave keys of a BatchGetItem unprocessed under load; they are asked again,
# with exponential backoff (botocore has already retried the throttled requests themselves).
_BATCH_ATTEMPTS = 4
_BATCH_BACKOFF_SECONDS = 0.025


def conditional_failed(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


def cancelled_items(error: TransactWriteError) -> list[bool]:
    """For each item of a cancelled transaction, whether its condition failed. PynamoDB sends a
    transaction's items as condition checks, deletes, puts, updates, each kind in the order given."""
    return [bool(r and r.code == "ConditionalCheckFailed") for r in error.cancellation_reasons]


def batch_get(connection: Connection, request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """One BatchGetItem over several tables (PynamoDB's batch_get takes one model), asking
    again for what DynamoDB left unprocessed. Raw items by table name."""
    client: Any = connection.client
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in request}
    for attempt in range(_BATCH_ATTEMPTS):
        if attempt:
            time.sleep(_BATCH_BACKOFF_SECONDS * 2 ** attempt)  # what DynamoDB asks for unprocessed keys
        answer = client.batch_get_item(RequestItems=request)
        for table, items in answer.get("Responses", {}).items():
            found[table].extend(items)
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise RuntimeError("DynamoDB left keys of a BatchGetItem unprocessed after every retry")


def update_returning_nothing(model: type[Model], hash_key: str, *, actions: list[Any],
                             condition: Condition | None) -> None:
    """A conditional UpdateItem that asks for nothing back and leaves any version attribute to
    the actions: Model.update always asks for the whole item (ALL_NEW) and sets a version it
    was not given. The model's own table connection knows the table's keys; PynamoDB offers it
    only as `_get_connection`."""
    model._get_connection().update_item(hash_key, actions=actions, condition=condition, return_values=NONE)


def updated_if(model: type[Model], hash_key: str, *, actions: list[Any], condition: Condition) -> bool:
    """`update_returning_nothing`, answering whether the condition held (False) instead of
    raising when it did not."""
    try:
        update_returning_nothing(model, hash_key, actions=actions, condition=condition)
    except UpdateError as e:
        if conditional_failed(e):
            return False
        raise
    return True
