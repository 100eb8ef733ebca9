"""Signing material for the local stack: a self-signed CA, a document-signing certificate, a
time-stamping certificate for the local RFC 3161 responder, and the CA's CRL.

The local stack calls `create_local_pki` once per start (`infra/local.py`, with the URL on
which `infra/tsa.py` serves the CRL), keeps its `material`, as the JSON of
`SigningMaterial.to_json()`, in Secrets Manager; the render worker reads it from there and
signs every annotated copy (加注件) with it (`chalicelib/signing/`). The signing and the
time-stamping certificates name that CRL as their distribution point, so a validator (and the
worker, which embeds the CRL in the copy's DSS for B-LT) can fetch it. Nobody outside this
machine trusts that CA: a reader shows the signature as intact but its signer as unknown
until the CA is added to its trust store.

Production keeps the signing key in AWS KMS instead (or in an HSM: CloudHSM or any PKCS#11
device, for which pyHanko ships `pyhanko.sign.pkcs11.PKCS11Signer`), so the private key
never leaves the key service and is never in a secret, a Lambda's memory or a log. The key
is an asymmetric KMS key of spec `ECC_NIST_P256` with usage `SIGN_VERIFY`; its public key
(`GetPublicKey`) goes into a certificate signing request that the issuing authority's CA
certifies for document signing, and Secrets Manager holds only that certificate and the CA
chain, no `key_pem`. The worker gives pyHanko a subclass of `pyhanko.sign.signers.Signer`
built from the certificate and chain, whose `async_sign_raw(data, digest_algorithm,
dry_run=False)` hashes `data` (the DER of the CMS signed attributes) with SHA-256 and calls
KMS `Sign` with `MessageType=DIGEST` and `SigningAlgorithm=ECDSA_SHA_256`, returning the DER
signature KMS answers; for `dry_run` (pyHanko sizing the signature container) it returns 72
zero bytes, the longest P-256 signature, without calling KMS. In `chalicelib/signing/container.py`
that is `KeySigner`, whose per-copy `sign_now` would make the same call. Only the render
worker's role may call `kms:Sign` on that key, every call is in CloudTrail, and rotating
means a new key and certificate, with copies signed before staying valid under the old
certificate. Two costs: each copy waits for a KMS round trip, and KMS does not promise
deterministic (RFC 6979) ECDSA, so signing the same copy twice gives different bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from chalicelib.signing import SigningMaterial

LOCAL_COMMON_NAME = "专业技术人员职业资格证书查询验证系统（本地）"
# The system's name (22 characters, 66 bytes of UTF-8) is the certificates' organisation (O):
# `cryptography` caps a common name at 64 bytes of UTF-8 (RFC 5280 allows 64 characters), so
# the common names are these shorter ones. Readers show both ("CN=加注件签名（本地）,O=…,C=CN").
SIGNER_COMMON_NAME = "加注件签名（本地）"
CA_COMMON_NAME = "加注件签名根证书（本地）"
TSA_COMMON_NAME = "时间戳服务（本地）"
KeyType = Literal["ec-p256", "rsa-2048"]

CA_VALIDITY = timedelta(days=10 * 365)
SIGNER_VALIDITY = timedelta(days=3 * 365)
# A CRL is good for a week; the local responder makes a new one for every request.
CRL_VALIDITY = timedelta(days=7)
# A clock a little behind the one that made the certificates must not see them as not yet valid.
BACKDATE = timedelta(hours=1)

# RFC 9336 id-kp-documentSigning, for validators that look for it.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


@dataclass(frozen=True)
class LocalPki:
    """Everything the local stack's trust services need: the worker's `material`, the CA (whose
    key also signs the CRL) and the time-stamping authority's key and certificate, all made
    together, once per start."""

    material: SigningMaterial
    ca_cert_pem: bytes
    ca_key_pem: bytes
    tsa_cert_pem: bytes
    tsa_key_pem: bytes
    crl_url: str | None

    def crl(self, now: datetime) -> bytes:
        """The CA's CRL (DER), valid from `now` for a week; nothing is revoked."""
        ca_key = serialization.load_pem_private_key(self.ca_key_pem, password=None)
        ca_cert = x509.load_pem_x509_certificate(self.ca_cert_pem)
        assert isinstance(ca_key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey)
        start = now - BACKDATE
        return (
            x509.CertificateRevocationListBuilder()
            .issuer_name(ca_cert.subject)
            .last_update(start)
            .next_update(now + CRL_VALIDITY)
            .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
            .public_bytes(serialization.Encoding.DER)
        )

    def __repr__(self) -> str:
        return f"LocalPki(crl_url={self.crl_url!r}, keys=<redacted>)"


