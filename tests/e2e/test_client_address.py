"""The client address: the local stack's gateway gives each request the address its connection
comes from as `requestContext.identity.sourceIp`, as API Gateway gives the real client's, and never
an address a header claims. Clients bound to 127.0.0.2 and 127.0.0.3 are two clients."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from chalice.app import AuthResponse, Chalice

from chalicelib.domain.verification import MISS_LIMIT
from infra.harness import free_port
from infra.local import start_api
from tests.e2e.clients import client
from tests.e2e.helpers import assert_error

ATTACKER, HOLDER = "127.0.0.2", "127.0.0.3"
# Headers a client writes to pass for someone else; the gateway reads none of them.
POSING_AS = {"X-Forwarded-For": HOLDER, "Forwarded": f"for={HOLDER}", "X-Real-IP": HOLDER}


@contextmanager
def a_minute_of_its_own(stack: Any, days: int) -> Iterator[None]:
    """The server's clock at the start of a minute `days` ahead, which no other test uses: the
    whole test runs in one throttle window, whatever second of the wall clock it starts at."""
    now = time.time()
    minute = (now + days * 86400) // 60 * 60 + 60
    with stack.clock_moved(minute - now + 1):
        yield


def miss(session: requests.Session, stack: Any, n: int, **headers: str) -> requests.Response:
    return session.get(stack.url(f"/verify/NOSUCHCODE{n:06d}"), headers=headers, timeout=5)


def assert_refused(response: requests.Response) -> None:
    assert_error(response, 429, "rate_limited")
    assert 0 < int(response.headers["Retry-After"]) <= 60


def test_two_clients_on_two_addresses_have_a_miss_budget_each(stack: Any) -> None:
    attacker, holder = client(ATTACKER), client(HOLDER)
    with a_minute_of_its_own(stack, days=400):
        # Interleaved on two kept-alive connections: each request is counted for its own client.
        for i in range(MISS_LIMIT):
            assert_error(miss(attacker, stack, i), 404, "unknown_code")
            if i % 2:
                assert_error(miss(holder, stack, i), 404, "unknown_code")
        assert_refused(miss(attacker, stack, MISS_LIMIT))
        assert_error(miss(holder, stack, MISS_LIMIT), 404, "unknown_code")
        assert_refused(miss(attacker, stack, MISS_LIMIT + 1))


def test_an_x_forwarded_for_header_does_not_change_who_the_client_is(stack: Any) -> None:
    attacker, holder = client(ATTACKER), client(HOLDER)
    with a_minute_of_its_own(stack, days=401):
        # The attacker's misses, each claiming to come from the holder, are the attacker's.
        for i in range(MISS_LIMIT):
            assert_error(miss(attacker, stack, i, **POSING_AS), 404, "unknown_code")
        assert_error(miss(holder, stack, 0), 404, "unknown_code")
        # Refused, whoever the header says it is...
        assert_refused(miss(attacker, stack, MISS_LIMIT, **POSING_AS))
        assert_refused(miss(attacker, stack, MISS_LIMIT, **{"X-Forwarded-For": "198.51.100.7"}))
        # ...and a header naming the refused attacker does not make the holder him.
        assert_error(miss(holder, stack, 1, **{"X-Forwarded-For": ATTACKER}), 404, "unknown_code")


def test_the_gateway_gives_route_and_authorizer_the_address_of_each_request_and_no_other() -> None:
    """In-process, on a probe app, what the e2e tests above rely on of chalice.local (pinned at
    1.34.0 in requirements-dev.txt): ChaliceRequestHandler makes `local_gateway` before it handles
    the connection, LocalGateway makes every event with `event_converter.create_lambda_event`,
    and the authorizer's event is a copy of the route's. If a Chalice upgrade changes any of
    these, this test says so before the throttles quietly count everyone as 127.0.0.1."""
    app = Chalice(app_name="client-address-probe")
    authorizer_saw: list[str] = []

    @app.authorizer(ttl_seconds=0)
    def anyone(auth_request: Any) -> AuthResponse:
        return AuthResponse(routes=["*"], principal_id="probe")

    # Chalice hands the authorizer function only the token and the ARN: read the raw event on the way.
    transform = anyone._transform_event

    def reading(event: dict[str, Any]) -> Any:
        authorizer_saw.append(event["requestContext"]["identity"]["sourceIp"])
        return transform(event)

    anyone._transform_event = reading  # type: ignore[method-assign]

    @app.route("/open")
    def open_route() -> dict[str, Any]:
        return {"source_ip": app.current_request.context["identity"]["sourceIp"]}

    @app.route("/guarded", authorizer=anyone)
    def guarded_route() -> dict[str, Any]:
        return {"source_ip": app.current_request.context["identity"]["sourceIp"]}

    port = free_port()
    server = start_api(app, "127.0.0.1", port)
    sessions = {ATTACKER: client(ATTACKER), HOLDER: client(HOLDER)}
    try:
        base = f"http://127.0.0.1:{port}"
        seen = []
        for _ in range(3):  # alternating, each on its own kept-alive connection (and thread)
            for address, session in sessions.items():
                other = HOLDER if address == ATTACKER else ATTACKER
                for path in ("/open", "/guarded"):
                    r = session.get(base + path, headers={"Authorization": "x", "X-Forwarded-For": other},
                                    timeout=5)
                    assert r.status_code == 200, r.text
                    seen.append(r.json()["source_ip"])
        assert seen == [ATTACKER, ATTACKER, HOLDER, HOLDER] * 3
        assert authorizer_saw == [ATTACKER, HOLDER] * 3
        plain = requests.get(base + "/open", timeout=5)
        assert plain.json() == {"source_ip": "127.0.0.1"}
    finally:
        for session in sessions.values():
            session.close()
        server.server.shutdown()
        server.server.server_close()
