"""Signing material for the local stack: a self-signed CA and a document-signing certificate.

The local stack calls `create_local_material` on its first start and keeps the result, as the
JSON of `SigningMaterial.to_json()`, in Secrets Manager; the render worker reads it from there
and signs every annotated copy (加注件) with it (`chalicelib/signing.py`). Nobody outside
this machine trusts that CA: a reader shows the signature as intact but its signer as
unknown until the CA is added to its trust store.

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
zero bytes, the longest P-256 signature, without calling KMS. In `chalicelib/signing.py`
that is `_KeySigner`, whose per-copy `sign_now` would make the same call. Only the render
worker's role may call `kms:Sign` on that key, every call is in CloudTrail, and rotating
means a new key and certificate, with copies signed before staying valid under the old
certificate. Two costs: each copy waits for a KMS round trip, and KMS does not promise
deterministic (RFC 6979) ECDSA, so signing the same copy twice gives different bytes.
"""

from __future__ import annotations

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
KeyType = Literal["ec-p256", "rsa-2048"]

CA_VALIDITY = timedelta(days=10 * 365)
SIGNER_VALIDITY = timedelta(days=3 * 365)
# A clock a little behind the one that made the certificates must not see them as not yet valid.
BACKDATE = timedelta(hours=1)

# RFC 9336 id-kp-documentSigning, for validators that look for it.
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")


def create_local_material(common_name: str = LOCAL_COMMON_NAME, *, now: datetime,
                          key_type: KeyType = "ec-p256") -> SigningMaterial:
    """A new CA and a signing certificate it issued, both with new keys, both naming
    `common_name` as their organisation (O).

    EC P-256 by default, the key type the service signs with; `rsa-2048` is there for the
    benchmark that compares the two.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    ca_key = _new_key(key_type)
    signer_key = _new_key(key_type)
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
    signer_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(SIGNER_COMMON_NAME, common_name))
        .issuer_name(ca_name)
        .public_key(signer_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + SIGNER_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(digital_signature=True, content_commitment=True), critical=True)
        # Poppler (pdfsig, Okular, Evince) checks the signer with NSS's e-mail-signer usage, which
        # refuses a certificate whose extended key usage lacks emailProtection (with
        # documentSigning alone pdfsig says "Unknown issue with Certificate or corrupted data.").
        # documentSigning (RFC 9336) and Adobe's Authentic Documents OID are for the validators
        # that look for those.
        .add_extension(x509.ExtendedKeyUsage([
            DOCUMENT_SIGNING,
            ExtendedKeyUsageOID.EMAIL_PROTECTION,
            ObjectIdentifier("1.2.840.113583.1.1.5"),  # Adobe Authentic Documents Trust
        ]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(signer_key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return SigningMaterial(
        key_pem=signer_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()),
        cert_pem=signer_cert.public_bytes(serialization.Encoding.PEM),
        chain_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
    )


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
