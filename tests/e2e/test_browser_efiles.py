"""The 证书电子文件 of an older certificate on both pages, in Debian's Chromium against the local
stack: the holder sees its verification code beside 查看文件 / 下载文件, opens the signed file,
and reads a verifier's check in its 查验记录; the verifier's page, reached as the file's QR code
reaches it, answers 证书电子文件 / 有效 with no 加注信息, and the same for the uploaded file and in
the batch table and its CSV; a file still being made is asked for again while the holder is
told so; a cancelled certificate's file answers 已注销.

Fixtures and helpers (the browser, watched pages, the accessibility checks) come from
test_browser.py; as there, any console error or CSP violation fails the test.
"""

from __future__ import annotations

import csv
import io
import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Page, Route, expect
from pyhanko.pdf_utils.reader import PdfFileReader
from pypdf import PdfReader

from tests.e2e import test_browser as web
from tests.e2e.helpers import HEADER, a_resident_id, auth, certificates, drop, login, prove, register, row
from tests.e2e.test_browser import (
    CHROMIUM,
    TOKEN_KEY,
    Watched,
    assert_accessible_basics,
    certificate_card,
    fetch_pdf,
    log_in,
)

# test_browser.py's fixtures, as this module's own: the browser, watched pages, screenshots.
browser, open_page, shots = web.browser, web.open_page, web.shots

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing (apt-get install -y chromium)")

NURSE = "HS20191100456"  # the demo holder's 证书电子文件 (护士执业资格, issued 2019)
FILE_LINK = re.compile(r"/certificates/[^/]+/file\?disposition=(inline|attachment)$")


def the_demo_holders_page(open_page: Callable[..., Watched], stack: Any) -> tuple[Watched, dict[str, Any], str]:
    """The demo holder logged in on the certificate list; their e-file as the API gives it, and the token."""
    w = open_page()
    w.page.goto(stack.url("/"))
    log_in(w.page, "demo", "Demo#2026")
    expect(w.page.get_by_role("heading", level=1)).to_have_text("持证人查询下载")
    token = str(w.page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')"))
    return w, certificates(stack, token)[NURSE], token


def open_log(card: Any) -> Any:
    log = card.locator(".verification-log")
    if log.get_attribute("open") is None:
        log.locator("summary").click()
    return log


def assert_an_e_file_answer(page: Page, certificate_no: str, badge: str = "有效") -> None:
    result = page.locator("#result")
    expect(result.locator(".badge")).to_have_text(badge)
    expect(result.locator(".verdict .tag")).to_have_text("证书电子文件")
    expect(result.locator(".verdict")).to_contain_text("该证书电子文件由本系统签发")
    expect(result).to_contain_text(certificate_no)
    expect(result.locator(".fact", has_text="证书状态").locator("dd")).to_have_text(badge)
    # A 证书电子文件 has no annotation: no 加注信息 section, not one of empty rows.
    expect(result.get_by_role("heading", name="加注信息")).to_have_count(0)
    expect(result).not_to_contain_text("加注编号")


def test_the_demo_holders_e_file_shows_its_code_opens_signed_and_logs_a_check_that_the_verifier_page_answers(
        stack: Any, open_page: Callable[..., Watched], tmp_path: Path, shots: Path) -> None:
    w, nurse, token = the_demo_holders_page(open_page, stack)
    page = w.page
    code = nurse["file_verification_code"]
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){3}", code), code
    card = certificate_card(page, NURSE)
    expect(card.locator(".fact", has_text="验证码").locator(".verification-code")).to_have_text(code)
    expect(card.get_by_role("button", name="下载文件")).to_be_visible()
    # The e-certificate's card has no code of its own: its codes are its copies'.
    expect(certificate_card(page, "CH20231100123").locator(".verification-code")).to_have_count(0)

    # 查看文件: the signed file, in a new tab; the code and the certificate number are printed on it.
    with page.expect_response(FILE_LINK) as link, page.expect_popup() as popup:
        card.get_by_role("button", name="查看文件").click()
    url = link.value.json()["url"]
    assert popup.value.url == url
    pdf = fetch_pdf(url, "inline")
    popup.value.close()
    assert PdfFileReader(io.BytesIO(pdf)).embedded_signatures, "the 证书电子文件 is not signed"
    printed = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert code in printed and NURSE in printed

    # Its 查验记录: a disclosure like a copy's, read when opened.
    before = requests.get(stack.url(f"/certificates/{nurse['certificate_id']}/verifications"), headers=auth(token),
                          timeout=5).json()["count"]
    log = open_log(card)
    expect(log.locator("summary")).to_have_text(f"查验记录（共 {before} 次）")
    assert_accessible_basics(page)
    page.screenshot(path=shots / "efile-card.png", full_page=True)

    # The verifier opens the link the file's QR code carries (the bare code, no dashes).
    verifier = open_page().page
    verifier.goto(stack.url(f"/verify?code={code.replace('-', '')}"))
    assert_an_e_file_answer(verifier, NURSE)
    for fact in ("护士执业资格", "张三", "110105********451X"):
        expect(verifier.locator("#result")).to_contain_text(fact)
    assert_accessible_basics(verifier)
    verifier.screenshot(path=shots / "verify-efile.png", full_page=True)

    # The holder sees that check, by code, newest first.
    page.reload()
    log = open_log(certificate_card(page, NURSE))
    expect(log.locator("summary")).to_have_text(f"查验记录（共 {before + 1} 次）")
    expect(log.locator("tbody tr").first).to_contain_text("验证码")
    expect(log.locator("tbody tr").first).to_contain_text("有效")

    # The file itself answers the same.
    saved = tmp_path / f"{NURSE}.pdf"
    saved.write_bytes(pdf)
    verifier.reload()
    verifier.get_by_label("加注件或证书电子文件 (PDF)").set_input_files(saved)
    with verifier.expect_response(lambda r: r.url.endswith("/verify/file")) as answer:
        verifier.get_by_role("button", name="上传并查验").click()
    assert answer.value.status == 200
    assert_an_e_file_answer(verifier, NURSE)
    expect(verifier.locator("#result .hint").first).to_have_text("查验方式：文件")
    expect(verifier.locator("#result .note")).to_have_count(0)  # nothing appended after signing

    # In the batch table and its CSV: the kind, and a dash where a copy has its annotation's end.
    verifier.get_by_label("验证码（最多 100 个）").fill(code)
    verifier.get_by_role("button", name="批量查验", exact=True).click()
    expect(verifier.locator("#batch-rows tr")).to_have_count(1)
    cells = [c.strip() for c in verifier.locator("#batch-rows tr td").all_inner_texts()]
    assert cells == [code, "有效", "证书电子文件", NURSE, "张三", "—"]
    with verifier.expect_download() as download:
        verifier.get_by_role("button", name="下载 CSV").click()
    content = Path(download.value.path()).read_bytes().decode("utf-8")
    assert list(csv.reader(io.StringIO(content[1:])))[1] == [code, "有效", "证书电子文件", NURSE, "张三", "—"]
    assert_accessible_basics(verifier)


