"""Small helpers the end-to-end tests share."""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any

import requests

from chalicelib.domain.identity import resident_id_check_digit

LISI = {"username": "lisi", "password": "Lisi#2026pw", "name": "李四", "id_type": "resident_id",
        "id_number": "440304198512120023", "phone": "13912345678"}


def a_resident_id(birth: str | None = None) -> str:
    """A valid resident ID; without a birth date, a random one, so that holders made in one
    session never collide."""
    if birth is None:
        born = date(1960, 1, 1) + timedelta(days=secrets.randbelow(365 * 40))
        birth = f"{born:%Y%m%d}"
    first17 = "110105" + birth + f"{secrets.randbelow(1000):03d}"
    return first17 + resident_id_check_digit(first17)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: requests.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert "Traceback" not in response.text


def login(stack: Any, username: str, password: str) -> dict[str, Any]:
    r = requests.post(stack.url("/auth/login"), json={"username": username, "password": password}, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def accepted_session(stack: Any, username: str, password: str) -> str:
    """Log in and accept the notice; the access token."""
    session = login(stack, username, password)
    r = requests.post(stack.url("/notice/accept"), headers=auth(session["access_token"]),
                      json={"version": session["notice_version"]}, timeout=5)
    assert r.status_code == 204, r.text
    return str(session["access_token"])


def register(stack: Any, **fields: str) -> requests.Response:
    return requests.post(stack.url("/auth/register"), json=fields, timeout=10)


def lisi(stack: Any) -> str:
    """李四's token: the demo holder without an account registers on first use."""
    r = register(stack, **LISI)
    assert r.status_code == 201 or r.json()["error"]["code"] in {"username_taken", "id_number_registered"}, r.text
    return accepted_session(stack, LISI["username"], LISI["password"])


def new_holder(stack: Any, prefix: str = "h") -> str:
    """A fresh holder without certificates; the access token."""
    username = f"{prefix}_{secrets.token_hex(4)}"
    r = register(stack, username=username, password="Fresh#2026pw", name="孙八", id_type="resident_id",
                 id_number=a_resident_id())
    assert r.status_code == 201, r.text
    return accepted_session(stack, username, "Fresh#2026pw")


def certificates(stack: Any, token: str) -> dict[str, dict[str, Any]]:
    r = requests.get(stack.url("/certificates"), headers=auth(token), timeout=5)
    assert r.status_code == 200, r.text
    return {c["certificate_no"]: c for c in r.json()["items"]}
