"""Every holder route, generated from the app's route table, asked by another holder, by an
expired token, by a logged-out token and by no token: 404 or 401, never the data."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from app import app
from tests.e2e.helpers import accepted_session, assert_error, auth, certificates, lisi, new_holder
from tests.e2e.test_verification import ready_copy

HOLDER_ROUTES = sorted((path, method) for path, methods in app.routes.items() for method, entry in methods.items()
                       if entry.authorizer is not None)


def test_the_matrix_covers_every_holder_route() -> None:
    assert len(HOLDER_ROUTES) >= 12
    assert ("/certificates/{certificate_id}/annotations", "POST") in HOLDER_ROUTES


@pytest.fixture(scope="module")
def owner(stack: Any) -> dict[str, str]:
    """李四 with a ready copy: the owner of the resources the others try to reach."""
    token = lisi(stack)
    cert_id = certificates(stack, token)["GC20221100654"]["certificate_id"]
    listing = requests.get(stack.url(f"/certificates/{cert_id}/annotations"), headers=auth(token), timeout=5).json()
    ready = [a for a in listing["items"] if a["status"] == "ready"]
    annotation = ready[0] if ready else ready_copy(stack, token, cert_id)
    return {"certificate_id": cert_id, "annotation_id": annotation["annotation_id"], "token": token}


def concrete(path: str, owner: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: owner[m.group(1)], path)


def call(stack: Any, method: str, path: str, token: str | None) -> requests.Response:
    headers = auth(token) if token else {}
    body = {"scenario": "self_use"} if path.endswith("/annotations") and method == "POST" else None
    if path == "/notice/accept":
        body = {"version": "0"}
    return requests.request(method, stack.url(path), headers=headers, json=body, timeout=10)


@pytest.mark.parametrize(("path", "method"), HOLDER_ROUTES)
def test_no_token_and_a_forged_token_are_401(stack, owner, path: str, method: str) -> None:
    url = concrete(path, owner)
    assert_error(call(stack, method, url, None), 401, "unauthorized")
    assert_error(call(stack, method, url, owner["token"][:-2] + "xx"), 401, "unauthorized")


@pytest.mark.parametrize(("path", "method"), [r for r in HOLDER_ROUTES if "{" in r[0]])
def test_another_holder_gets_404_and_never_the_data(stack, owner, path: str, method: str) -> None:
    other = new_holder(stack, "matrix")
    r = call(stack, method, concrete(path, owner), other)
    assert_error(r, 404, "not_found")
    assert owner["certificate_id"] not in r.text.replace(concrete(path, owner), "")


def test_an_expired_and_a_logged_out_token_are_401_everywhere(stack, owner) -> None:
    token = accepted_session(stack, "demo", "Demo#2026")
    with stack.clock_moved(2 * 3600 + 1):
        for path, method in HOLDER_ROUTES:
            assert_error(call(stack, method, concrete(path, owner), token), 401, "unauthorized")
    other = accepted_session(stack, "demo", "Demo#2026")
    assert requests.post(stack.url("/auth/logout"), headers=auth(other), timeout=5).status_code == 204
    for path, method in HOLDER_ROUTES:
        assert_error(call(stack, method, concrete(path, owner), other), 401, "unauthorized")