def not_ready(route: Route) -> None:
    route.fulfill(status=503, headers={"Retry-After": "1", "Content-Type": "application/json"},
                  body=json.dumps({"error": {"code": "file_not_ready", "message": "证书电子文件正在生成，请稍后再试",
                                             "details": {"retry_after_seconds": 1}}}))


def test_a_file_still_being_made_is_asked_for_again_and_the_holder_is_told_meanwhile(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    w, _, _ = the_demo_holders_page(open_page, stack)
    page = w.page
    w.allow(503, r"/certificates/[^/]+/file")
    card = certificate_card(page, NURSE)
    status = card.get_by_role("status")
    expect(status).to_have_text("")

    # The first answer is the API's 503 file_not_ready; the page waits Retry-After and asks again.
    asked: list[str] = []

    def first_not_ready(route: Route) -> None:
        asked.append(route.request.url)
        if len(asked) == 1:
            not_ready(route)
        else:
            route.continue_()

    page.route(FILE_LINK, first_not_ready)
    with page.expect_popup() as popup:
        card.get_by_role("button", name="查看文件").click()
        expect(status).to_have_text("证书电子文件正在生成…")
    assert len(asked) == 2
    assert popup.value.url.startswith(stack.aws)
    popup.value.close()
    expect(status).to_have_text("")
    expect(card.locator(".form-message")).to_be_hidden()

    # Never ready: after a few tries the holder is told to try later, and nothing opens.
    page.unroute(FILE_LINK)
    asked.clear()
    def never_ready(route: Route) -> None:
        asked.append(route.request.url)
        not_ready(route)

    page.route(FILE_LINK, never_ready)
    card.get_by_role("button", name="下载文件").click()
    expect(status).to_have_text("证书电子文件正在生成…")
    expect(card.locator(".form-message")).to_have_text("证书电子文件正在生成，请稍后再试", timeout=20_000)
    expect(status).to_have_text("")
    assert len(asked) == 5
    assert all(u.endswith("disposition=attachment") for u in asked)


def test_a_cancelled_certificates_e_file_answers_cancelled_and_keeps_its_code_and_log(
        stack: Any, open_page: Callable[..., Watched]) -> None:
    """Loaded valid, then cancelled by the issuing authority in a later batch: the code stays."""
    id_number, tag = a_resident_id("19750505"), secrets.token_hex(3).upper()
    number = f"EF{tag}"
    drop(stack, f"efile-{tag}.csv", HEADER + row(number, id_number, issued="2019-06-01", name="吴十"))
    username = f"efile_{tag.lower()}"
    register(stack, username=username, password="Efile#2026pw", name="吴十", id_type="resident_id",
             id_number=id_number).raise_for_status()
    prove(stack, login(stack, username, "Efile#2026pw")["access_token"], (number, "吴十"))
    drop(stack, f"efile-{tag}-cancelled.csv", HEADER + row(number, id_number, status="cancelled",
                                                           issued="2019-06-01", name="吴十"))

    page = open_page().page
    page.goto(stack.url("/"))
    log_in(page, username, "Efile#2026pw")
    card = certificate_card(page, number)
    expect(card.locator(".badge").first).to_have_text("已注销")
    expect(card.locator(".tag")).to_have_text("证书电子文件")
    expect(card).to_contain_text("该证书已注销，不能加注、查看或下载。")
    expect(card.get_by_role("button", name="查看文件")).to_have_count(0)
    code = card.locator(".verification-code").inner_text()
    token = str(page.evaluate(f"localStorage.getItem('{TOKEN_KEY}')"))
    assert code == certificates(stack, token)[number]["file_verification_code"]

    verifier = open_page().page
    verifier.goto(stack.url(f"/verify?code={code}"))
    assert_an_e_file_answer(verifier, number, badge="已注销")
    expect(verifier.locator(".verdict")).to_contain_text("证书已注销，不能作为有效证书使用")
    assert_accessible_basics(verifier)

    page.reload()
    log = open_log(certificate_card(page, number))
    expect(log.locator("summary")).to_have_text("查验记录（共 1 次）")
    expect(log.locator("tbody tr").first).to_contain_text("已注销")
    assert_accessible_basics(page)
