"""End-to-end tests drive the local stack over real HTTP, started exactly as `make run`
starts it (`python -m infra.local`), on free ports.

Across the whole run, no response body (other than the holder's own PDFs) and no line the
stack logs may carry a full ID number or phone number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from chalicelib.domain.identity import resident_id_check_digit
from infra.harness import RAISED_CODE_LIMITS, Stack, StackFailed, running_stack

RESIDENT_ID = re.compile(r"(?<![0-9A-Za-z])(\d{17})([\dX])(?![0-9A-Za-z])")
# Bounded by letters too: hashes and link signatures are hex, and their digit runs are not phones.
MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")


def personal_data(text: str) -> list[str]:
    found = [a + b for a, b in RESIDENT_ID.findall(text) if resident_id_check_digit(a) == b]
    return found + MOBILE.findall(text)


_bodies: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def responses_are_checked_for_personal_data() -> Iterator[None]:
    original = requests.Session.send

    def send(self: requests.Session, request: Any, **kwargs: Any) -> requests.Response:
        response = original(self, request, **kwargs)
        if not response.headers.get("Content-Type", "").startswith("application/pdf"):
            _bodies.append(response.text)
        return response

    requests.Session.send = send  # type: ignore[method-assign]
    yield
    requests.Session.send = original  # type: ignore[method-assign]
    leaks = sorted({hit for body in _bodies for hit in personal_data(body)})
    assert not leaks, f"full ID or phone numbers in responses: {leaks}"


@contextmanager
def checked_stack(tmp_path_factory: pytest.TempPathFactory, name: str,
                  env: dict[str, str] | None = None) -> Iterator[Stack]:
    """A local stack for a session or a module, its log checked for personal data when it stops."""
    try:
        with running_stack(tmp_path_factory.mktemp(name), env=env) as running:
            yield running
    except StackFailed as e:
        pytest.fail(str(e))
    leaks = sorted(set(personal_data(running.log.read_text(encoding="utf-8"))))
    assert not leaks, f"full ID or phone numbers in the stack's log: {leaks}"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Many tests send codes to the demo holders' phones from one client address: the limits
    that would stop them are raised (and tested where they are the point)."""
    with checked_stack(tmp_path_factory, "stack", RAISED_CODE_LIMITS) as running:
        yield running
