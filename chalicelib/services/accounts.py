"""Registration, login, logout, the holder's profile and acceptance of the notice."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.content import Notice
from chalicelib.domain import identity
from chalicelib.domain.accounts import Caller, LoginGuard, User
from chalicelib.domain.clock import beijing_date
from chalicelib.domain.errors import (
    AccountLocked,
    ConcurrentUpdate,
    InvalidCredentials,
    NoticeOutdated,
    Unauthorized,
)
from chalicelib.security import TokenClaims


class AccountStore(Protocol):
    def create_user(self, user: User, username_key: str) -> None: ...
    def user_by_username(self, username_key: str) -> User | None: ...
    def user(self, user_id: str) -> User | None: ...
    def save_login_guard(self, user: User, guard: LoginGuard) -> None: ...
    def accept_notice(self, user_id: str, version: str) -> None: ...
    def revoke_token(self, jti: str, expires_at: datetime) -> None: ...
    def caller(self, user_id: str, jti: str) -> tuple[Caller | None, bool]: ...


class Hasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, stored: str | None, password: str) -> bool: ...


class Signer(Protocol):
    def issue(self, user_id: str, now: datetime) -> tuple[str, TokenClaims]: ...
    def read(self, token: str, now: datetime) -> TokenClaims: ...


class IdHash(Protocol):
    def __call__(self, id_type: str, id_number: str) -> str: ...


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
        guard=LoginGuard(),
        created_at=now,
    )
    store.create_user(user, identity.username_key(username))
    return user


@dataclass(frozen=True)
class Session:
    access_token: str
    expires_in: int
    user: User


def login(username: str, password: str, *, store: AccountStore, hasher: Hasher, signer: Signer,
          now: datetime) -> Session:
    user = store.user_by_username(identity.username_key(username)) if username else None
    if user is None:
        hasher.verify(None, password)  # same work as for a real account
        raise InvalidCredentials()
    retry_after = user.guard.retry_after(now)
    if retry_after is not None:
        raise AccountLocked(retry_after)
    if not hasher.verify(user.password_hash, password):
        guard = _record(store, user, lambda g: g.after_failure(now))
        locked = guard.retry_after(now)
        if locked is not None:
            raise AccountLocked(locked)
        raise InvalidCredentials()
    if not user.guard.is_clean:
        _record(store, user, lambda g: LoginGuard())
    token, claims = signer.issue(user.user_id, now)
    return Session(access_token=token, expires_in=int((claims.expires_at - now).total_seconds()), user=user)


def _record(store: AccountStore, user: User, change: Callable[[LoginGuard], LoginGuard]) -> LoginGuard:
    """Apply `change` to the stored guard with optimistic locking, so that concurrent
    wrong passwords are all counted."""
    for _ in range(5):
        guard = change(user.guard)
        try:
            store.save_login_guard(user, guard)
            return guard
        except ConcurrentUpdate:
            fresh = store.user(user.user_id)
            if fresh is None:
                raise InvalidCredentials() from None
            user = fresh
    return guard


def authenticate(token: str, *, store: AccountStore, signer: Signer,
                 now: datetime) -> tuple[TokenClaims, Caller]:
    """The authorizer's check: a well-signed, unexpired, not logged-out token of an account
    that exists; and who that is, read in the same request."""
    claims = signer.read(token, now)
    caller, revoked = store.caller(claims.user_id, claims.jti)
    if revoked:
        raise Unauthorized("已退出登录，请重新登录")
    if caller is None:
        raise Unauthorized()
    return claims, caller


def logout(claims: TokenClaims, *, store: AccountStore) -> None:
    store.revoke_token(claims.jti, claims.expires_at)


def current_user(user_id: str, *, store: AccountStore) -> User:
    user = store.user(user_id)
    if user is None:
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
        "email": user.email,
        "notice_accepted": user.notice_version == notice.version,
        "notice_version": notice.version,
    }
