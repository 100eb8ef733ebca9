"""English over HTTP (issue 15): error messages for Accept-Language: en with unchanged codes,
the notice and scenarios in English, and the HTML 404 page for a browser."""

from __future__ import annotations

import requests

EN = {"Accept-Language": "en-GB;q=0.9, zh;q=0.8"}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_errors_speak_english_when_asked_and_keep_their_codes(stack) -> None:
    zh = requests.get(stack.url("/verify/ABCD-EFGH-JKLM-NPQR"), timeout=5)
    en = requests.get(stack.url("/verify/ABCD-EFGH-JKLM-NPQR"), headers=EN, timeout=5)
    assert zh.status_code == en.status_code == 404
    assert zh.json()["error"]["code"] == en.json()["error"]["code"] == "unknown_code"
    assert en.json()["error"]["message"].startswith("No annotated copy") and "验证码" in zh.json()["error"]["message"]
    bad = requests.post(stack.url("/auth/register"), json={"username": "x"}, headers=EN, timeout=5)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
    assert bad.json()["error"]["message"].isascii()


def test_the_notice_and_the_scenarios_are_english_for_english_with_one_version(stack) -> None:
    zh = requests.get(stack.url("/notice"), timeout=5).json()
    en = requests.get(stack.url("/notice"), headers=EN, timeout=5).json()
    assert en["version"] == zh["version"] and en["title"] == "Service notice" and zh["title"] == "服务须知"
    assert requests.get(stack.url("/scenarios"), headers=EN, timeout=5).json() == {
        "items": [{"code": "self_use", "name": "Self use"}]}


def test_a_browser_gets_an_html_404_page_and_an_api_client_the_json_404(stack) -> None:
    page = requests.get(stack.url("/no/such/page"), headers={"Accept": BROWSER, **EN}, timeout=5)
    assert page.status_code == 404 and page.headers["Content-Type"].startswith("text/html")
    assert '<html lang="en">' in page.text and 'href="/verify"' in page.text
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    chinese = requests.get(stack.url("/no/such/page"), headers={"Accept": BROWSER}, timeout=5)
    assert '<html lang="zh-CN">' in chinese.text
    for accept in ("application/json", "*/*"):
        answer = requests.get(stack.url("/no/such/page"), headers={"Accept": accept}, timeout=5)
        assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"
