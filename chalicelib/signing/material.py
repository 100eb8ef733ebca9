"""The signing material: the service's key, its certificate and the CA chain, as kept in
Secrets Manager, and the checks that they belong together before anything is signed with them.

The key is EC P-256 (`infra/pki.py`): per copy it signs a little faster than RSA-2048 (the
private-key operation is 0.02 ms against 0.27 ms; 1.5 ms against 1.7 ms for the whole copy),
its container is 1.2 kB smaller, and an AWS KMS `ECC_NIST_P256` key can replace it. RSA keys
work too (PKCS#1 v1.5); `bench/bench_signing.py` measures both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from cryptography import x509 as pyca_x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


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


def load_key(material: SigningMaterial) -> PrivateKey:
    """The material's private key, once its certificate is known to be the key's and to have
    been issued by a certificate of the chain. The messages of the `ValueError`s raised here
    are the ones `secret_store._described` repeats to operators, so they never quote the input."""
    key = serialization.load_pem_private_key(material.key_pem, password=None)
    if not isinstance(key, PrivateKey):
        raise ValueError("the signing key must be EC or RSA")
    cert = pyca_x509.load_pem_x509_certificate(material.cert_pem)
    if cert.public_key() != key.public_key():
        raise ValueError("the signing certificate is not the signing key's")
    if not any(_issued(cert, by=ca) for ca in pyca_x509.load_pem_x509_certificates(material.chain_pem)):
        raise ValueError("no certificate of the chain issued the signing certificate")
    return key


def _issued(cert: pyca_x509.Certificate, *, by: pyca_x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(by)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
