"""The holder's page and the verifier's page, and the static files they load, served by
the app itself from `chalicelib/web/` (no build step, no other host).

Files are read on first request and kept in memory for the life of the container; only
names in the allow-list below are ever served, so no request can reach another file.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from chalice.app import Blueprint, Response

from chalicelib.api.errors import handles_errors
from chalicelib.domain.errors import NotFound

bp = Blueprint(__name__)

WEB = Path(__file__).resolve().parent.parent / "web"

# name -> Content-Type: the only files /static/{name} serves.
STATIC_FILES: dict[str, str] = {
    "app.css": "text/css; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "dom.js": "text/javascript; charset=utf-8",
    "format.js": "text/javascript; charset=utf-8",
    "holder.js": "text/javascript; charset=utf-8",
    "verify.js": "text/javascript; charset=utf-8",
    "view.js": "text/javascript; charset=utf-8",
    "identity.js": "text/javascript; charset=utf-8",
    "password.js": "text/javascript; charset=utf-8",
    "account.js": "text/javascript; charset=utf-8",
    "i18n.js": "text/javascript; charset=utf-8",
    "strings-zh.js": "text/javascript; charset=utf-8",
    "strings-en.js": "text/javascript; charset=utf-8",
    "strings-holder-zh.js": "text/javascript; charset=utf-8",
    "strings-holder-en.js": "text/javascript; charset=utf-8",
    "strings-verify-zh.js": "text/javascript; charset=utf-8",
    "strings-verify-en.js": "text/javascript; charset=utf-8",
    "session.js": "text/javascript; charset=utf-8",
    "certificate-parts.js": "text/javascript; charset=utf-8",
    "screen-login.js": "text/javascript; charset=utf-8",
    "screen-notice.js": "text/javascript; charset=utf-8",
    "screen-certificates.js": "text/javascript; charset=utf-8",
    "screen-certificate.js": "text/javascript; charset=utf-8",
    "apply-form.js": "text/javascript; charset=utf-8",
    "copy-row.js": "text/javascript; charset=utf-8",
    "copy-poller.js": "text/javascript; charset=utf-8",
    "verify-batch.js": "text/javascript; charset=utf-8",
    # The QR decoder (jsQR), fetched pinned by `make web-deps` and copied here: see the Makefile.
    "jsQR.js": "text/javascript; charset=utf-8",
    "icon.svg": "image/svg+xml",
}
PAGES = ("index.html", "verify.html")


@dataclass(frozen=True)
class WebFile:
    body: str
    etag: str


@cache
def web_file(name: str) -> WebFile:
    """One of the page files, read once. Callers pass only allow-listed names."""
    body = (WEB / name).read_text(encoding="utf-8")
    return WebFile(body=body, etag='"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:16] + '"')


def files_origin() -> str:
    """Where presigned PDF links point: the embedded AWS locally, the bucket in AWS. Read
    from the environment per request (it is set after import by the local stack)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "").strip()
    if endpoint:
        parts = urlsplit(endpoint)
        return f"{parts.scheme}://{parts.netloc}"
    bucket = os.environ.get("FILES_BUCKET", "")
    origin = f"https://{bucket}.s3.amazonaws.com"
    region = os.environ.get("AWS_REGION", "")
    if region and region != "us-east-1":
        # botocore signs regional virtual-hosted URLs outside us-east-1.
        origin += f" https://{bucket}.s3.{region}.amazonaws.com"
    return origin


def content_security_policy() -> str:
    return ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            f"connect-src 'self'; frame-src {files_origin()}; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")


def _page(name: str) -> Response:
    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }
    return Response(body=web_file(name).body, status_code=200, headers=headers)


@bp.route("/", methods=["GET"])
@handles_errors
def holder_page() -> Response:
    return _page("index.html")


@bp.route("/verify", methods=["GET"])
@handles_errors
def verifier_page() -> Response:
    # The code in ?code=… is read by the page's script, never echoed into the HTML.
    return _page("verify.html")


@bp.route("/static/{name}", methods=["GET"])
@handles_errors
def static_file(name: str) -> Response:
    content_type = STATIC_FILES.get(name)
    if content_type is None:
        raise NotFound()
    file = web_file(name)
    # Revalidated on every use (no-cache + ETag): a deploy never leaves an old script
    # talking to a new API, and an unchanged file costs a 304 only.
    headers: dict[str, str | list[str]] = {
        "ETag": file.etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if_none_match = str(bp.current_request.headers.get("if-none-match") or "")
    if file.etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(body="", status_code=304, headers=headers)
    return Response(body=file.body, status_code=200, headers={**headers, "Content-Type": content_type})
