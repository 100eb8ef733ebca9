"""The signing package's errors: what `PdfSigner.sign` raises when something a copy needs from
outside (a timestamp, a CRL) cannot be had, and the one-line description its log lines use."""

from __future__ import annotations


class TimestampUnavailable(RuntimeError):
    """The time-stamping authority gave no usable token: no copy is made (the render is retried)."""


class RevocationUnavailable(RuntimeError):
    """A CRL that a copy's certificates name could not be fetched (or revokes one of them)."""


def kind(error: Exception) -> str:
    """The error's class and message, at most 200 characters: enough for a log line."""
    return f"{type(error).__name__}: {error}"[:200]
