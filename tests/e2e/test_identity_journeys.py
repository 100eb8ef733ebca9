"""Identity and accounts over HTTP against the stack as `make run` starts it: the squatter who
knows 李四's ID number sees nothing and cannot keep 李四 out; 王芳, proven by certificate number
by a stranger, takes her document back by SMS once her phone is on record; resets by username
and by ID document; a password guesser locks out only himself; the answers that must not tell
a stranger anything; export and deletion."""

from __future__ import annotations

import json
import secrets
from typing import Any

import requests

from tests.e2e import outbox
from tests.e2e.clients import client
from tests.e2e.helpers import (
    HEADER,
    LISI,
    a_phone,
    a_resident_id,
    accepted_session,
    assert_error,
    auth,
    certificates,
    drop,
    login,
    prove,
    register,
    row,
)

PASSWORD = "Holder#2026pw"


def an_account(stack: Any, id_number: str, name: str = "随便谁", **fields: str) -> str:
    """A new account naming `id_number`; its username."""
    username = "acct_" + secrets.token_hex(4)
    r = register(stack, username=username, password=PASSWORD, name=name, id_type="resident_id",
                 id_number=id_number, **fields)
    assert r.status_code == 201, r.text
    return username


def ready_copy(stack: Any, token: str, certificate_id: str) -> dict[str, Any]:
    r = requests.post(stack.url(f"/certificates/{certificate_id}/annotations"), headers=auth(token),
                      json={"scenario": "self_use", "validity_days": 7}, timeout=10)
    assert r.status_code == 202, r.text
    annotation = r.json()
    for _ in range(300):
        if annotation["status"] != "pending":
            break
        annotation = requests.get(stack.url(f"/annotations/{annotation['annotation_id']}"), headers=auth(token),
                                  timeout=5).json()
    assert annotation["status"] == "ready", annotation
    return dict(annotation)


def test_a_squatter_with_li_sis_id_number_sees_nothing_and_li_si_proves_his_identity_by_sms(stack: Any) -> None:
    squatter = an_account(stack, LISI["id_number"], name="随便谁")
    token = accepted_session(stack, squatter, PASSWORD)
    for path in ("/certificates", "/certificates/c000000000000000000000000", "/annotations/a0000000000000000000"):
        assert_error(requests.get(stack.url(path), headers=auth(token), timeout=5), 403, "identity_not_verified")
    # 李四 has a phone on record: a certificate number and his name prove nothing, a code goes to his phone.
    r = requests.post(stack.url("/me/identity"), headers=auth(token), timeout=5,
                      json={"method": "certificate_no", "certificate_no": "ZJ20241100321", "name": "李四"})
    assert_error(r, 400, "proof_failed")
    mark = outbox.mark(stack)
    assert requests.post(stack.url("/me/identity/code"), headers=auth(token), timeout=5).json() == {"expires_in": 300}
    assert outbox.next_message(stack, "139****5678", mark).code  # to 李四's phone, not to the squatter
    r = requests.post(stack.url("/me/identity"), headers=auth(token), json={"method": "sms", "code": "000000"},
                      timeout=5)
    assert_error(r, 400, "invalid_code")
    # The real 李四 registers (no "already registered" in the way) and proves by the code he receives.
    real = an_account(stack, LISI["id_number"], name="李四")
    real_token = accepted_session(stack, real, PASSWORD, proof=LISI["phone"])
    assert sorted(certificates(stack, real_token)) == ["GC20221100654", "ZJ20241100321"]
    me = requests.get(stack.url("/me"), headers=auth(real_token), timeout=5).json()
    assert me["identity_verified"] and me["phone_verified"] and me["phone_masked"] == "139****5678"
    assert_error(requests.get(stack.url("/certificates"), headers=auth(token), timeout=5), 403,
                 "identity_not_verified")


