"""One DynamoDB Local for every pytest-xdist worker of a run: `make test` loads this plugin
(`-p tests.integration.shared_dynamodb_local`) so that the controlling process starts the JVM
once and the workers, which inherit its environment, use it (tests/integration/conftest.py
reads DYNAMODB_LOCAL_ENDPOINT). Without the plugin each session starts its own.

It is started without waiting (the workers wait for it when they first need it, after
collecting), and stops when the run ends; it dies with this process however that ends.
"""

from __future__ import annotations

import os

import pytest

from infra.dynamodb_local import DynamoDBLocal, start

_started: list[DynamoDBLocal] = []


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or os.environ.get("DYNAMODB_LOCAL_ENDPOINT"):
        return  # a worker (it uses the controller's), or one given from outside
    local = start(wait=False)
    _started.append(local)
    os.environ["DYNAMODB_LOCAL_ENDPOINT"] = local.endpoint


def pytest_unconfigure(config: pytest.Config) -> None:
    while _started:
        _started.pop().stop()
        os.environ.pop("DYNAMODB_LOCAL_ENDPOINT", None)
