"""The foundation over HTTP: public routes, registration, login, the notice gate, the
error format, logout."""

from __future__ import annotations

import secrets

import requests

from tests.e2e.helpers import LISI, a_resident_id, assert_error, auth, certificates, lisi, login


def test_health_notice_and_scenarios_are_public(stack) -> None:
    assert requests.get(stack.url("/health"), timeout=5).json() == {"status": "ok"}
    notice = requests.get(stack.url("/notice"), timeout=5).json()
    assert notice["title"] == "服务须知" and len(notice["version"]) == 12 and notice["body"]
    assert requests.get(stack.url("/scenarios"), timeout=5).json() == {
        "items": [{"code": "self_use", "name": "本人调用"}]}


def test_the_demo_holder_logs_in_and_is_gated_by_the_notice_until_accepting_it(stack) -> None:
    session = login(stack, "demo", "Demo#2026")
    assert session["token_type"] == "Bearer" and 0 < session["expires_in"] <= 7200
    token = session["access_token"]
    me = requests.get(stack.url("/me"), headers=auth(token), timeout=5).json()
    assert me["username"] == "demo" and me["id_number_masked"] == "110105********451X"
    assert me["phone_masked"] == "138****8000" and me["phone_verified"] is True
    assert me["identity_verified"] is True and me["identity_method"] == "sms"
    if not session["notice_accepted"]:
        assert_error(requests.get(stack.url("/certificates"), headers=auth(token), timeout=5),
                     403, "notice_not_accepted")
        assert_error(requests.post(stack.url("/notice/accept"), headers=auth(token),
                                   json={"version": "0" * 12}, timeout=5), 409, "notice_outdated")
    r = requests.post(stack.url("/notice/accept"), headers=auth(token),
                      json={"version": session["notice_version"]}, timeout=5)
    assert r.status_code == 204
    certs = requests.get(stack.url("/certificates"), headers=auth(token), timeout=5).json()["items"]
    by_no = {c["certificate_no"]: c for c in certs}
    assert by_no["CH20231100123"]["kind"] == "e_certificate"
    assert by_no["CH20231100123"]["status_label"] == "有效"
    assert by_no["HS20191100456"]["kind"] == "e_file"
    assert by_no["JZ20221100789"]["status"] == "revoked" and by_no["JZ20221100789"]["status_label"] == "已撤销"
    assert all(c["id_number_masked"] == "110105********451X" for c in certs)
    assert "11010519900307451X" not in str(certs)
    assert len(certs) == 3


def test_li_si_registers_with_his_id_and_sees_his_two_certificates(stack) -> None:
    token = lisi(stack)
    assert sorted(certificates(stack, token)) == ["GC20221100654", "ZJ20241100321"]
    me = requests.get(stack.url("/me"), headers=auth(token), timeout=5).json()
    assert me["username"] == LISI["username"] and me["phone_masked"] == "139****5678"


def test_registration_refusals_come_with_their_codes(stack) -> None:
    def register(**fields: str) -> requests.Response:
        body = {"username": "new_" + secrets.token_hex(3), "password": "Good#2026pw", "name": "赵六",
                "id_type": "resident_id", "id_number": a_resident_id()}
        body.update(fields)
        return requests.post(stack.url("/auth/register"), json=body, timeout=10)

    assert_error(register(id_number="11010519900307451A"), 400, "invalid_id_number")
    assert_error(register(id_number="110105199003074510"), 400, "invalid_id_number")
    assert_error(register(password="short"), 400, "weak_password")
    assert_error(register(username="demo"), 409, "username_taken")
    assert register(id_number="11010519900307451X").status_code == 201  # 张三's: it proves nothing, and says nothing
    assert_error(register(id_type="driving_licence"), 400, "invalid_request")
    assert_error(register(nickname="x"), 400, "invalid_request")
    r = requests.post(stack.url("/auth/register"), data=b'{"username": ', timeout=5,
                      headers={"Content-Type": "application/json"})
    assert_error(r, 400, "invalid_json")
    r = requests.post(stack.url("/auth/register"), json={"username": 5}, timeout=5)
    assert_error(r, 400, "invalid_request")


def test_tokens_that_are_missing_forged_or_logged_out_are_401(stack) -> None:
    assert_error(requests.get(stack.url("/me"), timeout=5), 401, "unauthorized")
    assert_error(requests.get(stack.url("/me"), headers=auth("not-a-token"), timeout=5), 401, "unauthorized")
    token = login(stack, "demo", "Demo#2026")["access_token"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert_error(requests.get(stack.url("/me"), headers=auth(forged), timeout=5), 401, "unauthorized")
    assert requests.post(stack.url("/auth/logout"), headers=auth(token), timeout=5).status_code == 204
    assert_error(requests.get(stack.url("/me"), headers=auth(token), timeout=5), 401, "unauthorized")


def test_unknown_routes_wrong_methods_and_bad_logins_use_the_error_format(stack) -> None:
    assert_error(requests.get(stack.url("/no/such/route"), timeout=5), 404, "not_found")
    assert_error(requests.delete(stack.url("/health"), timeout=5), 405, "method_not_allowed")
    assert_error(requests.post(stack.url("/auth/login"), json={"username": "demo", "password": "nope"},
                               timeout=10), 401, "invalid_credentials")
    assert_error(requests.post(stack.url("/auth/login"), json={"username": "nobody_x", "password": "nope"},
                               timeout=10), 401, "invalid_credentials")
    r = requests.post(stack.url("/auth/login"), data="username=demo", timeout=5,
                      headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")


def test_five_wrong_passwords_lock_the_account_with_retry_after(stack) -> None:
    username = "lock_" + secrets.token_hex(3)
    requests.post(stack.url("/auth/register"), json={
        "username": username, "password": "Good#2026pw", "name": "钱七", "id_type": "resident_id",
        "id_number": a_resident_id()}, timeout=10).raise_for_status()
    for _ in range(4):
        r = requests.post(stack.url("/auth/login"), json={"username": username, "password": "Bad#2026pw"},
                          timeout=10)
        assert_error(r, 401, "invalid_credentials")
    r = requests.post(stack.url("/auth/login"), json={"username": username, "password": "Bad#2026pw"}, timeout=10)
    assert_error(r, 429, "account_locked")
    assert 0 < int(r.headers["Retry-After"]) <= 900
    r = requests.post(stack.url("/auth/login"), json={"username": username, "password": "Good#2026pw"},
                      timeout=10)
    assert_error(r, 429, "account_locked")


def test_responses_carry_the_security_headers(stack) -> None:
    r = requests.get(stack.url("/health"), timeout=5)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
