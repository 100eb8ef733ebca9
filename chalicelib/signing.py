"""Sign a document the service issues as PAdES: PDF bytes in, signed PDF bytes out.

Every copy is a certification signature (DocMDP, `/P 1`: no changes permitted), so pdfsig,
pyHanko and Acrobat flag whatever is appended after it, at PAdES baseline B-LT:

- B-B: `/SubFilter /ETSI.CAdES.detached`, SHA-256, the signer's certificate and its CA chain
  in the CMS, signed attributes content-type, message-digest and signing-certificate-v2, and
  no signing-time attribute (PAdES puts the time in the signature dictionary's `/M`);
- B-T: an RFC 3161 timestamp over the signature value, from the time-stamping authority at
  `TSA_URL` (`Timestamper`), as the unsigned attribute signature-time-stamp-token;
- B-LT: the document security store (DSS) holds the signer's, the CA's and the TSA's
  certificates and the CRLs their distribution points name (`RevocationInfo`, fetched over
  HTTP and kept until their nextUpdate), so a validator needs no network. It is written in
  the signature's own incremental update, so the signature covers the whole file and any
  later revision, whatever it holds, is somebody else's (pdfsig: "Total document signed"
  for a genuine copy, "Not total document signed" once anything is appended). The TSA's
  certificates are learned from its first token (that first copy is signed twice). A DSS
  or document timestamp added later (to extend the copy's life, B-LTA) would still not be
  a modification: ISO 32000-2 and pyHanko's difference analysis accept both after a
  certification signature with `/P 1`.

No TSA, no copy: when the TSA does not answer, `sign` raises `TimestampUnavailable` (and
counts `TimestampFailed`), the render attempt fails and the queue retries it. Only a signer
built with `unstamped=True` signs without a timestamp (B-B, certified, no DSS): the package's
probe and the benchmarks, never the worker (`deps.pdf_signer` always passes a TSA).

The signature field is invisible; readers show the signature in their signature panel. With
an EC key pyHanko also declares ISO/TS 32002 and marks the file PDF 2.0, as ECDSA in PDF
signatures is specified there.

The key is EC P-256 (`infra/pki.py`): per copy it signs a little faster than RSA-2048 (the
private-key operation is 0.02 ms against 0.27 ms; 1.5 ms against 1.7 ms for the whole copy),
its container is 1.2 kB smaller, and an AWS KMS `ECC_NIST_P256` key can replace it. RSA keys
work too (PKCS#1 v1.5); `bench/bench_signing.py` measures both.

Speed. pyHanko's ready-made path (`SimpleSigner` + `sign_pdf`) takes about 20 ms per copy with
EC P-256 and 87 ms with RSA-2048, of which the signature itself is 0.02 ms and 0.27 ms:

- `SimpleSigner.sign_raw` parses the private key from DER for every signature, and for RSA
  `cryptography` then checks the key's consistency, about 30 ms per parse;
- `sign_pdf` signs twice: a dry run to size the signature container, then the real one;
- asn1crypto builds the CMS anew each time and re-encodes most of it (the
  signing-certificate-v2 attribute, with the issuer's name, is the costliest part): 7 to 9 ms.

Here the key and certificates are parsed once, when `PdfSigner` is built (once per Lambda
container), and so is the CMS: pyHanko assembles it once, with a placeholder digest and
signature, and `PdfSigner` keeps its DER pieces. Each copy then costs pyHanko's incremental
update of the PDF (signature field and dictionary, the /ByteRange digest), one signature over
the signed attributes (the placeholder digest replaced by the document's) and a few byte
concatenations: 1.5 ms. The container's size is known from the template, so nothing is
signed twice, and nothing is validated or fetched: there is no validation context, hence no
revocation look-ups, and the chain is embedded as stored. At construction the template,
reassembled, is compared byte for byte with pyHanko's own encoding, so a pyHanko release that
changes what goes into the CMS fails there, loudly, rather than in a reader.

With a timestamp the container holds the TSA's token too (its room in /Contents is reserved
before the document is digested: `TOKEN_ROOM`, grown and signed again if a TSA answers with a
larger token), and the DSS update follows; both vary from one signature to the next.

Determinism (unstamped signatures only: a timestamp differs every time, which is why the
worker keeps the first upload rather than relying on identical re-renders,
`services/rendering.py`). The same PDF, signing time, reason, location and material give the
same bytes:
ECDSA is RFC 6979 deterministic (`deterministic_signing=True`, which needs OpenSSL 3.2 or
later; `PdfSigner.deterministic` says whether it is in effect), RSA PKCS#1 v1.5 is
deterministic by nature, and the values pyHanko would take from the machine, the trailer
`/ID`'s second half (random) and the modification date (the clock: Info `/ModDate`, or
`xmp:ModifyDate` in PDF 2.0), come from the input and the signing time instead. The bytes
do change with the pyHanko version, which is in `/Producer`.

pyHanko internals this relies on (pyHanko 0.38; `tests/unit/test_signing.py` fails when one
of them changes): `IncrementalPdfFileWriter._document_id` (the trailer `/ID` array); the
writer's `_meta` (`DocumentMetadata`), whose `last_modified` pyHanko sets to `"now"` before
each write; a signing session's `system_time`, set between `PdfSigner.init_signing_session`
and `prepare_tbs_document` (the steps `PdfSigner.async_sign_pdf` takes itself), is the `/M`
entry. The rest is pyHanko's documented interface for a CMS made elsewhere
(`digest_tbs_document`, then `PreparedByteRangeDigest.fill_with_cms`).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import secrets
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import cms, tsp  # type: ignore[import-untyped]
from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from cryptography import x509 as pyca_x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import ImportedPdfPage
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.metadata.model import DocumentMetadata
from pyhanko.sign.fields import MDPPerm, SigFieldSpec, SigSeedSubFilter
from pyhanko.sign.signers import PdfSignatureMetadata, Signer
from pyhanko.sign.signers import PdfSigner as _PyHankoPdfSigner
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.stamp import StaticStampStyle

from chalicelib import observability

log = logging.getLogger(__name__)

DEFAULT_REASON = "加注件签发"
DEFAULT_LOCATION = "专业技术人员职业资格证书查询验证系统"
FIELD_NAME = "Signature1"
DIGEST = "sha256"

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
# DER bytes reserved in /Contents for the TSA's token (with its certificates): the local TSA's
# is about 2 kB; a larger one makes `sign` grow the room and sign again.
TOKEN_ROOM = 3072


@dataclass(frozen=True)
class Seal:
    """The signature's visible appearance: the issuing authority's seal drawn as a one-page PDF
    (render.seal_pdf) and where it goes on the first page, in points from the bottom left.
    Clicking it in a reader shows the signature."""

    pdf: bytes = field(repr=False)
    box: tuple[float, float, float, float]


class TimestampUnavailable(RuntimeError):
    """The time-stamping authority gave no usable token: no copy is made (the render is retried)."""


class RevocationUnavailable(RuntimeError):
    """A CRL that a copy's certificates name could not be fetched (or revokes one of them)."""


