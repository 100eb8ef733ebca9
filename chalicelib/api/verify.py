"""Public verification: by code (or the QR code's link), by file, in batch."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib import deps
from chalicelib.api import language
from chalicelib.api.common import client_address, request_now
from chalicelib.api.errors import handles_errors
from chalicelib.api.requests import json_object
from chalicelib.services.verifying import Verifier

bp = Blueprint(__name__)


def _verifier() -> Verifier:
    repo = deps.repository()
    return Verifier(repo.verifications, repo, client_address(bp.current_request), request_now(),
                    language=language.current())


@bp.route("/verify/{code}", methods=["GET"])
@handles_errors
def verify_code(code: str) -> dict[str, Any]:
    return _verifier().by_code(code)


@bp.route("/verify/file", methods=["POST"], content_types=["application/pdf", "application/octet-stream"])
@handles_errors
def verify_file() -> dict[str, Any]:
    raw = bp.current_request.raw_body or b""
    return _verifier().by_file(raw.encode("utf-8") if isinstance(raw, str) else raw)


@bp.route("/verify/batch", methods=["POST"])
@handles_errors
def verify_batch() -> dict[str, Any]:
    body = json_object(bp.current_request, required={"codes": list})
    return _verifier().batch(body["codes"])
