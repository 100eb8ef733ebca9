"""`openapi.yaml` is a valid OpenAPI 3.0 description whose operations all follow the
contract's conventions: named operations, one error format, strict request bodies."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

DOCUMENT = Path(__file__).resolve().parents[2] / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ERROR_REF = "#/components/schemas/Error"
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


@cache
def document() -> dict[str, Any]:
    with DOCUMENT.open(encoding="utf-8") as f:
        loaded: dict[str, Any] = yaml.safe_load(f)
    return loaded


def resolve(node: Any) -> Any:
    """Follow local `$ref`s (`#/a/b/c`) until a node that is not a reference."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local references are used, got {ref}"
        assert ref not in seen, f"reference cycle at {ref}"
        seen.add(ref)
        node = document()
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document()["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def error_responses() -> Iterator[tuple[str, str, str, dict[str, Any]]]:
    for path, method, op in operations():
        for status, response in op["responses"].items():
            if str(status)[0] in "45":
                yield path, method, str(status), resolve(response)


def object_schemas(schema: Any, where: str, seen: frozenset[int] = frozenset()) -> Iterator[tuple[str, Any]]:
    """Every schema that describes a JSON object, at any depth under `schema`."""
    if isinstance(schema, dict) and "$ref" in schema:
        where = f"{where} -> {schema['$ref']}"
    schema = resolve(schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen = seen | {id(schema)}
    if schema.get("type") == "object" or "properties" in schema:
        yield where, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from object_schemas(sub, f"{where}.{name}", seen)
    if "items" in schema:
        yield from object_schemas(schema["items"], f"{where}[]", seen)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from object_schemas(schema["additionalProperties"], f"{where}.*", seen)
    for keyword in ("allOf", "anyOf", "oneOf"):
        for i, sub in enumerate(schema.get(keyword) or []):
            yield from object_schemas(sub, f"{where}/{keyword}[{i}]", seen)


def test_the_document_is_a_valid_openapi_3_0_description() -> None:
    try:
        from openapi_spec_validator import OpenAPIV30SpecValidator, validate
    except ImportError:
        pytest.skip("openapi-spec-validator is not installed (pip install openapi-spec-validator)")
    assert str(document()["openapi"]).startswith("3.0.")
    validate(document(), cls=OpenAPIV30SpecValidator)


def test_the_local_stack_is_the_first_server() -> None:
    assert document()["servers"][0]["url"] == "http://127.0.0.1:8000"


def test_every_operation_has_a_unique_snake_case_operation_id_a_summary_and_a_tag() -> None:
    known_tags = {tag["name"] for tag in document()["tags"]}
    ids: list[str] = []
    for path, method, op in operations():
        where = f"{method.upper()} {path}"
        assert SNAKE_CASE.match(op.get("operationId", "")), f"{where} needs a snake_case operationId"
        assert op.get("summary"), f"{where} needs a summary"
        assert op.get("tags") and set(op["tags"]) <= known_tags, f"{where} needs a declared tag"
        ids.append(op["operationId"])
    assert len(ids) == len(set(ids)), "operationIds repeat"


def test_every_error_response_is_described_by_the_error_schema() -> None:
    checked = 0
    for path, method, status, response in error_responses():
        content = response.get("content") or {}
        assert list(content) == ["application/json"], f"{status} of {method.upper()} {path} is not JSON"
        schema = content["application/json"].get("schema")
        assert schema == {"$ref": ERROR_REF}, f"{status} of {method.upper()} {path} is not an Error"
        checked += 1
    assert checked


def test_every_error_example_is_an_error_body_with_a_snake_case_code() -> None:
    allowed = set(resolve({"$ref": ERROR_REF})["properties"]["error"]["properties"])
    for path, method, status, response in error_responses():
        examples = response["content"]["application/json"].get("examples") or {}
        assert examples, f"{status} of {method.upper()} {path} names no error code"
        for name, example in examples.items():
            error = resolve(example)["value"]["error"]
            assert set(error) <= allowed and {"code", "message"} <= set(error)
            assert SNAKE_CASE.match(error["code"]) and error["code"] == name
            assert isinstance(error["message"], str) and error["message"]


def test_every_request_body_object_schema_forbids_additional_properties() -> None:
    checked = 0
    for path, method, op in operations():
        if "requestBody" not in op:
            continue
        for media_type, media in resolve(op["requestBody"])["content"].items():
            for where, schema in object_schemas(media.get("schema"), f"{method.upper()} {path} {media_type}"):
                assert schema.get("additionalProperties") is False, f"{where} allows additional properties"
                checked += 1
    assert checked


def test_every_json_body_is_answered_with_400_invalid_json_and_invalid_request() -> None:
    for path, method, op in operations():
        if "application/json" not in (resolve(op.get("requestBody")) or {}).get("content", {}):
            continue
        examples = resolve(op["responses"]["400"])["content"]["application/json"]["examples"]
        assert {"invalid_json", "invalid_request"} <= set(examples), f"{method.upper()} {path}"


def test_only_holder_routes_need_a_bearer_token_and_each_of_them_can_answer_401_unauthorized() -> None:
    assert "security" not in document(), "security is set per operation, never globally"
    scheme = document()["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    secured = set()
    for path, method, op in operations():
        if op.get("security"):
            assert op["security"] == [{"bearerAuth": []}]
            examples = resolve(op["responses"]["401"])["content"]["application/json"]["examples"]
            assert "unauthorized" in examples, f"{method.upper()} {path}"
            secured.add(f"{method.upper()} {path}")
    assert "POST /auth/logout" in secured and "GET /me" in secured
    assert all(not s.startswith(("GET /verify", "POST /verify", "GET /health")) for s in secured)


def test_every_certificate_route_can_answer_403_notice_not_accepted() -> None:
    for path, method, op in operations():
        if path.startswith("/certificates"):
            examples = resolve(op["responses"]["403"])["content"]["application/json"]["examples"]
            assert "notice_not_accepted" in examples, f"{method.upper()} {path}"


def test_every_route_with_a_holder_resource_id_can_answer_404_not_found() -> None:
    for path, method, op in operations():
        if "{certificate_id}" in path or "{annotation_id}" in path:
            examples = resolve(op["responses"]["404"])["content"]["application/json"]["examples"]
            assert "not_found" in examples, f"{method.upper()} {path}"


def test_every_429_tells_when_to_retry() -> None:
    found = 0
    for path, method, status, response in error_responses():
        if status == "429":
            header = resolve(response["headers"]["Retry-After"])
            assert header["schema"]["type"] == "integer", f"{method.upper()} {path}"
            found += 1
    assert found >= 4  # login, and verification by code, by file and in batch


def test_no_content_answers_have_no_body() -> None:
    for path, method, op in operations():
        if "204" in op["responses"]:
            assert "content" not in resolve(op["responses"]["204"]), f"{method.upper()} {path}"
