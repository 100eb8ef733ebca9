"""The two web pages in a real browser - Debian's Chromium driven by Playwright - against the
local stack: registration up to the identity proof, the certificate list, applying for a copy
and watching 证书生成中… turn into 查看 / 下载 without a reload, the files, the verifier's page,
a 401 sending the holder back to the login form, and an expired copy. The proof itself, the
password reset and the account page are in test_browser_accounts.py.

Every page is watched for console errors, uncaught exceptions and CSP violations. The only
console lines tolerated are Chromium's "Failed to load resource" notes for API refusals a
test provokes on purpose (a 401 after logout, the 404 of an unknown code, ...), each one
declared by the test that expects it.

Screenshots of the main screens go to a temporary folder; with DOCS_SCREENSHOTS=1 they are
written to docs/screenshots/ instead (kept out of ordinary runs so that a test run never
dirties the work tree).
"""

from __future__ import annotations

import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect, sync_playwright

from chalicelib.domain.identity import mask_id_number
from tests.e2e.helpers import HEADER, a_resident_id, auth, drop, login, prove, register, row

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing (apt-get install -y chromium)")

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# Far from Beijing on purpose: every time the page shows must still be Beijing time.
BROWSER_TZ = "America/Los_Angeles"
FAILED_RESOURCE = re.compile(r"Failed to load resource: the server responded with a status of (\d{3})")
TOKEN_KEY = "certificates.access_token"

expect.set_options(timeout=15_000)


# ------------------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        return DOCS
    return tmp_path_factory.mktemp("screenshots")


class Watched:
    """A page whose console errors, uncaught exceptions and CSP violations are collected."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.problems: list[str] = []
        self.allowed: list[tuple[int, re.Pattern[str]]] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught: {error}"))
        # Chromium also logs violations to the console; this makes them impossible to miss.
        page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                             "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI));")

    def allow(self, status: int, path: str) -> None:
        """Tolerate Chromium's console note for one API refusal this test provokes."""
        self.allowed.append((status, re.compile(path)))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        failed = FAILED_RESOURCE.search(message.text)
        if failed:
            path = urlsplit(message.location.get("url", "")).path
            if any(int(failed.group(1)) == status and pattern.fullmatch(path) for status, pattern in self.allowed):
                return
        self.problems.append(f"console: {message.text} at {message.location.get('url')}")


@pytest.fixture
def open_page(browser: Browser, stack: Any) -> Iterator[Callable[..., Watched]]:
    """Pages in fresh browser contexts; at the end, none may have logged a problem."""
    contexts = []
    watched: list[Watched] = []

    def make(width: int = 1280, height: int = 900) -> Watched:
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                      timezone_id=BROWSER_TZ, accept_downloads=True)
        contexts.append(context)
        page = Watched(context.new_page(), stack.base)
        watched.append(page)
        return page

    yield make
    problems = [p for w in watched for p in w.problems]
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------ helpers

def beijing_minutes(iso: str) -> str:
    """'2026-11-23T15:52:07+08:00' as the page shows it: '2026-11-23 15:52'."""
    assert iso.endswith("+08:00"), iso
    return iso[:16].replace("T", " ")


def log_in(page: Page, username: str, password: str) -> None:
    """Through the login form; accepts the notice when it is shown."""
    expect(page.get_by_role("heading", level=1)).to_have_text("持证人登录")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录", exact=True).click()
    heading = page.get_by_role("heading", level=1)
    expect(heading).not_to_have_text("持证人登录")
    if page.get_by_role("button", name="同意").count():
        page.get_by_role("button", name="同意").click()
    expect(heading).not_to_have_text("服务须知")


def certificate_card(page: Page, certificate_no: str) -> Any:
    return page.locator(f'article[data-certificate-no="{certificate_no}"]')


def record_announcements(page: Page) -> None:
    """Keep every text the live region announces (it is cleared between messages) and
    every state badge the list of copies shows, however briefly."""
    page.evaluate("""() => {
        window.__announced = [];
        window.__badges = [];
        const announcer = document.getElementById('announcer');
        new MutationObserver(() => {
            if (announcer.textContent) window.__announced.push(announcer.textContent);
        }).observe(announcer, {childList: true, characterData: true, subtree: true});
        new MutationObserver(() => {
            for (const b of document.querySelectorAll('.annotation-list .badge')) window.__badges.push(b.textContent);
        }).observe(document.getElementById('view'), {childList: true, subtree: true});
        window.__sameDocument = true;
    }""")


