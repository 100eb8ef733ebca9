"""What was appended to an issued copy: pyHanko's difference analysis, run in a child process
with a CPU and a memory limit, because the appended bytes come from anyone.

`changes_after(data, issued_length)` is asked only once `data[:issued_length]` is known to be
a copy the service issued (its SHA-256 is stored), so the signature over that prefix is the
service's own, byte for byte: no other signature check can say more. What is left is to say
what the revisions after it change. pyHanko compares the signed revision with each later one
(`EmbeddedPdfSignature.evaluate_modifications`, its default diff policy) and grades the whole:
validation data (DSS, VRI) and document timestamps are `LTA_UPDATES`, which PAdES and ISO
32000-2 do not count as modifications, and neither does this; form filling, annotations and
anything else map to `form_data`, `annotations` and `other`. pyHanko has no grade for pages (an
added or removed page is `OTHER`), so the page counts of the signed and the last revision are
compared as well, and a changed count says `pages` instead.

Bounds. pyHanko is imported here, on first use, in the parent (the API's cold start never loads
it: tests/unit/test_cold_start.py); each upload's parse then runs in a child forked from it, so
the child does not pay the import and its limits are all the parse's own:

- CPU: `RLIMIT_CPU` 1 s (SIGXCPU ends the child; the hard limit, 2 s, would SIGKILL it);
- memory: `RLIMIT_AS`, the address space the child inherits plus 200 MB, so no allocation can
  take more than 200 MB beyond what the parent had (an allocation past it is a MemoryError);
- time: the parent waits at most `wall_seconds` for the answer, then kills the child (a parse
  that blocks instead of computing).

A child that is killed, fails or answers nothing gives `None`: the caller answers `unknown`.
Lambda allows child processes (not `multiprocessing`'s shared-memory queues, which is why this
is a plain fork and a pipe). The child only parses: it writes no log and calls no AWS API, so
the locks another thread of the parent may hold at the fork are never taken in it.
"""

from __future__ import annotations

import io
import json
import logging
import os
import resource
import select
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.revisions import Modification

CPU_SECONDS = 1
MEMORY_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = CPU_SECONDS
    memory_bytes: int = MEMORY_BYTES
    wall_seconds: float = 5.0


@dataclass(frozen=True)
class Examination:
    """The child's answer: what was appended (None when it could not tell: killed at a limit,
    failed, or silent), and what the parse cost, as `make bench` reports it."""

    modifications: frozenset[Modification] | None
    outcome: str  # "ok", "killed" (a signal: a limit), "failed" (an error in the parse), "timeout"
    cpu_seconds: float
    memory_bytes: int | None = None  # peak resident growth, when the child could measure it
    detail: dict[str, Any] = field(default_factory=dict)


def changes_after(data: bytes, issued_length: int, limits: Limits = Limits()) -> Examination:
    _load_pyhanko()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child: measured by its answer, never returns
        try:
            os.close(read_end)
            # pyHanko logs what it finds suspicious; the parent's handlers are not the child's to use.
            logging.disable(logging.CRITICAL)
            baseline = _limit(limits)
            found = _analyse(data, issued_length)
            payload = {"modifications": sorted(m.value for m in found), "memory_bytes": _peak_growth(baseline)}
            os.write(write_end, json.dumps(payload).encode())
            status = 0
        except BaseException:  # whatever the parse raised, the answer is "cannot tell"
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        answer, timed_out = _read(read_end, pid, limits.wall_seconds)
    finally:
        os.close(read_end)
    _, status, usage = os.wait4(pid, 0)
    cpu = usage.ru_utime + usage.ru_stime
    if timed_out:
        return Examination(None, "timeout", cpu)
    if os.WIFSIGNALED(status):
        return Examination(None, "killed", cpu, detail={"signal": signal.Signals(os.WTERMSIG(status)).name})
    if os.WEXITSTATUS(status) != 0 or not answer:
        return Examination(None, "failed", cpu)
    parsed = json.loads(answer)
    return Examination(frozenset(Modification(m) for m in parsed["modifications"]), "ok", cpu,
                       parsed.get("memory_bytes"))


