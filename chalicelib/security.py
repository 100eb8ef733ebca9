"""Password hashing, access tokens and the keyed hash of ID numbers.

The keys come from Secrets Manager through `deps`; these classes only hold them (the token
keys, and when to ask for them again, are `TokenKeys` and `TokenSigner`'s).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher as _Argon2
from argon2.exceptions import InvalidHashError, VerificationError

from chalicelib.domain.accounts import SESSION_LIFETIME
from chalicelib.domain.errors import Unauthorized
from chalicelib.domain.text import Text

log = logging.getLogger(__name__)


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


# An HS256 key as the template's GenerateSecretString and the rotation function make them: 64
# letters and digits (~381 bits). At least 43 such characters hold the 256 bits RFC 7518 asks of
# an HS256 key; `-` and `_` are allowed for keys made by `secrets.token_urlsafe` (the local stack).
_WELL_FORMED_KEY = re.compile(r"[A-Za-z0-9_-]{43,4096}")
# A token's `kid` is a Secrets Manager VersionId (a UUID); anything much longer is not one.
_MAX_KID_LENGTH = 64


def well_formed_key(value: str) -> bool:
    """Whether `value` can be a token-signing key (what the rotation's testSecret checks)."""
    return _WELL_FORMED_KEY.fullmatch(value) is not None


@dataclass(frozen=True)
class SigningKey:
    """One version of the token-signing secret: its VersionId (the tokens' `kid`) and value."""

    kid: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class TokenKeys:
    """The keys a container holds: AWSCURRENT signs, AWSCURRENT and AWSPREVIOUS verify.

    Why two suffice with a 30-day rotation: a token lives at most 2 hours (a refresh makes a new
    one, signed with the key current at that moment, and no session outlives 12 hours), and a
    container reloads its keys before it signs with keys older than `TokenSigner.MAX_KEY_AGE`
    (a day). So every token still alive was signed at most a day and 2 hours after its key
    stopped being current, by which time that key is AWSPREVIOUS; it leaves the verifiers only
    at the next rotation, 30 days later. Only two rotations within about a day (by hand) refuse
    live tokens, which is what one wants after a leaked key (README, "Secrets").
    """

    current: SigningKey
    previous: SigningKey | None = None

    def find(self, kid: str | None) -> SigningKey | None:
        # A token without a kid was issued before tokens carried one: only the current key,
        # which signed it, can verify it (such tokens are gone 12 hours after the deploy).
        if kid is None:
            return self.current
        return next((k for k in (self.current, self.previous) if k is not None and k.kid == kid), None)


KeySource = Callable[[], TokenKeys]


class TokenSigner:
    """Short-lived HS256 JWTs; the `jti` lets a logout revoke one session at once, the
    generation lets the account end all of them.

    Tokens name their key in the `kid` header. A kid this container does not hold may be a key
    rotated in after it loaded its keys: it asks `keys` again, at most once every
    `RELOAD_INTERVAL` seconds, so that a flood of made-up kids costs Secrets Manager at most one
    read (two GetSecretValue calls) per interval per container; a known kid costs no AWS call.
    """

    ALGORITHM = "HS256"
    AUDIENCE = "certificate-holders"
    RELOAD_INTERVAL = 30.0
    # Signing reloads keys older than this first, so that no container keeps signing with a
    # key two rotations old (a Lambda container may live for many hours).
    MAX_KEY_AGE = 86400.0

    def __init__(self, keys: KeySource | str, lifetime: timedelta, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._source = _fixed(keys) if isinstance(keys, str) else keys
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._keys = self._source()
        self._loaded_at = monotonic()
        self._last_unknown_reload: float | None = None
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
        key = self._signing_key()
        token = jwt.encode(
            {"sub": user_id, "jti": claims.jti, "iat": int(now.timestamp()), "gen": generation,
             "auth_time": int(claims.auth_time.timestamp()),
             "exp": int(claims.expires_at.timestamp()), "aud": self.AUDIENCE},
            key.secret, algorithm=self.ALGORITHM, headers={"kid": key.kid})
        return token, claims

    def read(self, token: str, now: datetime) -> TokenClaims:
        try:
            key = self._verifying_key(_kid(token))
            if key is None:
                raise Unauthorized()
            payload = jwt.decode(
                token, key.secret, algorithms=[self.ALGORITHM], audience=self.AUDIENCE,
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
            raise Unauthorized(Text("登录已过期，请重新登录", "Your session has expired; please log in again"))
        return claims

    def _signing_key(self) -> SigningKey:
        with self._lock:
            if self._monotonic() - self._loaded_at >= self.MAX_KEY_AGE:
                try:
                    self._reload()
                except Exception:
                    # A day-old key still verifies everywhere (TokenKeys): sign with it rather than
                    # refuse a login; the next token tries again.
                    log.warning("could not reload the token keys; signing with the ones held", exc_info=True)
            return self._keys.current

    def _verifying_key(self, kid: str | None) -> SigningKey | None:
        key = self._keys.find(kid)
        if key is not None or kid is None:
            return key
        with self._lock:
            key = self._keys.find(kid)  # another thread may have reloaded meanwhile
            last = self._last_unknown_reload
            if key is None and (last is None or self._monotonic() - last >= self.RELOAD_INTERVAL):
                self._last_unknown_reload = self._monotonic()
                self._reload()
                key = self._keys.find(kid)
            return key

    def _reload(self) -> None:
        self._keys = self._source()
        self._loaded_at = self._monotonic()


def _fixed(key: str) -> KeySource:
    """One key that never changes (unit tests, and anything that needs no rotation)."""
    keys = TokenKeys(SigningKey("fixed", key))
    return lambda: keys


def _kid(token: str) -> str | None:
    """The token's unverified `kid` header: only used to pick a key, which then verifies it."""
    kid = jwt.get_unverified_header(token).get("kid")
    if kid is None:
        return None
    if not isinstance(kid, str) or not 0 < len(kid) <= _MAX_KID_LENGTH:
        raise ValueError("malformed kid")
    return kid


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
