"""Hostile input: schemathesis generates requests for every operation of openapi.yaml and
sends them to the running local stack, anonymously, as a holder who has not proven the ID
document and as one who has. No answer may be a server error, and every answer must match
its documented status, content type, headers and schema. The answers generated requests
cannot reach (a right password, a code from the outbox) are walked once and checked against
the document too.

The fuzzing runs against a stack of its own whose code-sending limits are raised through
their settings: generated requests ask for codes hundreds of times from one client address,
which would otherwise spend that address's and the demo phones' budgets that other tests of
the session need (and make the holders' set-up here depend on what was generated before).
A 429 with `Retry-After` is still a documented answer wherever it comes."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.harness import RAISED_CODE_LIMITS, Stack
from tests.e2e.conftest import checked_stack
from tests.e2e.helpers import a_resident_id, accepted_session, auth, lisi, login, register
from tests.e2e.outbox import mark, messages, next_code


@schemathesis.serializer("application/pdf")
def _pdf_bytes(ctx: Any, value: Any) -> bytes:
    """The generated body of POST /verify/file, sent as raw bytes."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


SCHEMA = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "openapi.yaml")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
FUZZ = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
# Operations that can end the session they are sent with (or, with a right password, the
# account): each of their cases gets a session of its own, so that the holders' sessions the
# rest of the run uses survive. POST /auth/refresh is among them because the new token it
# answers with may replace the one it was sent with.
SESSION_ENDING = {("POST", "/auth/logout"), ("POST", "/auth/logout-all"), ("POST", "/auth/refresh"),
                  ("POST", "/me/password"), ("DELETE", "/me")}
THROWAWAY_PASSWORD = "Throwaway#2026pw"
DEMO_PHONE, DEMO_ID_NUMBER = "138****8000", "11010519900307451X"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's own stack (see the module's docstring); checked for personal data in its
    log as the session's stack is."""
    with checked_stack(tmp_path_factory, "fuzz-stack", RAISED_CODE_LIMITS) as running:
        yield running


def new_account(stack: Stack, prefix: str) -> str:
    """A fresh, unproven account with a random ID document; its username."""
    username = f"{prefix}_{secrets.token_hex(4)}"
    r = register(stack, username=username, password=THROWAWAY_PASSWORD, name="孙八", id_type="resident_id",
                 id_number=a_resident_id())
    assert r.status_code == 201, r.text
    return username


@pytest.fixture(scope="module")
def unproven_token(stack: Stack) -> str:
    return accepted_session(stack, new_account(stack, "fuzz"), THROWAWAY_PASSWORD)


@pytest.fixture(scope="module")
def proven_token(stack: Stack) -> str:
    """李四 (demo data: two certificates and a phone on record, no account yet), registered and
    proven by the SMS code the outbox shows."""
    return lisi(stack)


class Throwaways:
    """A session of its own for each case of a session-ending operation: a fresh login to an
    account kept for that operation, made anew when it can no longer log in (locked by the
    wrong passwords the cases give it)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.accounts: dict[tuple[str, str], str] = {}

    def session(self, method: str, path: str) -> str:
        for _ in range(2):
            username = self.accounts.get((method, path)) or new_account(self.stack, "throwaway")
            self.accounts[(method, path)] = username
            r = requests.post(self.stack.url("/auth/login"), json={"username": username,
                                                                  "password": THROWAWAY_PASSWORD}, timeout=10)
            if r.status_code == 200:
                return str(r.json()["access_token"])
            del self.accounts[(method, path)]
        raise AssertionError(f"no throwaway session for {method} {path}: {r.text}")


@pytest.fixture(scope="module")
def throwaways(stack: Stack) -> Throwaways:
    return Throwaways(stack)


def token_for(case: Any, holder_token: str, throwaways: Throwaways) -> str:
    if (case.method.upper(), case.path) in SESSION_ENDING:
        return throwaways.session(case.method.upper(), case.path)
    return holder_token


@SCHEMA.parametrize()
@FUZZ
def test_anonymous_requests_never_break_the_api_or_its_contract(case: Any, stack: Stack) -> None:
    case.call_and_validate(base_url=stack.base, checks=CHECKS)


@SCHEMA.parametrize()
@FUZZ
def test_an_unproven_holders_requests_never_break_the_api_or_its_contract(
        case: Any, stack: Stack, unproven_token: str, throwaways: Throwaways) -> None:
    token = token_for(case, unproven_token, throwaways)
    case.call_and_validate(base_url=stack.base, headers=auth(token), checks=CHECKS)


@SCHEMA.parametrize()
@FUZZ
def test_a_proven_holders_requests_never_break_the_api_or_its_contract(
        case: Any, stack: Stack, proven_token: str, throwaways: Throwaways) -> None:
    token = token_for(case, proven_token, throwaways)
    case.call_and_validate(base_url=stack.base, headers=auth(token), checks=CHECKS)


def test_the_fuzzed_holders_sessions_lived_through_the_run(stack: Stack, unproven_token: str,
                                                            proven_token: str) -> None:
    for token in (unproven_token, proven_token):
        r = requests.get(stack.url("/me"), headers=auth(token), timeout=5)
        assert r.status_code == 200, r.text


def checked(method: str, path: str, response: requests.Response, status: int) -> dict[str, Any]:
    """`response` has `status` and is what openapi.yaml documents for it; its JSON body."""
    assert response.status_code == status, response.text
    SCHEMA[path][method].validate_response(response)
    return dict(response.json()) if response.content else {}


def test_the_demo_holder_with_real_ids_is_answered_within_the_contract(stack: Stack) -> None:
    """Generated IDs never hit real data; walk the demo holder's real resources once."""
    token = accepted_session(stack, "demo", "Demo#2026")
    certs = checked("GET", "/certificates", requests.get(stack.url("/certificates"), headers=auth(token),
                                                           timeout=5), 200)
    assert certs["items"]
    for cert in certs["items"]:
        r = requests.get(stack.url(f"/certificates/{cert['certificate_id']}"), headers=auth(token), timeout=5)
        checked("GET", "/certificates/{certificate_id}", r, 200)
        r = requests.get(stack.url(f"/certificates/{cert['certificate_id']}/annotations"), headers=auth(token),
                         timeout=5)
        checked("GET", "/certificates/{certificate_id}/annotations", r, 200)
    me = checked("GET", "/me", requests.get(stack.url("/me"), headers=auth(token), timeout=5), 200)
    assert (me["identity_verified"], me["identity_method"]) == (True, "sms")
    export = checked("GET", "/me/export", requests.get(stack.url("/me/export"), headers=auth(token), timeout=10),
                     200)
    assert len(export["certificates"]) == len(certs["items"])


