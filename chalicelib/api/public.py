"""Routes anyone may call: health, the service notice and the scenario list."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api.errors import handles_errors
from chalicelib.content import current_notice, scenarios

bp = Blueprint(__name__)


@bp.route("/health", methods=["GET"])
@handles_errors
def health() -> dict[str, Any]:
    return {"status": "ok"}


@bp.route("/notice", methods=["GET"])
@handles_errors
def notice() -> dict[str, Any]:
    n = current_notice()
    return {"version": n.version, "title": n.title, "body": n.body}


@bp.route("/scenarios", methods=["GET"])
@handles_errors
def scenario_list() -> dict[str, Any]:
    return {"items": [{"code": s.code, "name": s.name} for s in scenarios()]}
