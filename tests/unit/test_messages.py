"""Every message for a person exists in Chinese and English, and a request gets the language it
prefers (issue 15): Accept-Language negotiation, the completeness of the error classes, no raise
with a one-language text, the notice's version over both languages, the 404 page."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from chalicelib.api import language, not_found
from chalicelib.api.errors import GATEWAY_ERRORS, error_body, error_response
from chalicelib.content import current_notice, notice_from_text, scenarios
from chalicelib.domain import errors
from chalicelib.domain.text import Text
from chalicelib.services.imports import RowError

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


@pytest.mark.parametrize(("header", "expected"), [
    ("en", "en"), ("en-US", "en"), ("EN-gb", "en"), ("en-GB;q=0.9, zh;q=0.8", "en"),
    ("fr, en;q=0.5", "en"), ("en, *;q=0.1", "en"),
    (None, "zh"), ("", "zh"), ("*", "zh"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh"), ("zh, en", "zh"),
    ("en;q=0.8, zh;q=0.8", "zh"), ("en;q=0", "zh"), ("fr", "zh"), ("en;q=abc", "zh"), ("en;q=2", "zh"),
    ("de, *;q=0.5, zh;q=0.4", "en"),
])
def test_accept_language_gives_english_only_when_english_is_preferred_to_chinese(header: str | None,
                                                                                  expected: str) -> None:
    assert language.negotiate(header) == expected


def _subclasses(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_subclasses(sub))]


def test_every_domain_error_class_has_its_own_chinese_and_english_text() -> None:
    classes = _subclasses(errors.DomainError)
    assert RowError in classes and len(classes) > 30
    for cls in [errors.DomainError, *classes]:
        text = cls.__dict__.get("TEXT")
        assert isinstance(text, Text), f"{cls.__name__} has no TEXT of its own"
        assert CJK.search(text.zh), cls.__name__
        assert not CJK.search(text.en), cls.__name__


def test_no_domain_error_is_raised_with_a_bare_string_anywhere_in_chalicelib() -> None:
    names = {c.__name__ for c in _subclasses(errors.DomainError)} | {"DomainError"}
    bare = []
    for path in (ROOT / "chalicelib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names \
                    and node.args and (isinstance(node.args[0], ast.JoinedStr | ast.BinOp)
                         or (isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str))):
                bare.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bare == []


def test_an_error_answer_speaks_the_request_language_and_keeps_its_code() -> None:
    locked = errors.AccountLocked(90)
    with language.speaking("en"):
        body = error_response(locked).body
        assert body["error"]["code"] == "account_locked"
        assert body["error"]["message"].endswith("try again in 2 minutes")
        assert error_body("not_found", GATEWAY_ERRORS[404][1])["error"]["message"] == "No such route"
    assert "2 分钟" in error_response(locked).body["error"]["message"]


def test_one_notice_version_covers_both_languages_and_changes_with_either() -> None:
    notice = current_notice()
    assert notice.title == "服务须知" and notice.title_en == "Service notice" and notice.body_en
    assert notice.view("en")["version"] == notice.view("zh")["version"] == notice.version
    assert notice.view("en")["body"] == notice.body_en
    zh, en = "# 服务须知\n\n第一条。", "# Notice\n\nOne."
    base = notice_from_text(zh, en).version
    assert notice_from_text(zh, en + " Changed.").version != base
    assert notice_from_text(zh + "改", en).version != base
    assert notice_from_text(zh.replace("\n", "\r\n"), en).version == base


def test_every_scenario_has_an_english_name() -> None:
    assert all(s.name_en and not CJK.search(s.name_en) for s in scenarios())


@pytest.mark.parametrize(("accept", "html"), [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True), ("text/html", True),
    ("application/json", False), ("*/*", False), (None, False), ("application/json, text/html;q=0.5", False),
])
def test_only_a_browser_navigating_is_given_the_html_404_page(accept: str | None, html: bool) -> None:
    assert not_found.accepts_html(accept) is html


def test_the_404_page_links_home_in_both_languages_and_the_gateway_sends_the_same_page() -> None:
    zh, en = not_found.page("zh"), not_found.page("en")
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    for page in (zh, en):
        assert "页面不存在" in page and "Page not found" in page
        assert 'href="/"' in page and 'href="/verify"' in page and "<script" not in page
    assert zh.index("页面不存在") < zh.index("Page not found") and en.index("Page not found") < en.index("页面不存在")
    overrides = (ROOT / "infra" / "overrides.yaml").read_text(encoding="utf-8")
    assert f"text/html: !Sub '{not_found.page('zh', not_found.GATEWAY_ROOT)}'" in overrides
