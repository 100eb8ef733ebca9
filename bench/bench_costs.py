"""What one million annotated copies and one million verifications cost on AWS, at the list
prices of `bench/prices.json` (one region, one date, in one file).

    python bench/bench_costs.py [--copies 20]

The app runs in process (chalice.test.Client, as bench_requests does) with DynamoDB Local for
DynamoDB, whose ConsumedCapacity each request reports (ReturnConsumedCapacity=INDEXES, so index
writes are in it; transactions too, at twice the units, as AWS bills them). A conditional write
that fails reports nothing in DynamoDB Local while AWS bills at least one unit: those are counted
at one WRU each, by AWS's rule. Every other AWS request (SQS, S3, Secrets Manager, SES/SNS) is
counted as the code makes it. Lambda durations are the in-process wall times of each handler,
billed at each function's memory size from the packaged template (a function at 1,024 MB has
about 0.6 of a vCPU, so CPU-bound work takes longer there than here: the render is scaled by
1769/1024, the CPU AWS gives per MB).

A copy is the holder's whole journey for it: log in, list the certificates, apply, the render
worker, the page's polls until it is ready, one view (the link and the browser's S3 GET), the
expiry reminder (the reminders run, the notify queue, the notifier, one SMS or e-mail), and
the copy kept in S3 for its 90 days. A verification is one check by code from a client that has
not checked that copy this minute (so it is logged).
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Row = tuple[str, str]
PRICES = json.loads((ROOT / "bench" / "prices.json").read_text(encoding="utf-8"))
USD = PRICES["usd"]
# The page's polls of GET /annotations/{id} until a copy is ready (chalicelib/web: first at once,
# then backing off), and how long a copy is kept in S3.
POLLS_PER_COPY = 3
COPY_DAYS = 90
# Lambda's CPU grows with memory: one full vCPU at 1,769 MB.
FULL_CPU_MB = 1769
# X-Ray's default sampling: the first request each second, then 5 % (traces are billed when recorded).
XRAY_SAMPLED = 0.05
# The schedules (chalicelib/workers.py): the reminders daily, the sweeper every five minutes.
RUNS_PER_MONTH = {"Reminders": 30, "Sweeper": 30 * 24 * 12}
READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Usage:
    """What one unit of work (a copy, a verification) made AWS do."""

    read_units: float = 0.0
    write_units: float = 0.0
    estimated_write_units: float = 0.0  # failed conditional writes, which DynamoDB Local does not report
    requests: collections.Counter[str] = field(default_factory=collections.Counter)  # "sqs:SendMessage" …
    seconds: collections.Counter[str] = field(default_factory=collections.Counter)  # per function
    invocations: collections.Counter[str] = field(default_factory=collections.Counter)
    api_requests: int = 0
    s3_browser_gets: int = 0
    messages_sent: int = 0
    stored_bytes: int = 0

    def scaled(self, by: float) -> Usage:
        return Usage(self.read_units * by, self.write_units * by, self.estimated_write_units * by,
                     collections.Counter({k: v * by for k, v in self.requests.items()}),
                     collections.Counter({k: v * by for k, v in self.seconds.items()}),
                     collections.Counter({k: v * by for k, v in self.invocations.items()}),
                     round(self.api_requests * by), round(self.s3_browser_gets * by), round(self.messages_sent * by),
                     round(self.stored_bytes * by))


class Meter:
    """Counts every AWS request our code makes (botocore's one entry point), asking DynamoDB for
    the capacity each consumed, and times the functions' handlers."""

    def __init__(self) -> None:
        self.usage = Usage()
        self._original: Callable[..., Any] | None = None

    def install(self) -> None:
        from botocore.client import BaseClient

        original = self._original = BaseClient._make_api_call
        meter = self

        def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            service = client.meta.service_model.signing_name
            if service != "dynamodb":
                meter.usage.requests[f"{service}:{operation}"] += 1
                return original(client, operation, params)
            if operation in READS | WRITES:
                params = {**params, "ReturnConsumedCapacity": "INDEXES"}
            try:
                answer = original(client, operation, params)
            except client.exceptions.ConditionalCheckFailedException:
                meter.usage.estimated_write_units += 1  # AWS bills a failed conditional write
                raise
            except client.exceptions.TransactionCanceledException:
                meter.usage.estimated_write_units += 2 * len(params.get("TransactItems", []))
                raise
            meter.consumed(operation, answer.get("ConsumedCapacity"))
            return answer

        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            BaseClient._make_api_call = self._original  # type: ignore[method-assign]

    def consumed(self, operation: str, capacity: Any) -> None:
        units = sum(c.get("CapacityUnits", 0.0) for c in capacity) if isinstance(capacity, list) \
            else (capacity or {}).get("CapacityUnits", 0.0)
        if operation in WRITES:
            self.usage.write_units += units
        else:
            self.usage.read_units += units

    def take(self) -> Usage:
        taken, self.usage = self.usage, Usage()
        return taken

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.usage.seconds[function] += time.perf_counter() - started
            self.usage.invocations[function] += 1


def _time_the_authorizer(meter: Meter) -> None:
    """The holder token authorizer runs before each holder route (caching off, chalicelib/api/
    auth.py): its time is its function's, not the API's."""
    from chalice.app import ChaliceAuthorizer

    original = ChaliceAuthorizer.__call__

    def timed(self: ChaliceAuthorizer, event: Any, context: Any) -> Any:
        with meter.running("HolderToken"):
            started = time.perf_counter()
            try:
                return original(self, event, context)
            finally:
                meter.usage.seconds["APIHandler"] -= time.perf_counter() - started  # taken out of the API's

    ChaliceAuthorizer.__call__ = timed  # type: ignore[method-assign]


def measure(copies: int = 20) -> tuple[Usage, Usage, Usage, dict[str, int]]:
    """The usage of one copy and of one verification, averaged over `copies` of each; what the
    schedules cost a month whatever the traffic; and the functions' memory sizes."""
    from chalice.test import Client

    from bench.inprocess import app_on_embedded_aws, render
    from chalicelib import deps
    from infra import iam

    memory = {name: int(f["Properties"]["MemorySize"]) for name, f in iam.functions(iam.packaged_template()).items()}
    meter = Meter()
    with app_on_embedded_aws(dynamodb_local=True) as app, Client(app) as client:
        meter.install()
        _time_the_authorizer(meter)
        json_headers = {"Content-Type": "application/json"}

        def api(method: str, path: str, **kwargs: Any) -> Any:
            with meter.running("APIHandler"):
                answer = client.http.request(method, path, **kwargs)
            meter.usage.api_requests += 1
            return answer

        numbers = _certificates_for_the_demo_holder(copies)

        def journey(number: str) -> tuple[str, str]:
            login = api("POST", "/auth/login", headers=json_headers,
                        body=b'{"username": "demo", "password": "Demo#2026"}').json_body
            auth = {"Authorization": f"Bearer {login['access_token']}", **json_headers}
            if not login["notice_accepted"]:
                api("POST", "/notice/accept", headers=auth,
                    body=json.dumps({"version": login["notice_version"]}).encode())
            certs = api("GET", "/certificates", headers=auth).json_body["items"]
            cid = next(c for c in certs if c["certificate_no"] == number)["certificate_id"]
            aid = api("POST", f"/certificates/{cid}/annotations", headers=auth,
                      body=b'{"scenario": "self_use", "validity_days": 90}').json_body["annotation_id"]
            with meter.running("RenderWorker"):
                render(client, json.dumps({"annotation_id": aid}))
            meter.usage.requests["sqs:ReceiveMessage"] += 1  # the event source's receive and delete
            meter.usage.requests["sqs:DeleteMessage"] += 1
            for _ in range(POLLS_PER_COPY):
                ready = api("GET", f"/annotations/{aid}", headers=auth).json_body
            api("GET", f"/annotations/{aid}/file", headers=auth)
            meter.usage.s3_browser_gets += 1
            annotation = deps.repository().annotations.annotation(aid)
            assert annotation is not None and annotation.file_key is not None
            meter.usage.stored_bytes += len(deps.files().get(annotation.file_key))
            meter.usage.requests["s3:GetObject"] -= 1  # that read was the bench's, not the service's
            return aid, ready["verification_code"]

        made: list[tuple[str, str]] = []
        meter.take()
        per_copy = Usage()
        for i, number in enumerate(numbers):
            made.append(journey(number))
            taken = meter.take()
            if i > 0:  # the first pays the cold start: warm figures only
                per_copy = _sum(per_copy, taken)
        per_copy = per_copy.scaled(1 / (copies - 1))
        reminder, reminders_run = _reminder_per_copy(meter, made)
        per_copy = _sum(per_copy, reminder)
        sweep = _sweep(meter)

        meter.take()
        for i, (_, code) in enumerate(made):
            with meter.running("APIHandler"):
                client.http.request("GET", f"/verify/{code}", headers={"X-Forwarded-For": f"198.51.100.{i}"})
            meter.usage.api_requests += 1
        per_check = meter.take().scaled(1 / len(made))
        meter.uninstall()
    monthly = _sum(reminders_run.scaled(RUNS_PER_MONTH["Reminders"]), sweep.scaled(RUNS_PER_MONTH["Sweeper"]))
    return per_copy, per_check, monthly, memory


def _sweep(meter: Meter) -> Usage:
    """One sweeper run that finds nothing stuck (a cost per run, every five minutes)."""
    from chalicelib import deps
    from chalicelib.services import sweeping

    meter.take()
    with meter.running("Sweeper"):
        sweeping.sweep(store=deps.repository().annotations, queue=deps.render_queue(),
                       dead_letters=deps.dead_letters(), now=datetime.now(UTC))
    return meter.take()


def _certificates_for_the_demo_holder(count: int) -> list[str]:
    """`count` more e-certificates of the demo holder (张三), loaded as a batch row is (before the
    metering): one copy each, as holders apply for them, each in its own quota."""
    from chalicelib import deps
    from chalicelib.domain.clock import utcnow
    from chalicelib.services.imports import import_lines

    header = ("certificate_no,qualification,level,specialty,holder_name,id_type,id_number,issued_on,approved_on,"
              "issuer_name,issuer_contact,status")
    numbers = [f"BENCH{i:06d}" for i in range(count)]
    rows = [header] + [f"{n},注册测绘师,,,张三,resident_id,11010519900307451X,2023-12-20,2023-11-25,"
                       "北京市人力资源和社会保障局,010-87901800,valid" for n in numbers]
    report = import_lines("bench.csv", rows, store=deps.repository(), id_hash=deps.id_hasher(), now=utcnow())
    assert report.loaded == count, report.as_dict()
    return numbers


def _remind(meter: Meter, now: datetime) -> Usage:
    from chalicelib import deps
    from chalicelib.services import reminding

    meter.take()
    with meter.running("Reminders"):
        reminding.remind(store=deps.repository().annotations, directory=deps.repository(),
                         accounts=deps.repository().accounts, outbox=deps.outbox(), now=now)
    return meter.take()


def _reminder_per_copy(meter: Meter, made: list[tuple[str, str]]) -> tuple[Usage, Usage]:
    """The expiry reminder of each copy, each message through the notify queue and the
    notifier; and a reminders run that finds nothing (its queries of every shard of eight days'
    keys and of the announcements), which is a cost per run, not per copy."""
    from chalicelib import deps
    from chalicelib.domain.clock import utcnow
    from chalicelib.services import notifying

    annotations = [deps.repository().annotations.annotation(aid) for aid, _ in made]
    due = min(a.valid_until for a in annotations if a is not None and a.valid_until is not None)
    idle = _remind(meter, due - timedelta(days=60))
    busy = _remind(meter, due - timedelta(days=6))
    meter.usage = _minus(busy, idle)
    queue = deps.session().client("sqs")
    url = deps.get_settings().notify_queue_url
    sent = 0
    while messages := queue.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        with meter.running("Notifier"):
            batch = [notifying.QueuedMessage(m["MessageId"], m["Body"]) for m in messages]
            notifying.process_batch(batch, claims=deps.repository().limits, deliverer=deps.notifier(), now=utcnow())
        for m in messages:
            queue.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        sent += len(messages)
    usage = meter.take()
    usage.messages_sent = sent
    return usage.scaled(1 / len(made)), idle


def _minus(a: Usage, b: Usage) -> Usage:
    return _sum(a, b.scaled(-1))


def _sum(a: Usage, b: Usage) -> Usage:
    return Usage(a.read_units + b.read_units, a.write_units + b.write_units,
                 a.estimated_write_units + b.estimated_write_units, a.requests + b.requests, a.seconds + b.seconds,
                 a.invocations + b.invocations, a.api_requests + b.api_requests,
                 a.s3_browser_gets + b.s3_browser_gets, a.messages_sent + b.messages_sent,
                 a.stored_bytes + b.stored_bytes)


def cost_lines(usage: Usage, memory: dict[str, int], million: float = 1e6) -> list[tuple[str, float]]:
    """USD per `million` units of work, line by line."""
    per = lambda price, count: price * count * million  # noqa: E731
    lines: list[tuple[str, float]] = []
    gb_seconds = 0.0
    for function, seconds in usage.seconds.items():
        scale = FULL_CPU_MB / memory[function] if function == "RenderWorker" and memory[function] < FULL_CPU_MB else 1
        gb_seconds += memory[function] / 1024 * max(seconds, 0.0) * scale
    lines.append(("Lambda requests", per(USD["lambda_request"], sum(usage.invocations.values()))))
    lines.append(("Lambda GB-seconds", per(USD["lambda_gb_second_x86"], gb_seconds)))
    lines.append(("API Gateway requests (REST) + WAF", per(USD["api_gateway_rest_request"] + USD["waf_request"],
                                                           usage.api_requests)))
    lines.append(("DynamoDB write request units", per(USD["dynamodb_write_request_unit"],
                                                      usage.write_units + usage.estimated_write_units)))
    lines.append(("DynamoDB read request units", per(USD["dynamodb_read_request_unit"], usage.read_units)))
    sqs = sum(n for k, n in usage.requests.items() if k.startswith("sqs:"))
    lines.append(("SQS requests", per(USD["sqs_standard_request"], sqs)))
    puts = sum(n for k, n in usage.requests.items() if k in {"s3:PutObject", "s3:CopyObject"})
    gets = usage.s3_browser_gets + sum(n for k, n in usage.requests.items() if k in {"s3:GetObject", "s3:HeadObject"})
    storage = usage.stored_bytes / 2**30 * COPY_DAYS / 30 * USD["s3_storage_gb_month"]
    lines.append(("S3 PUT / GET / storage for the copy's lifetime",
                  per(USD["s3_put_request"], puts) + per(USD["s3_get_request"], gets) + storage * million))
    secrets = sum(n for k, n in usage.requests.items() if k.startswith("secretsmanager:"))
    lines.append(("Secrets Manager calls", per(USD["secrets_manager_api_call"], secrets)))
    lines.append(("SMS (SNS, US price) for reminders", per(USD["sns_sms_us"], usage.messages_sent)))
    lines.append(("X-Ray traces (5 % sampled)", per(USD["xray_trace_recorded"] * XRAY_SAMPLED,
                                                    usage.api_requests + sum(usage.invocations.values()))))
    return lines


def rows(copies: int = 20) -> list[Row]:
    per_copy, per_check, monthly, memory = measure(copies)
    out: list[Row] = []
    for label, usage in (("1,000,000 annotated copies", per_copy), ("1,000,000 verifications", per_check)):
        lines = cost_lines(usage, memory)
        total = sum(cost for _, cost in lines)
        out.append((f"cost of {label} ({PRICES['region']}, list prices of {PRICES['as_of']})", f"**${total:,.2f}**"))
        out += [(f"  {name}", f"${cost:,.2f}") for name, cost in lines if cost >= 0.005]
        out.append(("  measured per unit",
                    f"{usage.read_units:.1f} RRU, {usage.write_units:.1f} WRU "
                    f"(+{usage.estimated_write_units:.1f} failed conditional), {usage.api_requests} API requests, "
                    + ", ".join(f"{fn} {1000 * s:.1f} ms" for fn, s in sorted(usage.seconds.items()))))
    flat = {name: 1024 for name in memory}  # every function at 1,024 MB, as before memory was set per function
    for label, usage in (("copies", per_copy), ("verifications", per_check)):
        now, before = (dict(cost_lines(usage, m))["Lambda GB-seconds"] for m in (memory, flat))
        out.append((f"  Lambda GB-seconds per 1,000,000 {label}: at each function's memory / all at 1,024 MB",
                    f"${now:,.2f} / ${before:,.2f}"))
    by_email = sum(cost for _, cost in cost_lines(per_copy, memory)) \
        + per_copy.messages_sent * (USD["ses_email"] - USD["sns_sms_us"]) * 1e6
    out.append(("cost of 1,000,000 annotated copies whose holders have a verified e-mail (the reminder by SES)",
                f"**${by_email:,.2f}**"))
    fixed = sum(cost for _, cost in cost_lines(monthly, memory, million=1))
    out.append((f"fixed a month, whatever the traffic (the reminders daily, the sweeper every 5 min, "
                f"INDEX_SHARDS={_shards()})", f"${fixed:,.2f}"))
    return out


def _shards() -> int:
    from chalicelib.config import get_settings

    return get_settings().index_shards


def main() -> int:
    from bench.inprocess import standalone

    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=20)
    args = parser.parse_args()
    return standalone(lambda: rows(args.copies))


if __name__ == "__main__":
    sys.exit(main())
