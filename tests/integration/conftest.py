"""Integration tests run the services against moto, with the resources deployed from
`infra/resources.yaml` exactly as the local stack deploys them."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib import deps
from infra.deploy import deploy
from infra.moto_server import install_item_rollback, install_partition_queries


def _serialize_moto_dynamodb() -> None:
    """moto checks a transaction's conditions and applies its writes without a lock; DynamoDB
    serializes them. Take DynamoDB requests one at a time, as infra/moto_server.py does for
    the local stack, so that races are decided as on AWS."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.RLock()
    original = DynamoHandler.call_action

    def call_action(self: DynamoHandler) -> object:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def aws() -> Iterator[dict[str, str]]:
    _serialize_moto_dynamodb()
    # Transactions roll back item by item and queries read their partition, as in the local stack.
    install_item_rollback()
    install_partition_queries()
    with mock_aws():
        env = deploy(boto3.Session())
        os.environ.update(env)
        os.environ.setdefault("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
        deps.reset()
        yield env
        deps.reset()


@pytest.fixture()
def repo(aws: dict[str, str]):  # type: ignore[no-untyped-def]
    return deps.repository()
