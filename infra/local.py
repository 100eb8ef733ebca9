"""The local stack: the whole serverless system on one machine, in one process.

    python -m infra.local [--port 8000] [--aws-port 5000] [--dynamodb moto|local] [--no-demo]

1. moto in server mode (the embedded AWS) on 127.0.0.1:AWS_MOCK_PORT, and the trust services
   (`infra/tsa.py`: an RFC 3161 TSA and the local CA's CRL) on TSA_PORT or a free port; with
   `--dynamodb local` (DYNAMODB=local), AWS's DynamoDB Local for DynamoDB alone, on
   DYNAMODB_LOCAL_PORT or a free port (`infra/dynamodb_local.py`);
2. `infra/resources.yaml` deployed into it (tables, bucket, queues, secrets; the signing
   material is the local CA's, made for this start);
3. the demo data loaded;
4. the Chalice app served on 127.0.0.1:PORT, with API Gateway's error answers given in
   the API's error format (as the gateway responses of the deployed template do);
5. an event pump (`infra/events.py`) that hands the app's SQS handlers Lambda-shaped batches
   (honouring `batchItemFailures`), runs its scheduled functions on their timetable and calls
   its S3-event handlers when objects land.

Ctrl-C or SIGTERM stops all of it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from infra.events import EventPump

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("local-stack")


def _aws_environment(aws_port: int) -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_REGION", os.environ["AWS_DEFAULT_REGION"])
    os.environ["AWS_ACCESS_KEY_ID"] = "local"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "local"  # noqa: S105 - moto accepts anything
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)
    os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{aws_port}"


def _chalice_environment(stage: str) -> None:
    """The stage's environment variables from `.chalice/config.json`, as Lambda would
    have them (without overriding what the stack or the caller already set)."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    merged = {**config.get("environment_variables", {}),
              **config.get("stages", {}).get(stage, {}).get("environment_variables", {})}
    for name, value in merged.items():
        if value and name not in os.environ:
            os.environ[name] = value


# --- API Gateway's own answers, in the API's error format ----------------------------------

