"""Signing up and in: registration, login, sessions, the forgotten password - and the
authorizer that guards every holder route."""

from __future__ import annotations

from typing import Any

from chalice.app import AuthRequest, AuthResponse, Blueprint, Response

from chalicelib import deps
from chalicelib.api.common import bearer_token, client_address, request_now, token_claims
from chalicelib.api.errors import handles_errors
from chalicelib.api.requests import json_object
from chalicelib.content import current_notice
from chalicelib.domain.errors import InvalidRequest, Unauthorized
from chalicelib.domain.text import Text
from chalicelib.services import accounts
from chalicelib.services.passwords import Identifier

bp = Blueprint(__name__)


@bp.authorizer(ttl_seconds=0)
def holder_token(auth_request: AuthRequest) -> AuthResponse:
    """Caching is off (ttl 0) so that a logout, an ended session, a proof or an accepted notice
    takes effect on the very next request. The caller read here travels in the context, so that
    the views need not read the account again (API Gateway passes context values as strings)."""
    try:
        claims, caller = accounts.authenticate(bearer_token(auth_request.token), store=deps.repository().accounts,
                                               signer=deps.token_signer(), now=request_now())
    except Unauthorized:
        return AuthResponse(routes=[], principal_id="anonymous")
    return AuthResponse(routes=["*"], principal_id=claims.user_id,
                        context={"jti": claims.jti, "exp": str(int(claims.expires_at.timestamp())),
                                 "gen": str(claims.generation), "auth_time": str(int(claims.auth_time.timestamp())),
                                 "holder_key": caller.holder_key or "", "id_document": caller.id_document,
                                 "notice_version": caller.notice_version or ""})


@bp.route("/auth/register", methods=["POST"])
@handles_errors
def register() -> Response:
    body = json_object(bp.current_request,
                       required={"username": str, "password": str, "name": str, "id_type": str,
                                 "id_number": str},
                       optional={"phone": str, "email": str})
    user = accounts.register(accounts.Registration(**body), store=deps.repository().accounts,
                             hasher=deps.password_hasher(), id_hash=deps.id_hasher(), now=request_now())
    return Response(body={"user_id": user.user_id, "username": user.username}, status_code=201)


@bp.route("/auth/login", methods=["POST"])
@handles_errors
def login() -> dict[str, Any]:
    body = json_object(bp.current_request, required={"username": str, "password": str})
    session = accounts.login(body["username"], body["password"], passwords=deps.passwords(),
                             signer=deps.token_signer(), client=client_address(bp.current_request), now=request_now())
    return accounts.session_answer(session, current_notice())


@bp.route("/auth/logout", methods=["POST"], authorizer=holder_token)
@handles_errors
def logout() -> Response:
    accounts.logout(token_claims(bp.current_request), store=deps.repository().accounts)
    return Response(body="", status_code=204)


@bp.route("/auth/logout-all", methods=["POST"], authorizer=holder_token)
@handles_errors
def logout_all() -> Response:
    accounts.logout_everywhere(token_claims(bp.current_request), store=deps.repository().accounts)
    return Response(body="", status_code=204)


@bp.route("/auth/refresh", methods=["POST"], authorizer=holder_token)
@handles_errors
def refresh() -> dict[str, Any]:
    session = accounts.refresh(token_claims(bp.current_request), store=deps.repository().accounts,
                               signer=deps.token_signer(), now=request_now())
    return accounts.session_answer(session, current_notice())


_IDENTIFIER: dict[str, type] = {"username": str, "id_type": str, "id_number": str}


def _identifier(body: dict[str, Any]) -> Identifier:
    """The username, or else the ID document: exactly one of the two."""
    by_username = "username" in body
    if by_username == ("id_type" in body or "id_number" in body):
        raise InvalidRequest(Text("请填写用户名，或证件类型和证件号码（二者选一）",
                                  "Enter either the username or the ID type and ID number, not both"),
                             details={"field": "username"})
    if not by_username and not ("id_type" in body and "id_number" in body):
        raise InvalidRequest(Text("请同时填写证件类型和证件号码",
                                  "Enter both the ID type and the ID number"), details={"field": "id_number"})
    return Identifier(username=body.get("username"), id_type=body.get("id_type"), id_number=body.get("id_number"))


@bp.route("/auth/password/forgot", methods=["POST"])
@handles_errors
def forgot_password() -> Response:
    who = _identifier(json_object(bp.current_request, required={}, optional=_IDENTIFIER))
    deps.password_reset().forgot(who, client=client_address(bp.current_request), now=request_now())
    return Response(body={}, status_code=202)


@bp.route("/auth/password/reset", methods=["POST"])
@handles_errors
def reset_password() -> dict[str, Any]:
    body = json_object(bp.current_request, required={"code": str, "new_password": str}, optional=_IDENTIFIER)
    username = deps.password_reset().reset(_identifier({k: body[k] for k in _IDENTIFIER if k in body}),
                                           body["code"], body["new_password"], now=request_now())
    return {"username": username}
