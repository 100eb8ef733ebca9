"""Integration tests run the services against moto, with the resources deployed from
`infra/resources.yaml` exactly as the local stack deploys them.

moto does not enforce IAM, so across the whole run every AWS operation that our code
(anything under `chalicelib`) performs is recorded, and at the end each must be allowed by
the functions' role in `infra/overrides.yaml`: a missing permission fails here, not on AWS.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from chalicelib import deps
from infra.deploy import deploy, load_template
from infra.moto_server import install_item_rollback, install_partition_queries, install_serialized_dynamodb

OVERRIDES = Path(__file__).resolve().parents[2] / "infra" / "overrides.yaml"
# Operations whose IAM action has another name.
_ACTION_FOR = {"s3:HeadObject": "s3:GetObject", "s3:ListObjectsV2": "s3:ListBucket"}
_TRANSACT_ACTION = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem"}


def _iam_actions(client: BaseClient, operation: str, params: dict[str, Any]) -> set[str]:
    prefix = client.meta.service_model.signing_name
    if operation == "TransactWriteItems":  # authorized item by item
        return {f"{prefix}:{_TRANSACT_ACTION[kind]}" for item in params["TransactItems"] for kind in item}
    if operation == "TransactGetItems":
        return {f"{prefix}:GetItem"}
    action = f"{prefix}:{operation}"
    return {_ACTION_FOR.get(action, action)}


def _called_from_our_code() -> bool:
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__", "").startswith("chalicelib."):
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _allowed_actions() -> set[str]:
    """What any of the functions' roles allows (actions only; that only the notifier may send
    messages is tests/unit/test_roles.py's, and a role per function issue 12's)."""
    resources = load_template(OVERRIDES.read_text(encoding="utf-8"))["Resources"]
    roles = [r["Properties"] for name, r in resources.items() if name in ("DefaultRole", "NotifierRole")]
    statements = [s for role in roles for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    return {action for s in statements if s["Effect"] == "Allow" for action in _listed(s["Action"])}


def _listed(actions: str | list[str]) -> list[str]:
    return [actions] if isinstance(actions, str) else actions


@pytest.fixture(scope="session", autouse=True)
def every_aws_call_of_ours_is_allowed_by_the_role() -> Iterator[None]:
    used: set[str] = set()
    original = BaseClient._make_api_call

    def make_api_call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if _called_from_our_code():
            used.update(_iam_actions(self, operation, params))
        return original(self, operation, params)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    yield
    BaseClient._make_api_call = original  # type: ignore[method-assign]
    missing = sorted(used - _allowed_actions())
    assert not missing, f"the functions' role (infra/overrides.yaml) does not allow: {missing}"


@pytest.fixture(scope="session")
def aws() -> Iterator[dict[str, str]]:
    # The embedded AWS as the local stack runs it: DynamoDB requests one at a time (so races
    # are decided as on AWS), transactions rolled back item by item, queries by partition.
    install_serialized_dynamodb()
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
