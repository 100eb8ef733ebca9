"""The local stack's outbox (../shared/API.md): every SMS or e-mail it would send is one line
of its standard output, `OUTBOX sms <masked phone> <text>` or `OUTBOX email <masked address>
<text>`, the 6-digit code being the only run of six digits in a code message's text."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

LINE = re.compile(r"^OUTBOX (sms|email) (\S+) (.*)$", re.MULTILINE)
CODE = re.compile(r"(?<!\d)\d{6}(?!\d)")


@dataclass(frozen=True)
class Message:
    channel: str
    to: str
    text: str

    @property
    def code(self) -> str | None:
        found = CODE.findall(self.text)
        return found[0] if len(found) == 1 else None


def messages(stack: Any) -> list[Message]:
    return [Message(*m) for m in LINE.findall(stack.log.read_text(encoding="utf-8"))]


def mark(stack: Any) -> int:
    """How many messages the outbox holds now: pass it to `next_message` as `after`."""
    return len(messages(stack))


def next_message(stack: Any, to: str, after: int, timeout: float = 10, channel: str | None = None) -> Message:
    """The first message to `to` (masked, e.g. `139****5678`) written after `after` messages;
    waits for the notifier (it sends from a queue), never longer than `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        for m in messages(stack)[after:]:
            if m.to == to and (channel is None or m.channel == channel):
                return m
        if time.monotonic() > deadline:
            raise AssertionError(f"no message to {to} in the outbox after {after}: {messages(stack)[after:]}")
        time.sleep(0.05)


def next_code(stack: Any, to: str, after: int, timeout: float = 10) -> str:
    message = next_message(stack, to, after, timeout)
    assert message.code is not None, message
    return message.code
