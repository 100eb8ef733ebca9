"""Verified contacts: a proven account adds or changes its phone or e-mail with its password
and a code sent to the new address; the old address is told (rule 1). Reminders and notices
go to verified contacts only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain import identity
from chalicelib.domain.accounts import User
from chalicelib.domain.codes import CODE_LIFETIME, Purpose
from chalicelib.domain.errors import IdentityNotVerified, InvalidRequest, WrongPassword
from chalicelib.domain.text import Text
from chalicelib.notify import Message
from chalicelib.services import accounts
from chalicelib.services.codes import Codes, Destination

CHANNELS = {"phone": ("sms", Purpose.CONTACT_PHONE, "手机号码"), "email": ("email", Purpose.CONTACT_EMAIL, "电子邮箱")}


class ContactStore(Protocol):
    def set_contact(self, user: User, channel: str, value: str) -> None: ...


@dataclass(frozen=True)
class NewContact:
    channel: str
    value: str

    @classmethod
    def parse(cls, channel: str, value: str) -> NewContact:
        if channel not in CHANNELS:
            raise InvalidRequest(Text("channel 须为 phone 或 email",
                                      "channel must be phone or email"), details={"field": "channel"})
        if channel == "phone":
            return cls(channel, _field(identity.validate_phone, value))
        return cls(channel, _field(identity.validate_email, value))

    @property
    def destination(self) -> Destination:
        return Destination(CHANNELS[self.channel][0], self.value)

    @property
    def masked(self) -> str:
        return identity.mask_phone(self.value) if self.channel == "phone" else identity.mask_email(self.value)


def _field(validate: Callable[[str], str], value: str) -> str:
    try:
        return validate(value)
    except InvalidRequest as e:
        raise InvalidRequest(e.text, details={"field": "value"}) from e


@dataclass(frozen=True)
class ContactVerification:
    store: ContactStore
    passwords: accounts.Passwords
    codes: Codes

    def send_code(self, user: User, contact: NewContact, password: str, *, client: str,
                  now: datetime) -> dict[str, object]:
        _require_proven(user)
        self.passwords.check(user, password, client=client, now=now, wrong=WrongPassword)
        label = CHANNELS[contact.channel][2]
        self.codes.send(CHANNELS[contact.channel][1], user.user_id, contact.destination, client=client, now=now,
                        subject=f"验证新的{label}",
                        text=lambda code: f"您正在将此{label}设为证书查询验证系统账号的联系方式，验证码 {code}，"
                                          "5 分钟内有效。如非本人操作，请忽略。")
        return {"sent_to": contact.masked, "expires_in": int(CODE_LIFETIME.total_seconds())}

    def confirm(self, user: User, contact: NewContact, code: str, *, now: datetime) -> None:
        _require_proven(user)
        purpose = CHANNELS[contact.channel][1]
        checked = self.codes.check(purpose, user.user_id, contact.destination, code, now=now)
        self.codes.use(purpose, user.user_id, checked)
        self.store.set_contact(user, contact.channel, contact.value)
        old = user.verified_phone if contact.channel == "phone" else user.verified_email
        if old and old != contact.value:
            label = CHANNELS[contact.channel][2]
            self.codes.outbox.send(Message(
                channel=CHANNELS[contact.channel][0], to=old, subject=f"账号{label}已更改",
                text=f"您的账号 {user.username} 的{label}已更改为 {contact.masked}，今后的通知将发送至新的{label}。"
                     "如非本人操作，请立即修改密码。"))


def _require_proven(user: User) -> None:
    """An unproven account can verify no contact (rule 1)."""
    if not user.proven:
        raise IdentityNotVerified()
