"""Messages to holders: one-time codes, notices and reminders.

The API and the schedules only put a message on the notify queue (`Outbox`); the notifier
function alone sends it (`Notifier`: SMS through SNS, e-mail through SES), so that no answer's
timing depends on whether anything was sent. Log lines name the channel and the masked
address, never the text: a code message's text is the code.
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from chalicelib.domain import identity

log = logging.getLogger(__name__)

SMS_SIGNATURE = "【证书查询验证】"


@dataclass(frozen=True)
class Message:
    """One SMS (`channel` "sms", `to` a mainland mobile number) or e-mail. A message to nobody
    (`to` None) is queued all the same and dropped by the notifier: the request that made it
    then looks exactly like one that sent something."""

    channel: str
    to: str | None
    subject: str
    text: str
    message_id: str = ""
    # A code's message is of no use once the code has expired: it is dropped rather than sent late.
    expires_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "message_id": self.message_id or secrets.token_hex(16),
                           "expires_at": self.expires_at.isoformat() if self.expires_at else None},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, body: str) -> Message:
        data: dict[str, Any] = json.loads(body)
        expires_at = datetime.fromisoformat(data["expires_at"]) if data.get("expires_at") else None
        return cls(channel=str(data["channel"]), to=data.get("to"), subject=str(data.get("subject", "")),
                   text=str(data["text"]), message_id=str(data["message_id"]), expires_at=expires_at)

    @property
    def masked_to(self) -> str:
        if self.to is None:
            return "-"
        return identity.mask_phone(self.to) if self.channel == "sms" else identity.mask_email(self.to)


class Outbox:
    """The notify queue, as the API and the schedules see it."""

    def __init__(self, session: Any, url: str) -> None:
        self.url = url
        self._sqs = session.client("sqs")

    def send(self, message: Message) -> None:
        self._sqs.send_message(QueueUrl=self.url, MessageBody=message.to_json())


class Notifier:
    """Sends what the notify queue holds (the notifier function's adapter over SES and SNS).
    With `outbox` (the local stack only) it also writes each message to standard output as
    `OUTBOX <channel> <masked address> <text>`, which is what people and checks read there."""

    def __init__(self, session: Any, sender: str, outbox: bool = False) -> None:
        self.sender = sender
        self.outbox = outbox
        self._session = session

    @cached_property
    def _sns(self) -> Any:
        return self._session.client("sns")

    @cached_property
    def _ses(self) -> Any:
        return self._session.client("ses")

    def deliver(self, message: Message) -> None:
        if message.to is None:
            return
        if message.channel == "sms":
            self._sns.publish(PhoneNumber="+86" + message.to, Message=SMS_SIGNATURE + message.text,
                              MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String",
                                                                         "StringValue": "Transactional"}})
        else:
            self._ses.send_email(
                Source=self.sender, Destination={"ToAddresses": [message.to]}, Message={
                    "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                    "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}}})
        if self.outbox:
            text = " ".join(f"{message.subject} {message.text}".split()) if message.channel == "email" \
                else " ".join(message.text.split())
            sys.stdout.write(f"OUTBOX {message.channel} {message.masked_to} {text}\n")
            sys.stdout.flush()
        log.info("%s sent to %s", message.channel, message.masked_to)
