"""End-to-end tests drive the local stack over real HTTP, started exactly as `make run`
starts it (`python -m infra.local`), on free ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.harness import Stack, StackFailed, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    try:
        with running_stack(tmp_path_factory.mktemp("stack")) as running:
            yield running
    except StackFailed as e:
        pytest.fail(str(e))
