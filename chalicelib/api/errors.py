"""One table from domain error to HTTP status and error code, and the pieces that make
every error the API returns - ours and Chalice's own - look the same, with its message in the
language of the request (`api.language`); codes never depend on it."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

from chalice.app import Response

from chalicelib.api import language
from chalicelib.domain import errors as e
from chalicelib.domain.text import Text

log = logging.getLogger(__name__)

# domain error class -> (HTTP status, API error code)
ERROR_TABLE: dict[type[e.DomainError], tuple[int, str]] = {
    e.InvalidJson: (400, "invalid_json"),
    e.InvalidRequest: (400, "invalid_request"),
    e.UnsupportedMediaType: (415, "unsupported_media_type"),
    e.InvalidIdNumber: (400, "invalid_id_number"),
    e.WeakPassword: (400, "weak_password"),
    e.UsernameTaken: (409, "username_taken"),
    e.InvalidCredentials: (401, "invalid_credentials"),
    e.WrongPassword: (400, "wrong_password"),
    e.AccountLocked: (429, "account_locked"),
    e.Unauthorized: (401, "unauthorized"),
    e.NoticeNotAccepted: (403, "notice_not_accepted"),
    e.IdentityNotVerified: (403, "identity_not_verified"),
    e.InvalidCode: (400, "invalid_code"),
    e.ProofFailed: (400, "proof_failed"),
    e.IdDocumentClaimed: (409, "id_document_claimed"),
    e.NoticeOutdated: (409, "notice_outdated"),
    e.NotFound: (404, "not_found"),
    e.InvalidScenario: (400, "invalid_scenario"),
    e.InvalidValidity: (400, "invalid_validity"),
    e.AnnotationQuotaExceeded: (409, "annotation_quota_exceeded"),
    e.AnnotationNotRequired: (409, "annotation_not_required"),
    e.CertificateNotValid: (409, "certificate_not_valid"),
    e.AnnotationPending: (409, "annotation_pending"),
    e.AnnotationFailed: (409, "annotation_failed"),
    e.AnnotationExpired: (410, "annotation_expired"),
    e.AnnotationWithdrawn: (410, "annotation_withdrawn"),
    e.AnnotationNotReady: (409, "annotation_not_ready"),
    e.AnnotationRequired: (409, "annotation_required"),
    e.UnknownCode: (404, "unknown_code"),
    e.UnknownDocument: (404, "unknown_document"),
    e.InvalidDocument: (400, "invalid_document"),
    e.DocumentTooLarge: (413, "document_too_large"),
    e.RateLimited: (429, "rate_limited"),
    e.FileNotReady: (503, "file_not_ready"),
}

INTERNAL_MESSAGE = Text("服务暂时不可用，请稍后再试",
                        "The service is unavailable for the moment; please try again later")

# Errors API Gateway or Chalice produce before or around our views, by status.
GATEWAY_ERRORS: dict[int, tuple[str, Text]] = {
    400: ("invalid_request", e.InvalidRequest.TEXT),
    401: ("unauthorized", e.Unauthorized.TEXT),
    403: ("unauthorized", e.Unauthorized.TEXT),
    404: ("not_found", Text("接口不存在", "No such route")),
    405: ("method_not_allowed", Text("不支持该请求方法", "Method not allowed")),
    413: ("document_too_large", e.DocumentTooLarge.TEXT),
    415: ("unsupported_media_type", e.UnsupportedMediaType.TEXT),
    429: ("rate_limited", e.RateLimited.TEXT),
    500: ("internal_error", INTERNAL_MESSAGE),
}


def error_body(code: str, message: str | Text, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """The API's error body; a `Text` is said in the request's language."""
    text = message.in_language(language.current()) if isinstance(message, Text) else message
    error: dict[str, Any] = {"code": code, "message": text}
    if details:
        error["details"] = details
    return {"error": error}


def error_response(error: e.DomainError) -> Response:
    status, code = _lookup(type(error))
    headers: dict[str, str | list[str]] = {"Content-Type": "application/json"}
    retry_after = getattr(error, "retry_after_seconds", None)
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return Response(body=error_body(code, error.text, error.details), status_code=status, headers=headers)


def _lookup(cls: type[e.DomainError]) -> tuple[int, str]:
    for klass in cls.__mro__:
        if klass in ERROR_TABLE:
            return ERROR_TABLE[klass]
    return 500, "internal_error"


F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(view: F) -> F:
    """Map domain errors raised by a view to their HTTP answer. (Chalice middleware
    never sees a view's exception - Chalice turns it into a 500 first - so this sits
    on the views.) Anything else is logged without request data and becomes a 500."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except e.DomainError as error:
            return error_response(error)
        except Exception:
            log.exception("unhandled error in %s", view.__name__)
            code, message = GATEWAY_ERRORS[500]
            return Response(body=error_body(code, message), status_code=500,
                            headers={"Content-Type": "application/json"})

    return cast(F, wrapper)


def normalize_chalice_error(response: Response) -> Response:
    """Rewrite Chalice's own error bodies (`{"Code", "Message"}`: method not allowed,
    unsupported media type, unhandled errors) into the API's error format."""
    if response.status_code < 400:
        return response
    body = response.body
    if isinstance(body, str | bytes):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    if isinstance(body, dict) and "error" in body:
        return response
    code, message = GATEWAY_ERRORS.get(response.status_code, GATEWAY_ERRORS[500])
    status = response.status_code if response.status_code in GATEWAY_ERRORS else 500
    headers: dict[str, str | list[str]] = {
        k: v for k, v in response.headers.items() if k.lower() in {"allow", "retry-after"}}
    headers["Content-Type"] = "application/json"
    return Response(body=error_body(code, message), status_code=status, headers=headers)
