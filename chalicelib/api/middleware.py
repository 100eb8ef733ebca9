"""HTTP middleware: the language of the answer, one error format for Chalice's own errors,
security headers on every answer, and CORS for the configured origins only."""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib import observability
from chalicelib.api import language
from chalicelib.api.errors import normalize_chalice_error
from chalicelib.config import get_settings

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

CORS_METHODS = "GET,POST,DELETE,OPTIONS"
CORS_HEADERS = "Authorization,Content-Type"


def http_middleware(request: Request, get_response: Callable[[Request], Response]) -> Response:
    observability.correlate(str((request.context or {}).get("requestId", "")))
    try:
        with language.speaking(language.negotiate(request.headers.get("accept-language"))):
            response = normalize_chalice_error(get_response(request))
    finally:
        observability.flush()
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    origin = request.headers.get("origin")
    if origin and origin in get_settings().allowed_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
        response.headers["Vary"] = "Origin"
    return response
