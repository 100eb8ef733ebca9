"""Event handlers: the SQS render worker and notifier, the schedules and the S3 import trigger.

Each handler only adapts its event to a service call; every one of them is safe to
run twice, keyed by the annotation ID, never by the message ID. Every Lambda function of the
app imports this module, the API's too, so the services that only a schedule or an import
uses are imported inside their handlers.
"""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, CloudWatchEvent, Cron, Rate, SQSEvent

from chalicelib import deps
from chalicelib.config import get_settings
from chalicelib.observability import observed
from chalicelib.services import rendering

bp = Blueprint(__name__)

# The queue's redrive policy in infra/resources.yaml moves a message to the dead-letter
# queue after this many receives; the last one also fails the annotation.
MAX_RECEIVES = 5


@bp.on_sqs_message(queue="render", batch_size=10)
@observed
def render_worker(event: SQSEvent) -> dict[str, Any]:
    messages = [rendering.RenderMessage(r.to_dict()["messageId"], r.body,
                                        int(r.to_dict().get("attributes", {}).get("ApproximateReceiveCount", 1)))
                for r in event]
    failed = rendering.process_batch(messages, max_receives=MAX_RECEIVES, render_one=_render_one,
                                     render_file=_render_file, store=deps.repository().annotations)
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


def _render_one(annotation_id: str) -> rendering.Outcome:
    return rendering.render_annotation(
        annotation_id, store=deps.repository().annotations, certificates=deps.repository(), files=deps.files(),
        renderer=deps.copy_renderer(), verify_url=deps.links().verify_url, now=deps.clock()())


def _render_file(certificate_id: str) -> rendering.Outcome:
    from chalicelib.services import efiles

    return efiles.render_file(certificate_id, store=deps.repository(), files=deps.files(),
                              renderer=deps.file_renderer(), verify_url=deps.links().verify_url, now=deps.clock()())



@bp.on_sqs_message(queue="notify", batch_size=10, name="notifier")
@observed
def notifier(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.services import notifying

    batch = [notifying.QueuedMessage(r.to_dict()["messageId"], r.body) for r in event]
    failed = notifying.process_batch(batch, claims=deps.repository().limits, deliverer=deps.notifier(),
                                     now=deps.clock()())
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


@bp.schedule(Rate(5, unit=Rate.MINUTES), name="sweeper")
@observed
def sweeper(event: CloudWatchEvent) -> dict[str, int]:
    from chalicelib.services import sweeping

    report = sweeping.sweep(store=deps.repository().annotations, queue=deps.render_queue(),
                            dead_letters=deps.dead_letters(), now=deps.clock()())
    return {"requeued": report.requeued, "failed": report.failed}


# S3 reaches this through EventBridge ("Object Created" for keys under imports/): Chalice
# can package an EventBridge rule, but not a notification on a bucket it did not create.
IMPORT_PATTERN = {"source": ["aws.s3"], "detail-type": ["Object Created"],
                  "detail": {"object": {"key": [{"prefix": "imports/"}]}}}


@bp.on_cw_event(IMPORT_PATTERN, name="import_trigger")
@observed
def import_trigger(event: CloudWatchEvent) -> dict[str, int]:
    """Split a new batch file into chunks and queue them (services.batches)."""
    from chalicelib.services import batches

    bucket, uploaded = event.detail["bucket"]["name"], event.detail["object"]
    if bucket != deps.files().bucket:
        return {"chunks": 0}
    repo = deps.repository()
    progress = batches.start_import(uploaded["key"], version_id=uploaded.get("version-id"), files=deps.files(),
                                    imports=repo.imports, first_loads=repo.accounts, queue=deps.chunk_queue(),
                                    now=deps.clock()(), rows_per_chunk=get_settings().import_rows_per_chunk)
    return {"chunks": len(progress.chunks) if progress else 0}


# One chunk per invocation: a chunk is sized to finish far inside the function's timeout.
@bp.on_sqs_message(queue="import", batch_size=1, name="import_worker")
@observed
def import_worker(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.services import batches

    repo = deps.repository()
    rows = batches.RowLoading(store=repo, phones=repo.accounts, id_hash=deps.id_hasher(),
                              renderable=deps.glyph_check())
    failed = batches.load_chunks([(r.to_dict()["messageId"], r.body) for r in event], files=deps.files(),
                                 imports=repo.imports, rows=rows, now=deps.clock()())
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


@bp.on_sqs_message(queue="import-dead-letters", batch_size=10, name="import_dead_letters")
@observed
def import_dead_letters(event: SQSEvent) -> dict[str, Any]:
    """Chunks that failed every attempt: reported as never processed."""
    from chalicelib.services import batches

    failed = batches.bury_chunks([(r.to_dict()["messageId"], r.body) for r in event], files=deps.files(),
                                 imports=deps.repository().imports, now=deps.clock()())
    return {"batchItemFailures": [{"itemIdentifier": m} for m in failed]}


# Daily at 09:00 Beijing time (01:00 UTC).
@bp.schedule(Cron(0, 1, "*", "*", "?", "*"), name="reminders")
@observed
def reminders(event: CloudWatchEvent) -> dict[str, int]:
    from chalicelib.services import reminding

    repo = deps.repository()
    report = reminding.remind(store=repo.annotations, directory=repo, accounts=repo.accounts, outbox=deps.outbox(),
                              now=deps.clock()())
    return {"expiring": report.expiring, "announced": report.announced}
