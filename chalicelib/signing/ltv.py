"""Long-term validation material (PAdES B-LT): the CRLs that a copy's certificates name,
fetched over HTTP and kept until their nextUpdate, and the document security store (DSS) that
carries them with the certificates, so that a validator needs no network.

The DSS is written in the signature's own incremental update (`PdfSigner` calls `write_dss`
before it adds the signature), so the signature covers the whole file and any later revision,
whatever it holds, is somebody else's (pdfsig: "Total document signed" for a genuine copy, "Not
total document signed" once anything is appended). A DSS or document timestamp added later (to
extend the copy's life, B-LTA) would still not be a modification: ISO 32000-2 and pyHanko's
difference analysis accept both after a certification signature with `/P 1`.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms  # type: ignore[import-untyped]
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign.validation.dss import DocumentSecurityStore

from chalicelib import observability
from chalicelib.signing.errors import RevocationUnavailable, kind

log = logging.getLogger("chalicelib.signing")  # the logger name these lines had before the package split


class RevocationInfo:
    """The CRLs named by the certificates a copy embeds, fetched over HTTP from their CRL
    distribution points and kept until their nextUpdate (one fetch a week per CRL, not one per
    copy). A certificate a CRL lists as revoked stops signing."""

    def __init__(self, *, timeout_s: float = 5.0) -> None:
        import urllib3

        self._http = urllib3.PoolManager(maxsize=2, retries=False,
                                         timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s))
        self._crls: dict[str, Any] = {}
        self._lock = threading.Lock()

    def crls_for(self, certs: list[Any], now: datetime | None = None) -> list[Any]:
        now = now or datetime.now(UTC)
        found: list[Any] = []
        for cert in certs:
            if cert.self_issued:
                continue  # a trust root: validators take it as it is
            urls = [p.url for p in cert.crl_distribution_points if p.url]
            if not urls:
                raise RevocationUnavailable(f"certificate {cert.subject.human_friendly} names no CRL")
            crl = self._crl(urls[0], now)
            if any(r["user_certificate"].native == cert.serial_number
                   for r in crl["tbs_cert_list"]["revoked_certificates"]):
                raise RevocationUnavailable(f"certificate {cert.subject.human_friendly} is revoked")
            if all(crl is not f for f in found):
                found.append(crl)
        return found

    def _crl(self, url: str, now: datetime) -> Any:
        with self._lock:
            held = self._crls.get(url)
            if held is not None and held["tbs_cert_list"]["next_update"].native > now:
                return held
            try:
                answer = self._http.request("GET", url)
                if answer.status != 200:
                    raise ValueError(f"HTTP {answer.status}")
                crl = asn1_crl.CertificateList.load(answer.data)
                if crl["tbs_cert_list"]["next_update"].native <= now:
                    raise ValueError("the CRL is out of date")
            except Exception as e:
                log.warning("no CRL from %s: %s", url, kind(e))
                observability.count("RevocationInfoFailed")
                raise RevocationUnavailable(f"no CRL from {url}: {kind(e)}") from e
            self._crls[url] = crl
            return crl


def unique_certs(certs: list[Any]) -> list[Any]:
    """The X.509 certificates among `certs` (CMS certificate choices unwrapped), each once, in
    the order first met."""
    seen: dict[bytes, Any] = {}
    for choice in certs:
        cert = choice.chosen if isinstance(choice, cms.CertificateChoices) else choice
        if isinstance(cert, asn1_x509.Certificate):
            seen.setdefault(cert.sha256, cert)
    return list(seen.values())


def write_dss(writer: IncrementalPdfFileWriter, certs: list[Any], crls: list[Any]) -> None:
    """The DSS with `certs` and `crls`, added to the update `writer` is making."""
    DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=certs, crls=crls)
