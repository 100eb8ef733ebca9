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
  the signature's own incremental update, so the signature covers the whole file.

No TSA, no copy: when the TSA does not answer, `sign` raises `TimestampUnavailable` (and
counts `TimestampFailed`), the render attempt fails and the queue retries it. Only a signer
built with `unstamped=True` signs without a timestamp (B-B, certified, no DSS): the package's
probe and the benchmarks, never the worker (`deps.pdf_signer` always passes a TSA).

With an EC key pyHanko also declares ISO/TS 32002 and marks the file PDF 2.0, as ECDSA in PDF
signatures is specified there.

One job per module:

- `signer`: `PdfSigner`, which puts the parts below together into one incremental update;
- `material`: `SigningMaterial` (the key, certificate and chain from Secrets Manager) and
  the checks that they belong together;
- `container`: the CMS container, made once per process from pyHanko's and refilled per copy
  (why a copy takes 1.5 ms, not pyHanko's 20);
- `appearance`: the signature field and the seal drawn in it (`Seal`);
- `timestamps`: the RFC 3161 client and what a TSA failure does;
- `ltv`: the CRLs and the DSS (long-term validation);
- `pinned`: the pyHanko internals that make a signature deterministic;
- `errors`: `TimestampUnavailable`, `RevocationUnavailable`.

Only the workers import this package: pyHanko never loads on the API's path.
"""

from chalicelib.signing.appearance import FIELD_NAME, Seal
from chalicelib.signing.container import DIGEST
from chalicelib.signing.errors import RevocationUnavailable, TimestampUnavailable
from chalicelib.signing.ltv import RevocationInfo
from chalicelib.signing.material import PrivateKey, SigningMaterial
from chalicelib.signing.signer import DEFAULT_LOCATION, DEFAULT_REASON, TOKEN_ROOM, PdfSigner
from chalicelib.signing.signer import _blank_pdf as _blank_pdf  # the tests' and benchmarks' blank page
from chalicelib.signing.timestamps import Timestamper

__all__ = [
    "DEFAULT_LOCATION",
    "DEFAULT_REASON",
    "DIGEST",
    "FIELD_NAME",
    "TOKEN_ROOM",
    "PdfSigner",
    "PrivateKey",
    "RevocationInfo",
    "RevocationUnavailable",
    "Seal",
    "SigningMaterial",
    "TimestampUnavailable",
    "Timestamper",
]