def _read(fd: int, pid: int, wall_seconds: float) -> tuple[bytes, bool]:
    """The child's answer, read until it closes the pipe; killed when `wall_seconds` pass first."""
    deadline = time.monotonic() + wall_seconds
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(0.0, left))
        if not ready:
            os.kill(pid, signal.SIGKILL)
            return b"", True
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)


def _load_pyhanko() -> None:
    # Imported before the fork so that every child starts with it loaded.
    import pyhanko.pdf_utils.reader
    import pyhanko.sign.diff_analysis
    import pyhanko.sign.validation  # noqa: F401


def _limit(limits: Limits) -> int:  # pragma: no cover - runs in the child
    """Set the child's limits; its resident size now, from which the peak is measured."""
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
    mapped = _status_kb("VmSize") * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mapped + limits.memory_bytes, mapped + limits.memory_bytes))
    try:  # resets VmHWM (the peak) to the current size, where /proc allows it
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return -1
    return _status_kb("VmRSS")


def _peak_growth(baseline_kb: int) -> int | None:  # pragma: no cover - runs in the child
    if baseline_kb < 0:
        return None
    return max(0, _status_kb("VmHWM") - baseline_kb) * 1024


def _status_kb(name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {name} in /proc/self/status")


def _analyse(data: bytes, issued_length: int) -> frozenset[Modification]:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY, DiffResult, ModificationLevel

    reader = PdfFileReader(io.BytesIO(data), strict=False)
    issued = [s for s in reader.embedded_signatures if _covered_end(s.byte_range) <= issued_length]
    if not issued:  # the issued signature's field is gone from the last revision
        return frozenset({Modification.OTHER})
    signature = max(issued, key=lambda s: _covered_end(s.byte_range))
    signature.compute_integrity_info(diff_policy=DEFAULT_DIFF_POLICY)
    result = signature.diff_result
    level = result.modification_level if isinstance(result, DiffResult) else ModificationLevel.OTHER
    if level <= ModificationLevel.LTA_UPDATES:
        return frozenset()
    if level == ModificationLevel.FORM_FILLING:
        return frozenset({Modification.FORM_DATA})
    if level == ModificationLevel.ANNOTATIONS:
        return frozenset({Modification.ANNOTATIONS})
    # pyHanko's policy explains only what a signer's tool would write (a form filled in, a
    # signature added); a reader that adds a comment or a page rewrites the page or the page
    # tree, which it calls OTHER. Look at what the later revisions replaced or added.
    return _classify(reader, signature.signed_revision) or frozenset({Modification.OTHER})


# Annotation subtypes (ISO 32000-2 §12.5.6), Widget aside: a widget is a form field's.
_ANNOTATIONS = frozenset({
    "/Text", "/Link", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine", "/Highlight",
    "/Underline", "/Squiggly", "/StrikeOut", "/Caret", "/Stamp", "/Ink", "/Popup", "/FileAttachment",
    "/Sound", "/Movie", "/Screen", "/PrinterMark", "/TrapNet", "/Watermark", "/3D", "/Redact", "/Projection",
    "/RichMedia",
})
# Objects a later revision may replace without changing what the document shows or holds:
# containers, metadata, validation data.
_NEUTRAL_TYPES = frozenset({"/ObjStm", "/XRef", "/Metadata", "/Catalog", "/DSS", "/VRI", "/AcroForm"})
MAX_CHANGED_OBJECTS = 10_000
MAX_PAGES = 10_000


def _classify(reader: Any, signed_revision: int) -> frozenset[Modification]:
    """What the objects that revisions after `signed_revision` replaced or added are."""
    from pyhanko.pdf_utils import generic

    changed: set[Any] = set()
    for revision in range(signed_revision + 1, reader.xrefs.total_revisions):
        changed |= reader.xrefs.explicit_refs_in_revision(revision)
        if len(changed) > MAX_CHANGED_OBJECTS:
            return frozenset({Modification.OTHER})
    signed = reader.get_historical_resolver(signed_revision)
    found: set[Modification] = set()
    if _page_refs(reader.get_historical_root(signed_revision)) != _page_refs(reader.root):
        found.add(Modification.PAGES)
    info = reader.trailer.raw_get("/Info") if "/Info" in reader.trailer else None
    annots = _annots_arrays(reader)
    for ref in changed:
        if isinstance(info, generic.IndirectObject) and ref == info.reference:
            continue
        if ref in annots:  # a page's list of annotations, kept as an object of its own
            found.add(Modification.ANNOTATIONS)
            continue
        obj = reader.get_object(ref)
        before = signed(ref) if reader.xrefs.get_introducing_revision(ref) <= signed_revision else None
        found |= _kind_of(obj, before)
    return frozenset(found)


def _kind_of(obj: Any, before: Any) -> set[Modification]:  # noqa: PLR0911 - an answer per kind of object
    from pyhanko.pdf_utils import generic

    if not isinstance(obj, generic.DictionaryObject):  # StreamObject is a DictionaryObject too
        return set() if before is None else {Modification.OTHER}
    kind = obj.get("/Type")
    if kind in _NEUTRAL_TYPES:
        return set()
    if kind == "/Pages":
        return set()  # the page lists are compared as a whole
    if kind == "/Page":
        if before is None or not isinstance(before, generic.DictionaryObject):
            return set()  # a new page: the page lists tell
        keys = (set(obj.keys()) | set(before.keys())) - {"/Annots"}
        # A writer may copy what the page inherited from the page tree into the page itself.
        if all(_same(obj.raw_get(k) if k in obj else None, _page_value(before, k)) for k in keys):
            return {Modification.ANNOTATIONS}
        return {Modification.OTHER}
    if "/FT" in obj or ("/T" in obj and "/Parent" in obj):
        return {Modification.FORM_DATA}
    if obj.get("/Subtype") in _ANNOTATIONS or kind == "/Annot":
        return {Modification.ANNOTATIONS}
    # New objects are there for what refers to them (an appearance, a font), which is judged
    # itself; an object the signed revision had and a later one replaced is a change.
    return set() if before is None else {Modification.OTHER}


_INHERITABLE = frozenset({"/Resources", "/MediaBox", "/CropBox", "/Rotate"})


def _page_value(page: Any, key: str) -> Any:
    """`page`'s own value for `key`, or for an inheritable attribute its page tree's."""
    node = page
    for _ in range(32):
        if key in node:
            return node.raw_get(key)
        if key not in _INHERITABLE or "/Parent" not in node:
            return None
        node = node["/Parent"]
    return None


def _same(a: Any, b: Any, depth: int = 0) -> bool:
    from pyhanko.pdf_utils import generic

    if depth > 32:
        return False
    if isinstance(a, generic.IndirectObject) or isinstance(b, generic.IndirectObject):
        return (isinstance(a, generic.IndirectObject) and isinstance(b, generic.IndirectObject)
                and a.reference == b.reference)
    if isinstance(a, generic.DictionaryObject) and isinstance(b, generic.DictionaryObject):
        return a.keys() == b.keys() and all(_same(a.raw_get(k), b.raw_get(k), depth + 1) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _annots_arrays(reader: Any) -> set[Any]:
    """The references of the pages' /Annots arrays that are objects of their own."""
    from pyhanko.pdf_utils import generic

    found = set()
    for page_ref in _page_refs(reader.root) or []:
        page = reader.get_object(page_ref)
        annots = page.raw_get("/Annots") if isinstance(page, generic.DictionaryObject) and "/Annots" in page else None
        if isinstance(annots, generic.IndirectObject):
            found.add(annots.reference)
    return found


def _page_refs(root: Any) -> list[Any] | None:
    """The page tree's leaves, in order, as references; None past `MAX_PAGES` nodes or when the
    tree is not one (a cycle, a missing node)."""
    from pyhanko.pdf_utils import generic

    pages: list[Any] = []
    try:
        stack = [root.raw_get("/Pages")]
        seen = 0
        while stack:
            node_ref = stack.pop()
            seen += 1
            if seen > MAX_PAGES or not isinstance(node_ref, generic.IndirectObject):
                return None
            untyped: Any = node_ref  # pyHanko's get_object is not annotated
            node = untyped.get_object()
            if node.get("/Type") == "/Pages":
                stack.extend(reversed(list(node.raw_get("/Kids"))))
            else:
                pages.append(node_ref.reference)
    except (KeyError, TypeError, AttributeError):
        return None
    return pages


def _covered_end(byte_range: Any) -> int:
    return int(byte_range[2]) + int(byte_range[3])