def test_wang_fang_proven_by_a_stranger_takes_her_document_back_by_sms_after_her_phone_is_recorded(
        stack: Any) -> None:
    # A holder without a phone on record, like 王芳 (a fresh one: the demo 王芳 stays as the demo has her).
    id_number, tag = a_resident_id(), secrets.token_hex(3).upper()
    drop(stack, f"wf-{tag}.csv", HEADER + row(f"YS{tag}", id_number, name="王芳"))
    stranger = an_account(stack, id_number, name="王芳")
    stranger_token = accepted_session(stack, stranger, PASSWORD, proof=(f"YS{tag}", "王芳"))
    cert = certificates(stack, stranger_token)[f"YS{tag}"]
    copy = ready_copy(stack, stranger_token, cert["certificate_id"])
    assert requests.get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5).json()["result"] == "valid"
    # The real 王芳 cannot take it by certificate number: only after the proof is she told why.
    real = an_account(stack, id_number, name="王芳")
    real_token = login(stack, real, PASSWORD)["access_token"]
    r = requests.post(stack.url("/me/identity"), headers=auth(real_token), timeout=5,
                      json={"method": "certificate_no", "certificate_no": f"YS{tag}", "name": "王芳"})
    assert_error(r, 409, "id_document_claimed")
    # The issuing authority loads her phone in an ordinary batch; then the SMS proof takes the document back.
    phone = a_phone()
    assert drop(stack, f"wf-{tag}-phone.csv", HEADER + row(f"YS{tag}", id_number, name="王芳", phone=phone))[
        "loaded"] == 1
    assert prove(stack, real_token, phone) == {"identity_verified": True, "took_over": True}
    assert_error(requests.get(stack.url("/me"), headers=auth(stranger_token), timeout=5), 401, "unauthorized")
    assert requests.get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5).json()["result"] == "withdrawn"
    real_token = accepted_session(stack, real, PASSWORD)
    quota = requests.get(stack.url(f"/certificates/{cert['certificate_id']}/annotations"), headers=auth(real_token),
                         timeout=5).json()["quota"]
    assert quota["used"] == 0  # the stranger's copy no longer blocks her for 90 days
    again = login(stack, stranger, PASSWORD)  # the stranger may sign in, and sees nothing
    assert again["identity_verified"] is False


def test_a_password_is_reset_by_username_and_by_id_document_and_the_answer_names_the_username(stack: Any) -> None:
    id_number, phone, tag = a_resident_id(), a_phone(), secrets.token_hex(3).upper()
    drop(stack, f"rs-{tag}.csv", HEADER + row(f"RS{tag}", id_number, phone=phone))
    username = an_account(stack, id_number, name="周九")
    old = accepted_session(stack, username, PASSWORD, proof=phone)
    masked = f"{phone[:3]}****{phone[-4:]}"
    for who in ({"username": username}, {"id_type": "resident_id", "id_number": id_number}):
        mark = outbox.mark(stack)
        r = requests.post(stack.url("/auth/password/forgot"), json=who, timeout=5)
        assert (r.status_code, r.json()) == (202, {})
        code = outbox.next_code(stack, masked, mark)
        new_password = "Reset#" + secrets.token_hex(4)
        assert_error(requests.post(stack.url("/auth/password/reset"), timeout=5,
                                   json={**who, "code": code, "new_password": "weak"}), 400, "weak_password")
        r = requests.post(stack.url("/auth/password/reset"), json={**who, "code": code, "new_password": new_password},
                          timeout=5)
        assert r.json() == {"username": username}, r.text
        assert_error(requests.post(stack.url("/auth/password/reset"), timeout=5,
                                   json={**who, "code": code, "new_password": new_password + "x"}), 400, "invalid_code")
        assert login(stack, username, new_password)["identity_verified"] is True
    assert_error(requests.get(stack.url("/me"), headers=auth(old), timeout=5), 401, "unauthorized")


