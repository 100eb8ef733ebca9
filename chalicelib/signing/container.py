"""The CMS signature container, made once per process and refilled for each copy: pyHanko's
`Signer` over a key parsed once (`KeySigner`) and the container cut into its fixed DER pieces
(`CmsTemplate`).

Speed. pyHanko's ready-made path (`SimpleSigner` + `sign_pdf`) takes about 20 ms per copy with
EC P-256 and 87 ms with RSA-2048, of which the signature itself is 0.02 ms and 0.27 ms:

- `SimpleSigner.sign_raw` parses the private key from DER for every signature, and for RSA
  `cryptography` then checks the key's consistency, about 30 ms per parse;
- `sign_pdf` signs twice: a dry run to size the signature container, then the real one;
- asn1crypto builds the CMS anew each time and re-encodes most of it (the
  signing-certificate-v2 attribute, with the issuer's name, is the costliest part): 7 to 9 ms.

Here the key and certificates are parsed once, when `PdfSigner` is built (once per Lambda
container), and so is the CMS: pyHanko assembles it once, with a placeholder digest and
signature, and `CmsTemplate` keeps its DER pieces. Each copy then costs pyHanko's incremental
update of the PDF (signature field and dictionary, the /ByteRange digest), one signature over
the signed attributes (the placeholder digest replaced by the document's) and a few byte
concatenations: 1.5 ms. The container's size is known from the template, so nothing is
signed twice, and nothing is validated or fetched: there is no validation context, hence no
revocation look-ups, and the chain is embedded as stored. At construction the template,
reassembled, is compared byte for byte with pyHanko's own encoding, so a pyHanko release that
changes what goes into the CMS fails there, loudly, rather than in a reader.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
from pyhanko.sign.signers import Signer
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

from chalicelib.signing.material import PrivateKey

DIGEST = "sha256"


class KeySigner(Signer):
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
class CmsTemplate:
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
    def build(cls, signer: KeySigner) -> CmsTemplate:
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
        signature = sign(tlv(0x31, attrs))
        return self.assemble(attrs, signature, unsigned(signature))

    def assemble(self, attrs: bytes, signature: bytes, unsigned: bytes = b"") -> bytes:
        signer_info = tlv(0x30, self.signer_info_head + tlv(0xA0, attrs) + self.signature_algorithm
                          + tlv(0x04, signature) + unsigned)
        signed_data = tlv(0x30, self.signed_data_head + tlv(0x31, signer_info))
        return tlv(0x30, self.content_type + tlv(0xA0, signed_data))


def tlv(tag: int, content: bytes) -> bytes:
    """One DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    octets = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(octets))) + octets + content


def deterministic_ecdsa_available() -> bool:
    try:
        ec.ECDSA(hashes.SHA256(), deterministic_signing=True)
    except UnsupportedAlgorithm:  # cryptography built against OpenSSL older than 3.2
        return False
    return True
