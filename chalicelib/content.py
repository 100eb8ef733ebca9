"""The service's texts and lists that are data, not code: the notice and the scenarios.

The notice's version is derived from its content, so any edit to the text forces every
holder to accept it again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

ASSETS = Path(__file__).with_name("assets")


@dataclass(frozen=True)
class Notice:
    version: str
    title: str
    body: str


@dataclass(frozen=True)
class Scenario:
    code: str
    name: str


def notice_from_text(text: str) -> Notice:
    """The first line (a Markdown heading) is the title; the rest is the body."""
    normalized = text.replace("\r\n", "\n").strip()
    first, _, rest = normalized.partition("\n")
    version = hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:12]
    return Notice(version=version, title=first.lstrip("# ").strip(), body=rest.strip())


@lru_cache(maxsize=1)
def current_notice() -> Notice:
    return notice_from_text((ASSETS / "notice.md").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def scenarios() -> tuple[Scenario, ...]:
    raw = json.loads((ASSETS / "scenarios.json").read_text(encoding="utf-8"))
    return tuple(Scenario(code=item["code"], name=item["name"]) for item in raw)


def scenario_named(code: str) -> Scenario | None:
    return next((s for s in scenarios() if s.code == code), None)
