"""The local stack's demo data (see ../shared/API.md): 张三 with the `demo` account (proven by
SMS) and three certificates; 李四 with a phone on record, two certificates and no account yet;
王芳 without a phone on record, one certificate and no account.

The certificates arrive as an issuing authority's batch would: a CSV put under `imports/`
in the bucket and loaded by the app's own import trigger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chalicelib import deps
from chalicelib.domain.accounts import ProofMethod
from chalicelib.domain.clock import utcnow
from chalicelib.domain.errors import UsernameTaken
from chalicelib.services import accounts, batches

log = logging.getLogger("local-stack")
CERTIFICATES = Path(__file__).with_name("certificates.csv")
DEMO_KEY = "imports/demo/certificates.csv"

DEMO_ACCOUNT = accounts.Registration(
    username="demo", password="Demo#2026", name="张三", id_type="resident_id",  # noqa: S106 - published demo
    id_number="11010519900307451X", phone="13800138000", email="zhangsan@example.com")


def _load_chunks(app: Any, import_id: str, timeout_s: float = 60) -> None:
    """Hand the chunk queue's messages to the import worker until the import is reported."""
    sqs = deps.session().client("sqs")
    url = os.environ["IMPORT_QUEUE_URL"]
    deadline = time.monotonic() + timeout_s
    while not deps.repository().imports.progress(import_id).reported:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the demo certificates were not loaded within {timeout_s:.0f} s")
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0,
                                           VisibilityTimeout=30).get("Messages", []):
            record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"],
                      "body": message["Body"], "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"}
            answer = app.handler_map["import_worker"]({"Records": [record]}, None)
            if not answer["batchItemFailures"]:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.05)


def load_demo(app: Any) -> None:
    files = deps.files()
    files.put(DEMO_KEY, CERTIFICATES.read_bytes(), "text/csv; charset=utf-8")
    # Run the import trigger now, as EventBridge would, then the import worker on its chunks, as
    # the chunk queue's event source would, so the data is there before the stack says it is ready
    # (in process too, with no event pump: the benchmarks). The pump's own delivery of the same
    # upload finds the import done.
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Object Created", "source": "aws.s3",
             "account": "123456789012", "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
             "region": "us-east-1", "resources": [], "detail": {"bucket": {"name": files.bucket},
                                                                "object": {"key": DEMO_KEY}}}
    result = app.handler_map["import_trigger"](event, None)
    import_id = batches.import_id_for(DEMO_KEY, files.object_version(DEMO_KEY).upload)
    _load_chunks(app, import_id)
    log.info("demo certificates through the import trigger: %s", result)
    with contextlib.suppress(UsernameTaken):
        accounts.register(DEMO_ACCOUNT, store=deps.repository().accounts, hasher=deps.password_hasher(),
                          id_hash=deps.id_hasher(), now=utcnow())
    # Proven as by the SMS code to 张三's phone on record (which becomes its verified phone).
    demo = deps.repository().accounts.user_by_username(DEMO_ACCOUNT.username)
    assert demo is not None
    document = deps.repository().accounts.document(demo.id_hash)
    deps.identity().take(demo, ProofMethod.SMS, now=utcnow(), phone=document.phone)
