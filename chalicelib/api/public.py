"""Routes anyone may call: health, the service notice and the scenario list. The notice's and
the scenarios' texts follow Accept-Language (api.language); codes and the notice's version
never do."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api import language
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
    return current_notice().view(language.current())


@bp.route("/scenarios", methods=["GET"])
@handles_errors
def scenario_list() -> dict[str, Any]:
    speaking = language.current()
    return {"items": [{"code": s.code, "name": s.names.in_language(speaking)} for s in scenarios()]}
