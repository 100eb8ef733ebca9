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
5. an event pump that hands the app's SQS handlers Lambda-shaped batches (honouring
   `batchItemFailures`), runs its scheduled functions on their timetable and calls its
   S3-event handlers when objects land.

Ctrl-C or SIGTERM stops all of it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


# --- the event pump -----------------------------------------------------------------------

class _Context:
    """Enough of a Lambda context for handlers and Powertools."""

    def __init__(self, name: str, timeout_s: int = 60) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        self.memory_limit_in_mb = 1024
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _next_run(expression: Any, after: datetime) -> datetime:
    """The next time a Chalice Rate or Cron schedule fires after `after` (UTC)."""
    from chalice.app import Cron, Rate

    if isinstance(expression, Rate):
        unit = {"MINUTES": 60, "HOURS": 3600, "DAYS": 86400}[expression.unit]
        return after + timedelta(seconds=expression.value * unit)
    if isinstance(expression, Cron):
        candidate = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(60 * 24 * 8):
            if _cron_field_matches(expression.minutes, candidate.minute) and \
                    _cron_field_matches(expression.hours, candidate.hour):
                return candidate
            candidate += timedelta(minutes=1)
    raise ValueError(f"unsupported schedule expression: {expression!r}")


def _cron_field_matches(field: str | int, value: int) -> bool:
    text = str(field)
    if text in {"*", "?"}:
        return True
    if text.startswith("0/") or text.startswith("*/"):
        return value % int(text.split("/")[1]) == 0
    return value in {int(part) for part in text.split(",")}


