"""The holder's account (我的账户): the profile, the identity proof, the password, contacts,
the notice, the export of everything held and deletion."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import deps
from chalicelib.api.auth import holder_token
from chalicelib.api.common import caller, client_address, principal, request_now, token_claims
from chalicelib.api.errors import handles_errors
from chalicelib.api.requests import json_object
from chalicelib.content import current_notice
from chalicelib.domain.accounts import User
from chalicelib.domain.errors import InvalidRequest
from chalicelib.domain.text import Text
from chalicelib.services import account_data, accounts, annotating
from chalicelib.services.contacts import NewContact

bp = Blueprint(__name__)


def _user() -> User:
    return accounts.current_user(principal(bp.current_request), store=deps.repository().accounts, now=request_now())


def _client() -> str:
    return client_address(bp.current_request)


@bp.route("/me", methods=["GET"], authorizer=holder_token)
@handles_errors
def me() -> dict[str, Any]:
    return accounts.profile(_user(), current_notice())


@bp.route("/notice/accept", methods=["POST"], authorizer=holder_token)
@handles_errors
def accept_notice() -> Response:
    body = json_object(bp.current_request, required={"version": str})
    accounts.accept_notice(principal(bp.current_request), body["version"], notice=current_notice(),
                           store=deps.repository().accounts)
    return Response(body="", status_code=204)


@bp.route("/me/identity/code", methods=["POST"], authorizer=holder_token)
@handles_errors
def identity_code() -> Response:
    json_object(bp.current_request, required={}, allow_empty=True)
    who = caller(bp.current_request)
    expires_in = deps.identity().send_code(who.user_id, who.id_document, client=_client(), now=request_now())
    return Response(body={"expires_in": expires_in}, status_code=202)


@bp.route("/me/identity", methods=["POST"], authorizer=holder_token)
@handles_errors
def prove_identity() -> dict[str, Any]:
    body = json_object(bp.current_request, required={"method": str},
                       optional={"code": str, "certificate_no": str, "name": str})
    service, user, now = deps.identity(), _user(), request_now()
    if body["method"] == "sms" and set(body) == {"method", "code"}:
        took_over = service.prove_by_sms(user, body["code"], now=now)
    elif body["method"] == "certificate_no" and set(body) == {"method", "certificate_no", "name"}:
        took_over = service.prove_by_certificate(user, body["certificate_no"], body["name"], now=now)
    else:
        raise InvalidRequest(Text("method 为 sms 时须提供 code；为 certificate_no 时须提供 certificate_no 和 name",
                                  "method sms needs code; method certificate_no needs certificate_no and name"),
                             details={"field": "method"})
    return {"identity_verified": True, "took_over": took_over}


@bp.route("/me/password", methods=["POST"], authorizer=holder_token)
@handles_errors
def change_password() -> dict[str, Any]:
    body = json_object(bp.current_request, required={"current_password": str, "new_password": str})
    session = accounts.change_password(token_claims(bp.current_request), body["current_password"],
                                       body["new_password"], passwords=deps.passwords(), signer=deps.token_signer(),
                                       outbox=deps.outbox(), client=_client(), now=request_now())
    return accounts.session_answer(session, current_notice())


@bp.route("/me/contact/code", methods=["POST"], authorizer=holder_token)
@handles_errors
def contact_code() -> Response:
    body = json_object(bp.current_request, required={"channel": str, "value": str, "password": str})
    sent = deps.contact_verification().send_code(_user(), NewContact.parse(body["channel"], body["value"]),
                                                 body["password"], client=_client(), now=request_now())
    return Response(body=sent, status_code=202)


@bp.route("/me/contact", methods=["POST"], authorizer=holder_token)
@handles_errors
def confirm_contact() -> Response:
    body = json_object(bp.current_request, required={"channel": str, "value": str, "code": str})
    deps.contact_verification().confirm(_user(), NewContact.parse(body["channel"], body["value"]), body["code"],
                                        now=request_now())
    return Response(body="", status_code=204)


@bp.route("/me/export", methods=["GET"], authorizer=holder_token)
@handles_errors
def export() -> dict[str, Any]:
    repo, now, links = deps.repository(), request_now(), deps.links()
    return account_data.export(_user(), notice=current_notice(), certificates_of=repo, copies=repo.annotations,
                               checks=repo.verifications,
                               annotation_view=lambda a: annotating.view(a, now, links))


@bp.route("/me", methods=["DELETE"], authorizer=holder_token)
@handles_errors
def delete_account() -> Response:
    body = json_object(bp.current_request, required={"password": str})
    deps.deletion().delete(_user(), body["password"], client=_client(), now=request_now())
    return Response(body="", status_code=204)
