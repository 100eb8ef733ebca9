"""The notifier function's use case: send what the notify queue holds, each message once.

A message is claimed by its own ID (a domain ID the producer gave it, never the SQS message
ID) before it is sent, and the claim is released if sending fails, so a redelivery neither
sends it twice nor loses it. A code's message expires with the code (`Message.expires_at`):
a late one is dropped, since sending it would only confuse.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib import observability
from chalicelib.notify import Message, NotSent

log = logging.getLogger(__name__)

# A claim outlives any redelivery of its message (the queue keeps messages a day).
CLAIM_LIFETIME = timedelta(days=2)


class ClaimStore(Protocol):
    def claim_message(self, message_id: str, expires_at: datetime) -> bool: ...
    def release_message(self, message_id: str) -> None: ...


class Deliverer(Protocol):
    def deliver(self, message: Message) -> None: ...


@dataclass(frozen=True)
class QueuedMessage:
    receipt_id: str
    body: str


def process_batch(batch: list[QueuedMessage], *, claims: ClaimStore, deliverer: Deliverer,
                  now: datetime) -> list[str]:
    """The receipt IDs of the messages to try again (SQS partial batch failures)."""
    failed: list[str] = []
    for queued in batch:
        try:
            message = Message.from_json(queued.body)
        except (ValueError, KeyError, TypeError):
            log.error("a notify message that is not one of ours was dropped")
            continue
        if message.to is None or message.expired(now):
            continue
        if not claims.claim_message(message.message_id, now + CLAIM_LIFETIME):
            continue
        try:
            deliverer.deliver(message)
        except Exception as e:
            claims.release_message(message.message_id)
            # No traceback: SNS's, SES's and SMTP servers' errors may repeat the address in full.
            log.error("%s to %s could not be sent (%s); it will be tried again", message.channel,
                      message.masked_to, _reason(e))
            # The total is what the alarm watches; by channel is what the operator reads first.
            observability.count("MessagesFailed")
            observability.count_by("MessagesFailed", channel=message.channel)
            failed.append(queued.receipt_id)
            continue
        observability.count("MessagesSent")
    return failed


def _reason(error: Exception) -> str:
    """What may be logged of a failed send: our own text (`NotSent`), else AWS's error code or
    the error's class, never its message."""
    if isinstance(error, NotSent):
        return str(error)
    response = getattr(error, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return str(code) if code else type(error).__name__
