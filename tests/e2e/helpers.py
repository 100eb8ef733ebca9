"""Small helpers the end-to-end tests share."""

from __future__ import annotations

import json
import secrets
import time
from datetime import date, timedelta
from typing import Any

import boto3
import requests

from chalicelib.domain.identity import mask_phone, resident_id_check_digit
from tests.e2e import outbox

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


Proof = str | tuple[str, str] | None


def prove(stack: Any, token: str, proof: Proof) -> dict[str, Any]:
    """Prove the account's identity: by the SMS code to `proof` (the phone on record), or by
    `proof` = (certificate number, name). The answer of POST /me/identity."""
    if isinstance(proof, str):
        mark = outbox.mark(stack)
        r = requests.post(stack.url("/me/identity/code"), headers=auth(token), timeout=10)
        assert r.status_code == 202, r.text
        body = {"method": "sms", "code": outbox.next_code(stack, mask_phone(proof), mark)}
    else:
        assert proof is not None
        body = {"method": "certificate_no", "certificate_no": proof[0], "name": proof[1]}
    r = requests.post(stack.url("/me/identity"), headers=auth(token), json=body, timeout=10)
    assert r.status_code == 200, r.text
    return dict(r.json())


def accepted_session(stack: Any, username: str, password: str, proof: Proof = None) -> str:
    """Log in, prove the identity if it is not proven yet (see `prove`), and accept the notice;
    the access token."""
    session = login(stack, username, password)
    token = str(session["access_token"])
    if not session["identity_verified"] and proof is not None:
        prove(stack, token, proof)
    r = requests.post(stack.url("/notice/accept"), headers=auth(token),
                      json={"version": session["notice_version"]}, timeout=5)
    assert r.status_code == 204, r.text
    return token


def register(stack: Any, **fields: str) -> requests.Response:
    return requests.post(stack.url("/auth/register"), json=fields, timeout=10)


def lisi(stack: Any) -> str:
    """李四's token: the demo holder without an account registers on first use and proves his
    identity by the SMS code to his phone on record (taking the document back if another test's
    account holds it)."""
    r = register(stack, **LISI)
    assert r.status_code == 201 or r.json()["error"]["code"] == "username_taken", r.text
    return accepted_session(stack, LISI["username"], LISI["password"], proof=LISI["phone"])


def a_phone() -> str:
    return "13" + str(secrets.randbelow(10)) + f"{secrets.randbelow(10**8):08d}"


def new_holder(stack: Any, prefix: str = "h") -> str:
    """A fresh, proven holder with one certificate of their own (loaded through a batch with
    their phone on record); the access token."""
    id_number, phone = a_resident_id(), a_phone()
    tag = secrets.token_hex(4).upper()
    drop(stack, f"{prefix}-{tag}.csv", HEADER + row(f"NH{tag}", id_number, phone=phone))
    username = f"{prefix}_{secrets.token_hex(4)}"
    r = register(stack, username=username, password="Fresh#2026pw", name="孙八", id_type="resident_id",
                 id_number=id_number)
    assert r.status_code == 201, r.text
    return accepted_session(stack, username, "Fresh#2026pw", proof=phone)


# --- batches, as an issuing authority drops them into the bucket ---------------------------------

HEADER = ("certificate_no,qualification,level,specialty,holder_name,id_type,id_number,issued_on,approved_on,"
          "issuer_name,issuer_contact,status,phone\n")


def s3(stack: Any) -> tuple[Any, str]:
    client = boto3.client("s3", endpoint_url=stack.aws, region_name="us-east-1", aws_access_key_id="local",
                          aws_secret_access_key="local")
    bucket = next(b["Name"] for b in client.list_buckets()["Buckets"] if "filesbucket" in b["Name"])
    return client, bucket


def drop(stack: Any, name: str, body: str) -> dict[str, Any]:
    """Put a batch under imports/ as ops would, and wait for its report."""
    client, bucket = s3(stack)
    client.put_object(Bucket=bucket, Key=f"imports/{name}", Body=("\ufeff" + body).encode("utf-8"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            got = client.get_object(Bucket=bucket, Key=f"import-reports/{name}.json")
            return dict(json.loads(got["Body"].read()))
        except client.exceptions.NoSuchKey:
            time.sleep(0.2)
    raise AssertionError(f"no report for {name}:\n{stack.log.read_text()[-3000:]}")


def row(number: str, id_number: str, status: str = "valid", issued: str = "2024-03-01", phone: str = "",
        name: str = "周九") -> str:
    return (f"{number},注册造价工程师,一级,土木建筑工程,{name},resident_id,{id_number},{issued},2024-01-20,"
            f"住房和城乡建设部,010-58933000,{status},{phone}\n")


def certificates(stack: Any, token: str) -> dict[str, dict[str, Any]]:
    r = requests.get(stack.url("/certificates"), headers=auth(token), timeout=5)
    assert r.status_code == 200, r.text
    return {c["certificate_no"]: c for c in r.json()["items"]}
