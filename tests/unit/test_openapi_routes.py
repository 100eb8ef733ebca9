"""openapi.yaml describes exactly the routes the app has, both ways."""

from __future__ import annotations

from pathlib import Path

import yaml

from app import app

SPEC = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text(encoding="utf-8"))
METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def routes() -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, methods in app.routes.items() for method in methods}


def described() -> set[tuple[str, str]]:
    return {(path, method) for path, item in SPEC["paths"].items() for method in item if method in METHODS}


def test_every_route_of_the_app_is_described() -> None:
    assert routes() - described() == set()


def test_every_described_operation_is_a_route_of_the_app() -> None:
    assert described() - routes() == set()


def test_holder_routes_and_only_they_require_the_bearer_token() -> None:
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            security = SPEC["paths"][path][method.lower()].get("security", SPEC.get("security", []))
            assert bool(security) == (entry.authorizer is not None), (method, path)
