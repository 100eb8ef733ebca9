"""The service's texts and lists that are data, not code: the notice and the scenarios, each
in Chinese and English.

The notice's version is derived from the content of both languages, so an edit to either text
forces every holder to accept it again; one version covers both languages.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from chalicelib.domain.text import Language, Text

ASSETS = Path(__file__).with_name("assets")


@dataclass(frozen=True)
class Notice:
    version: str
    title: str
    body: str
    title_en: str = ""
    body_en: str = ""

    def view(self, language: Language) -> dict[str, str]:
        """`GET /notice`: one version, the title and body in `language`."""
        if language == "en" and self.body_en:
            return {"version": self.version, "title": self.title_en, "body": self.body_en}
        return {"version": self.version, "title": self.title, "body": self.body}


@dataclass(frozen=True)
class Scenario:
    code: str
    name: str
    name_en: str = ""

    @property
    def names(self) -> Text:
        return Text(self.name, self.name_en or self.name)


def _normalized(text: str) -> str:
    return text.replace("\r\n", "\n").strip()


def _split(normalized: str) -> tuple[str, str]:
    """The first line (a Markdown heading) is the title; the rest is the body."""
    first, _, rest = normalized.partition("\n")
    return first.lstrip("# ").strip(), rest.strip()


def notice_from_text(text: str, english: str | None = None) -> Notice:
    """The notice from its Chinese text and, if given, its English one. The version hashes the
    Chinese alone when there is no English, so that it is what it was before English came."""
    zh = _normalized(text)
    title, body = _split(zh)
    if english is None:
        return Notice(version=hashlib.sha256(zh.encode("utf-8")).hexdigest()[:12], title=title, body=body)
    en = _normalized(english)
    title_en, body_en = _split(en)
    both = json.dumps([zh, en], ensure_ascii=False)
    return Notice(version=hashlib.sha256(both.encode("utf-8")).hexdigest()[:12], title=title, body=body,
                  title_en=title_en, body_en=body_en)


@lru_cache(maxsize=1)
def current_notice() -> Notice:
    return notice_from_text((ASSETS / "notice.md").read_text(encoding="utf-8"),
                            (ASSETS / "notice.en.md").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def scenarios() -> tuple[Scenario, ...]:
    raw = json.loads((ASSETS / "scenarios.json").read_text(encoding="utf-8"))
    return tuple(Scenario(code=item["code"], name=item["name"], name_en=item.get("name_en", ""))
                 for item in raw)


def scenario_named(code: str) -> Scenario | None:
    return next((s for s in scenarios() if s.code == code), None)
