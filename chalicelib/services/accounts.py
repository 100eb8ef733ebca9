"""Registration, login and sessions, passwords checked against the lockout, the profile and
acceptance of the notice."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from chalicelib.content import Notice
from chalicelib.domain import identity
from chalicelib.domain.accounts import (
    LOGIN_PER_ACCOUNT,
    LOGIN_PER_CLIENT,
    Attempts,
    Caller,
    Contacts,
    SessionState,
    User,
)
from chalicelib.domain.clock import beijing_date
from chalicelib.domain.errors import (
    AccountLocked,
    ConcurrentUpdate,
    DomainError,
    InvalidCredentials,
    NoticeOutdated,
    RateLimited,
    Unauthorized,
    WrongPassword,
)
from chalicelib.domain.text import Text
from chalicelib.notify import Message
from chalicelib.security import TokenClaims


class AccountStore(Protocol):
    def create_user(self, user: User) -> None: ...
    def user_by_username(self, username: str) -> User | None: ...
    def user(self, user_id: str) -> User | None: ...
    def count_password_attempt(self, user: User, key: str, before: Attempts, after: Attempts,
                               guard: Attempts) -> None: ...
    def uncount_password_attempt(self, user: User, key: str, guard: Attempts) -> None: ...
    def set_password(self, user: User, password_hash: str) -> int: ...
    def end_sessions(self, user_id: str) -> None: ...
    def accept_notice(self, user_id: str, version: str) -> None: ...
    def revoke_token(self, jti: str, expires_at: datetime) -> None: ...
    def session(self, user_id: str, jti: str, now: datetime) -> tuple[SessionState | None, bool]: ...


class AttemptStore(Protocol):
    def attempts(self, key: str) -> Attempts: ...


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, stored: str | None, password: str) -> bool: ...


class Signer(Protocol):
    def issue(self, user_id: str, now: datetime, *, generation: int,
              session: TokenClaims | None = None) -> tuple[str, TokenClaims]: ...
    def read(self, token: str, now: datetime) -> TokenClaims: ...


class IdHash(Protocol):
    def __call__(self, id_type: str, id_number: str) -> str: ...


class Outbox(Protocol):
    def send(self, message: Message) -> None: ...


@dataclass(frozen=True)
class Registration:
    username: str
    password: str
    name: str
    id_type: str
    id_number: str
    phone: str | None = None
    email: str | None = None


def register(form: Registration, *, store: AccountStore, hasher: Hasher, id_hash: IdHash,
             now: datetime) -> User:
    """A new, unproven account. Nothing here depends on whether the ID document has
    certificates, a phone on record or another account: the answer is the same either way."""
    username = identity.validate_username(form.username)
    identity.check_password(username, form.password)
    id_type = identity.parse_id_type(form.id_type)
    id_number = identity.normalize_id_number(id_type, form.id_number, today=beijing_date(now))
    user = User(
        user_id="u" + secrets.token_hex(12),
        username=username,
        name=identity.holder_display_name(form.name),
        id_type=id_type.value,
        id_hash=id_hash(id_type.value, id_number),
        id_number_masked=identity.mask_id_number(id_number),
        phone=identity.validate_phone(form.phone) if form.phone else None,
        email=identity.validate_email(form.email) if form.email else None,
        password_hash=hasher.hash(form.password),
        notice_version=None,
        guard=Attempts(),
        created_at=now,
    )
    store.create_user(user)
    return user


@dataclass(frozen=True)
class Session:
    access_token: str
    expires_in: int
    user: User


@dataclass(frozen=True)
class Passwords:
    """Checks a password against the lockout: 5 wrong ones from one client address lock that
    client out of the account for 15 minutes, 20 from all clients together lock everyone out
    for 15 minutes. Whoever knows only the username can lock out themselves, not the holder.

    Every attempt is counted as a failure, on both counts and in one conditional write, before
    the password is compared, and taken back if it was right: concurrent guesses then pass one
    by one through the counts, and none is compared once a lock is on.
    """

    accounts: AccountStore
    attempts: AttemptStore
    hasher: Hasher

    def check(self, user: User | None, password: str, *, client: str, now: datetime,
              wrong: Callable[[int], DomainError] = InvalidCredentials) -> User:
        if user is None or user.expired(now):
            self.hasher.verify(None, password)  # the hash's cost, as for a real account (usernames may be told)
            raise wrong(LOGIN_PER_CLIENT.failures)
        key = f"password#{user.user_id}#{user.generation}#{client}"
        user, mine = self._count(user, key, now)
        if self.hasher.verify(user.password_hash, password):
            return self._take_back(user, key, now)
        locked = max(mine.retry_after(now) or 0, user.guard.retry_after(now) or 0)
        if locked:
            raise AccountLocked(locked)
        raise wrong(min(mine.left(LOGIN_PER_CLIENT, now), user.guard.left(LOGIN_PER_ACCOUNT, now)))

    def _count(self, user: User, key: str, now: datetime) -> tuple[User, Attempts]:
        """The account and the client's record with this attempt counted; AccountLocked if either
        was locked already."""
        for _ in range(_ATTEMPTS):
            mine = self.attempts.attempts(key)
            locked = max(mine.retry_after(now) or 0, user.guard.retry_after(now) or 0)
            if locked:
                raise AccountLocked(locked)
            after, guard = mine.after_failure(LOGIN_PER_CLIENT, now), user.guard.after_failure(LOGIN_PER_ACCOUNT, now)
            try:
                self.accounts.count_password_attempt(user, key, mine, after, guard)
            except ConcurrentUpdate:
                user = self._fresh(user)
                continue
            return replace(user, guard=guard, version=(user.version or 0) + 1), after
        raise RateLimited(1)  # so many attempts at once that none got through: the client tries again

    def _take_back(self, user: User, key: str, now: datetime) -> User:
        for _ in range(_ATTEMPTS):
            guard = user.guard.undone(LOGIN_PER_ACCOUNT)
            try:
                self.accounts.uncount_password_attempt(user, key, guard)
            except ConcurrentUpdate:
                user = self._fresh(user)
                continue
            return replace(user, guard=guard, version=(user.version or 0) + 1)
        return user  # the attempt stays counted: one failure too many, never one too few

    def _fresh(self, user: User) -> User:
        fresh = self.accounts.user(user.user_id)
        if fresh is None:
            raise Unauthorized()
        return fresh


_ATTEMPTS = 8


def login(username: str, password: str, *, passwords: Passwords, signer: Signer, client: str,
          now: datetime) -> Session:
    user = passwords.accounts.user_by_username(username) if username else None
    user = passwords.check(user, password, client=client, now=now)
    return new_session(user, signer=signer, now=now)


def new_session(user: User, *, signer: Signer, now: datetime, generation: int | None = None) -> Session:
    gen = user.generation if generation is None else generation
    token, claims = signer.issue(user.user_id, now, generation=gen)
    return Session(access_token=token, expires_in=int((claims.expires_at - now).total_seconds()), user=user)


def session_answer(session: Session, notice: Notice) -> dict[str, Any]:
    return {"access_token": session.access_token, "token_type": "Bearer", "expires_in": session.expires_in,
            "notice_accepted": session.user.notice_version == notice.version, "notice_version": notice.version,
            "identity_verified": session.user.proven}


def authenticate(token: str, *, store: AccountStore, signer: Signer,
                 now: datetime) -> tuple[TokenClaims, Caller]:
    """The authorizer's check: a well-signed token, unexpired, not logged out, of a session
    the account has not ended since; and who that is, read in the same request."""
    claims = signer.read(token, now)
    state, revoked = store.session(claims.user_id, claims.jti, now)
    if revoked:
        raise Unauthorized(Text("已退出登录，请重新登录", "You have logged out; please log in again"))
    if state is None or state.generation != claims.generation:
        raise Unauthorized(Text("登录已失效，请重新登录", "Your session has ended; please log in again"))
    return claims, state.caller


def refresh(claims: TokenClaims, *, store: AccountStore, signer: Signer, now: datetime) -> Session:
    """A fresh token for the same session, never valid beyond 12 hours after its login."""
    user = current_user(claims.user_id, store=store, now=now)
    token, fresh = signer.issue(user.user_id, now, generation=claims.generation, session=claims)
    if fresh.expires_at <= now:
        raise Unauthorized(Text("登录已过期，请重新登录", "Your session has expired; please log in again"))
    return Session(access_token=token, expires_in=int((fresh.expires_at - now).total_seconds()), user=user)


def logout(claims: TokenClaims, *, store: AccountStore) -> None:
    store.revoke_token(claims.jti, claims.expires_at)


def logout_everywhere(claims: TokenClaims, *, store: AccountStore) -> None:
    store.end_sessions(claims.user_id)


def change_password(claims: TokenClaims, current: str, new: str, *, passwords: Passwords, signer: Signer,
                    outbox: Outbox, client: str, now: datetime) -> Session:
    """Every other session ends; the holder's verified contacts are told."""
    user = current_user(claims.user_id, store=passwords.accounts, now=now)
    passwords.check(user, current, client=client, now=now,
                    wrong=lambda left: WrongPassword(left, field="current_password"))
    identity.check_password(user.username, new)
    generation = passwords.accounts.set_password(user, passwords.hasher.hash(new))
    tell(Contacts.of(user), outbox, subject="账号密码已修改",
         text=f"您的账号 {user.username} 的密码已修改，其他设备已退出登录。"
              "如非本人操作，请立即通过“忘记密码”重置密码。")
    return new_session(user, signer=signer, now=now, generation=generation)


