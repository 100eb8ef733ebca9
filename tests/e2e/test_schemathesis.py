"""Hostile input: schemathesis generates requests for every operation of openapi.yaml and
sends them to the running local stack, anonymously and with a holder's token. No answer
may be a server error, and every answer must match its documented status, content type,
headers and schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.e2e.helpers import accepted_session, auth, new_holder


@schemathesis.serializer("application/pdf")
def _pdf_bytes(ctx: Any, value: Any) -> bytes:
    """The generated body of POST /verify/file, sent as raw bytes."""
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


SCHEMA = schemathesis.openapi.from_path(Path(__file__).resolve().parents[2] / "openapi.yaml")
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Generated codes miss, and misses count against the client's verification budget; every
# client here is 127.0.0.1, so the fuzzing runs in minutes of its own on the server's clock
# (well within the holder token's lifetime), leaving other tests' budget alone.
OWN_THROTTLE_WINDOW = 90 * 60
FUZZ = settings(max_examples=15, deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def holder_token(stack: Any) -> str:
    return new_holder(stack, "fuzz")


@SCHEMA.parametrize()
@FUZZ
def test_anonymous_requests_never_break_the_api_or_its_contract(case: Any, stack: Any) -> None:
    with stack.clock_moved(OWN_THROTTLE_WINDOW):
        case.call_and_validate(base_url=stack.base, checks=CHECKS)


@SCHEMA.parametrize()
@FUZZ
def test_a_holders_requests_never_break_the_api_or_its_contract(case: Any, stack: Any, holder_token: str) -> None:
    with stack.clock_moved(OWN_THROTTLE_WINDOW):
        case.call_and_validate(base_url=stack.base, headers=auth(holder_token), checks=CHECKS)


def test_the_demo_holder_with_real_ids_is_answered_within_the_contract(stack: Any) -> None:
    """Generated IDs never hit real data; walk the demo holder's real resources once."""
    token = accepted_session(stack, "demo", "Demo#2026")
    import requests

    certs = requests.get(stack.url("/certificates"), headers=auth(token), timeout=5)
    operation = SCHEMA["/certificates"]["GET"]
    operation.validate_response(certs)
    for cert in certs.json()["items"]:
        r = requests.get(stack.url(f"/certificates/{cert['certificate_id']}"), headers=auth(token), timeout=5)
        SCHEMA["/certificates/{certificate_id}"]["GET"].validate_response(r)
        r = requests.get(stack.url(f"/certificates/{cert['certificate_id']}/annotations"), headers=auth(token),
                         timeout=5)
        SCHEMA["/certificates/{certificate_id}/annotations"]["GET"].validate_response(r)