def test_a_guesser_on_one_address_locks_himself_out_while_the_holder_on_another_signs_in(stack: Any) -> None:
    username = an_account(stack, a_resident_id(), name="周九")
    attacker, holder = client("127.0.0.2"), client("127.0.0.3")
    lefts = []
    for _ in range(4):
        r = attacker.post(stack.url("/auth/login"), json={"username": username, "password": "Guess#2026"}, timeout=5)
        assert_error(r, 401, "invalid_credentials")
        lefts.append(r.json()["error"]["details"]["attempts_left"])
    assert lefts == [4, 3, 2, 1]
    r = attacker.post(stack.url("/auth/login"), json={"username": username, "password": "Guess#2026"}, timeout=5)
    assert_error(r, 429, "account_locked")
    assert r.headers["Retry-After"] == str(r.json()["error"]["details"]["retry_after_seconds"]) == "900"
    r = attacker.post(stack.url("/auth/login"), json={"username": username, "password": PASSWORD}, timeout=5)
    assert_error(r, 429, "account_locked")  # the right password too, from the guesser's address
    r = holder.post(stack.url("/auth/login"), json={"username": username, "password": PASSWORD}, timeout=5)
    assert r.status_code == 200, r.text
    # A header the client writes changes nothing.
    r = attacker.post(stack.url("/auth/login"), json={"username": username, "password": PASSWORD}, timeout=5,
                      headers={"X-Forwarded-For": "127.0.0.3"})
    assert_error(r, 429, "account_locked")


def test_register_forgot_and_identity_code_answer_the_same_whatever_the_id_document_has(stack: Any) -> None:
    with_phone_and_account = LISI["id_number"]
    with_certificates_only = "310104199203154320"  # 王芳: certificates, no phone on record, no account
    unknown = a_resident_id()
    answers = []
    for id_number in (with_phone_and_account, with_certificates_only, unknown):
        username = "same_" + secrets.token_hex(4)
        r = register(stack, username=username, password=PASSWORD, name="某人", id_type="resident_id",
                     id_number=id_number)
        registered = (r.status_code, sorted(r.json()))
        token = login(stack, username, PASSWORD)["access_token"]
        code = requests.post(stack.url("/me/identity/code"), headers=auth(token), timeout=5)
        forgot = requests.post(stack.url("/auth/password/forgot"), timeout=5,
                               json={"id_type": "resident_id", "id_number": id_number})
        listing = requests.get(stack.url("/certificates"), headers=auth(token), timeout=5)
        answers.append((registered, code.status_code, code.json(), forgot.status_code, forgot.json(),
                        listing.status_code, listing.json()["error"]["code"]))
    assert answers[0] == answers[1] == answers[2], answers
    assert answers[0][0] == (201, ["user_id", "username"])


def test_the_export_holds_the_account_and_its_certificates_and_deletion_frees_the_document(stack: Any) -> None:
    id_number, phone, tag = a_resident_id(), a_phone(), secrets.token_hex(3).upper()
    drop(stack, f"ex-{tag}.csv", HEADER + row(f"EX{tag}", id_number, phone=phone))
    username = an_account(stack, id_number, name="周九")
    token = accepted_session(stack, username, PASSWORD, proof=phone)
    cert = certificates(stack, token)[f"EX{tag}"]
    copy = ready_copy(stack, token, cert["certificate_id"])
    requests.get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5)
    export = requests.get(stack.url("/me/export"), headers=auth(token), timeout=5).json()
    assert sorted(export) == ["account", "annotations", "certificates", "verifications"]
    assert export["account"]["username"] == username and export["account"]["phone_masked"].count("*") == 4
    assert [c["certificate_no"] for c in export["certificates"]] == [f"EX{tag}"]
    assert [a["annotation_id"] for a in export["annotations"]] == [copy["annotation_id"]]
    assert [v["result"] for v in export["verifications"]] == ["valid"]
    assert "password" not in str(export) and id_number not in str(export)
    assert_error(requests.delete(stack.url("/me"), headers=auth(token), json={"password": "Wrong#2026"}, timeout=5),
                 400, "wrong_password")
    r = requests.delete(stack.url("/me"), headers=auth(token), json={"password": PASSWORD}, timeout=5)
    assert r.status_code == 204, r.text
    assert_error(requests.get(stack.url("/me"), headers=auth(token), timeout=5), 401, "unauthorized")
    assert requests.post(stack.url("/auth/login"), json={"username": username, "password": PASSWORD},
                         timeout=5).status_code == 401
    assert requests.get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5).json()["result"] == "withdrawn"
    newcomer = an_account(stack, id_number, name="周九")
    assert prove(stack, login(stack, newcomer, PASSWORD)["access_token"], phone)["took_over"] is False


