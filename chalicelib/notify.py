"""A thin adapter over SES (e-mail) and SNS (SMS) for reminders."""

from __future__ import annotations

import logging
from typing import Any

from chalicelib.domain import identity

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self, session: Any, sender: str) -> None:
        self.sender = sender
        self._ses = session.client("ses")
        self._sns = session.client("sns")

    def send(self, *, email: str | None, phone: str | None, subject: str, text: str) -> list[str]:
        """Send by every channel the holder gave; the channels used."""
        used: list[str] = []
        if email:
            self._ses.send_email(Source=self.sender, Destination={"ToAddresses": [email]}, Message={
                "Subject": {"Data": subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": text, "Charset": "UTF-8"}}})
            used.append("email")
        if phone:
            self._sns.publish(PhoneNumber="+86" + phone, Message=f"【证书查询验证】{text}")
            used.append("sms")
        log.info("reminder sent by %s to %s: %s | %s", "+".join(used) or "nobody",
                 identity.mask_phone(phone) if phone else "-", subject, text)
        return used
