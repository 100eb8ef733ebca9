"""The signer: `PdfSigner` certifies a PDF (DocMDP `/P 1`) in one incremental update holding
the signature field (`appearance`), the DSS (`ltv`) and the CMS container (`container`), with
the TSA's token (`timestamps`) as the unsigned attribute signature-time-stamp-token.

With a timestamp the container holds the TSA's token too (its room in /Contents is reserved
before the document is digested: `TOKEN_ROOM`, grown and signed again if a TSA answers with a
larger token), and the DSS update follows; both vary from one signature to the next. The TSA's
certificates are learned from its first token (that first copy is signed twice).
"""

from __future__ import annotations

import hashlib
import io
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms  # type: ignore[import-untyped]
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.fields import MDPPerm, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata
from pyhanko.sign.signers import PdfSigner as _PyHankoPdfSigner

from chalicelib.signing.appearance import FIELD_NAME, Seal, field_spec, stamp_style
from chalicelib.signing.container import DIGEST, CmsTemplate, KeySigner, deterministic_ecdsa_available, tlv
from chalicelib.signing.errors import TimestampUnavailable
from chalicelib.signing.ltv import RevocationInfo, unique_certs, write_dss
from chalicelib.signing.material import SigningMaterial, load_key
from chalicelib.signing.pinned import PinnedWriter, pin_signing_time
from chalicelib.signing.timestamps import Timestamper

DEFAULT_REASON = "加注件签发"
DEFAULT_LOCATION = "专业技术人员职业资格证书查询验证系统"

# DER bytes reserved in /Contents for the TSA's token (with its certificates): the local TSA's
# is about 2 kB; a larger one makes `sign` grow the room and sign again.
TOKEN_ROOM = 3072


class PdfSigner:
    """Certifies PDFs with one key and certificate, timestamped by `timestamper`, with the
    revocation information `revocation` fetches.

    Build it once per process, outside any running event loop (parsing the material, making
    the CMS template and a first, unstamped signature take a few milliseconds; nothing is
    fetched). `sign` may then be called from several threads at once: they share only the
    key, the parsed certificates, the template, the TSA's connection pool and the CRL cache.
    """

    def __init__(self, material: SigningMaterial, *, timestamper: Timestamper | None = None,
                 revocation: RevocationInfo | None = None, unstamped: bool = False) -> None:
        if timestamper is None and not unstamped:
            raise ValueError("no time-stamping authority: a copy is never signed without a timestamp "
                             "unless the signer is built with unstamped=True")
        key = load_key(material)
        self.deterministic = isinstance(key, rsa.RSAPrivateKey) or deterministic_ecdsa_available()
        # pyHanko works with asn1crypto's certificates, parsed here once.
        self._chain = list(load_certs_from_pemder_data(material.chain_pem))
        self._signer = KeySigner(key, signing_cert=_one(load_certs_from_pemder_data(material.cert_pem)),
                                 chain=self._chain, deterministic=self.deterministic)
        self._template = CmsTemplate.build(self._signer)
        self._timestamper = timestamper
        self._revocation = revocation or RevocationInfo()
        self._token_room = TOKEN_ROOM
        self._tsa_certs: list[Any] = []  # learned from the TSA's first token
        # asn1crypto parses a certificate's parts when first asked for them, filling in lists
        # as it goes: one signature here does that before threads can race over it, and shows
        # at start-up, not on the first copy, if anything in the material does not work.
        self._certify(_blank_pdf(), datetime(2000, 1, 1, tzinfo=UTC), DEFAULT_REASON, DEFAULT_LOCATION, None, None)

    def sign(self, pdf: bytes, *, signing_time: datetime, reason: str = DEFAULT_REASON,
             location: str = DEFAULT_LOCATION, seal: Seal | None = None) -> bytes:
        """`pdf` certified (PAdES B-LT; B-B for an unstamped signer), as incremental updates.

        `signing_time` (timezone-aware) is the signature's time (`/M`) as readers show it; PDF
        dates have whole seconds, so its microseconds are dropped. The timestamp says when
        the TSA saw the signature. Raises `TimestampUnavailable` or `RevocationUnavailable`
        when the TSA or a CRL cannot be had.
        """
        if signing_time.tzinfo is None:
            raise ValueError("naive datetime")
        signing_time = signing_time.replace(microsecond=0)
        if self._timestamper is None:
            return self._certify(pdf, signing_time, reason, location, None, None, seal)[0]
        for _ in range(2):
            certs = unique_certs([self._signer.signing_cert, *self._chain, *self._tsa_certs])
            dss = (certs, self._revocation.crls_for(certs))
            signed, token = self._certify(pdf, signing_time, reason, location, self._timestamper, dss, seal)
            held = {c.sha256 for c in certs}
            tsa_certs = unique_certs(list(token["content"]["certificates"]))
            if all(c.sha256 in held for c in tsa_certs):
                return signed
            # The first copy of this process meets the TSA's certificates: they (and their CRLs)
            # go into the DSS from now on, and this copy is signed again with them.
            self._tsa_certs = tsa_certs
        raise TimestampUnavailable("the TSA answers with other certificates each time")

    def _certify(self, pdf: bytes, signing_time: datetime, reason: str, location: str,
                 timestamper: Timestamper | None, dss: tuple[list[Any], list[Any]] | None,
                 seal: Seal | None = None) -> tuple[bytes, Any]:
        """The certification signature's revision (with the DSS, when given, in the same
        update, so the signature covers the whole file), and the TSA's token (None unstamped)."""
        while True:
            room = self._token_room + 64 if timestamper is not None else 0  # 64: the attribute's own DER
            writer = PinnedWriter(pdf, signing_time)
            if dss is not None:
                write_dss(writer, certs=dss[0], crls=dss[1])
            pdf_signer = _PyHankoPdfSigner(
                PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm=DIGEST, subfilter=SigSeedSubFilter.PADES,
                                     reason=reason, location=location, certify=True,
                                     docmdp_permissions=MDPPerm.NO_CHANGES),
                self._signer,
                new_field_spec=field_spec(seal),
                stamp_style=stamp_style(seal),
            )
            session = pdf_signer.init_signing_session(writer)
            pin_signing_time(session, signing_time)
            tbs = session.prepare_tbs_document(validation_info=None,
                                               bytes_reserved=self._template.hex_size + 2 * room)
            buffer = io.BytesIO()
            prepared, output = tbs.digest_tbs_document(output=buffer)
            token: Any = None

            def unsigned(signature: bytes) -> bytes:
                nonlocal token
                if timestamper is None:
                    return b""
                token = timestamper.token(hashlib.sha256(signature).digest())
                attribute = cms.CMSAttribute({"type": "signature_time_stamp_token", "values": [token]}).dump()
                return tlv(0xA1, attribute)  # [1] IMPLICIT SET OF Attribute

            container = self._template.sign(prepared.document_digest, self._signer.sign_now, unsigned)
            if token is not None and len(token.dump()) > self._token_room:
                # This TSA's tokens are larger than the room reserved: reserve more, sign again.
                self._token_room = len(token.dump()) + 1024
                continue
            prepared.fill_with_cms(output, container)
            return buffer.getvalue(), token


def _one(certs: Any) -> Any:
    found = list(certs)
    if len(found) != 1:
        raise ValueError(f"expected one signing certificate, found {len(found)}")
    return found[0]


def _blank_pdf() -> bytes:
    """A one-page empty PDF, made here rather than by a PDF library."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