def _request_handler_class() -> type:
    from chalice.local import ChaliceRequestHandler, LocalGateway, LocalGatewayException

    from chalicelib.api import not_found
    from chalicelib.api.errors import GATEWAY_ERRORS, error_body
    from chalicelib.api.language import negotiate

    # The address of the client whose request this thread is handling. The server runs one
    # thread per connection and a thread handles its connection's requests one after another,
    # from reading the request line to writing the answer, so this is the client of the
    # request being turned into an event.
    handling = threading.local()

    class ClientAddressEvents:
        """Wraps Chalice's LambdaEventConverter (chalice.local, 1.34.0), which writes
        `LOCAL_SOURCE_IP` (127.0.0.1) into every event, so that the event carries the TCP
        peer of the request's connection as `requestContext.identity.sourceIp`, as API
        Gateway's does. No header is read for it: X-Forwarded-For and its kin are whatever
        the client wrote. The authorizer's event is a copy of this one (LocalGatewayAuthorizer
        `_prepare_authorizer_event`), so it carries the same address."""

        def __init__(self, chalice_converter: Any) -> None:
            self.chalice_converter = chalice_converter

        def create_lambda_event(self, method: str, path: str, headers: dict[str, str],
                                body: bytes | None = None) -> dict[str, Any]:
            source_ip = getattr(handling, "source_ip", None)
            if source_ip is None:  # an event made outside a request's thread: never guess 127.0.0.1
                raise RuntimeError("no client address for this request")
            event: dict[str, Any] = self.chalice_converter.create_lambda_event(
                method=method, path=path, headers=headers, body=body)
            event["requestContext"]["identity"]["sourceIp"] = source_ip
            return event

    def give_client_addresses(gateway: LocalGateway) -> None:
        # ChaliceRequestHandler makes a LocalGateway for each connection; wrapping is idempotent
        # in case one is ever shared.
        if not isinstance(gateway.event_converter, ClientAddressEvents):
            gateway.event_converter = ClientAddressEvents(gateway.event_converter)

    class GatewayResponses(ChaliceRequestHandler):  # type: ignore[misc]
        """Mirrors the GatewayResponses of the deployed API: an unknown route is 404,
        a refused or missing token 401, all in `{"error": {...}}`. And gives each request its
        client's address, as API Gateway does (see ClientAddressEvents)."""

        # Headers and body go out in two writes; with Nagle's algorithm on, a keep-alive
        # client's delayed ACK then holds every answer back by ~40 ms.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            give_client_addresses(self.local_gateway)  # made in ChaliceRequestHandler.__init__

        def handle_one_request(self) -> None:
            """One request of the connection (http.server calls this once per request of a
            keep-alive connection); every `do_*` runs inside it."""
            handling.source_ip = self.client_address[0]
            try:
                super().handle_one_request()
            finally:
                handling.source_ip = None

        def __getattr__(self, name: str) -> Any:
            """Methods Chalice's handler has no `do_*` for (TRACE, or any other token)
            get the API's answer instead of http.server's 501 page."""
            if name.startswith("do_"):
                return self._generic_handle
            raise AttributeError(name)

        def _send_error_response(self, error: LocalGatewayException) -> None:
            kind = error.headers.get("x-amzn-ErrorType", "")
            if error.CODE == 403 and kind == "UnauthorizedException":
                status = 404  # API Gateway's "Missing Authentication Token": no such route
            elif error.CODE in (401, 403):
                status = 401
            else:
                status = 500
            if status == 404 and not_found.accepts_html(self.headers.get("Accept")):
                # A browser's request for no route: the HTML page, as API Gateway's text/html
                # template of MISSING_AUTHENTICATION_TOKEN gives it (chalicelib/api/not_found.py).
                page = not_found.page(negotiate(self.headers.get("Accept-Language")))
                self._send_http_response(404, not_found.headers(), page.encode("utf-8"))
                return
            # Like API Gateway's gateway responses, these cannot read Accept-Language: Chinese.
            code, message = GATEWAY_ERRORS[status]
            body = json.dumps(error_body(code, message), ensure_ascii=False).encode("utf-8")
            self._send_http_response(status, {"Content-Type": "application/json"}, body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http %s", format % args)

    return GatewayResponses


def start_api(app: Any, host: str, port: int) -> Any:
    from chalice.config import Config
    from chalice.local import LocalDevServer, ThreadedHTTPServer, create_local_server

    class Server(ThreadedHTTPServer):  # type: ignore[misc]
        # socketserver's default backlog of 5 resets connections under a burst.
        request_queue_size = 128

    config = Config.create(chalice_stage="dev", app_name="certificates", project_dir=str(ROOT),
                           lambda_timeout=30, lambda_memory_size=1024)
    create_local_server(app, config, host, port)  # adapts the app for threads, as `chalice local` does
    server = LocalDevServer(app, config, host, port, handler_cls=_request_handler_class(), server_cls=Server)
    threading.Thread(target=server.server.serve_forever, name="api", daemon=True).start()
    return server


def start_moto(host: str, port: int) -> subprocess.Popen[bytes]:
    """moto in server mode, in a child process: the embedded AWS then has a core of its
    own instead of sharing one interpreter lock with the app. It dies with this process
    (PR_SET_PDEATHSIG), so no stop, however abrupt, leaves it behind."""
    import ctypes

    import requests

    def die_with_parent() -> None:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    child = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "infra.moto_server", host, str(port)], cwd=ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)  # noqa: PLW1509
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"http://{host}:{port}/moto-api/", timeout=1)
            return child
        except requests.RequestException:
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the embedded AWS (moto) did not start") from None
            time.sleep(0.1)


