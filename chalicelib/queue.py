"""A thin adapter over SQS: the render queue and the import chunks' queue."""

from __future__ import annotations

import json
import time
from typing import Any


class SendFailed(Exception):
    """The render job could not be queued."""


class RenderQueue:
    def __init__(self, session: Any, url: str, attempts: int = 3) -> None:
        self.url = url
        self.attempts = attempts
        self._sqs = session.client("sqs")

    def send(self, annotation_id: str) -> None:
        """Render an annotation's copy."""
        self._send({"annotation_id": annotation_id})

    def send_file(self, certificate_id: str) -> None:
        """Render an older certificate's electronic file (services.efiles)."""
        self._send({"certificate_id": certificate_id})

    def _send(self, message: dict[str, str]) -> None:
        body = json.dumps(message)
        for attempt in range(self.attempts):
            try:
                self._sqs.send_message(QueueUrl=self.url, MessageBody=body)
                return
            except Exception as e:
                if attempt == self.attempts - 1:
                    raise SendFailed(body) from e
                time.sleep(0.05 * 2 ** attempt)  # a short back-off before the next try


class DeadLetters:
    """The render queue's dead-letter queue, read by the sweeper (for annotations: an electronic
    file's dead letter fails nothing, its next download asks again)."""

    # A dead letter is looked at again at most hourly; ops keep seeing it in the queue
    # (and its alarm) until they redrive or purge it.
    REVISIT_SECONDS = 3600

    def __init__(self, session: Any, url: str) -> None:
        self.url = url
        self._sqs = session.client("sqs")

    def annotation_ids(self, limit: int = 100) -> list[str]:
        found: list[str] = []
        while len(found) < limit:
            got = self._sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                            VisibilityTimeout=self.REVISIT_SECONDS)
            messages = got.get("Messages", [])
            if not messages:
                break
            for m in messages:
                try:
                    found.append(str(json.loads(m["Body"])["annotation_id"]))
                except (ValueError, KeyError, TypeError):
                    continue
        return found


class ChunkQueue:
    """The import chunks' queue: one message per chunk of a batch file."""

    def __init__(self, session: Any, url: str, attempts: int = 3) -> None:
        self.url = url
        self.attempts = attempts
        self._sqs = session.client("sqs")

    def send_chunks(self, import_id: str, indexes: list[int]) -> None:
        for first in range(0, len(indexes), 10):  # SendMessageBatch takes ten
            entries = {str(i): json.dumps({"import_id": import_id, "chunk": i}) for i in indexes[first:first + 10]}
            for attempt in range(self.attempts):
                got = self._sqs.send_message_batch(QueueUrl=self.url, Entries=[
                    {"Id": entry_id, "MessageBody": body} for entry_id, body in entries.items()])
                entries = {f["Id"]: entries[f["Id"]] for f in got.get("Failed", [])}
                if not entries:
                    break
                if attempt == self.attempts - 1:
                    raise SendFailed(f"{import_id}: chunks {sorted(entries)}")
                time.sleep(0.05 * 2 ** attempt)
