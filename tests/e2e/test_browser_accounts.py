"""The holder's identity and account on the web page, in Chromium against the local stack: the
proof by SMS (the code read from the outbox) and by certificate number, 忘记密码 by username
and by ID document, a locked login, and the account page (我的账户): the masked profile, a new
phone, a new password, the export, 退出所有设备 and 注销账号.

This module runs on a stack of its own, with the send limits at their defaults (the session's
stack raises them): the page is shown the limits a holder meets, and one test meets the one
code a minute per phone and account on purpose; where a test needs a second code for one
account and phone within a minute, it moves the server's clock. Its own stack also keeps the
take-over of 李四's ID document away from the other test files' 李四 (`--dist loadfile` decides
which files share the session's stack).

Fixtures and helpers (the browser, watched pages, the accessibility checks) come from
test_browser.py.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Locator, Page, expect

from chalicelib.domain.identity import mask_email, mask_id_number, mask_phone
from infra.harness import Stack
from tests.e2e import test_browser as web
from tests.e2e.conftest import checked_stack, personal_data
from tests.e2e.helpers import (
    HEADER,
    LISI,
    a_phone,
    a_resident_id,
    accepted_session,
    auth,
    drop,
    login,
    prove,
    register,
    row,
)
from tests.e2e.outbox import mark, next_code
from tests.e2e.test_browser import CHROMIUM, TOKEN_KEY, Watched, assert_accessible_basics, certificate_card, log_in

# test_browser.py's fixtures, as this module's own: the browser, watched pages, screenshots.
browser, open_page, shots = web.browser, web.open_page, web.shots

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing (apt-get install -y chromium)")

PASSWORD = "Browser#2026pw"
NEW_PASSWORD = "Renewed#2026pw"
LISI_PHONE = "139****5678"
LISI_CERTIFICATES = ("ZJ20241100321", "GC20221100654")
# Past the send limit of one code a minute per phone and account.
A_MINUTE_LATER = 90


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """This module's own stack (see the module's docstring), checked for personal data in its
    log as the session's stack is."""
    with checked_stack(tmp_path_factory, "accounts-stack") as running:
        yield running


# ------------------------------------------------------------------------------ helpers

@dataclass(frozen=True)
class Holder:
    username: str
    id_number: str
    certificate_no: str
    phone_on_record: str | None


def a_holder(stack: Stack, prefix: str, phone_on_record: str | None = None, **contacts: str) -> Holder:
    """A holder of their own: one e-certificate loaded through a batch file (with the phone the
    issuing authority has on record, if given), and an account (name 周九, as on the
    certificate) registered through the API, not yet proven."""
    id_number = a_resident_id()
    tag = secrets.token_hex(3).upper()
    number = f"{prefix}{tag}"
    report = drop(stack, f"accounts-{tag}.csv", HEADER + row(number, id_number, phone=phone_on_record or ""))
    assert report["loaded"] == 1, report
    holder = Holder(f"{prefix.lower()}_{tag.lower()}", id_number, number, phone_on_record)
    r = register(stack, username=holder.username, password=PASSWORD, name="周九", id_type="resident_id",
                 id_number=id_number, **contacts)
    assert r.status_code == 201, r.text
    return holder


def proven_session(stack: Stack, holder: Holder, username: str | None = None) -> str:
    """Logged in through the API and proven - by SMS where the holder has a phone on record, else
    by the certificate number and the name on it; the session's token."""
    token = str(login(stack, username or holder.username, PASSWORD)["access_token"])
    prove(stack, token, holder.phone_on_record or (holder.certificate_no, "周九"))
    return token


def a_wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def fact(root: Locator, term: str) -> Locator:
    """The value of one term of a definition list of facts."""
    return root.locator(".fact").filter(has=root.page.locator("dt", has_text=re.compile(f"^{term}$"))).locator("dd")


