"""Reading request bodies strictly: malformed JSON, unknown fields, missing fields and
wrong types each get their own clear error."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Request

from chalicelib.domain.errors import InvalidJson, InvalidRequest, UnsupportedMediaType
from chalicelib.domain.text import Text

MAX_JSON_BYTES = 64 * 1024


def json_object(request: Request, *, required: dict[str, type], optional: dict[str, type] | None = None,
                allow_empty: bool = False) -> dict[str, Any]:
    """The body as a dict with exactly the named fields, each of the named type (optional ones
    left out when absent or null)."""
    optional = optional or {}
    raw = request.raw_body or b""
    if not raw.strip() and allow_empty:
        return {}
    content_type = (request.headers.get("content-type") or "application/json").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise UnsupportedMediaType(Text("请求内容类型须为 application/json",
                                        "The Content-Type must be application/json"))
    if len(raw) > MAX_JSON_BYTES:
        raise InvalidRequest(Text("请求内容过大", "The request body is too large"))
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise InvalidJson() from e
    if not isinstance(body, dict):
        raise InvalidRequest(Text("请求内容须为 JSON 对象", "The request body must be a JSON object"))
    unknown = sorted(set(body) - set(required) - set(optional))
    if unknown:
        raise InvalidRequest(Text(f"不支持的字段：{', '.join(unknown)}",
                                  f"Unknown fields: {', '.join(unknown)}"), details={"fields": unknown})
    for name, kind in {**required, **optional}.items():
        if name not in body or (name in optional and body[name] is None):
            if name in required:
                raise InvalidRequest(Text(f"缺少字段：{name}", f"Missing field: {name}"), details={"field": name})
            continue
        value = body[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise InvalidRequest(Text(f"字段类型不正确：{name}",
                                      f"Wrong type of field: {name}"), details={"field": name})
        if not _encodable(value):
            raise InvalidRequest(Text(f"字段含有无效字符：{name}",
                                      f"Invalid characters in field: {name}"), details={"field": name})
    # An optional field given as null is a field not given.
    return {name: value for name, value in body.items() if value is not None}


def _encodable(value: Any) -> bool:
    """Text that UTF-8 can hold: JSON's `\\ud800` escapes decode to lone surrogates, which no
    store, hash or page can take."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    elif isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True
