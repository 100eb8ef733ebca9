"""What every view needs: the time of the request and who is asking."""

from __future__ import annotations

from datetime import UTC, datetime

from chalice.app import Request

from chalicelib import deps
from chalicelib.domain.accounts import Caller
from chalicelib.domain.errors import Unauthorized
from chalicelib.security import TokenClaims


def request_now() -> datetime:
    return deps.clock()()


def principal(request: Request) -> str:
    """The user ID the authorizer vouched for."""
    authorizer = (request.context or {}).get("authorizer") or {}
    user_id = authorizer.get("principalId")
    if not user_id:
        raise Unauthorized()
    return str(user_id)


def caller(request: Request) -> Caller:
    """Who is asking, as the authorizer read it for this request (see auth.holder_token)."""
    authorizer = (request.context or {}).get("authorizer") or {}
    return Caller(user_id=principal(request), holder_key=str(authorizer.get("holder_key") or "") or None,
                  notice_version=str(authorizer.get("notice_version") or "") or None,
                  id_document=str(authorizer.get("id_document") or ""))


def token_claims(request: Request) -> TokenClaims:
    """The claims the authorizer put into the request context."""
    authorizer = (request.context or {}).get("authorizer") or {}
    try:
        return TokenClaims(user_id=principal(request), jti=str(authorizer["jti"]),
                           expires_at=datetime.fromtimestamp(int(authorizer["exp"]), tz=UTC),
                           generation=int(authorizer["gen"]),
                           auth_time=datetime.fromtimestamp(int(authorizer["auth_time"]), tz=UTC))
    except (KeyError, ValueError) as e:
        raise Unauthorized() from e


def client_address(request: Request) -> str:
    """The client's address as API Gateway saw the connection (`sourceIp`), never a header the
    client writes, such as X-Forwarded-For."""
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def bearer_token(header: str | None) -> str:
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()