class EventPump:
    """Feeds the app's event handlers as Lambda's event source mappings would."""

    def __init__(self, app: Any, queue_urls: dict[str, str], bucket: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.app = app
        self.queue_urls = queue_urls
        self.bucket = bucket
        self.clock = clock
        self.stop = threading.Event()
        # Batches handled at once per queue, as Lambda runs several invocations. One receiver
        # takes them all from the queue (moto's SQS can hand one message to two concurrent
        # receivers) and hands each batch to a thread of its own; the embedded AWS takes
        # DynamoDB requests one at a time, so concurrent handlers decide races as on AWS.
        self.sqs_concurrency = 4
        self._seen_objects: dict[str, str] = {}

    def start(self) -> None:
        from chalice.app import CloudWatchEventConfig, S3EventConfig, ScheduledEventConfig, SQSEventConfig

        for source in self.app.event_sources:
            handler = self.app.handler_map[source.name]
            if isinstance(source, SQSEventConfig):
                target = self._sqs_loop(source, handler)
            elif isinstance(source, ScheduledEventConfig):
                target = self._schedule_loop(source, handler)
            elif isinstance(source, S3EventConfig):
                target = self._s3_loop(source.name, source.prefix or "", source.suffix or "", handler,
                                       self._s3_notification)
            elif isinstance(source, CloudWatchEventConfig) and "aws.s3" in source.event_pattern.get("source", []):
                key_filter = source.event_pattern.get("detail", {}).get("object", {}).get("key", [{}])
                target = self._s3_loop(source.name, key_filter[0].get("prefix", ""), "", handler,
                                       self._eventbridge_object_created)
            else:
                log.warning("event source %s is not run locally", source.name)
                continue
            threading.Thread(target=target, name=source.name, daemon=True).start()

    def _sqs_loop(self, source: Any, handler: Callable[..., Any]) -> Callable[[], None]:
        import boto3

        sqs = boto3.client("sqs")
        url = self.queue_urls[source.queue]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

        handlers = threading.BoundedSemaphore(self.sqs_concurrency)

        def handle(messages: list[dict[str, Any]]) -> None:
            try:
                self._deliver(sqs, url, arn, source, handler, messages)
            finally:
                handlers.release()

        def loop() -> None:
            while not self.stop.is_set():
                # Receive only when a handler is free: a received message is invisible to
                # everyone else until it is handled.
                if not handlers.acquire(timeout=1):
                    continue
                try:
                    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=min(source.batch_size, 10),
                                              WaitTimeSeconds=1, AttributeNames=["All"])
                except Exception:
                    handlers.release()
                    if self.stop.is_set():
                        return
                    log.exception("receiving from %s failed", source.queue)
                    time.sleep(1)
                    continue
                messages = got.get("Messages", [])
                if messages:
                    threading.Thread(target=handle, args=(messages,), name=source.name, daemon=True).start()
                else:
                    handlers.release()

        return loop

    def _deliver(self, sqs: Any, url: str, arn: str, source: Any, handler: Callable[..., Any],
                 messages: list[dict[str, Any]]) -> None:
        event = {"Records": [{
            "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
            "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": os.environ["AWS_REGION"],
        } for m in messages]}
        try:
            result = handler(event, _Context(source.name))
            failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        except Exception:
            log.exception("handler %s failed; the whole batch returns to the queue", source.name)
            return
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])
        for m in messages:
            if m["MessageId"] in failed:
                # Lambda leaves a failed message invisible until its visibility timeout;
                # locally we retry sooner so that a person can watch it reach the DLQ.
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"],
                                              VisibilityTimeout=2)

    def _schedule_loop(self, source: Any, handler: Callable[..., Any]) -> Callable[[], None]:
        def loop() -> None:
            due = _next_run(source.schedule_expression, self.clock())
            while not self.stop.wait(1):
                now = self.clock()
                if now < due:
                    continue
                event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                         "source": "aws.events", "account": "123456789012",
                         "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": os.environ["AWS_REGION"],
                         "resources": [f"arn:aws:events:local:rule/{source.name}"], "detail": {}}
                try:
                    handler(event, _Context(source.name))
                except Exception:
                    log.exception("scheduled function %s failed", source.name)
                due = _next_run(source.schedule_expression, now)

        return loop

    def _s3_notification(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {"Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": os.environ["AWS_REGION"],
            "eventTime": datetime.now(UTC).isoformat(), "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": self.bucket, "arn": f"arn:aws:s3:::{self.bucket}"},
                   "object": {"key": obj["Key"], "size": obj["Size"], "eTag": obj["ETag"].strip('"')}}}]}

    def _eventbridge_object_created(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created", "source": "aws.s3",
                "account": "123456789012", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "region": os.environ["AWS_REGION"], "resources": [f"arn:aws:s3:::{self.bucket}"],
                "detail": {"version": "0", "bucket": {"name": self.bucket},
                           "object": {"key": obj["Key"], "size": obj["Size"], "etag": obj["ETag"].strip('"'),
                                      **({"version-id": obj["VersionId"]} if obj.get("VersionId") else {})},
                           "reason": "PutObject"}}

    def _s3_loop(self, name: str, prefix: str, suffix: str, handler: Callable[..., Any],
                 make_event: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable[[], None]:
        """Polls the bucket (moto sends no notifications) and delivers each upload once, as S3
        or EventBridge would."""
        import boto3

        s3 = boto3.client("s3")

        def loop() -> None:
            while not self.stop.wait(1):
                try:
                    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
                    objects = [o for page in pages for o in page.get("Contents", []) if o["Key"].endswith(suffix)]
                except Exception:
                    if not self.stop.is_set():
                        log.exception("listing s3://%s failed", self.bucket)
                    continue
                for obj in objects:
                    # Every upload is an event, the same bytes again too: told apart by their time.
                    upload = f"{obj['ETag']}@{obj['LastModified'].isoformat()}"
                    if self._seen_objects.get(obj["Key"]) == upload:
                        continue
                    self._seen_objects[obj["Key"]] = upload
                    with contextlib.suppress(Exception):  # S3 names the version an event is about
                        obj["VersionId"] = s3.head_object(Bucket=self.bucket, Key=obj["Key"]).get("VersionId")
                    try:
                        log.info("%s: %s", name, obj["Key"])
                        handler(make_event(obj), _Context(name))
                    except Exception:
                        log.exception("handler %s failed for %s", name, obj["Key"])

        return loop


# --- start and stop -------------------------------------------------------------------------

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
