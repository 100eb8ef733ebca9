"""忘记密码: a forgotten password is reset with a code sent to the account's verified phone or
e-mail; a forgotten username too, through the ID document and the phone on record (rule 1).

Whether anything matched is never told: the request answers the same, does the same work,
and a reset for nothing fails as a wrong code does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain import identity
from chalicelib.domain.accounts import Contacts, IdDocument, User
from chalicelib.domain.clock import beijing_date
from chalicelib.domain.codes import Purpose
from chalicelib.domain.errors import InvalidCode, InvalidIdNumber, InvalidRequest
from chalicelib.domain.text import Text
from chalicelib.services import accounts
from chalicelib.services.accounts import Hasher
from chalicelib.services.codes import Codes, Destination


class AccountFinder(Protocol):
    def user_by_username(self, username: str) -> User | None: ...
    def user(self, user_id: str) -> User | None: ...
    def document(self, holder_key: str) -> IdDocument: ...
    def set_password(self, user: User, password_hash: str) -> int: ...


class IdHash(Protocol):
    def __call__(self, id_type: str, id_number: str) -> str: ...
    def of(self, text: str) -> str: ...


@dataclass(frozen=True)
class Identifier:
    """What the holder remembers: the username, or else the ID document."""

    username: str | None = None
    id_type: str | None = None
    id_number: str | None = None


@dataclass(frozen=True)
class PasswordReset:
    accounts: AccountFinder
    codes: Codes
    id_hash: IdHash
    hasher: Hasher

    def forgot(self, who: Identifier, *, client: str, now: datetime) -> None:
        _, to, account_key = self._find(who, now)
        self.codes.send(Purpose.RESET, account_key, to, client=client, now=now, subject="重置密码验证码",
                        text=lambda code: f"您正在重置证书查询验证系统的登录密码，验证码 {code}，5 分钟内有效。"
                                          "如非本人操作，请忽略。")

    def reset(self, who: Identifier, code: str, new_password: str, *, now: datetime) -> str:
        """The username; every session of the account ends and every lock is cleared."""
        user_id, to, account_key = self._find(who, now)
        checked = self.codes.check(Purpose.RESET, account_key, to, code, now=now)
        user = self.accounts.user(user_id) if user_id else None
        if user is None:
            raise InvalidCode()  # no code is ever accepted for nobody; or the account was deleted meanwhile
        identity.check_password(user.username, new_password)
        self.codes.use(Purpose.RESET, account_key, checked)
        self.accounts.set_password(user, self.hasher.hash(new_password))
        accounts.tell(Contacts.of(user), self.codes.outbox, subject="账号密码已重置",
                      text=f"您的账号 {user.username} 的密码已通过验证码重置，所有设备已退出登录。"
                           "如非本人操作，请立即再次重置密码。")
        return user.username

    def _find(self, who: Identifier, now: datetime) -> tuple[str | None, Destination, str]:
        """The account's ID, where its code goes, and the key its codes and limits are kept under
        (for nobody, one derived from what was asked, so that its limits apply all the same).
        By ID document no account is read: the document names the one that holds it, so a
        document with an account takes no more work to answer than one without."""
        if who.username is not None:
            user = self.accounts.user_by_username(who.username)
            if user is not None and user.expired(now):
                user = None
            nowhere = "username:" + identity.username_key(who.username)
            if user is None:
                return None, Destination("sms", None, nowhere), "nobody:" + self.id_hash.of(nowhere)
            if user.verified_phone:
                return user.user_id, Destination("sms", user.verified_phone), user.user_id
            if user.verified_email:
                return user.user_id, Destination("email", user.verified_email), user.user_id
            return user.user_id, Destination("sms", None, nowhere), user.user_id
        if who.id_type is None or who.id_number is None:
            raise InvalidRequest(Text("请填写用户名，或证件类型和证件号码",
                                      "Enter the username, or the ID type and ID number"),
                                 details={"field": "username"})
        id_type = identity.parse_id_type(who.id_type)
        try:
            number = identity.normalize_id_number(id_type, who.id_number, today=beijing_date(now))
        except InvalidIdNumber as e:  # the contract names invalid_request here; the message says why
            raise InvalidRequest(e.text, details={"field": "id_number"}) from e
        holder_key = self.id_hash(id_type.value, number)
        document = self.accounts.document(holder_key)
        nowhere = "document:" + holder_key
        if document.user_id is None or document.phone is None:
            return None, Destination("sms", None, nowhere), "nobody:" + self.id_hash.of(nowhere)
        return document.user_id, Destination("sms", document.phone), document.user_id
