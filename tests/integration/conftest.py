"""Integration tests run the services against moto, with the resources deployed from
`infra/resources.yaml` exactly as the local stack deploys them."""

from __future__ import annotations

import os
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from chalicelib import deps
from infra.deploy import deploy


@pytest.fixture(scope="session")
def aws() -> Iterator[dict[str, str]]:
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
