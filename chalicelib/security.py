"""Password hashing, access tokens and the keyed hash of ID numbers.

The keys come from Secrets Manager through `deps`; these classes only hold them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from chalicelib.domain.errors import Unauthorized


class PasswordHasher:
    """Argon2id with the library's current defaults (RFC 9106 low-memory profile)."""

    def __init__(self) -> None:
        self._argon2 = _Argon2()
        # A hash to verify against when the username does not exist, so that the
        # answer takes as long as for a real account.
        self._dummy = self._argon2.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return str(self._argon2.hash(password))

    def verify(self, stored: str | None, password: str) -> bool:
        try:
            return bool(self._argon2.verify(stored or self._dummy, password)) and stored is not None
        except (VerificationError, InvalidHashError):
            return False


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    jti: str
    expires_at: datetime


class TokenSigner:
    """Short-lived HS256 JWTs; the `jti` lets a logout revoke one token at once."""

    ALGORITHM = "HS256"
    AUDIENCE = "certificate-holders"

    def __init__(self, key: str, lifetime: timedelta) -> None:
        self._key = key
        self.lifetime = lifetime

    def issue(self, user_id: str, now: datetime) -> tuple[str, TokenClaims]:
        claims = TokenClaims(user_id=user_id, jti=secrets.token_urlsafe(16), expires_at=now + self.lifetime)
        token = jwt.encode(
            {"sub": user_id, "jti": claims.jti, "iat": int(now.timestamp()),
             "exp": int(claims.expires_at.timestamp()), "aud": self.AUDIENCE},
            self._key, algorithm=self.ALGORITHM)
        return token, claims

    def read(self, token: str, now: datetime) -> TokenClaims:
        try:
            payload = jwt.decode(
                token, self._key, algorithms=[self.ALGORITHM], audience=self.AUDIENCE,
                options={"require": ["sub", "jti", "exp", "iat"], "verify_exp": False, "verify_iat": False})
        except jwt.PyJWTError as e:
            raise Unauthorized() from e
        expires_at = datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo)
        # Expiry (and issue time) are judged by the `now` we were given, not the wall clock.
        if expires_at <= now:
            raise Unauthorized("登录已过期，请重新登录")
        return TokenClaims(user_id=str(payload["sub"]), jti=str(payload["jti"]), expires_at=expires_at)


class IdHasher:
    """HMAC-SHA256 of an ID document: lets us find a holder's certificates and enforce
    one account per document without an index over the number itself."""

    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")

    def __call__(self, id_type: str, id_number: str) -> str:
        message = f"{id_type}:{id_number}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
