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


def test_every_certificate_and_annotation_route_answers_403_for_the_notice_first_then_the_identity() -> None:
    checked = 0
    for path, method, op in operations():
        if path.startswith(("/certificates", "/annotations")):
            response = resolve(op["responses"]["403"])
            examples = response["content"]["application/json"]["examples"]
            assert list(examples)[:2] == ["notice_not_accepted", "identity_not_verified"], f"{method.upper()} {path}"
            description = response["description"]
            assert description.index("notice_not_accepted") < description.index("identity_not_verified")
            checked += 1
    assert checked >= 9


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
    # login, verification by code, by file and in batch, forgot and reset password, the identity code and
    # proof, changing the password, sending a contact code, deleting the account
    assert found >= 11


def test_no_content_answers_have_no_body() -> None:
    for path, method, op in operations():
        if "204" in op["responses"]:
            assert "content" not in resolve(op["responses"]["204"]), f"{method.upper()} {path}"


# The error codes ../shared/API.md names for the routes of accounts and identity, by status.
CONTRACT_ERRORS: dict[tuple[str, str], dict[str, set[str]]] = {
    ("post", "/auth/register"): {"400": {"invalid_id_number", "weak_password", "invalid_request"},
                                 "409": {"username_taken"}},
    ("post", "/auth/login"): {"401": {"invalid_credentials"}, "429": {"account_locked"}},
    ("post", "/auth/password/forgot"): {"400": {"invalid_request"}, "429": {"rate_limited"}},
    ("post", "/auth/password/reset"): {"400": {"invalid_code", "weak_password", "invalid_request"},
                                       "429": {"rate_limited"}},
    ("post", "/auth/logout-all"): {"401": {"unauthorized"}},
    ("post", "/auth/refresh"): {"401": {"unauthorized"}},
    ("get", "/me"): {"401": {"unauthorized"}},
    ("post", "/me/identity/code"): {"429": {"rate_limited"}},
    ("post", "/me/identity"): {"400": {"invalid_code", "proof_failed", "invalid_request"},
                               "409": {"id_document_claimed"}, "429": {"rate_limited"}},
    ("post", "/me/password"): {"400": {"wrong_password", "weak_password"}, "429": {"account_locked"}},
    ("post", "/me/contact/code"): {"400": {"invalid_request", "wrong_password"}, "403": {"identity_not_verified"},
                                   "429": {"rate_limited", "account_locked"}},
    ("post", "/me/contact"): {"400": {"invalid_code", "invalid_request"}, "403": {"identity_not_verified"}},
    ("get", "/me/export"): {"401": {"unauthorized"}},
    ("delete", "/me"): {"400": {"wrong_password"}, "429": {"account_locked"}},
}


def test_the_account_routes_document_the_error_codes_of_the_contract() -> None:
    for (method, path), by_status in CONTRACT_ERRORS.items():
        op = document()["paths"][path][method]
        for status, codes in by_status.items():
            examples = resolve(op["responses"][status])["content"]["application/json"]["examples"]
            assert codes <= set(examples), f"{method.upper()} {path} {status}: {codes - set(examples)}"


def test_id_number_registered_is_gone_and_registration_tells_only_a_taken_username() -> None:
    assert "id_number_registered" not in DOCUMENT.read_text(encoding="utf-8")
    register = document()["paths"]["/auth/register"]["post"]["responses"]
    assert set(register) == {"201", "400", "409", "415", "500"}
    assert set(resolve(register["409"])["content"]["application/json"]["examples"]) == {"username_taken"}


def schema(name: str) -> dict[str, Any]:
    found: dict[str, Any] = document()["components"]["schemas"][name]
    return found


def test_the_profile_and_the_login_answer_have_the_contracts_fields() -> None:
    profile = schema("Profile")
    fields = ["username", "name", "id_type", "id_number_masked", "phone_masked", "phone_verified", "email_masked",
              "email_verified", "notice_accepted", "notice_version", "identity_verified", "identity_method"]
    assert list(profile["properties"]) == fields and profile["required"] == fields
    assert profile["properties"]["identity_method"]["enum"] == ["sms", "certificate_no", None]
    assert {"phone_masked", "email_masked", "identity_method"} == {
        name for name, prop in profile["properties"].items() if prop.get("nullable")}
    assert "identity_verified" in schema("Session")["required"]
    for path in ("/auth/login", "/auth/refresh", "/me/password"):
        ok = document()["paths"][path]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert ok == {"$ref": "#/components/schemas/Session"}, path
    export = schema("AccountExport")
    assert export["required"] == ["account", "certificates", "annotations", "verifications"]
    assert export["properties"]["account"] == {"$ref": "#/components/schemas/Profile"}


def test_identifier_bodies_are_one_of_their_forms_and_never_both() -> None:
    def forms(name: str) -> list[set[str]]:
        return [set(resolve(member)["required"]) for member in schema(name)["oneOf"]]

    assert forms("ForgotPasswordRequest") == [{"username"}, {"id_type", "id_number"}]
    assert forms("ResetPasswordRequest") == [{"username", "code", "new_password"},
                                             {"id_type", "id_number", "code", "new_password"}]
    assert forms("IdentityProofRequest") == [{"method", "code"}, {"method", "certificate_no", "name"}]
