"""Messages to holders: one-time codes, notices and reminders.

The API and the schedules only put a message on the notify queue (`Outbox`); the notifier
function alone sends it (`Notifier`, through the transports the settings choose: e-mail by SES
or SMTP, SMS by SNS or none), so that no answer's timing depends on whether anything was sent.
Log lines name the channel and the masked address, never the text: a code message's text is
the code.
"""

from __future__ import annotations

import json
import logging
import secrets
import ssl
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import cached_property
from typing import Any, Protocol

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


class NotSent(RuntimeError):
    """A transport that cannot send on its channel here (`NOTIFY_SMS_TRANSPORT=none`). The
    delivery fails, so the queue tries it again and the dead-letter queue's alarm fires: nothing
    pretends to have sent it. Its text is ours and names no address, so it may be logged."""


class Transport(Protocol):
    """The notifier's port: one adapter per way of sending a channel's messages. A China SMS
    provider would be one more adapter here; the notifier does not change."""

    def send(self, message: Message) -> None: ...


class SesEmail:
    """E-mail through SES (`NOTIFY_EMAIL_TRANSPORT=ses`, the default)."""

    def __init__(self, session: Any, sender: str) -> None:
        self.sender = sender
        self._session = session

    @cached_property
    def _ses(self) -> Any:
        return self._session.client("ses")

    def send(self, message: Message) -> None:
        self._ses.send_email(
            Source=self.sender, Destination={"ToAddresses": [message.to]}, Message={
                "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}}})


SMTP_SECURITIES = ("starttls", "tls", "none")


class SmtpEmail:
    """E-mail through an SMTP server (`NOTIFY_EMAIL_TRANSPORT=smtp`), for regions without SES.

    One connection a message: the notifier sends a few a batch, and a connection kept across
    invocations would only go stale. `security` is `starttls` (the submission port, 587), `tls`
    (implicit TLS, 465) or `none` (local tests only). The password is asked for only when a
    message is sent, so building the notifier reads no secret. smtplib's errors are raised as
    they are: the notifier logs only their class, since a server's reply may repeat an address.
    """

    def __init__(self, *, host: str, port: int, sender: str, security: str = "starttls",
                 username: str | None = None, password: Callable[[], str] | None = None,
                 timeout: float = 10.0, ssl_context: ssl.SSLContext | None = None) -> None:
        if security not in SMTP_SECURITIES:
            raise ValueError(f"SMTP security must be one of {', '.join(SMTP_SECURITIES)}")
        self.host, self.port, self.sender, self.security = host, port, sender, security
        self.username, self.timeout = username, timeout
        self._password = password
        self._ssl_context = ssl_context

    def email(self, message: Message) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Date"] = formatdate(usegmt=True)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or None
        # The message's own ID, so that a sent e-mail can be traced to the queued message.
        email["Message-ID"] = f"<{message.message_id}@{domain}>" if message.message_id and domain \
            else make_msgid(domain=domain)
        # base64: any server takes it, 8BITMIME or not, and for Chinese it is shorter than quoted-printable.
        email.set_content(message.text, charset="utf-8", cte="base64")
        return email

    def send(self, message: Message) -> None:
        import smtplib  # only the notifier sends; the API imports this module for Message alone

        context = self._ssl_context or ssl.create_default_context()
        smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context) \
            if self.security == "tls" else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with smtp:
            if self.security == "starttls":
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self._password() if self._password else "")
            smtp.send_message(self.email(message))


class SnsSms:
    """SMS through SNS, transactional (`NOTIFY_SMS_TRANSPORT=sns`, the default)."""

    def __init__(self, session: Any) -> None:
        self._session = session

    @cached_property
    def _sns(self) -> Any:
        return self._session.client("sns")

    def send(self, message: Message) -> None:
        self._sns.publish(PhoneNumber="+86" + str(message.to), Message=SMS_SIGNATURE + message.text,
                          MessageAttributes={"AWS.SNS.SMS.SMSType": {"DataType": "String",
                                                                     "StringValue": "Transactional"}})


class NoSms:
    """`NOTIFY_SMS_TRANSPORT=none`: where no SMS provider is configured (aws-cn has no SNS SMS).
    Every SMS fails loudly (`NotSent`), so it ends in the dead-letter queue and the alarm fires."""

    def send(self, message: Message) -> None:
        raise NotSent("no SMS transport is configured: NOTIFY_SMS_TRANSPORT=none")


class Notifier:
    """Sends what the notify queue holds (the notifier function's adapter): SMS through the `sms`
    transport, e-mail through the `email` one, each chosen by a setting (`deps.notifier`).
    With `outbox` (the local stack only) it also writes each message it sent to standard output
    as `OUTBOX <channel> <masked address> <text>`, which is what people and checks read there."""

    def __init__(self, *, email: Transport, sms: Transport, outbox: bool = False) -> None:
        self.email = email
        self.sms = sms
        self.outbox = outbox

    def deliver(self, message: Message) -> None:
        if message.to is None:
            return
        (self.sms if message.channel == "sms" else self.email).send(message)
        if self.outbox:
            text = " ".join(f"{message.subject} {message.text}".split()) if message.channel == "email" \
                else " ".join(message.text.split())
            sys.stdout.write(f"OUTBOX {message.channel} {message.masked_to} {text}\n")
            sys.stdout.flush()
        log.info("%s sent to %s", message.channel, message.masked_to)