def tell(contacts: Contacts, outbox: Outbox, *, subject: str, text: str) -> None:
    """A notice to each verified contact (rule 1: the holder is told)."""
    if contacts.phone:
        outbox.send(Message(channel="sms", to=contacts.phone, subject=subject, text=text))
    if contacts.email:
        outbox.send(Message(channel="email", to=contacts.email, subject=subject, text=text))


def current_user(user_id: str, *, store: AccountStore, now: datetime) -> User:
    user = store.user(user_id)
    if user is None or user.expired(now):
        raise Unauthorized()
    return user


def accept_notice(user_id: str, version: str, *, notice: Notice, store: AccountStore) -> None:
    if version != notice.version:
        raise NoticeOutdated(details={"current_version": notice.version})
    store.accept_notice(user_id, version)


def profile(user: User, notice: Notice) -> dict[str, Any]:
    return {
        "username": user.username,
        "name": user.name,
        "id_type": user.id_type,
        "id_number_masked": user.id_number_masked,
        "phone_masked": identity.mask_phone(user.phone) if user.phone else None,
        "phone_verified": user.phone_verified,
        "email_masked": identity.mask_email(user.email) if user.email else None,
        "email_verified": user.email_verified,
        "notice_accepted": user.notice_version == notice.version,
        "notice_version": notice.version,
        "identity_verified": user.proven,
        "identity_method": user.proof.value if user.proof else None,
    }
