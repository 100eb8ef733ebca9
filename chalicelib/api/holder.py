"""The holder's certificates, annotations and files (every route here needs a token and,
for anything about certificates, the accepted notice)."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import deps
from chalicelib.api.auth import holder_token
from chalicelib.api.common import caller, request_now
from chalicelib.api.errors import handles_errors
from chalicelib.api.requests import json_object
from chalicelib.content import current_notice
from chalicelib.domain.accounts import Caller
from chalicelib.domain.annotations import Annotation
from chalicelib.domain.certificates import Certificate
from chalicelib.domain.errors import InvalidRequest
from chalicelib.domain.text import Text
from chalicelib.services import annotating, certificates, efiles, verifying

bp = Blueprint(__name__)


def _holder() -> Caller:
    return caller(bp.current_request)


def _certificate(certificate_id: str) -> Certificate:
    return certificates.owned(_holder(), certificate_id, notice=current_notice(), store=deps.repository())


def _annotation(annotation_id: str) -> Annotation:
    """The holder's own annotation (another holder's is not found)."""
    key = certificates.holder_key(_holder(), current_notice())
    return annotating.owned_annotation(annotation_id, key, store=deps.repository().annotations)


def _disposition() -> str:
    params: Any = bp.current_request.query_params or {}
    value = str(params.get("disposition") or "inline")
    if value not in {"inline", "attachment"}:
        raise InvalidRequest(Text("disposition 须为 inline 或 attachment",
                                  "disposition must be inline or attachment"), details={"field": "disposition"})
    return value


def _annotation_view(annotation: Annotation | None) -> dict[str, Any] | None:
    if annotation is None:
        return None
    return annotating.view(annotation, request_now(), deps.links())


@bp.route("/certificates", methods=["GET"], authorizer=holder_token)
@handles_errors
def list_certificates() -> dict[str, Any]:
    store = deps.repository()
    certs = certificates.list_for(_holder(), notice=current_notice(), store=store)
    latest = annotating.latest_of(certs, store=store.annotations)
    return {"items": [certificates.view(c, _annotation_view(latest.get(c.certificate_id))) for c in certs]}


@bp.route("/certificates/{certificate_id}", methods=["GET"], authorizer=holder_token)
@handles_errors
def get_certificate(certificate_id: str) -> dict[str, Any]:
    cert = _certificate(certificate_id)
    latest = annotating.latest(cert, store=deps.repository().annotations)
    return certificates.view(cert, _annotation_view(latest))


@bp.route("/certificates/{certificate_id}/annotations", methods=["GET"], authorizer=holder_token)
@handles_errors
def list_annotations(certificate_id: str) -> dict[str, Any]:
    cert = _certificate(certificate_id)
    items, quota = annotating.list_for(cert, store=deps.repository().annotations, now=request_now())
    return {"items": [_annotation_view(a) for a in items], "quota": annotating.quota_view(quota)}


@bp.route("/certificates/{certificate_id}/annotations", methods=["POST"], authorizer=holder_token)
@handles_errors
def apply_for_annotation(certificate_id: str) -> Response:
    body = json_object(bp.current_request, required={"scenario": str},
                       optional={"validity_days": int, "language": str})
    cert = _certificate(certificate_id)
    annotation = annotating.apply(cert, body, account_id=_holder().user_id, store=deps.repository().annotations,
                                  queue=deps.render_queue(), now=request_now())
    return Response(body=_annotation_view(annotation), status_code=202)


@bp.route("/certificates/{certificate_id}/file", methods=["GET"], authorizer=holder_token)
@handles_errors
def certificate_file(certificate_id: str) -> dict[str, Any]:
    disposition = _disposition()
    return efiles.file_link(_certificate(certificate_id), disposition, store=deps.repository(),
                            queue=deps.render_queue(), files=deps.files(), waiting=deps.file_waiting(),
                            now=request_now())


@bp.route("/certificates/{certificate_id}/verifications", methods=["GET"], authorizer=holder_token)
@handles_errors
def certificate_verifications(certificate_id: str) -> dict[str, Any]:
    return verifying.file_log(_certificate(certificate_id), store=deps.repository().verifications)


@bp.route("/annotations/{annotation_id}", methods=["GET"], authorizer=holder_token)
@handles_errors
def get_annotation(annotation_id: str) -> dict[str, Any] | None:
    return _annotation_view(_annotation(annotation_id))


@bp.route("/annotations/{annotation_id}/file", methods=["GET"], authorizer=holder_token)
@handles_errors
def annotation_file(annotation_id: str) -> dict[str, Any]:
    disposition = _disposition()
    annotation = _annotation(annotation_id)
    cert = _certificate(annotation.certificate_id)
    return annotating.file_link(annotation, cert, disposition, files=deps.files(), now=request_now())


@bp.route("/annotations/{annotation_id}/withdraw", methods=["POST"], authorizer=holder_token)
@handles_errors
def withdraw_annotation(annotation_id: str) -> dict[str, Any] | None:
    annotation = _annotation(annotation_id)
    withdrawn = annotating.withdraw(annotation, store=deps.repository().annotations, now=request_now())
    return _annotation_view(withdrawn)


@bp.route("/annotations/{annotation_id}/verifications", methods=["GET"], authorizer=holder_token)
@handles_errors
def annotation_verifications(annotation_id: str) -> dict[str, Any]:
    return verifying.copy_log(_annotation(annotation_id), store=deps.repository().verifications)