def test_a_password_change_ends_other_sessions_and_logout_all_ends_every_one(stack: Any) -> None:
    username = an_account(stack, a_resident_id(), name="周九")
    here, there = login(stack, username, PASSWORD)["access_token"], login(stack, username, PASSWORD)["access_token"]
    assert_error(requests.post(stack.url("/me/password"), headers=auth(here), timeout=5,
                               json={"current_password": "Wrong#2026", "new_password": "Newer#2026pw"}),
                 400, "wrong_password")
    r = requests.post(stack.url("/me/password"), headers=auth(here), timeout=5,
                      json={"current_password": PASSWORD, "new_password": "Newer#2026pw"})
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    for old in (here, there):
        assert_error(requests.get(stack.url("/me"), headers=auth(old), timeout=5), 401, "unauthorized")
    refreshed = requests.post(stack.url("/auth/refresh"), headers=auth(fresh), timeout=5).json()["access_token"]
    assert requests.get(stack.url("/me"), headers=auth(refreshed), timeout=5).status_code == 200
    assert requests.post(stack.url("/auth/logout-all"), headers=auth(fresh), timeout=5).status_code == 204
    for token in (fresh, refreshed):
        assert_error(requests.get(stack.url("/me"), headers=auth(token), timeout=5), 401, "unauthorized")


def test_a_proof_with_a_null_or_missing_field_is_a_clear_400_not_a_500(stack: Any) -> None:
    token = login(stack, an_account(stack, a_resident_id()), PASSWORD)["access_token"]
    for body in ({"method": "certificate_no", "certificate_no": "YS20251100777", "name": None},
                 {"method": "sms", "code": None}, {"method": None}, {"method": "sms"}, {"method": "fax", "code": "1"}):
        assert_error(requests.post(stack.url("/me/identity"), headers=auth(token), json=body, timeout=5),
                     400, "invalid_request")


def test_a_lone_surrogate_in_any_text_field_is_a_400_not_a_500(stack: Any) -> None:
    token = login(stack, "demo", "Demo#2026")["access_token"]
    bad = "\ud800"
    for method, path, body, headers in (
            ("POST", "/auth/login", {"username": "demo", "password": bad}, {}),
            ("POST", "/auth/password/forgot", {"username": bad}, {}),
            ("POST", "/auth/password/reset", {"username": bad, "code": "123456", "new_password": "x"}, {}),
            ("POST", "/me/identity", {"method": "certificate_no", "certificate_no": bad, "name": "张三"}, auth(token)),
            ("POST", "/me/password", {"current_password": bad, "new_password": "Newer#2026pw"}, auth(token)),
            ("POST", "/verify/batch", {"codes": [bad]}, {})):
        r = requests.request(method, stack.url(path), headers={"Content-Type": "application/json", **headers},
                             data=json.dumps(body), timeout=5)
        assert_error(r, 400, "invalid_request")


def test_an_old_batch_loaded_again_under_another_name_does_not_bring_back_the_old_phone(stack: Any) -> None:
    id_number, tag = a_resident_id(), secrets.token_hex(3).upper()
    old_phone, new_phone = a_phone(), a_phone()
    old = HEADER + row(f"PH{tag}", id_number, phone=old_phone)
    drop(stack, f"ph-{tag}-a.csv", old)
    drop(stack, f"ph-{tag}-b.csv", HEADER + row(f"PH{tag}", id_number, phone=new_phone))
    assert drop(stack, f"again/ph-{tag}-a-copy.csv", old)["loaded"] == 0
    token = login(stack, an_account(stack, id_number, name="周九"), PASSWORD)["access_token"]
    mark = outbox.mark(stack)
    requests.post(stack.url("/me/identity/code"), headers=auth(token), timeout=5).raise_for_status()
    assert outbox.next_message(stack, f"{new_phone[:3]}****{new_phone[-4:]}", mark).code
