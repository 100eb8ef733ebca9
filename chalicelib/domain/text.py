"""Text for a person, in both of the product's languages.

Every message the service shows a person is a `Text`: the Chinese and the English side by
side where it is written, so that no message can exist in one language only (mypy refuses a
bare string where a `Text` is wanted, and tests/unit/test_messages.py checks every error class).
Chinese is the default language; English is what a request that prefers it gets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "zh"


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def __post_init__(self) -> None:
        if not self.zh.strip() or not self.en.strip():
            raise ValueError("a text needs both its Chinese and its English")

    def in_language(self, language: Language) -> str:
        return self.en if language == "en" else self.zh

    def __str__(self) -> str:
        return self.zh


def joined(parts: list[Text], *, zh: str = "；", en: str = "; ") -> Text:
    """Several texts as one, each language joined with its own separator."""
    return Text(zh.join(p.zh for p in parts), en.join(p.en for p in parts))
