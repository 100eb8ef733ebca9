"""Password hashing, access tokens and the keyed hash of ID numbers.

The keys come from Secrets Manager through `deps`; these classes only hold them.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from chalicelib.domain.accounts import SESSION_LIFETIME
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
    # The session: kept when the token is refreshed, so a logout ends every token of it.
    jti: str
    expires_at: datetime
    # The account's session generation when the session began; bumping it ends the session.
    generation: int
    # When the holder logged in; no session outlives SESSION_LIFETIME after it.
    auth_time: datetime


class TokenSigner:
    """Short-lived HS256 JWTs; the `jti` lets a logout revoke one session at once, the
    generation lets the account end all of them."""

    ALGORITHM = "HS256"
    AUDIENCE = "certificate-holders"

    def __init__(self, key: str, lifetime: timedelta) -> None:
        self._key = key
        self.lifetime = lifetime

    def issue(self, user_id: str, now: datetime, *, generation: int,
              session: TokenClaims | None = None) -> tuple[str, TokenClaims]:
        """A token for a new session, or (`session`) a fresh one for the same session: the same
        `jti` and login time, never valid past SESSION_LIFETIME after that login."""
        if session is None:
            claims = TokenClaims(user_id=user_id, jti=secrets.token_urlsafe(16), expires_at=now + self.lifetime,
                                 generation=generation, auth_time=now)
        else:
            claims = TokenClaims(user_id=user_id, jti=session.jti, generation=generation,
                                 auth_time=session.auth_time,
                                 expires_at=min(now + self.lifetime, session.auth_time + SESSION_LIFETIME))
        token = jwt.encode(
            {"sub": user_id, "jti": claims.jti, "iat": int(now.timestamp()), "gen": generation,
             "auth_time": int(claims.auth_time.timestamp()),
             "exp": int(claims.expires_at.timestamp()), "aud": self.AUDIENCE},
            self._key, algorithm=self.ALGORITHM)
        return token, claims

    def read(self, token: str, now: datetime) -> TokenClaims:
        try:
            payload = jwt.decode(
                token, self._key, algorithms=[self.ALGORITHM], audience=self.AUDIENCE,
                options={"require": ["sub", "jti", "exp", "iat", "gen", "auth_time"],
                         "verify_exp": False, "verify_iat": False})
            claims = TokenClaims(user_id=str(payload["sub"]), jti=str(payload["jti"]),
                                 expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=UTC),
                                 generation=int(payload["gen"]),
                                 auth_time=datetime.fromtimestamp(int(payload["auth_time"]), tz=UTC))
        except (jwt.PyJWTError, ValueError, TypeError) as e:
            raise Unauthorized() from e
        # Expiry (and issue time) are judged by the `now` we were given, not the wall clock.
        if claims.expires_at <= now or claims.auth_time + SESSION_LIFETIME <= now:
            raise Unauthorized("登录已过期，请重新登录")
        return claims


class IdHasher:
    """HMAC-SHA256 of an ID document: lets us find a holder's certificates and enforce
    one account per document without an index over the number itself."""

    def __init__(self, key: str) -> None:
        self._key = key.encode("utf-8")

    def __call__(self, id_type: str, id_number: str) -> str:
        return self.of(f"{id_type}:{id_number}")

    def of(self, text: str) -> str:
        """The keyed hash of any text: phone numbers, e-mail addresses and one-time codes are
        looked up and compared by it, never stored or logged in the clear where not needed."""
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()
