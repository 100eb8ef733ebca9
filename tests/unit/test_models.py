"""Binding the models: every model's client, and the repository's, from one botocore session,
through PynamoDB's thread-local session (an internal of pynamodb 6.1.0, pinned: this test is
what notices when it moves)."""

from __future__ import annotations

import os
from typing import Any

import pynamodb
import pytest
from pynamodb.connection import Connection

from chalicelib import tables
from chalicelib.config import ENV_NAMES, get_settings


@pytest.fixture()
def settings(monkeypatch: pytest.MonkeyPatch) -> Any:
    for env in ENV_NAMES.values():
        monkeypatch.setenv(env, f"unbound-{env.lower()}")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def test_the_pinned_pynamodb_builds_a_connections_client_from_its_thread_local_session() -> None:
    assert pynamodb.__version__ == "6.1.0"
    connection = Connection(region="us-east-1")
    session = tables.botocore.session.get_session()
    tables.share_session(connection, session)
    assert connection.session is session
    assert connection.client is connection.client  # built once


def test_every_model_and_the_repository_share_one_session(settings: Any) -> None:
    from chalicelib.repositories import Repository

    assert "AWS_ENDPOINT_URL" not in os.environ
    repo = Repository(settings)
    sessions = {id(model._get_connection().connection.session) for model, _ in tables._BINDINGS}
    assert sessions == {id(repo._connection.session)}