def test_the_answers_only_right_passwords_and_codes_reach_are_within_the_contract(stack: Stack) -> None:
    """An unproven account's whole life, each answer checked against the document."""
    username = new_account(stack, "walk")
    session = login(stack, username, THROWAWAY_PASSWORD)
    assert session["identity_verified"] is False
    token = session["access_token"]
    r = requests.post(stack.url("/notice/accept"), headers=auth(token), json={"version": session["notice_version"]},
                      timeout=5)
    checked("POST", "/notice/accept", r, 204)
    r = requests.get(stack.url("/certificates"), headers=auth(token), timeout=5)
    assert checked("GET", "/certificates", r, 403)["error"]["code"] == "identity_not_verified"
    r = requests.post(stack.url("/auth/refresh"), headers=auth(token), timeout=5)
    token = checked("POST", "/auth/refresh", r, 200)["access_token"]
    r = requests.post(stack.url("/me/identity/code"), headers=auth(token), timeout=5)
    assert checked("POST", "/me/identity/code", r, 202) == {"expires_in": 300}
    r = requests.post(stack.url("/me/contact/code"), headers=auth(token), timeout=5,
                      json={"channel": "email", "value": "walk@example.com", "password": THROWAWAY_PASSWORD})
    assert checked("POST", "/me/contact/code", r, 403)["error"]["code"] == "identity_not_verified"
    r = requests.post(stack.url("/me/password"), headers=auth(token), timeout=10,
                      json={"current_password": THROWAWAY_PASSWORD, "new_password": "Changed#2026pw"})
    token = checked("POST", "/me/password", r, 200)["access_token"]
    r = requests.post(stack.url("/auth/logout-all"), headers=auth(token), timeout=5)
    checked("POST", "/auth/logout-all", r, 204)
    token = login(stack, username, "Changed#2026pw")["access_token"]
    r = requests.delete(stack.url("/me"), headers=auth(token), json={"password": "Changed#2026pw"}, timeout=10)
    checked("DELETE", "/me", r, 204)


def next_code_to_any(stack: Stack, destinations: set[str], after: int, timeout: float = 10) -> str:
    """The code of the first code message to one of `destinations` (masked) written after `after`."""
    deadline = time.monotonic() + timeout
    while True:
        for m in messages(stack)[after:]:
            if m.to in destinations and m.code is not None:
                return m.code
        if time.monotonic() > deadline:
            raise AssertionError(f"no code to {destinations} after {after}: {messages(stack)[after:]}")
        time.sleep(0.05)


def test_contacts_and_password_resets_are_answered_within_the_contract(stack: Stack) -> None:
    """The demo holder (proven, phone on record) adds an e-mail address, then resets the password
    by username and by ID document, the second time back to the demo's own."""
    token = accepted_session(stack, "demo", "Demo#2026")
    after = mark(stack)
    r = requests.post(stack.url("/me/contact/code"), headers=auth(token), timeout=10,
                      json={"channel": "email", "value": "zhangsan@example.com", "password": "Demo#2026"})
    sent_to = checked("POST", "/me/contact/code", r, 202)["sent_to"]
    code = next_code(stack, sent_to, after)
    r = requests.post(stack.url("/me/contact"), headers=auth(token), timeout=10,
                      json={"channel": "email", "value": "zhangsan@example.com", "code": code})
    checked("POST", "/me/contact", r, 204)
    me = checked("GET", "/me", requests.get(stack.url("/me"), headers=auth(token), timeout=5), 200)
    assert me["email_verified"] is True

    for identifier, password in (({"username": "demo"}, "Reset#2026pw"),
                                 ({"id_type": "resident_id", "id_number": DEMO_ID_NUMBER}, "Demo#2026")):
        after = mark(stack)
        r = requests.post(stack.url("/auth/password/forgot"), json=identifier, timeout=10)
        assert checked("POST", "/auth/password/forgot", r, 202) == {}
        code = next_code_to_any(stack, {DEMO_PHONE, sent_to}, after)
        r = requests.post(stack.url("/auth/password/reset"), timeout=10,
                          json={**identifier, "code": code, "new_password": password})
        assert checked("POST", "/auth/password/reset", r, 200) == {"username": "demo"}
    assert login(stack, "demo", "Demo#2026")["identity_verified"] is True
