"""Which language a request is answered in: `Accept-Language` read properly (RFC 9110 §12.5.4:
tags, ranges, q-values), English when the request prefers English to Chinese, Chinese
otherwise. The middleware fixes the language of each request here, so that error answers made
anywhere below it (views, Chalice's own errors) speak it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from chalicelib.domain.text import DEFAULT_LANGUAGE, Language

_current: ContextVar[Language] = ContextVar("language", default=DEFAULT_LANGUAGE)


def negotiate(header: str | None) -> Language:
    """`en`, `en-US`, `en-GB;q=0.9, zh;q=0.8` -> "en"; `zh-CN,zh;q=0.9,en;q=0.8`, `*`, nothing,
    or anything malformed -> "zh". A tie goes to Chinese; `*` stands for a language not named."""
    named: dict[str, float] = {}
    wildcard = -1.0
    for part in (header or "").split(","):
        tag, _, params = part.partition(";")
        tag = tag.strip().lower()
        q = quality(params)
        if not tag or q is None:
            continue
        if tag == "*":
            wildcard = max(wildcard, q)
            continue
        primary = tag.split("-", 1)[0]
        named[primary] = max(named.get(primary, -1.0), q)
    english = named.get("en", wildcard)
    chinese = named.get("zh", wildcard)
    return "en" if english > 0 and english > chinese else DEFAULT_LANGUAGE


def quality(params: str) -> float | None:
    """The q-value of one entry of an Accept-* header (1 when absent), or None when it is malformed."""
    q = 1.0
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            if not 0.0 <= q <= 1.0:
                return None
    return q


def current() -> Language:
    """The language of the request being answered (Chinese outside a request)."""
    return _current.get()


@contextmanager
def speaking(language: Language) -> Iterator[None]:
    token = _current.set(language)
    try:
        yield
    finally:
        _current.reset(token)
