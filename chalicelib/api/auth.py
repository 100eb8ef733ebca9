"""Accounts: registration, login, logout, the profile, the notice - and the authorizer
that guards every holder route."""

from __future__ import annotations

from typing import Any

from chalice.app import AuthRequest, AuthResponse, Blueprint, Response

from chalicelib import deps
from chalicelib.api.common import bearer_token, principal, request_now, token_claims
from chalicelib.api.errors import handles_errors
from chalicelib.api.requests import json_object
from chalicelib.content import current_notice
from chalicelib.domain.errors import Unauthorized
from chalicelib.services import accounts

bp = Blueprint(__name__)


@bp.authorizer(ttl_seconds=0)
def holder_token(auth_request: AuthRequest) -> AuthResponse:
    """Caching is off (ttl 0) so that a logout, or an accepted notice, takes effect on the
    very next request. The caller read here travels in the context, so that the views need
    not read the account again (API Gateway passes context values as strings)."""
    try:
        claims, caller = accounts.authenticate(bearer_token(auth_request.token), store=deps.repository(),
                                               signer=deps.token_signer(), now=request_now())
    except Unauthorized:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=claims.user_id,
                        context={"jti": claims.jti, "exp": str(int(claims.expires_at.timestamp())),
                                 "holder_key": caller.holder_key, "notice_version": caller.notice_version or ""})


@bp.route("/auth/register", methods=["POST"])
@handles_errors
def register() -> Response:
    body = json_object(bp.current_request,
                       required={"username": str, "password": str, "name": str, "id_type": str,
                                 "id_number": str},
                       optional={"phone": str, "email": str})
    user = accounts.register(accounts.Registration(**body), store=deps.repository(),
                             hasher=deps.password_hasher(), id_hash=deps.id_hasher(), now=request_now())
    return Response(body={"user_id": user.user_id, "username": user.username}, status_code=201)


@bp.route("/auth/login", methods=["POST"])
@handles_errors
def login() -> dict[str, Any]:
    body = json_object(bp.current_request, required={"username": str, "password": str})
    session = accounts.login(body["username"], body["password"], store=deps.repository(),
                             hasher=deps.password_hasher(), signer=deps.token_signer(), now=request_now())
    notice = current_notice()
    return {"access_token": session.access_token, "token_type": "Bearer", "expires_in": session.expires_in,
            "notice_accepted": session.user.notice_version == notice.version,
            "notice_version": notice.version}


@bp.route("/auth/logout", methods=["POST"], authorizer=holder_token)
@handles_errors
def logout() -> Response:
    accounts.logout(token_claims(bp.current_request), store=deps.repository())
    return Response(body="", status_code=204)


@bp.route("/me", methods=["GET"], authorizer=holder_token)
@handles_errors
def me() -> dict[str, Any]:
    user = accounts.current_user(principal(bp.current_request), store=deps.repository())
    return accounts.profile(user, current_notice())


@bp.route("/notice/accept", methods=["POST"], authorizer=holder_token)
@handles_errors
def accept_notice() -> Response:
    body = json_object(bp.current_request, required={"version": str})
    accounts.accept_notice(principal(bp.current_request), body["version"], notice=current_notice(),
                           store=deps.repository())
    return Response(body="", status_code=204)
