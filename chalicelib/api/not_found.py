"""The one error that is not JSON (API.md): a browser's request for a path that is no route
gets a small HTML page, in Chinese or English, with links back to the holder's and the
verifier's pages. API clients (`Accept: application/json`, `*/*`) keep the JSON 404.

Unknown paths never reach the app: API Gateway answers them (its MISSING_AUTHENTICATION_TOKEN
gateway response, infra/overrides.yaml), and the local stack's gateway layer (infra/local.py)
does as API Gateway does. A gateway response cannot read Accept-Language, so the page it
sends is `page("zh", ...)`, which carries the English text too; a test keeps the two equal."""

from __future__ import annotations

from html import escape

from chalicelib.api.language import quality
from chalicelib.domain.text import Language

# Where the links point: the API's root ("/" locally; behind API Gateway the service's public
# address, `DomainName`, which the template substitutes: a path under the stage would be wrong
# at the custom domain's root, the one address holders and QR codes use).
LOCAL_ROOT = "/"
GATEWAY_ROOT = "https://${DomainName}/"

_TEXT = {
    "zh": {"lang": "zh-CN", "title": "页面不存在", "body": "您访问的页面不存在，可能是地址有误或页面已移动。",
           "home": "持证人首页", "verify": "证书查验"},
    "en": {"lang": "en", "title": "Page not found", "body": "The page you asked for does not exist: the address "
           "may be wrong, or the page may have moved.", "home": "Certificate holders",
           "verify": "Verify a certificate"},
}


def page(language: Language, root: str = LOCAL_ROOT) -> str:
    """The page, in `language` first and the other language after it (so that a gateway
    that cannot tell which one the browser wants still shows both)."""
    first, second = (_TEXT["en"], _TEXT["zh"]) if language == "en" else (_TEXT["zh"], _TEXT["en"])
    root = escape(root, quote=True)

    def section(t: dict[str, str], *, main: bool) -> str:
        tag = "h1" if main else "h2"
        return (f'<section lang="{t["lang"]}"><{tag}>{t["title"]}</{tag}><p>{t["body"]}</p>'
                f'<p><a href="{root}">{t["home"]}</a> · <a href="{root}verify">{t["verify"]}</a></p></section>')

    return ('<!DOCTYPE html>'
            f'<html lang="{first["lang"]}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{first["title"]} · {second["title"]}</title>'
            f'<link rel="stylesheet" href="{root}static/app.css"></head>'
            f'<body><main>{section(first, main=True)}{section(second, main=False)}</main></body></html>')


def headers() -> dict[str, str]:
    """The headers of the other pages (api/pages.py): the same CSP and security headers."""
    from chalicelib.api.pages import content_security_policy

    return {"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": content_security_policy(),
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def accepts_html(accept: str | None) -> bool:
    """True when the Accept header prefers text/html to JSON, as a browser navigating does
    (`text/html,…,*/*;q=0.8`); `*/*`, `application/json` or no header -> False."""
    html = json = 0.0
    for part in (accept or "").split(","):
        media, _, params = part.partition(";")
        media = media.strip().lower()
        q = quality(params) or 0.0  # a malformed entry counts for nothing
        if media == "text/html":
            html = max(html, q)
        elif media in ("application/json", "application/*", "*/*"):
            json = max(json, q)
    return html > 0 and html > json