@dataclass(frozen=True)
class SigningMaterial:
    """The service's signing key, its certificate and the CA chain that issued it, all PEM.

    Kept in Secrets Manager as one JSON string: {"key_pem": ..., "cert_pem": ..., "chain_pem": ...}.
    """

    key_pem: bytes
    cert_pem: bytes
    chain_pem: bytes

    @classmethod
    def from_json(cls, text: str) -> SigningMaterial:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("signing material must be a JSON object")
        values: dict[str, bytes] = {}
        for name in ("key_pem", "cert_pem", "chain_pem"):
            value = data.get(name)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"signing material lacks {name}")
            values[name] = value.encode("ascii")
        return cls(**values)

    def to_json(self) -> str:
        return json.dumps({"key_pem": self.key_pem.decode("ascii"), "cert_pem": self.cert_pem.decode("ascii"),
                           "chain_pem": self.chain_pem.decode("ascii")})

    def __repr__(self) -> str:
        # The dataclass's own repr would put the private key into any log line or traceback.
        return "SigningMaterial(key_pem=<redacted>, cert_pem=..., chain_pem=...)"


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
        key = serialization.load_pem_private_key(material.key_pem, password=None)
        if not isinstance(key, PrivateKey):
            raise ValueError("the signing key must be EC or RSA")
        cert = pyca_x509.load_pem_x509_certificate(material.cert_pem)
        if cert.public_key() != key.public_key():
            raise ValueError("the signing certificate is not the signing key's")
        if not any(_issued(cert, by=ca) for ca in pyca_x509.load_pem_x509_certificates(material.chain_pem)):
            raise ValueError("no certificate of the chain issued the signing certificate")
        self.deterministic = isinstance(key, rsa.RSAPrivateKey) or _deterministic_ecdsa_available()
        # pyHanko works with asn1crypto's certificates, parsed here once.
        self._chain = list(load_certs_from_pemder_data(material.chain_pem))
        self._signer = _KeySigner(key, signing_cert=_one(load_certs_from_pemder_data(material.cert_pem)),
                                  chain=self._chain, deterministic=self.deterministic)
        self._template = _CmsTemplate.build(self._signer)
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
            certs = _unique([self._signer.signing_cert, *self._chain, *self._tsa_certs])
            dss = (certs, self._revocation.crls_for(certs))
            signed, token = self._certify(pdf, signing_time, reason, location, self._timestamper, dss, seal)
            held = {c.sha256 for c in certs}
            tsa_certs = _unique(list(token["content"]["certificates"]))
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
            writer = _Writer(pdf, signing_time)
            if dss is not None:
                DocumentSecurityStore.supply_dss_in_writer(writer, None, certs=dss[0], crls=dss[1])
            pdf_signer = _PyHankoPdfSigner(
                PdfSignatureMetadata(field_name=FIELD_NAME, md_algorithm=DIGEST, subfilter=SigSeedSubFilter.PADES,
                                     reason=reason, location=location, certify=True,
                                     docmdp_permissions=MDPPerm.NO_CHANGES),
                self._signer,
                new_field_spec=SigFieldSpec(sig_field_name=FIELD_NAME) if seal is None else
                SigFieldSpec(sig_field_name=FIELD_NAME, on_page=0, box=_whole_points(seal.box)),
                stamp_style=None if seal is None else StaticStampStyle(
                    background=ImportedPdfPage(_seal_file(seal.pdf)),  # type: ignore[no-untyped-call]
                    background_opacity=1.0, border_width=0),
            )
            session = pdf_signer.init_signing_session(writer)
            session.system_time = signing_time  # the /M entry; pyHanko would take the machine's clock
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
                return _tlv(0xA1, attribute)  # [1] IMPLICIT SET OF Attribute

            container = self._template.sign(prepared.document_digest, self._signer.sign_now, unsigned)
            if token is not None and len(token.dump()) > self._token_room:
                # This TSA's tokens are larger than the room reserved: reserve more, sign again.
                self._token_room = len(token.dump()) + 1024
                continue
            prepared.fill_with_cms(output, container)
            return buffer.getvalue(), token