def create_local_material(common_name: str = LOCAL_COMMON_NAME, *, now: datetime,
                          key_type: KeyType = "ec-p256", crl_url: str | None = None) -> SigningMaterial:
    """A new CA and a signing certificate it issued, both with new keys, both naming
    `common_name` as their organisation (O).

    EC P-256 by default, the key type the service signs with; `rsa-2048` is there for the
    benchmark that compares the two. Without `crl_url` the certificates name no CRL (the
    package's probe, the benchmarks): such a copy cannot be made B-LT.
    """
    return create_local_pki(common_name, now=now, key_type=key_type, crl_url=crl_url).material


def create_local_pki(common_name: str = LOCAL_COMMON_NAME, *, now: datetime, key_type: KeyType = "ec-p256",
                     crl_url: str | None = None) -> LocalPki:
    """A new CA, the document-signing and time-stamping certificates it issued (each with a new
    key), the signing and time-stamping certificates naming `crl_url` as their CRL
    distribution point."""
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    ca_key = _new_key(key_type)
    signer_key = _new_key(key_type)
    tsa_key = _new_key(key_type)
    start = now - BACKDATE
    ca_name = _name(CA_COMMON_NAME, common_name)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(key_cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    def issued(subject: str, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
               usage: x509.ExtendedKeyUsage, *, usage_critical: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(subject, common_name))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + SIGNER_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
            .add_extension(usage, critical=usage_critical)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        )
        if crl_url is not None:
            builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
                full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None,
                crl_issuer=None)]), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    # Poppler (pdfsig, Okular, Evince) checks the signer with NSS's e-mail-signer usage, which
    # refuses a certificate whose extended key usage lacks emailProtection (with
    # documentSigning alone pdfsig says "Unknown issue with Certificate or corrupted data.").
    # documentSigning (RFC 9336) and Adobe's Authentic Documents OID are for the validators
    # that look for those.
    signer_cert = issued(SIGNER_COMMON_NAME, signer_key, x509.ExtendedKeyUsage([
        DOCUMENT_SIGNING,
        ExtendedKeyUsageOID.EMAIL_PROTECTION,
        ObjectIdentifier("1.2.840.113583.1.1.5"),  # Adobe Authentic Documents Trust
    ]), usage_critical=False)
    # RFC 3161 §2.3: a TSA's certificate has timeStamping as its only extended key usage, critical.
    tsa_cert = issued(TSA_COMMON_NAME, tsa_key, x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                      usage_critical=True)
    return LocalPki(
        material=SigningMaterial(key_pem=_private_pem(signer_key), cert_pem=_pem(signer_cert),
                                 chain_pem=_pem(ca_cert)),
        ca_cert_pem=_pem(ca_cert), ca_key_pem=_private_pem(ca_key),
        tsa_cert_pem=_pem(tsa_cert), tsa_key_pem=_private_pem(tsa_key), crl_url=crl_url,
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _private_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _new_key(key_type: KeyType) -> ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey:
    if key_type == "ec-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa-2048":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"unknown key type {key_type!r}")


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _key_usage(*, digital_signature: bool = False, content_commitment: bool = False,
               key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature, content_commitment=content_commitment, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=key_cert_sign, crl_sign=key_cert_sign,
        encipher_only=False, decipher_only=False,
    )