def accept_the_notice(stack: Stack, page: Page) -> None:
    notice = requests.get(stack.url("/notice"), timeout=5).json()
    expect(page.get_by_role("heading", level=1)).to_have_text(notice["title"])
    page.get_by_role("button", name="同意").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("持证人查询下载")


def token_of(page: Page) -> str:
    return str(page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')"))


def status_of(stack: Stack, token: str) -> int:
    return requests.get(stack.url("/me"), headers=auth(token), timeout=5).status_code


# ------------------------------------------------------------------------------ the identity proof

def test_li_si_registers_proves_by_sms_accepts_the_notice_and_sees_his_certificates(
        stack: Stack, open_page: Callable[..., Watched], shots: Path) -> None:
    w = open_page()
    page = w.page
    w.allow(400, "/me/identity")
    page.goto(stack.url("/"))
    page.get_by_role("link", name="用户注册").click()
    username = f"lisi_{secrets.token_hex(4)}"
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_label("姓名").fill("李四")
    page.get_by_label("证件号码").fill(LISI["id_number"])
    page.get_by_role("button", name="注册", exact=True).click()

    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("身份核验")
    expect(heading).to_be_focused()
    sms = page.get_by_role("region", name="短信验证码核验")
    after = mark(stack)
    sms.get_by_role("button", name="获取验证码").click()
    expect(sms.locator(".note")).to_contain_text("验证码已发送至该手机，5 分钟内有效")
    said = page.locator("#announcer")
    expect(said).to_contain_text("验证码已发送至该手机")
    code_field = sms.get_by_label("短信验证码")
    expect(code_field).to_be_focused()
    # Resending waits out the minute, counting down on the button.
    resend = sms.get_by_role("button", name=re.compile(r"^重新获取验证码（\d+ 秒|1 分钟）$"))
    expect(resend).to_have_attribute("aria-disabled", "true")
    code = next_code(stack, LISI_PHONE, after)

    # A wrong code is refused next to the field; the right one proves the document.
    code_field.fill(a_wrong(code))
    sms.get_by_role("button", name="提交").click()
    expect(code_field).to_have_attribute("aria-invalid", "true")
    expect(sms.locator(".field-error")).to_be_visible()
    code_field.fill(code)
    page.keyboard.press("Enter")

    # Then the notice (first login), then 李四's two certificates.
    notice = requests.get(stack.url("/notice"), timeout=5).json()
    expect(heading).to_have_text(notice["title"])
    expect(heading).to_be_focused()
    expect(page.locator(".notice-body")).to_contain_text(notice["body"].split("\n\n")[0].strip())
    assert_accessible_basics(page)
    page.screenshot(path=shots / "notice.png", full_page=True)
    page.get_by_role("button", name="同意").click()
    expect(heading).to_have_text("持证人查询下载")
    for number in LISI_CERTIFICATES:
        expect(certificate_card(page, number).locator(".badge").first).to_have_text("有效")
    expect(page.locator("#account-name")).to_have_text("李四")

    # The proof made the phone on record the account's verified phone.
    page.get_by_role("link", name="我的账户").click()
    profile = page.get_by_role("region", name="账户信息")
    expect(fact(profile, "身份核验")).to_have_text("已核验（短信）")
    expect(fact(profile, "手机号码")).to_have_text(f"{LISI_PHONE} 已验证")


def test_a_document_already_proven_by_certificate_number_cannot_be_proven_so_again_and_the_page_says_what_to_do(
        stack: Stack, open_page: Callable[..., Watched]) -> None:
    holder = a_holder(stack, "CLM")
    proven_session(stack, holder)
    second = f"clm2_{secrets.token_hex(3)}"
    r = register(stack, username=second, password=PASSWORD, name="周九", id_type="resident_id",
                 id_number=holder.id_number)
    assert r.status_code == 201, r.text
    accepted_session(stack, second, PASSWORD)  # the notice is out of the way: the proof is what is missing
    w = open_page()
    page = w.page
    w.allow(403, "/certificates")
    w.allow(409, "/me/identity")
    page.goto(stack.url("/"))
    log_in(page, second, PASSWORD)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("身份核验")

    # A certificate route answering 403 identity_not_verified brings the holder back here.
    page.goto(stack.url("/#/certificates"))
    expect(page).to_have_url(re.compile("#/identity$"))
    expect(heading).to_have_text("身份核验")

    proof = page.get_by_role("region", name="证书编号核验")
    proof.get_by_label("证书编号").fill(holder.certificate_no)
    with page.expect_response(lambda r: r.url.endswith("/me/identity")) as answer:
        proof.get_by_role("button", name="提交").click()
    error = answer.value.json()["error"]
    assert (answer.value.status, error["code"]) == (409, "id_document_claimed")
    expect(proof.locator("[data-role=form-error]")).to_have_text(error["message"])
    expect(proof.locator(".note")).to_contain_text("请使用短信验证码核验")
    expect(proof.locator(".note")).to_contain_text("请联系证书发放机构登记")
    assert_accessible_basics(page)


# ------------------------------------------------------------------------------ 忘记密码

def test_a_holder_locked_out_by_wrong_passwords_resets_the_password_by_username_and_signs_in_at_once(
        stack: Stack, open_page: Callable[..., Watched], shots: Path) -> None:
    holder = a_holder(stack, "FGT", phone_on_record=a_phone())
    earlier_session = proven_session(stack, holder)
    w = open_page()
    page = w.page
    w.allow(401, "/auth/login")
    w.allow(429, "/auth/login")
    w.allow(400, "/auth/password/reset")
    page.goto(stack.url("/"))
    heading = page.get_by_role("heading", level=1)
    error_line = page.locator("[data-role=form-error]")

    # Each wrong password says how many tries are left; then the lock says how long it lasts,
    # and the right password is refused too while it does.
    page.get_by_label("用户名").fill(holder.username)
    for _ in range(10):
        page.get_by_label("密码", exact=True).fill("Wrong#2026pw")
        with page.expect_response(lambda r: r.url.endswith("/auth/login")) as answer:
            page.get_by_role("button", name="登录", exact=True).click()
        if answer.value.status == 429:
            break
        left = answer.value.json()["error"]["details"]["attempts_left"]
        expect(error_line).to_have_text(f"用户名或密码错误（还可尝试 {left} 次）")
    else:
        raise AssertionError("ten wrong passwords and no lock")
    locked = answer.value.json()["error"]
    assert answer.value.headers["retry-after"] == str(locked["details"]["retry_after_seconds"])
    expect(error_line).to_contain_text("账号已临时锁定")
    expect(error_line).to_have_text(re.compile(r"\d+ (分钟|分 \d+ 秒|秒)"))
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/auth/login")) as answer:
        page.get_by_role("button", name="登录", exact=True).click()
    assert answer.value.status == 429
    page.screenshot(path=shots / "login-locked.png", full_page=True)

    page.get_by_role("link", name="忘记密码").click()
    expect(heading).to_have_text("忘记密码")
    expect(heading).to_be_focused()
    assert_accessible_basics(page)
    page.get_by_label("用户名", exact=True).fill(holder.username)
    with stack.clock_moved(A_MINUTE_LATER):  # the proof's code went to the same phone moments ago
        after = mark(stack)
        page.get_by_role("button", name="获取验证码").click()
        code_field = page.get_by_label("验证码", exact=True)
        expect(code_field).to_be_focused()
        expect(page.locator("form:not([hidden]) .note")).to_contain_text("验证码已发送至该手机或邮箱")
        expect(page.get_by_role("button", name=re.compile(r"^重新获取验证码（.+）$"))).to_have_attribute(
            "aria-disabled", "true")
        code = next_code(stack, mask_phone(holder.phone_on_record or ""), after)
        assert_accessible_basics(page)
        page.screenshot(path=shots / "password-reset.png", full_page=True)

        # A weak password is refused next to its field; the code still serves.
        code_field.fill(code)
        new_password = page.get_by_label("新密码")
        new_password.fill("weak")
        page.get_by_role("button", name="重置密码").click()
        expect(new_password).to_have_attribute("aria-invalid", "true")
        expect(new_password).to_be_focused()
        new_password.fill(NEW_PASSWORD)
        page.get_by_role("button", name="重置密码").click()

        # Back at the login form, told the username (filled in); the lock is gone.
        expect(heading).to_have_text("持证人登录")
        expect(page.locator("[data-role=form-status]")).to_have_text(
            f"密码已重置，您的用户名是 {holder.username}。请使用新密码登录。")
        expect(page.get_by_label("用户名")).to_have_value(holder.username)
        page.get_by_label("密码", exact=True).fill(NEW_PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        accept_the_notice(stack, page)
        expect(certificate_card(page, holder.certificate_no)).to_be_visible()
        assert status_of(stack, earlier_session) == 401  # the reset ended every other session


def test_a_holder_who_forgot_the_username_too_resets_by_id_document_and_is_told_the_username(
        stack: Stack, open_page: Callable[..., Watched]) -> None:
    holder = a_holder(stack, "IDR", phone_on_record=a_phone())
    proven_session(stack, holder)
    w = open_page()
    page = w.page
    w.allow(429, "/auth/password/forgot")
    page.goto(stack.url("/#/password"))
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("忘记密码")

    def ask_by_document() -> None:
        page.get_by_label("按证件（忘记用户名时）").check()
        expect(page.get_by_label("用户名", exact=True)).to_be_hidden()
        page.get_by_label("证件类型").select_option("resident_id")
        page.get_by_label("证件号码").fill(holder.id_number)
        page.get_by_role("button", name="获取验证码", exact=True).click()

    with stack.clock_moved(A_MINUTE_LATER):  # the proof's code went to the same phone moments ago
        after = mark(stack)
        ask_by_document()
        expect(page.locator("form:not([hidden]) .note")).to_contain_text("证书发放机构为该证件登记了手机号码")
        code = next_code(stack, mask_phone(holder.phone_on_record or ""), after)
        page.get_by_label("验证码", exact=True).fill(code)
        page.get_by_label("新密码").fill(NEW_PASSWORD)
        page.get_by_role("button", name="重置密码").click()
        expect(heading).to_have_text("持证人登录")
        expect(page.locator("[data-role=form-status]")).to_have_text(
            f"密码已重置，您的用户名是 {holder.username}。请使用新密码登录。")
        expect(page.get_by_label("用户名")).to_have_value(holder.username)

        # Asking again at once meets the send limit: the page says how long to wait, and the
        # button waits as long.
        page.get_by_role("link", name="忘记密码").click()
        with page.expect_response(lambda r: r.url.endswith("/auth/password/forgot")) as answer:
            ask_by_document()
        assert answer.value.status == 429
        expect(page.locator("form:not([hidden]) [data-role=form-error]")).to_have_text(
            re.compile(r"^请求过于频繁，请稍后再试（请 (\d+ 秒|1 分钟)后再试）$"))
        expect(page.get_by_role("button", name=re.compile(r"^获取验证码（.+）$"))).to_have_attribute(
            "aria-disabled", "true")
    assert login(stack, holder.username, NEW_PASSWORD)["identity_verified"] is True


# ------------------------------------------------------------------------------ 我的账户

def test_the_account_page_shows_the_masked_profile_changes_the_phone_and_the_password_and_exports_everything(
        stack: Stack, open_page: Callable[..., Watched], shots: Path) -> None:
    phone, email = a_phone(), f"zhoujiu.{secrets.token_hex(3)}@example.com"
    holder = a_holder(stack, "ACC", phone=phone, email=email)
    w = open_page()
    page = w.page
    w.allow(400, "/me/contact/code")
    w.allow(400, "/me/password")
    page.goto(stack.url("/"))
    log_in(page, holder.username, PASSWORD)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("身份核验")

    # No phone on record for this document: the certificate number and the name on it.
    proof = page.get_by_role("region", name="证书编号核验")
    proof.get_by_label("证书编号").fill(holder.certificate_no)
    expect(proof.get_by_label("姓名")).to_have_value("周九")
    proof.get_by_role("button", name="提交").click()
    accept_the_notice(stack, page)

    page.get_by_role("link", name="我的账户").click()
    expect(heading).to_have_text("我的账户")
    expect(heading).to_be_focused()
    profile = page.get_by_role("region", name="账户信息")
    expect(fact(profile, "用户名")).to_have_text(holder.username)
    expect(fact(profile, "姓名")).to_have_text("周九")
    expect(fact(profile, "证件类型")).to_have_text("居民身份证")
    expect(fact(profile, "证件号码")).to_have_text(mask_id_number(holder.id_number))
    expect(fact(profile, "手机号码")).to_have_text(f"{mask_phone(phone)} 未验证")
    expect(fact(profile, "电子邮箱")).to_have_text(f"{mask_email(email)} 未验证")
    expect(fact(profile, "身份核验")).to_have_text("已核验（证书编号）")
    assert personal_data(page.content()) == []
    assert holder.id_number not in page.content() and email not in page.content()
    assert_accessible_basics(page)
    page.screenshot(path=shots / "account.png", full_page=True)

    # A new phone: the password first (a wrong one is refused next to its field), then the
    # code sent to the new number.
    contact = page.get_by_role("region", name="修改手机号码、电子邮箱")
    contact.get_by_label("电子邮箱", exact=True).check()
    expect(contact.get_by_label("新电子邮箱")).to_have_attribute("type", "email")
    contact.get_by_label("手机号码", exact=True).check()
    new_phone = a_phone()
    contact.get_by_label("新手机号码").fill(new_phone)
    contact_password = contact.get_by_label("当前密码")
    contact_password.fill("Wrong#2026pw")
    contact.get_by_role("button", name="获取验证码", exact=True).click()
    expect(contact_password).to_have_attribute("aria-invalid", "true")
    expect(contact.locator(".field-error:visible")).to_contain_text("还可尝试")
    contact_password.fill(PASSWORD)
    after = mark(stack)
    contact.get_by_role("button", name="获取验证码", exact=True).click()
    expect(contact.locator(".note")).to_have_text(f"验证码已发送至 {mask_phone(new_phone)}，5 分钟内有效。")
    code_field = contact.get_by_label("验证码", exact=True)
    expect(code_field).to_be_focused()
    code_field.fill(next_code(stack, mask_phone(new_phone), after))
    contact.get_by_role("button", name="确认修改").click()
    expect(contact.locator(".form-success")).to_contain_text("手机号码已修改并验证")
    expect(fact(profile, "手机号码")).to_have_text(f"{mask_phone(new_phone)} 已验证")
    expect(contact.get_by_label("新手机号码")).to_have_value("")

    # A new password ends the other sessions; this page goes on with the token it was given.
    elsewhere = login(stack, holder.username, PASSWORD)["access_token"]
    before = token_of(page)
    change = page.get_by_role("region", name="修改密码")
    change.get_by_label("当前密码").fill(PASSWORD)
    change.get_by_label("新密码").fill("weak")
    change.get_by_role("button", name="修改密码").click()
    expect(change.get_by_label("新密码")).to_have_attribute("aria-invalid", "true")
    change.get_by_label("新密码").fill(NEW_PASSWORD)
    change.get_by_role("button", name="修改密码").click()
    expect(change.locator(".form-success")).to_have_text("密码已修改。其他设备上的登录已失效，本设备保持登录。")
    assert token_of(page) != before
    assert status_of(stack, elsewhere) == 401
    assert status_of(stack, token_of(page)) == 200

    # 个人信息导出: everything held about the holder, as a JSON file, with no full ID or phone number.
    with page.expect_download() as download:
        page.get_by_role("button", name="导出个人信息").click()
    saved = download.value
    assert saved.suggested_filename == f"个人信息导出-{holder.username}.json"
    text = Path(saved.path()).read_text(encoding="utf-8")
    data = json.loads(text)
    assert set(data) == {"account", "certificates", "annotations", "verifications"}
    assert data["account"]["username"] == holder.username
    assert [c["certificate_no"] for c in data["certificates"]] == [holder.certificate_no]
    assert personal_data(text) == [] and holder.id_number not in text


def test_logging_out_everywhere_and_deleting_the_account_from_the_account_page(
        stack: Stack, open_page: Callable[..., Watched]) -> None:
    holder = a_holder(stack, "DEL")
    proven_session(stack, holder)
    elsewhere = login(stack, holder.username, PASSWORD)["access_token"]
    w = open_page()
    page = w.page
    w.allow(400, r"/me")
    page.goto(stack.url("/#/account"))
    log_in(page, holder.username, PASSWORD)  # the notice, then where the holder was going
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("我的账户")

    page.get_by_role("button", name="退出所有设备").click()
    expect(heading).to_have_text("持证人登录")
    expect(page.locator("[data-role=form-status]")).to_have_text("已在所有设备上退出登录，请重新登录。")
    assert status_of(stack, elsewhere) == 401
    log_in(page, holder.username, PASSWORD)
    page.get_by_role("link", name="我的账户").click()

    deletion = page.get_by_role("region", name="注销账号")
    password = deletion.get_by_label("当前密码")
    delete = deletion.get_by_role("button", name="注销账号")
    dialog = page.get_by_role("dialog", name="确认注销账号")
    delete.click()
    expect(deletion.locator(".field-error")).to_have_text("请输入当前密码")
    expect(dialog).to_be_hidden()

    # A confirmation first, its safe button focused; Escape closes it and nothing happens.
    password.fill("Wrong#2026pw")
    delete.click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="取消")).to_be_focused()
    assert_accessible_basics(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    delete.click()
    dialog.get_by_role("button", name="确认注销").click()
    expect(dialog).to_be_hidden()
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(deletion.locator(".field-error")).to_contain_text("密码不正确")

    password.fill(PASSWORD)
    delete.click()
    with page.expect_response(lambda r: r.request.method == "DELETE") as answer:
        dialog.get_by_role("button", name="确认注销").click()
    assert answer.value.status == 204
    expect(heading).to_have_text("持证人登录")
    expect(page.locator("[data-role=form-status]")).to_contain_text("账号已注销")
    assert page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") is None
    r = requests.post(stack.url("/auth/login"), json={"username": holder.username, "password": PASSWORD}, timeout=10)
    assert r.status_code == 401, r.text
    # The ID document is free to register again; the certificate record stayed.
    again = register(stack, username=f"del2_{secrets.token_hex(3)}", password=PASSWORD, name="周九",
                     id_type="resident_id", id_number=holder.id_number)
    assert again.status_code == 201, again.text
    proven_session(stack, holder, again.json()["username"])


def test_the_new_screens_work_on_a_375_px_wide_screen(stack: Stack, open_page: Callable[..., Watched]) -> None:
    holder = a_holder(stack, "NAR")
    page = open_page(width=375, height=812).page
    page.goto(stack.url("/#/password"))
    expect(page.get_by_role("heading", level=1)).to_have_text("忘记密码")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.goto(stack.url("/#/login"))
    log_in(page, holder.username, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("身份核验")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible_basics(page)
    page.get_by_role("link", name="我的账户").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的账户")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible_basics(page)