_SEALS = Path(tempfile.gettempdir()) / "certificate-seals"


def _whole_points(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    """pyHanko places a field on whole points."""
    return (round(box[0]), round(box[1]), round(box[2]), round(box[3]))


def _seal_file(pdf: bytes) -> str:
    """pyHanko imports an appearance from a PDF file by name: the seal's bytes, kept once per
    drawing in the function's /tmp."""
    path = _SEALS / f"{hashlib.sha256(pdf).hexdigest()[:32]}.pdf"
    if not path.exists():
        _SEALS.mkdir(exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}")
        partial.write_bytes(pdf)
        partial.replace(path)  # atomic: another thread never reads half a file
    return str(path)


class Timestamper:
    """An RFC 3161 client for one TSA (`TSA_URL`): a SHA-256 imprint in, the TSA's token out,
    its status, imprint and nonce checked. One connection pool, reused from copy to copy."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        import urllib3

        self.url = url
        self._http = urllib3.PoolManager(maxsize=4, retries=False,
                                         timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s))

    def token(self, digest: bytes) -> Any:
        nonce = secrets.randbits(63)
        request = tsp.TimeStampReq({
            "version": 1, "nonce": nonce, "cert_req": True,
            "message_imprint": {"hash_algorithm": {"algorithm": DIGEST}, "hashed_message": digest},
        })
        try:
            answer = self._http.request("POST", self.url, body=request.dump(),
                                        headers={"Content-Type": "application/timestamp-query"})
            if answer.status != 200:
                raise ValueError(f"HTTP {answer.status}")
            response = tsp.TimeStampResp.load(answer.data)
            status = response["status"]["status"].native
            if status not in ("granted", "granted_with_mods"):
                raise ValueError(f"status {status}")
            token = response["time_stamp_token"]
            info = token["content"]["encap_content_info"]["content"].parsed
            if info["nonce"].native != nonce or info["message_imprint"]["hashed_message"].native != digest:
                raise ValueError("the token is not for this request")
        except Exception as e:  # a TSA down, slow or answering nonsense: all the same to the copy
            log.warning("no timestamp from the TSA at %s: %s", self.url, _kind(e))
            observability.count("TimestampFailed")
            raise TimestampUnavailable(f"no timestamp from the TSA at {self.url}: {_kind(e)}") from e
        return token


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
                log.warning("no CRL from %s: %s", url, _kind(e))
                observability.count("RevocationInfoFailed")
                raise RevocationUnavailable(f"no CRL from {url}: {_kind(e)}") from e
            self._crls[url] = crl
            return crl


def _kind(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"[:200]


def _unique(certs: list[Any]) -> list[Any]:
    seen: dict[bytes, Any] = {}
    for choice in certs:
        cert = choice.chosen if isinstance(choice, cms.CertificateChoices) else choice
        if isinstance(cert, asn1_x509.Certificate):
            seen.setdefault(cert.sha256, cert)
    return list(seen.values())


class _KeySigner(Signer):
    """pyHanko's `Signer` over a key parsed once (pyHanko's `SimpleSigner` parses it again for
    each signature)."""

    def __init__(self, key: PrivateKey, *, signing_cert: Any, chain: list[Any], deterministic: bool) -> None:
        # pyHanko derives the mechanism from the certificate's key: sha256_ecdsa or sha256_rsa
        # (PKCS#1 v1.5), which is what `sign_now` makes.
        super().__init__(signing_cert=signing_cert, embed_roots=True)
        self.cert_registry.register_multiple(chain)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            # DER SEQUENCE of two INTEGERs, each up to the curve's size plus a leading zero byte.
            integers = 2 * (2 + (key.curve.key_size + 7) // 8 + 1)
            self.max_signature = integers + (2 if integers < 128 else 3)
            self._ecdsa = ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic)
        else:
            self.max_signature = (key.key_size + 7) // 8
        self._key = key

    def sign_now(self, data: bytes) -> bytes:
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, self._ecdsa)
        return self._key.sign(data, padding.PKCS1v15(), hashes.SHA256())

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        if digest_algorithm != DIGEST:
            raise ValueError(f"unexpected digest {digest_algorithm}")
        return bytes(self.max_signature) if dry_run else self.sign_now(data)


@dataclass(frozen=True)
class _CmsTemplate:
    """The signature container pyHanko makes for this signer, cut into the DER pieces that do
    not change from one copy to the next.

    Per copy only two values change: the message digest inside the signed attributes (the
    attributes' order and lengths do not depend on it, so their DER is the template's with the
    32 bytes replaced) and the signature (whose length varies by a byte or two with ECDSA, so
    the enclosing lengths are recomputed).
    """

    placeholder_digest: bytes
    signed_attrs: bytes  # content octets of the SET OF attributes, with the placeholder digest
    content_type: bytes  # ContentInfo.contentType, id-signedData
    signed_data_head: bytes  # version, digestAlgorithms, encapContentInfo, [0] certificates
    signer_info_head: bytes  # version, sid, digestAlgorithm
    signature_algorithm: bytes
    hex_size: int  # hex digits the container takes in /Contents with the longest signature

    @classmethod
    def build(cls, signer: _KeySigner) -> _CmsTemplate:
        placeholder = hashlib.sha256(b"placeholder for the document digest").digest()
        container = asyncio.run(signer.async_sign(
            placeholder, DIGEST, dry_run=True, use_pades=True, signed_attr_settings=PdfCMSSignedAttributes()))
        signed_data = container["content"]
        signer_info = signed_data["signer_infos"][0]
        template = cls(
            placeholder_digest=placeholder,
            signed_attrs=signer_info["signed_attrs"].contents,
            content_type=container["content_type"].dump(),
            signed_data_head=b"".join(signed_data[name].dump() for name in (
                "version", "digest_algorithms", "encap_content_info", "certificates")),
            signer_info_head=b"".join(signer_info[name].dump() for name in ("version", "sid", "digest_algorithm")),
            signature_algorithm=signer_info["signature_algorithm"].dump(),
            hex_size=2 * len(container.dump()),
        )
        if template.signed_attrs.count(placeholder) != 1:
            raise RuntimeError("the placeholder digest is not found once in the signed attributes")
        # Whatever pyHanko puts in (CRLs, unsigned attributes, another field order) and this
        # class does not reproduce fails here rather than in a reader.
        if template.assemble(template.signed_attrs, bytes(signer.max_signature)) != container.dump():
            raise RuntimeError("the CMS template does not reproduce pyHanko's signature container")
        return template

    def sign(self, document_digest: bytes, sign: Callable[[bytes], bytes],
             unsigned: Callable[[bytes], bytes] = lambda _: b"") -> bytes:
        """The DER signature container for a document with this /ByteRange digest; `unsigned`
        gives the DER of the unsigned attributes (the timestamp) for the signature value."""
        attrs = self.signed_attrs.replace(self.placeholder_digest, document_digest)
        signature = sign(_tlv(0x31, attrs))
        return self.assemble(attrs, signature, unsigned(signature))

    def assemble(self, attrs: bytes, signature: bytes, unsigned: bytes = b"") -> bytes:
        signer_info = _tlv(0x30, self.signer_info_head + _tlv(0xA0, attrs) + self.signature_algorithm
                           + _tlv(0x04, signature) + unsigned)
        signed_data = _tlv(0x30, self.signed_data_head + _tlv(0x31, signer_info))
        return _tlv(0x30, self.content_type + _tlv(0xA0, signed_data))


def _tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


class _Writer(IncrementalPdfFileWriter):
    """An incremental update whose trailer /ID and modification date (the Info dictionary's
    /ModDate and, when pyHanko writes XMP, xmp:ModifyDate) come from its input and signing
    time, not from the machine."""

    def __init__(self, pdf: bytes, signing_time: datetime) -> None:
        super().__init__(io.BytesIO(pdf))
        self._meta = _PinnedModificationTime(signing_time)
        # ISO 32000 §14.4: the first half stays the original's; the second names this version.
        first = self._document_id[0]
        second = hashlib.sha256(pdf + signing_time.isoformat().encode()).digest()[:16]
        self._document_id = generic.ArrayObject([first, generic.ByteStringObject(second)])


class _PinnedModificationTime(DocumentMetadata):
    """Document metadata whose modification time stays the one given: pyHanko sets
    `last_modified = "now"` each time it writes, and reads the clock when it serialises."""

    _modified: datetime  # not a dataclass field: this subclass is not a dataclass

    def __init__(self, modified: datetime) -> None:
        object.__setattr__(self, "_modified", modified)
        super().__init__(last_modified=modified)

    def __setattr__(self, name: str, value: object) -> None:
        if name == "last_modified" and value == "now":
            value = self._modified
        super().__setattr__(name, value)


def _issued(cert: pyca_x509.Certificate, *, by: pyca_x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(by)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _one(certs: Any) -> Any:
    found = list(certs)
    if len(found) != 1:
        raise ValueError(f"expected one signing certificate, found {len(found)}")
    return found[0]


def _deterministic_ecdsa_available() -> bool:
    try:
        ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    except UnsupportedAlgorithm:  # cryptography built against OpenSSL older than 3.2
        return False
    return True


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