def announced(page: Page) -> list[str]:
    return list(page.evaluate("window.__announced"))


def unlabelled_controls(page: Page) -> list[str]:
    return list(page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter(el => el.type !== 'hidden' && !(el.labels && el.labels.length)).map(el => el.outerHTML)"""))


def low_contrast(page: Page) -> list[Any]:
    """Visible text under the WCAG AA ratio of 4.5:1 among the page's typical elements."""
    return list(page.evaluate("""() => {
        const channels = c => c.match(/[\\d.]+/g).map(Number);
        const luminance = c => { const [r, g, b] = channels(c).slice(0, 3).map(v => { v /= 255;
            return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
            return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
        const background = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
            const v = channels(c); if (v.length < 4 || v[3] > 0.5) return c; } return 'rgb(255, 255, 255)'; };
        const selectors = ['h1', 'h2', 'p', 'label', 'dt', 'dd', '.badge', '.tag', '.btn', '.hint', '.lead',
                           '.field-error', '.form-message', '.site-nav a', '.brand-sub', 'summary', 'td', 'th'];
        const bad = [];
        for (const el of document.querySelectorAll(selectors.join(','))) {
            if (!el.getClientRects().length || !el.textContent.trim()) continue;
            const a = luminance(getComputedStyle(el).color), b = luminance(background(el));
            const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
            const what = [el.className || el.tagName, el.textContent.trim().slice(0, 20), ratio.toFixed(2)];
            if (ratio < 4.5) bad.push(what);
        }
        return bad;
    }"""))


def assert_accessible_basics(page: Page) -> None:
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    for role in ("banner", "navigation", "main", "contentinfo"):
        assert page.get_by_role(role).count() >= 1, role  # type: ignore[arg-type]
    assert unlabelled_controls(page) == []
    assert low_contrast(page) == []


def fetch_pdf(url: str, disposition: str) -> bytes:
    r = requests.get(url, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/pdf"
    assert r.headers["Content-Disposition"].startswith(disposition)
    assert r.content.startswith(b"%PDF")
    return r.content


def open_and_check_inline_pdf(page: Page, button: Any, path: str) -> None:
    """查看: the page asks for an inline link, then opens it in a new tab."""
    with page.expect_response(re.compile(path + r"\?disposition=inline$")) as link, page.expect_popup() as popup:
        button.click()
    url = link.value.json()["url"]
    assert popup.value.url == url
    fetch_pdf(url, "inline")
    popup.value.close()


def download_and_check_pdf(page: Page, button: Any) -> str:
    """下载: the page navigates to an attachment link; the browser saves the file and stays."""
    before = page.url
    with page.expect_download() as download:
        button.click()
    saved = download.value
    assert saved.suggested_filename.endswith(".pdf")
    assert Path(saved.path()).read_bytes().startswith(b"%PDF")
    assert page.url == before
    return saved.suggested_filename


@dataclass(frozen=True)
class Holding:
    """A holder's login and what the pages must show about their e-certificate."""

    username: str
    password: str
    certificate_no: str
    qualification: str
    holder_name: str
    id_number_masked: str
    issued_on: str
    issuer: str


DEMO = Holding("demo", "Demo#2026", "CH20231100123", "注册测绘师", "张三", "110105********451X", "2023-12-20",
               "北京市人力资源和社会保障局")


def a_birth_date() -> str:
    return f"19{secrets.randbelow(30) + 70}{secrets.randbelow(9) + 1:02d}{secrets.randbelow(18) + 10}"


def holder_with_an_e_certificate(stack: Any, prefix: str) -> Holding:
    """A holder of their own with one fresh e-certificate, loaded through a batch file as an
    issuing authority would load it, so that no other test shares its quota; registered and
    proven by that certificate's number and the name on it, as a holder without a phone on
    record proves."""
    id_number = a_resident_id(a_birth_date())
    tag = secrets.token_hex(3).upper()
    number = f"{prefix}{tag}"
    drop(stack, f"browser-{tag}.csv", HEADER + row(number, id_number))
    holding = Holding(f"{prefix.lower()}_{tag.lower()}", "Browser#2026pw", number, "注册造价工程师", "周九",
                      mask_id_number(id_number), "2024-03-01", "住房和城乡建设部")
    r = register(stack, username=holding.username, password=holding.password, name=holding.holder_name,
                 id_type="resident_id", id_number=id_number)
    assert r.status_code == 201, r.text
    prove(stack, login(stack, holding.username, holding.password)["access_token"], (number, holding.holder_name))
    return holding


def submit_application(page: Page) -> Any:
    """提交加注申请 and the API's answer to it."""
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/annotations")) as posted:
        page.get_by_role("button", name="提交加注申请").click()
    return posted.value


def watch_it_become_ready(page: Page, annotation_id: str) -> Locator:
    """证书生成中… is shown and announced, then replaced by the ready copy's 查看 / 下载 in the
    same document (no reload); the copy's list item."""
    item = page.locator(f'li[data-annotation-id="{annotation_id}"]')
    expect(item.get_by_role("button", name=re.compile("^查看："))).to_be_visible()
    expect(item.get_by_role("button", name=re.compile("^下载："))).to_be_visible()
    assert page.evaluate("window.__sameDocument") is True
    assert "证书生成中…" in page.evaluate("window.__badges")
    # (Polled from here: wait_for_function would evaluate a string in the page, which its CSP forbids.)
    deadline = time.monotonic() + 5
    while not any("加注件已生成" in text for text in announced(page)):
        assert time.monotonic() < deadline, announced(page)
        page.wait_for_timeout(50)
    said = announced(page)
    assert any("证书生成中…" in text for text in said), said
    expect(item.locator(".badge")).to_have_text("已完成")
    expect(page.locator(".quota .badge")).to_have_text("已完成")
    return item


# ------------------------------------------------------------------------------ tests

def test_the_pages_and_their_files_are_served_with_the_security_headers(stack: Any) -> None:
    csp = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
           f"frame-src {stack.aws}; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    for path in ("/", "/verify", "/verify?code=ABCD-EFGH-JKLM-NPQR"):
        r = requests.get(stack.url(path), timeout=5)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "text/html; charset=utf-8"
        assert r.headers["Content-Security-Policy"] == csp
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert '<html lang="zh-CN">' in r.text
        assert "<style" not in r.text and " style=" not in r.text and "<script>" not in r.text
        assert "ABCD" not in r.text  # the code is read by the script, never echoed
    types = {"app.css": "text/css", "icon.svg": "image/svg+xml",
             **{name: "text/javascript" for name in ("holder.js", "verify.js", "api.js", "dom.js", "format.js",
                                                     "view.js", "identity.js", "password.js", "account.js")}}
    for name, content_type in types.items():
        r = requests.get(stack.url(f"/static/{name}"), timeout=5)
        assert r.status_code == 200, name
        assert r.headers["Content-Type"].startswith(content_type)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        again = requests.get(stack.url(f"/static/{name}"), headers={"If-None-Match": r.headers["ETag"]}, timeout=5)
        assert again.status_code == 304 and not again.content
    for name in ("index.html", "pages.py", "..%2Fapi%2Fpages.py", "holder.js.map", "APP.CSS"):
        r = requests.get(stack.url(f"/static/{name}"), timeout=5)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", name


def test_a_new_holder_registers_through_the_page_and_must_prove_the_id_document_before_anything_else(
        stack: Any, open_page: Callable[..., Watched], shots: Path) -> None:
    w = open_page()
    page = w.page
    w.allow(400, "/auth/register")
    w.allow(409, "/auth/register")
    w.allow(400, "/me/identity")
    w.allow(403, "/certificates")
    page.goto(stack.url("/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("持证人登录")
    assert_accessible_basics(page)
    page.screenshot(path=shots / "login.png", full_page=True)

    page.get_by_role("link", name="用户注册").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("用户注册")
    assert_accessible_basics(page)
    options = page.get_by_label("证件类型").locator("option").all_inner_texts()
    assert options == ["居民身份证", "港澳居民来往内地通行证", "台湾居民来往大陆通行证", "护照", "外国人永久居留身份证"]
    username = f"web_{secrets.token_hex(4)}"
    id_number = a_resident_id(a_birth_date())
    wrong = id_number[:-1] + ("1" if id_number[-1] != "1" else "2")
    page.get_by_label("用户名").fill("demo")
    page.get_by_label("密码").fill("Fresh#2026pw")
    page.get_by_label("姓名").fill("孙八")
    page.get_by_label("证件类型").select_option("resident_id")
    page.get_by_label("证件号码").fill(id_number)
    page.get_by_role("button", name="注册", exact=True).click()
    # Each refusal is the server's message next to the field it concerns, the field marked invalid.
    name_field = page.get_by_label("用户名")
    expect(page.locator("#reg-username-error")).to_have_text("用户名已被使用")
    expect(name_field).to_have_attribute("aria-invalid", "true")
    expect(name_field).to_be_focused()
    name_field.fill(username)
    id_field = page.get_by_label("证件号码")
    id_field.fill(wrong)
    page.get_by_role("button", name="注册", exact=True).click()
    expect(page.locator("#reg-id-number-error")).to_contain_text("证件号码不正确")
    expect(page.locator("#reg-username-error")).to_be_hidden()
    expect(id_field).to_have_attribute("aria-invalid", "true")
    expect(id_field).to_be_focused()

    id_field.fill(id_number)
    page.get_by_label("手机号码").fill("")
    page.get_by_role("button", name="注册", exact=True).click()
    # Registered and logged in: knowing an ID number proves nothing, so the identity proof comes
    # first - before the notice, and for an ID document with no certificate as for any other.
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("身份核验")
    expect(heading).to_be_focused()
    expect(page.locator("#account-name")).to_have_text("孙八")
    sms = page.get_by_role("region", name="短信验证码核验")
    by_certificate = page.get_by_role("region", name="证书编号核验")
    expect(by_certificate.get_by_label("姓名")).to_have_value("孙八")
    assert_accessible_basics(page)
    page.screenshot(path=shots / "identity.png", full_page=True)

    # The answer never tells whether a phone is on record: the page says where a code went if one did.
    sms.get_by_role("button", name="获取验证码").click()
    expect(sms.locator(".note")).to_contain_text(
        "如证书发放机构登记了您证件的手机号码，验证码已发送至该手机，5 分钟内有效")
    expect(sms.get_by_label("短信验证码")).to_be_focused()
    expect(sms.get_by_role("button", name=re.compile(r"^重新获取验证码（.+）$"))).to_have_attribute(
        "aria-disabled", "true")
    sms.get_by_label("短信验证码").fill("12345")
    sms.get_by_role("button", name="提交").click()
    expect(sms.locator(".field-error")).to_have_text("请输入 6 位数字验证码")
    by_certificate.get_by_label("证书编号").fill("NOSUCH20260001")
    with page.expect_response(lambda r: r.url.endswith("/me/identity")) as answer:
        by_certificate.get_by_role("button", name="提交").click()
    assert answer.value.status == 400 and answer.value.json()["error"]["code"] == "proof_failed"
    expect(by_certificate.locator("[data-role=form-error]")).to_have_text(answer.value.json()["error"]["message"])

    # The certificate list is out of reach: asking for it (the notice is not accepted either)
    # brings the identity screen back, proof first.
    page.goto(stack.url("/#/certificates"))
    expect(heading).to_have_text("身份核验")
    expect(page).to_have_url(re.compile("#/identity$"))

    # The session survives a reload of the tab, and the logout button ends it.
    page.reload()
    expect(heading).to_have_text("身份核验")
    # One session for the browser's tabs: the token is in localStorage (see api.js).
    token = page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")
    assert token and page.evaluate(f"sessionStorage.getItem('{TOKEN_KEY}')") is None
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("持证人登录")
    assert page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") is None
    assert requests.get(stack.url("/me"), headers=auth(token), timeout=5).status_code == 401
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("持证人登录")


def test_the_demo_holder_applies_for_a_copy_watches_it_become_ready_and_a_verifier_checks_it(
        stack: Any, open_page: Callable[..., Watched], shots: Path) -> None:
    w = open_page()
    page = w.page
    # Other tests on this stack may have used the demo certificate's quota: either answer is fine.
    w.allow(409, r"/certificates/[^/]+/annotations")
    page.goto(stack.url("/"))
    # Keyboard only: Tab from the username to the password, Enter submits.
    page.get_by_label("用户名").focus()
    page.keyboard.type("demo")
    page.keyboard.press("Tab")
    expect(page.get_by_label("密码", exact=True)).to_be_focused()
    page.keyboard.type("Demo#2026")
    page.keyboard.press("Enter")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(re.compile("服务须知|持证人查询下载"))
    if heading.inner_text() == "服务须知":
        page.get_by_role("button", name="同意").click()
    expect(heading).to_have_text("持证人查询下载")

    surveyor, nurse, builder = (certificate_card(page, n) for n in ("CH20231100123", "HS20191100456", "JZ20221100789"))
    expect(surveyor.locator(".badge").first).to_have_text("有效")
    expect(surveyor.locator(".tag")).to_have_text("电子证书")
    expect(surveyor.get_by_role("link", name=re.compile("^下载："))).to_be_visible()
    expect(nurse.locator(".badge").first).to_have_text("有效")
    expect(nurse.locator(".tag")).to_have_text("证书电子文件")
    expect(nurse.get_by_role("button", name="查看文件")).to_be_visible()
    expect(nurse.get_by_role("button", name="下载文件")).to_be_visible()
    expect(builder.locator(".badge").first).to_have_text("已撤销")
    expect(builder.get_by_role("link", name=re.compile("^下载："))).to_have_count(0)

    info = surveyor.get_by_role("button", name="证书信息")
    expect(info).to_have_attribute("aria-expanded", "false")
    info.click()
    expect(info).to_have_attribute("aria-expanded", "true")
    expect(surveyor.locator(".cert-info")).to_contain_text("110105********451X")
    expect(surveyor.locator(".cert-info")).to_contain_text("如证书信息有误，请联系证书发放机构")
    expect(surveyor.locator(".cert-info")).to_contain_text("010-87901800")
    assert_accessible_basics(page)
    page.screenshot(path=shots / "certificates.png", full_page=True)

    surveyor.get_by_role("link", name=re.compile("^下载：")).click()
    expect(heading).to_have_text("注册测绘师")
    expect(page.locator("main")).to_contain_text("如证书信息有误，请联系证书发放机构：北京市人力资源和社会保障局")
    expect(page.locator(".meter-text")).to_have_text(re.compile(r"已用 [0-3]/3"))
    record_announcements(page)
    apply = page.get_by_role("button", name="申请证书加注")
    holding = DEMO
    answer = None
    if apply.is_enabled():
        apply.focus()
        page.keyboard.press("Enter")
        scenario = page.get_by_label("使用场景")
        expect(scenario).to_be_focused()
        assert scenario.locator("option").all_inner_texts() == ["本人调用"]
        expect(page.get_by_label("加注有效期（天）")).to_have_value("90")
        expect(page.locator(".apply-form")).to_contain_text("建议选择 90 天")
        assert_accessible_basics(page)
        answer = submit_application(page)
    if answer is None:
        # Already at 已用 3/3 (other tests used the demo quota): the button is disabled and says when.
        expect(page.locator(".meter-text")).to_have_text("已用 3/3")
        expect(page.locator(".quota")).to_contain_text("下次可申请日期：")
    if answer is None or answer.status == 409:
        error = answer.json()["error"] if answer is not None else None
        assert error is None or error["code"] == "annotation_quota_exceeded"
        if error is not None:
            next_on = error["details"]["next_available_on"]
            form_message = page.locator(".apply-form .form-message")
            expect(form_message).to_contain_text(error["message"])
            expect(form_message).to_contain_text(next_on)
            expect(page.locator(".quota")).to_contain_text(f"下次可申请日期：{next_on}")
        expect(page.locator(".meter-text")).to_have_text("已用 3/3")
        expect(apply).to_be_disabled()
        # The rest of the journey with a holder whose quota nobody else uses.
        holding = holder_with_an_e_certificate(stack, "WEB")
        page.get_by_role("button", name="退出登录").click()
        log_in(page, holding.username, holding.password)
        certificate_card(page, holding.certificate_no).get_by_role("link", name=re.compile("^下载：")).click()
        expect(page.locator(".meter-text")).to_have_text("已用 0/3")
        record_announcements(page)
        page.get_by_role("button", name="申请证书加注").click()
        answer = submit_application(page)

    assert answer.status == 202, answer.text()
    pending = answer.json()
    assert pending["status_label"] == "证书生成中…"
    item = watch_it_become_ready(page, pending["annotation_id"])
    token = page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")
    ready = requests.get(stack.url(f"/annotations/{pending['annotation_id']}"), headers=auth(token), timeout=5).json()
    code = ready["verification_code"]
    expect(item.locator(".verification-code")).to_have_text(code)
    expect(item).to_contain_text(f"{beijing_minutes(ready['valid_from'])} 至 {beijing_minutes(ready['valid_until'])}"
                                 "（北京时间）")
    expect(item).to_contain_text(f"加注编号 {ready['annotation_no']}")
    expect(item.locator("summary")).to_have_text("查验记录（共 0 次）")
    assert_accessible_basics(page)
    page.screenshot(path=shots / "annotation-ready.png", full_page=True)

    open_and_check_inline_pdf(page, item.get_by_role("button", name=re.compile("^查看：")),
                              f"/annotations/{pending['annotation_id']}/file")
    saved_as = download_and_check_pdf(page, item.get_by_role("button", name=re.compile("^下载：")))
    assert saved_as.startswith(f"{holding.qualification}-{holding.certificate_no}")

    # The verifier opens the QR code's link: checked at once, with the masked ID number.
    verifier = open_page().page
    verifier.goto(stack.base + urlsplit(ready["verify_url"]).path + "?" + urlsplit(ready["verify_url"]).query)
    result = verifier.locator("#result")
    expect(result.locator(".badge")).to_have_text("有效")
    for fact in (holding.qualification, holding.holder_name, holding.id_number_masked, holding.certificate_no,
                 holding.issued_on, holding.issuer, ready["annotation_no"], "本人调用"):
        expect(result).to_contain_text(fact)
    expect(verifier.locator("main")).to_contain_text("立即不能通过查验")
    assert_accessible_basics(verifier)
    verifier.screenshot(path=shots / "verify-result.png", full_page=True)

    # The holder sees that check in the copy's log (read when the view opens).
    page.reload()
    log = page.locator(f'li[data-annotation-id="{pending["annotation_id"]}"] .verification-log')
    expect(log.locator("summary")).to_have_text("查验记录（共 1 次）")
    expect(log.locator("tbody tr").first).to_contain_text("验证码")
    expect(log.locator("tbody tr").first).to_contain_text("有效")

    # Withdrawn after a confirm step; the verifier's next check says so at once.
    item.get_by_role("button", name="撤回").click()
    confirm = item.get_by_role("button", name="确认撤回")
    expect(confirm).to_be_focused()
    confirm.click()
    expect(item.locator(".badge")).to_have_text("已撤回")
    expect(item.get_by_role("button", name=re.compile("^查看："))).to_have_count(0)
    verifier.reload()
    expect(result.locator(".badge")).to_have_text("已撤回")


def test_the_certificate_electronic_file_is_viewed_and_downloaded_directly(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    page = open_page().page
    page.goto(stack.url("/"))
    log_in(page, "demo", "Demo#2026")
    nurse = certificate_card(page, "HS20191100456")
    open_and_check_inline_pdf(page, nurse.get_by_role("button", name="查看文件"),
                              r"/certificates/[^/]+/file")
    assert download_and_check_pdf(page, nurse.get_by_role("button", name="下载文件")) \
        == "护士执业资格-HS20191100456.pdf"


def test_a_401_anywhere_returns_to_the_login_form_and_back_after_logging_in(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    w = open_page()
    page = w.page
    w.allow(401, r"/certificates/[^/]+(/annotations)?")
    page.goto(stack.url("/"))
    log_in(page, "demo", "Demo#2026")
    download = certificate_card(page, "CH20231100123").get_by_role("link", name=re.compile("^下载："))
    expect(download).to_be_visible()  # the list has loaded
    # The session ends elsewhere (another tab's logout): the page learns it on its next request.
    token = page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')")
    assert requests.post(stack.url("/auth/logout"), headers=auth(token), timeout=5).status_code == 204
    download.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("持证人登录")
    expect(page.locator("[data-role=form-error]")).to_have_text("登录已超时，请重新登录。您填写的内容已保留。")
    assert page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')") is None
    expect(page.locator("#account")).to_be_hidden()
    # Logging in again leads back to where the holder was going.
    log_in(page, "demo", "Demo#2026")
    expect(page.get_by_role("heading", level=1)).to_have_text("注册测绘师")


def test_the_verifier_page_reports_an_unknown_code_and_a_file_that_is_not_a_copy(
        stack: Any, open_page: Callable[..., Watched], tmp_path: Path) -> None:
    w = open_page()
    page = w.page
    w.allow(404, r"/verify/[A-Z0-9-]+")
    w.allow(404, "/verify/file")
    w.allow(400, "/verify/file")
    with stack.clock_moved(7 * 24 * 3600 + 120):  # a throttle window no other test uses
        page.goto(stack.url("/verify"))
        expect(page.locator("#result")).to_be_hidden()
        page.get_by_role("button", name="查验", exact=True).click()
        expect(page.locator("#code-error")).to_have_text("请输入验证码")
        page.get_by_label("验证码", exact=True).fill("ZZZZ-ZZZZ-ZZZZ-ZZZ9")
        page.get_by_role("button", name="查验", exact=True).click()
        expect(page.locator("#result")).to_contain_text("未找到")
        expect(page.locator("#result")).to_contain_text("未找到该验证码对应的加注件")
        assert urlsplit(page.url).query == "code=ZZZZ-ZZZZ-ZZZZ-ZZZ9"

        not_pdf = tmp_path / "note.pdf"
        not_pdf.write_bytes(b"hello, not a PDF")
        page.get_by_label("加注件或证书电子文件 (PDF)").set_input_files(not_pdf)
        page.get_by_role("button", name="上传并查验").click()
        expect(page.locator("#file-error")).to_have_text("上传的文件不是 PDF 文档")
        stranger = tmp_path / "stranger.pdf"
        stranger.write_bytes(b"%PDF-1.7\n% not issued by this service\n%%EOF\n")
        page.get_by_label("加注件或证书电子文件 (PDF)").set_input_files(stranger)
        page.get_by_role("button", name="上传并查验").click()
        expect(page.locator("#result")).to_contain_text("未找到与该文件对应的加注件")
        assert_accessible_basics(page)


def test_the_pages_work_on_a_375_px_wide_screen(stack: Any, open_page: Callable[..., Watched], shots: Path) -> None:
    page = open_page(width=375, height=812).page
    page.goto(stack.url("/"))
    log_in(page, "demo", "Demo#2026")
    expect(certificate_card(page, "CH20231100123")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    assert_accessible_basics(page)
    page.screenshot(path=shots / "certificates-375px.png", full_page=True)
    page.goto(stack.url("/verify"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_an_expired_copy_is_shown_as_expired_with_a_way_to_apply_again(
        stack: Any, open_page: Callable[..., Watched], shots: Path) -> None:
    holding = holder_with_an_e_certificate(stack, "EXP")
    w = open_page()
    page = w.page
    w.allow(401, r"/(me|certificates/[^/]+(/annotations)?)")  # the token dies with the moved clock
    page.goto(stack.url("/"))
    log_in(page, holding.username, holding.password)
    certificate_card(page, holding.certificate_no).get_by_role("link", name=re.compile("^下载：")).click()
    expect(page.locator(".history")).to_contain_text("尚未申请加注")
    expect(page.locator(".meter-text")).to_have_text("已用 0/3")
    record_announcements(page)
    page.get_by_role("button", name="申请证书加注").click()
    page.get_by_label("加注有效期（天）").fill("1")
    answer = submit_application(page)
    assert answer.status == 202, answer.text()
    item = watch_it_become_ready(page, answer.json()["annotation_id"])
    expect(page.locator(".meter-text")).to_have_text("已用 1/3")
    code = item.locator(".verification-code").inner_text()

    with stack.clock_moved(24 * 3600 + 120):
        page.reload()  # the 2-hour token has expired with the clock: the login form first
        log_in(page, holding.username, holding.password)
        expect(item.locator(".badge")).to_have_text("加注件已过期")
        expect(page.locator(".quota .badge")).to_have_text("加注件已过期")
        expect(item).to_contain_text("请重新申请加注")
        expect(item.get_by_role("button", name=re.compile("^查看："))).to_have_count(0)
        expect(page.locator(".meter-text")).to_have_text("已用 1/3")
        assert_accessible_basics(page)
        page.screenshot(path=shots / "annotation-expired.png", full_page=True)
        item.get_by_role("button", name="重新申请加注").click()
        expect(page.get_by_label("使用场景")).to_be_focused()

        verifier = open_page().page
        verifier.goto(stack.url(f"/verify?code={code}"))
        expect(verifier.locator("#result .badge")).to_have_text("已过期")
