"""Issue 15's front end in Debian's Chromium: the English interface (and its key parity with the
Chinese one), the bilingual copy's choice, one session for the browser's tabs, the expiry
warning and a timed-out session that keeps the form, 已用 3/3, all of a form's errors at once,
375 px without broken tokens, Escape, and axe-core with zero violations on every screen in both
languages. axe-core comes from npm (package-lock.json) and reaches the page only through
Playwright's routing, at a test-only address: the app never serves it.
"""

from __future__ import annotations

import re
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e import test_browser as web
from tests.e2e.helpers import accepted_session, auth, certificates
from tests.e2e.test_browser import (
    DEMO,
    TOKEN_KEY,
    Watched,
    certificate_card,
    holder_with_an_e_certificate,
    log_in,
    submit_application,
)

browser, open_page, shots = web.browser, web.open_page, web.shots  # test_browser's fixtures, used here too

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
WEB = ROOT / "chalicelib" / "web"


def axe_violations(page: Page) -> list[str]:
    """axe-core's violations (WCAG 2.x A/AA) on the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make web-deps` (npm ci)")
    page.route("**/__test-only__/axe.min.js", lambda route: route.fulfill(path=str(AXE),
                                                                         content_type="text/javascript"))
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url="/__test-only__/axe.min.js")
    found = page.evaluate("""async () => {
        const tags = ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'];
        const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
        return r.violations.map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '));
    }""")
    return list(found)


def english(page: Page) -> None:
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


VERIFIER_SOURCES = ("verify.js", "verify-batch.js", "verify.html")


def keys_used(source: Path) -> set[str]:
    text = source.read_text(encoding="utf-8")
    used = set(re.findall(r'\bt\("([a-z_]+\.[a-z_.]+)"', text))
    used |= set(re.findall(r'data-i18n(?:-attr)?="(?:[a-z-]+:)?([a-z_]+\.[a-z_]+)"', text))
    return used


def test_every_key_exists_in_both_languages_and_every_key_the_code_uses_exists(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    page = open_page().page
    loaded: list[str] = []
    page.on("request", lambda r: loaded.append(r.url.rsplit("/", 1)[-1]) if "/static/strings" in r.url else None)
    page.goto(stack.url("/verify"))
    expect(page.get_by_role("heading", level=1)).to_have_text("证书查验")
    # Each page loads the texts both use and its own, never the other page's.
    assert sorted(loaded) == ["strings-en.js", "strings-verify-en.js", "strings-verify-zh.js", "strings-zh.js"]
    keys = page.evaluate("""async () => {
        const parts = {};
        for (const [part, prefix] of [['shared', ''], ['holder', 'holder-'], ['verify', 'verify-']]) {
            parts[part] = {
                zh: Object.keys((await import(`/static/strings-${prefix}zh.js`)).default),
                en: Object.keys((await import(`/static/strings-${prefix}en.js`)).default),
            };
        }
        return parts;
    }""")
    for part in keys.values():
        assert sorted(set(part["zh"]) - set(part["en"])) == []
        assert sorted(set(part["en"]) - set(part["zh"])) == []
    shared, holder, verifier = (set(keys[part]["zh"]) for part in ("shared", "holder", "verify"))
    assert not (shared & holder) and not (shared & verifier) and not (holder & verifier)
    sources = [*WEB.glob("*.js"), WEB / "index.html", WEB / "verify.html"]
    for source in sources:
        if source.name.startswith(("strings-", "jsQR")):
            continue
        available = shared | (verifier if source.name in VERIFIER_SOURCES else holder)
        assert sorted(keys_used(source) - available) == [], source.name


def copy_text(stack: Any, page: Page, annotation_id: str) -> str:
    """The copy's text as pdftotext reads it, downloaded with the page's own session."""
    token = page.evaluate(f"localStorage.getItem({TOKEN_KEY!r})")
    link = requests.get(stack.url(f"/annotations/{annotation_id}/file"), headers={"Authorization": f"Bearer {token}"},
                        timeout=10).json()["url"]
    pdf = requests.get(link, timeout=10).content
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True,
                          timeout=30).stdout.decode("utf-8")


def test_the_whole_journey_in_english_with_a_bilingual_copy(stack: Any, open_page: Callable[..., Watched],
                                                            shots: Path) -> None:
    holding = holder_with_an_e_certificate(stack, "ENG")
    w = open_page()
    page = w.page
    page.goto(stack.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("持证人登录")
    english(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Holder sign-in")
    assert axe_violations(page) == []
    # Remembered: a reload stays English.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Holder sign-in")
    page.screenshot(path=shots / "en-login.png", full_page=True)
    page.get_by_label("Username").fill(holding.username)
    page.get_by_label("Password", exact=True).fill(holding.password)
    with page.expect_request(lambda r: r.url.endswith("/auth/login")) as login:
        page.get_by_role("button", name="Sign in", exact=True).click()
    assert login.value.headers.get("accept-language") == "en"
    heading = page.get_by_role("heading", level=1)
    expect(heading).not_to_have_text("Holder sign-in")
    if page.get_by_role("button", name="Accept").count():
        assert axe_violations(page) == []
        page.get_by_role("button", name="Accept").click()
    expect(heading).to_have_text("My certificates")
    card = certificate_card(page, holding.certificate_no)
    expect(card.locator(".tag")).to_have_text("E-certificate")
    card.get_by_role("button", name=re.compile("^Certificate details")).click()
    assert axe_violations(page) == []
    card.get_by_role("link", name=re.compile("^Download:")).click()
    expect(page.locator(".meter-text")).to_have_text("Used 0/3")
    page.get_by_role("button", name="Apply for an annotated copy").click()
    page.get_by_label("Chinese and English").check()
    assert axe_violations(page) == []
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/annotations")) as posted:
        page.get_by_role("button", name="Submit application").click()
    request_body = posted.value.request.post_data_json
    assert request_body["language"] == "zh-en"
    assert posted.value.status == 202, posted.value.text()
    annotation_id = posted.value.json()["annotation_id"]
    item = page.locator(f'li[data-annotation-id="{annotation_id}"]')
    # Focus moves to the new copy's status.
    expect(item.locator("[data-role=status]")).to_be_focused()
    expect(item.get_by_role("button", name=re.compile("^View:"))).to_be_visible()
    expect(item.locator(".badge")).to_have_text("Ready")
    expect(item).to_contain_text("(Beijing time)")
    assert axe_violations(page) == []
    page.screenshot(path=shots / "en-certificate.png", full_page=True)
    # The bilingual copy itself: the source's Chinese labels, each with its English one.
    text = copy_text(stack, page, annotation_id)
    labels = (("资格名称", "Qualification"), ("证书编号", "Certificate No"), ("验证码", "Verification"))
    for chinese, english_label in labels:  # the Chinese labels are spread over their column, as on a form
        assert chinese in text.replace(" ", "") and english_label in text, (chinese, english_label)
    code = item.locator(".verification-code").inner_text()
    page.locator("#account").get_by_role("link", name="My account").click()
    expect(heading).to_have_text("My account")
    assert axe_violations(page) == []

    verifier = open_page().page
    verifier.goto(stack.url(f"/verify?code={code}"))
    expect(verifier.locator("html")).to_have_attribute("lang", "zh-CN")
    english(verifier)
    expect(verifier.locator("#result .badge")).to_have_text("Valid")
    expect(verifier.get_by_role("heading", level=1)).to_have_text("Verify a certificate")
    assert axe_violations(verifier) == []
    verifier.screenshot(path=shots / "en-verify-result.png", full_page=True)


def test_both_pages_have_no_axe_violations_in_chinese(stack: Any, open_page: Callable[..., Watched]) -> None:
    page = open_page().page
    page.goto(stack.url("/"))
    assert axe_violations(page) == []
    page.get_by_role("link", name="用户注册").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户注册")
    assert axe_violations(page) == []
    page.goto(stack.url("/#/login"))
    log_in(page, DEMO.username, DEMO.password)
    assert axe_violations(page) == []
    certificate_card(page, DEMO.certificate_no).get_by_role("link", name=re.compile("^下载：")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("注册测绘师")
    assert axe_violations(page) == []
    page.goto(stack.url("/verify"))
    assert axe_violations(page) == []
    names = page.evaluate("""() => [...document.querySelectorAll(
        'main, nav, header, footer, section[aria-labelledby], [role=region]')]
        .map(el => el.getAttribute('aria-label') || (el.getAttribute('aria-labelledby') &&
             document.getElementById(el.getAttribute('aria-labelledby'))?.textContent) || el.tagName)""")
    assert len(names) == len(set(names)), names


def test_a_second_tab_is_signed_in_and_logout_in_one_logs_out_both(
        stack: Any, open_page: Callable[..., Watched], browser: Any) -> None:
    w = open_page()
    page = w.page
    w.allow(401, "/auth/logout")
    page.goto(stack.url("/"))
    log_in(page, DEMO.username, DEMO.password)
    second = page.context.new_page()
    second.goto(stack.url("/#/certificates"))
    expect(second.get_by_role("heading", level=1)).to_have_text("持证人查询下载")
    page.get_by_role("button", name="退出登录").click()
    expect(second.get_by_role("heading", level=1)).to_have_text("持证人登录")
    assert second.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") is None


def test_a_timed_out_session_keeps_the_form_and_returns_to_it_and_the_warning_renews(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    holding = holder_with_an_e_certificate(stack, "TMO")
    w = open_page()
    page = w.page
    w.allow(401, r"/certificates/[^/]+/annotations")
    page.clock.install()
    page.goto(stack.url("/"))
    log_in(page, holding.username, holding.password)
    # Five minutes before the 2-hour token ends, the warning; 继续 renews it through /auth/refresh.
    page.clock.fast_forward("01:55:30")
    dialog = page.locator("#session-warning")
    expect(dialog).to_be_visible()
    with page.expect_response(lambda r: r.url.endswith("/auth/refresh")) as renewed:
        dialog.get_by_role("button", name="继续").click()
    assert renewed.value.status == 200
    expect(dialog).to_be_hidden()

    certificate_card(page, holding.certificate_no).get_by_role("link", name=re.compile("^下载：")).click()
    page.get_by_role("button", name="申请证书加注").click()
    page.get_by_label("加注有效期（天）").fill("30")
    with stack.clock_moved(13 * 3600):  # past the token's life on the server's clock
        page.get_by_role("button", name="提交加注申请").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("持证人登录")
        expect(page.locator("[data-role=form-error]")).to_contain_text("登录已超时")
        log_in(page, holding.username, holding.password)
        expect(page.get_by_role("heading", level=1)).to_have_text(holding.qualification + " 一级")
        expect(page.get_by_label("加注有效期（天）")).to_have_value("30")


def test_quota_full_multi_errors_escape_and_375px(stack: Any, open_page: Callable[..., Watched]) -> None:
    holding = holder_with_an_e_certificate(stack, "FUL")
    w = open_page(width=375, height=812)
    page = w.page
    w.allow(400, "/auth/register")
    page.goto(stack.url("/#/register"))
    page.get_by_role("button", name="注册", exact=True).click()
    # Every missing field at once, next to it; the first focused.
    for field in ("username", "password", "name", "id-number"):
        expect(page.locator(f"#reg-{field}-error")).to_be_visible()
    expect(page.get_by_label("用户名")).to_be_focused()
    page.goto(stack.url("/#/login"))
    log_in(page, holding.username, holding.password)
    certificate_card(page, holding.certificate_no).get_by_role("link", name=re.compile("^下载：")).click()
    for _ in range(3):
        page.get_by_role("button", name="申请证书加注").click()
        answer = submit_application(page)
        assert answer.status == 202
        expect(page.locator(f'li[data-annotation-id="{answer.json()["annotation_id"]}"] .badge')).to_have_text("已完成")
    expect(page.locator(".meter-text")).to_have_text("已用 3/3")
    apply = page.get_by_role("button", name="申请证书加注")
    expect(apply).to_be_disabled()
    expect(page.locator(".apply .note")).to_contain_text("起可再次申请")
    # Escape closes the withdraw confirmation and gives focus back.
    item = page.locator("li.annotation").first
    withdraw = item.get_by_role("button", name=re.compile("^撤回："))
    withdraw.click()
    expect(item.get_by_role("button", name="确认撤回")).to_be_focused()
    page.keyboard.press("Escape")
    expect(item.get_by_role("button", name="确认撤回")).to_be_hidden()
    expect(withdraw).to_be_focused()
    # 375 px: nothing wider than the screen, and no token broken over two lines.
    item.locator("summary").first.click() if not item.locator("details").first.get_attribute("open") else None
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    broken = page.evaluate("""() => [...document.querySelectorAll('.token, .verification-code')]
        .filter(el => el.getClientRects().length > 1).map(el => el.textContent)""")
    assert broken == []


def test_a_timeout_in_one_tab_shows_the_timeout_in_the_other_which_keeps_its_form(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    holding = holder_with_an_e_certificate(stack, "TWO")
    w = open_page()
    first = w.page
    w.allow(401, "/me")
    first.goto(stack.url("/"))
    log_in(first, holding.username, holding.password)
    second = first.context.new_page()
    second.goto(stack.url("/#/certificates"))
    certificate_card(second, holding.certificate_no).get_by_role("link", name=re.compile("^下载：")).click()
    second.get_by_role("button", name="申请证书加注").click()
    second.get_by_label("加注有效期（天）").fill("30")
    # The session ends on the server; the first tab learns it on its next request and times out
    # (as its clock would), the second tab only through the `storage` event.
    token = first.evaluate(f"localStorage.getItem({TOKEN_KEY!r})")
    assert requests.post(stack.url("/auth/logout"), headers={"Authorization": f"Bearer {token}"},
                         timeout=10).status_code == 204
    first.reload()  # GET /me: 401
    expect(first.locator("[data-role=form-error]")).to_contain_text("登录已超时")
    expect(second.get_by_role("heading", level=1)).to_have_text("持证人登录")
    expect(second.locator("[data-role=form-error]")).to_have_text("登录已超时，请重新登录。您填写的内容已保留。")
    expect(second.locator("[data-role=form-status]")).to_be_hidden()  # not 您已在其他标签页退出登录
    log_in(second, holding.username, holding.password)
    expect(second.get_by_role("heading", level=1)).to_have_text(holding.qualification + " 一级")
    expect(second.get_by_label("加注有效期（天）")).to_have_value("30")
    # A logout, by contrast, is a logout in every tab, and what the forms held is gone.
    second.get_by_role("button", name="退出登录").click()
    expect(first.get_by_role("heading", level=1)).to_have_text("持证人登录")
    expect(first.locator("[data-role=form-status]")).to_have_text("您已在其他标签页退出登录。")
    expect(first.locator("[data-role=form-error]")).to_be_hidden()


def test_a_tab_follows_when_another_tab_signs_in_as_someone_else(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    holding = holder_with_an_e_certificate(stack, "SWI")
    accepted_session(stack, DEMO.username, DEMO.password)  # the notice is accepted: the sign-in lands on the list
    w = open_page()
    first = w.page
    first.goto(stack.url("/"))
    log_in(first, holding.username, holding.password)
    second = first.context.new_page()
    second.goto(stack.url("/#/certificates"))
    certificate_card(second, holding.certificate_no).get_by_role("link", name=re.compile("^下载：")).click()
    expect(second.get_by_role("heading", level=1)).to_have_text(holding.qualification + " 一级")
    assert second.evaluate("localStorage.getItem('certificates.user')") == holding.username
    # The first tab signs in as 张三 (a login racing the other tab's, as the page itself makes it).
    first.evaluate("""async ([username, password]) => {
        const { logIn } = await import('/static/screen-login.js');
        await logIn(username, password);
    }""", [DEMO.username, DEMO.password])
    expect(first.locator("#account-name")).to_have_text(DEMO.holder_name)
    # The second tab no longer shows 周九's certificate: it starts over as 张三.
    expect(second.get_by_role("heading", level=1)).to_have_text("持证人查询下载")
    expect(second.locator("#account-name")).to_have_text(DEMO.holder_name)
    expect(certificate_card(second, DEMO.certificate_no)).to_be_visible()
    expect(second.get_by_text(holding.certificate_no)).to_have_count(0)
    assert second.evaluate("localStorage.getItem('certificates.user')") == DEMO.username


def test_a_result_shown_in_chinese_is_redrawn_in_english_scenario_and_not_found_message_included(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    holding = holder_with_an_e_certificate(stack, "VLG")
    token = accepted_session(stack, holding.username, holding.password)
    cert = certificates(stack, token)[holding.certificate_no]
    r = requests.post(stack.url(f"/certificates/{cert['certificate_id']}/annotations"), headers=auth(token),
                      json={"scenario": "self_use", "validity_days": 30}, timeout=10)
    assert r.status_code == 202, r.text
    annotation_id = r.json()["annotation_id"]
    deadline = time.monotonic() + 15
    while (copy := requests.get(stack.url(f"/annotations/{annotation_id}"), headers=auth(token),
                                timeout=5).json())["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert copy["status"] == "ready", copy
    w = open_page()
    page = w.page
    w.allow(404, r"/verify/[A-Z0-9-]+")
    verifications = []
    page.on("request", lambda r: verifications.append(r.url) if "/verify/" in r.url else None)
    page.goto(stack.url(f"/verify?code={copy['verification_code']}"))
    result = page.locator("#result")
    expect(result.locator(".badge")).to_have_text("有效")
    expect(result).to_contain_text("本人调用")
    english(page)
    expect(result.locator(".badge")).to_have_text("Valid")
    expect(result).to_contain_text("Self use")  # the API's English name (GET /scenarios)
    expect(result).not_to_contain_text("本人调用")
    assert len(verifications) == 1, verifications  # redrawn, not checked again (the holder's log counts checks)

    page.get_by_role("button", name="中文").click()
    page.get_by_label("验证码", exact=True).fill("ZZZZ-ZZZZ-ZZZZ-ZZZ8")
    page.get_by_role("button", name="查验", exact=True).click()
    expect(result).to_contain_text("未找到该验证码对应的加注件")
    english(page)
    expect(result.locator(".badge")).to_have_text("Not found")
    expect(result).to_contain_text("No annotated copy or certificate electronic file has this verification code")
    expect(result).not_to_contain_text("未找到该验证码")


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_other_screens_have_no_axe_violations_in_either_language(
        stack: Any, open_page: Callable[..., Watched], language: str) -> None:
    """Beyond the journeys above: the forgotten password, a register form showing its errors, a
    new account's identity proof, the e-file's card, the account page, the verifier's batch and the
    404 page, in Chinese and in English."""
    from tests.e2e.helpers import a_resident_id, register

    page = open_page().page
    page.goto(stack.url("/#/password"))
    if language == "en":
        english(page)
    expect(page.locator("main h1")).to_be_visible()
    assert axe_violations(page) == [], "password"
    page.goto(stack.url("/#/register"))
    page.locator("form button[type=submit]").click()  # an empty form: every field's error at once
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    assert axe_violations(page) == [], "register errors"

    username = f"axe_{language}_{secrets.token_hex(3)}"
    assert register(stack, username=username, password="Axe#2026pw", name="孙八", id_type="resident_id",
                    id_number=a_resident_id()).status_code == 201
    page.goto(stack.url("/#/login"))
    page.locator("input[autocomplete=username]").fill(username)
    page.locator("input[type=password]").fill("Axe#2026pw")
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/(notice|identity)$"))
    if page.url.endswith("#/notice"):
        assert axe_violations(page) == [], "notice"
        page.locator("main button.btn-primary").first.click()
    expect(page).to_have_url(re.compile(r"#/identity$"))
    assert axe_violations(page) == [], "identity"

    page.evaluate("localStorage.clear()")
    page.goto(stack.url("/#/login"))
    if language == "en":
        english(page)
    page.locator("input[autocomplete=username]").fill(DEMO.username)
    page.locator("input[type=password]").fill(DEMO.password)
    page.locator("form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"#/(notice|certificates)$"))
    if page.url.endswith("#/notice"):
        page.locator("main button.btn-primary").first.click()
    expect(certificate_card(page, DEMO.certificate_no)).to_be_visible()
    assert axe_violations(page) == [], "certificates with the e-file"
    page.goto(stack.url("/#/account"))
    expect(page.locator("main h1")).to_be_visible()
    assert axe_violations(page) == [], "account"

    verifier = open_page().page
    verifier.goto(stack.url("/verify"))
    if language == "en":
        english(verifier)
    verifier.locator("#batch-codes").fill("AAAA-BBBB-CCCC-DDDD\nnot a code")
    verifier.locator("#batch-form button[type=submit]").click()
    expect(verifier.locator("#batch-rows tr")).to_have_count(4)  # "not a code" is three tokens
    assert axe_violations(verifier) == [], "batch"

    watched = open_page()
    watched.allow(404, "/no-such-page")  # the point of this page
    watched.allow(404, "/favicon.ico")  # which the browser asks for, on its own, for a page without one
    missing = watched.page
    missing.set_extra_http_headers({"Accept-Language": "en" if language == "en" else "zh-CN"})
    missing.goto(stack.url("/no-such-page"))
    expect(missing.locator("h1")).to_be_visible()
    assert axe_violations(missing) == [], "404"
