"""An uploaded PDF's earlier revisions, found by looking at bytes only.

A PDF changed by an incremental update keeps its earlier bytes as they were and appends the
new revision, so a copy the service issued and someone later re-saved begins with the issued
bytes, whose SHA-256 is stored (the `by_file` index). Where such a prefix may end:

- where a signature's /ByteRange ends (`[0 a b c]` covers the file up to `b + c`, the end of
  the signed revision: a copy signed as its last revision, as today's approval signatures are,
  or an issued file that ends with a document timestamp);
- at an end-of-file marker after that (an issued file whose last revision adds only validation
  data, DSS, after its signature).

Scanning is linear in the upload and capped in what it collects, whatever the file holds; no
PDF parser looks at it. A file with no /ByteRange has no signed revision: nothing to look up.
"""

from __future__ import annotations

import hashlib
import re
from enum import StrEnum

# More than a copy ever carries (its signature, a document timestamp or two); a file with more
# is looked up by its first ones only.
MAX_SIGNATURES = 16
# Prefixes looked up in the index (one query each), longest first.
MAX_PREFIXES = 8

_WS = rb"[\x00\t\n\x0c\r ]"
_BYTE_RANGE = re.compile(rb"/ByteRange" + _WS + rb"*\[" + _WS + rb"*0" + _WS + rb"+(\d{1,10})" + _WS
                         + rb"+(\d{1,10})" + _WS + rb"+(\d{1,10})" + _WS + rb"*\]")
_EOF = re.compile(rb"%%EOF(?:\r\n|\r|\n)?")


class Modification(StrEnum):
    """What someone appended to a signed copy (API.md, `modifications`)."""

    PAGES = "pages"
    ANNOTATIONS = "annotations"
    FORM_DATA = "form_data"
    OTHER = "other"


def signed_revision_ends(data: bytes) -> list[int]:
    """Where the signed revisions that `data`'s signatures cover end, in file order."""
    ends: list[int] = []
    for match in _BYTE_RANGE.finditer(data):
        if len(ends) == MAX_SIGNATURES:
            break
        first_length, second_start, second_length = (int(g) for g in match.groups())
        end = second_start + second_length
        # The signature's /Contents sits in the gap; a range that does not fit the file is no
        # signature's.
        if 0 < first_length < second_start and end <= len(data):
            ends.append(end)
    return ends


def candidate_prefixes(data: bytes) -> list[int]:
    """The lengths of `data`'s prefixes that may be an issued copy, longest first; never the
    whole file (its own hash is looked up first) and never more than `MAX_PREFIXES`."""
    signed = signed_revision_ends(data)
    if not signed:
        return []
    earliest = min(signed)
    ends = set(signed)
    ends.update(m.end() for m in _EOF.finditer(data, earliest) if m.end() > earliest)
    return sorted((end for end in ends if end < len(data)), reverse=True)[:MAX_PREFIXES]


def prefix_digests(data: bytes, lengths: list[int]) -> dict[int, str]:
    """SHA-256 (hex) of `data[:n]` for each n, in one pass over the data."""
    digests: dict[int, str] = {}
    hasher = hashlib.sha256()
    done = 0
    view = memoryview(data)
    for n in sorted(set(lengths)):
        hasher.update(view[done:n])
        done = n
        digests[n] = hasher.copy().hexdigest()
    return digests
