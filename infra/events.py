"""The local stack's event pump: the app's SQS handlers get Lambda-shaped batches (honouring
`batchItemFailures`), its scheduled functions run on their timetable, and its S3-event handlers
are called when objects land, as Lambda's event source mappings, EventBridge and S3 would."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

log = logging.getLogger("local-stack")


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