def start_dynamodb(choice: str, host: str) -> Any:
    """AWS's DynamoDB Local (`infra/dynamodb_local.py`) for DynamoDB alone when `choice` is
    "local", started without waiting for it; None for moto's, the default."""
    if choice != "local":
        return None
    from infra.dynamodb_local import start

    return start(host, int(os.environ.get("DYNAMODB_LOCAL_PORT", "0")), wait=False)


def _ready(dynamodb: Any) -> str | None:
    """The endpoint of a DynamoDB Local started by start_dynamodb, once it answers."""
    if dynamodb is None:
        return None
    from infra.dynamodb_local import wait_until_ready

    wait_until_ready(dynamodb.endpoint, dynamodb)
    return str(dynamodb.endpoint)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--aws-port", type=int, default=int(os.environ.get("AWS_MOCK_PORT", "5000")))
    parser.add_argument("--dynamodb", choices=("moto", "local"), default=os.environ.get("DYNAMODB") or "moto",
                        help="DynamoDB: moto's (the default) or AWS's DynamoDB Local")
    parser.add_argument("--no-demo", action="store_true", help="start without the demo data")
    parser.add_argument("--clock-file", help="a file holding seconds to add to the server's clock (for tests)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("werkzeug", "botocore", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.perf_counter()

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    _aws_environment(args.aws_port)
    if args.clock_file:
        os.environ["CLOCK_OFFSET_FILE"] = args.clock_file
    dynamodb = start_dynamodb(args.dynamodb, args.host)  # first: its JVM starts while moto does
    moto = start_moto(args.host, args.aws_port)
    # The trust services (RFC 3161 TSA and the CA's CRL) on a port of their own (TSA_PORT, or a
    # free one), with a CA made for this start: the signing certificate names their CRL.
    from infra.tsa import start_trust_services

    trust = start_trust_services(args.host, int(os.environ.get("TSA_PORT", "0")))
    assert trust.pki is not None
    os.environ["TSA_URL"] = trust.tsa_url

    import boto3

    from infra.deploy import deploy

    os.environ.update(deploy(boto3.Session(), signing_material=trust.pki.material.to_json(),
                             dynamodb_endpoint=_ready(dynamodb)))
    os.environ.setdefault("PUBLIC_BASE_URL", f"http://{args.host}:{args.port}")
    # The outbox: every SMS and e-mail the notifier sends is also one line on standard output.
    os.environ["NOTIFY_OUTBOX"] = "stdout"
    _chalice_environment("dev")

    sys.path.insert(0, str(ROOT))
    from app import app

    pump = EventPump(app, {"render": os.environ["RENDER_QUEUE_URL"], "notify": os.environ["NOTIFY_QUEUE_URL"],
                           "import": os.environ["IMPORT_QUEUE_URL"],
                           "import-dead-letters": os.environ["IMPORT_DLQ_URL"]},
                     os.environ["FILES_BUCKET"])
    pump.start()
    if not args.no_demo:
        from infra.demo import load_demo

        load_demo(app)
    server = start_api(app, args.host, args.port)

    elapsed = time.perf_counter() - started
    print(f"""
  专业技术人员职业资格证书 — local stack ready in {elapsed:.1f} s
  API and web page   http://{args.host}:{args.port}/
  embedded AWS       {os.environ['AWS_ENDPOINT_URL']}  (moto; bucket {os.environ['FILES_BUCKET']})
  DynamoDB           {f"{dynamodb.endpoint}  (DynamoDB Local)" if dynamodb else "moto's"}
  time stamps, CRL   {trust.tsa_url}  {trust.crl_url}
  event pump         {len(app.event_sources)} event source(s): SQS worker, schedules, S3 events
  demo login         demo / Demo#2026   (李四 and 王芳 have certificates but no account yet: see README)
  outbox             SMS and e-mail are printed here as OUTBOX lines
  Ctrl-C stops everything.
""", flush=True)

    stop.wait()
    log.info("stopping")
    pump.stop.set()
    server.server.shutdown()
    server.server.server_close()
    trust.stop()
    if dynamodb is not None:
        dynamodb.stop()
    moto.terminate()
    moto.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
