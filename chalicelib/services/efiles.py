"""The electronic file (证书电子文件) of an older certificate, a document of the service like a
copy: it carries the verification code the certificate was given when first loaded and a QR
code, and is certified with the issuing authority's seal.

It is rendered and signed when a holder first asks for it, not when its batch is loaded, so
a batch of 10⁶ rows renders nothing. The API cannot sign (only the render worker may read the
signing material), so a first download asks the render worker through its queue and waits a
few seconds for the file to be stored (then 503 file_not_ready, and the page asks again). Every
step is safe to run twice: the file is stored under a key of what it prints, the first upload
there wins, and the certificate takes its key and hash in one conditional update. A change to
what the certificate prints makes a new file on the next download; a change of state does not.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib import observability
from chalicelib.domain.annotations import format_code, new_verification_code
from chalicelib.domain.certificates import Certificate, CertificateKind, certificate_file_key, printed_digest
from chalicelib.domain.clock import iso
from chalicelib.domain.errors import AnnotationRequired, CertificateNotValid, FileNotReady
from chalicelib.services.rendering import Outcome, PdfStore

log = logging.getLogger(__name__)

# A holder asking again within this time does not queue another render.
ASK_AGAIN_AFTER = timedelta(seconds=30)
# What a holder is told to wait when the file is not ready in time.
RETRY_AFTER_SECONDS = 2


class FileRequests(Protocol):
    def certificate(self, certificate_id: str) -> Certificate | None: ...
    def request_file(self, certificate_id: str, now: datetime, asked_before: datetime) -> bool: ...


class FileQueue(Protocol):
    def send_file(self, certificate_id: str) -> None: ...


class Presigner(Protocol):
    def presigned_pdf(self, key: str, *, disposition: str, filename: str, now: datetime,
                      not_after: datetime | None = None) -> tuple[str, datetime]: ...


@dataclass(frozen=True)
class Waiting:
    """How long a first download waits for its file, and the clock it waits by."""

    seconds: float
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic


def file_link(cert: Certificate, disposition: str, *, store: FileRequests, queue: FileQueue, files: Presigner,
              waiting: Waiting, now: datetime) -> dict[str, Any]:
    """A link to the certificate's electronic file, rendered first if need be."""
    if cert.kind is CertificateKind.E_CERTIFICATE:
        raise AnnotationRequired()
    if not cert.is_valid:
        raise CertificateNotValid()
    key = cert.current_file or _rendered(cert, store=store, queue=queue, waiting=waiting, now=now)
    url, expires_at = files.presigned_pdf(key, disposition=disposition,
                                          filename=f"{cert.qualification}-{cert.certificate_no}.pdf", now=now)
    return {"url": url, "expires_at": iso(expires_at)}


def _rendered(cert: Certificate, *, store: FileRequests, queue: FileQueue, waiting: Waiting, now: datetime) -> str:
    """Ask the render worker for the file (once per ASK_AGAIN_AFTER, however many ask) and wait
    for its key, reading the certificate again with a growing pause."""
    if store.request_file(cert.certificate_id, now, now - ASK_AGAIN_AFTER):
        queue.send_file(cert.certificate_id)
    deadline = waiting.monotonic() + waiting.seconds
    pause = 0.02
    while (left := deadline - waiting.monotonic()) > 0:
        waiting.sleep(min(pause, left))
        fresh = store.certificate(cert.certificate_id)
        if fresh is not None and fresh.current_file is not None:
            return fresh.current_file
        pause = min(pause * 2, 0.5)
    observability.count("FilesNotReadyInTime")
    raise FileNotReady(RETRY_AFTER_SECONDS)


# --- the render worker's side --------------------------------------------------------------------

class FileStore(Protocol):
    def certificate(self, certificate_id: str) -> Certificate | None: ...
    def give_file_code(self, certificate_id: str, code: str) -> str: ...
    def file_rendered(self, cert: Certificate, *, key: str, sha256: str, printed: str) -> bool: ...


@dataclass(frozen=True)
class FileFacts:
    """Everything printed on an electronic file besides its certificate's own content."""

    certificate: Certificate
    verification_code: str
    verify_url: str
    generated_at: datetime


FileRenderer = Callable[[FileFacts], bytes]


def render_file(certificate_id: str, *, store: FileStore, files: PdfStore, renderer: FileRenderer,
                verify_url: Callable[[str], str], now: datetime) -> Outcome:
    """Render, sign and store the file unless one of what the certificate prints now is there."""
    cert = store.certificate(certificate_id)
    if cert is None or cert.kind is not CertificateKind.E_FILE or not cert.is_valid:
        return Outcome.FAILED  # nothing to render: the next download says why
    if cert.current_file is not None:
        return Outcome.ALREADY_DONE
    # Every certificate loaded since files carry codes has one; an older item is given one here.
    code = cert.file_code or store.give_file_code(certificate_id, new_verification_code())
    printed = printed_digest(cert)
    key = certificate_file_key(certificate_id, printed)
    sha256 = files.stored_sha256(key)  # an earlier attempt that stored it and died
    if sha256 is None:
        started = time.perf_counter()
        pdf = renderer(FileFacts(cert, format_code(code), verify_url(code), now))
        observability.milliseconds("FileRenderMilliseconds", (time.perf_counter() - started) * 1000)
        sha256 = files.put_pdf_once(key, pdf, hashlib.sha256(pdf).hexdigest())
    if store.file_rendered(cert, key=key, sha256=sha256, printed=printed):
        observability.count("FilesReady")
        return Outcome.READY
    return Outcome.ALREADY_DONE  # another attempt recorded it, or the certificate changed meanwhile
