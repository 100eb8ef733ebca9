"""A thin adapter over Secrets Manager: the token keys by staging label, plain values, the calls
a rotation makes, and the document-signing material that must be set before copies can be signed.

Stages are always named (`VersionStage=AWSCURRENT`), never left to the default, so a value is
read exactly as a rotation left it. No value read here reaches a log line or an exception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib import observability
from chalicelib.config import ConfigurationError
from chalicelib.security import SigningKey, TokenKeys

if TYPE_CHECKING:
    from chalicelib.signing import PdfSigner

log = logging.getLogger(__name__)

CURRENT, PREVIOUS, PENDING = "AWSCURRENT", "AWSPREVIOUS", "AWSPENDING"


class Clients(Protocol):
    def client(self, service: str, config: Any = None) -> Any: ...


class SigningMaterialMissing(ConfigurationError):
    """The SigningMaterial secret has no value, or one that is not usable signing material: no
    copy can be signed until ops put the key and chain into it (README, "Secrets")."""


@dataclass(frozen=True)
class SecretState:
    """What DescribeSecret says about a secret: whether rotation is on, and each version's stages."""

    rotation_enabled: bool
    stages: dict[str, list[str]]

    def version_with(self, stage: str) -> str | None:
        return next((version for version, stages in self.stages.items() if stage in stages), None)


class SecretStore:
    def __init__(self, clients: Clients) -> None:
        self._client = clients.client("secretsmanager")

    def value(self, secret_id: str, stage: str = CURRENT) -> str | None:
        """The value staged as `stage`, or None where there is none (no such version, or a
        version without a value, as the template's empty secrets are)."""
        found = self._version(secret_id, stage)
        return None if found is None else found[1]

    def token_keys(self, secret_id: str) -> TokenKeys:
        """AWSCURRENT (which signs) and AWSPREVIOUS (which still verifies), named by VersionId."""
        current = self._version(secret_id, CURRENT)
        if current is None:
            raise ConfigurationError(f"secret {secret_id} has no current value")
        previous = self._version(secret_id, PREVIOUS)
        return TokenKeys(current=SigningKey(*current),
                         previous=SigningKey(*previous) if previous is not None else None)

    # The calls of a rotation (services/key_rotation.py).

    def state(self, secret_id: str) -> SecretState:
        described = self._client.describe_secret(SecretId=secret_id)
        return SecretState(rotation_enabled=bool(described.get("RotationEnabled")),
                           stages={v: list(s) for v, s in described.get("VersionIdsToStages", {}).items()})

    def pending_value(self, secret_id: str, version_id: str) -> str | None:
        try:
            answer = self._client.get_secret_value(SecretId=secret_id, VersionId=version_id, VersionStage=PENDING)
        except self._client.exceptions.ResourceNotFoundException:
            return None
        value = answer.get("SecretString")
        return value if isinstance(value, str) else None

    def random_key(self) -> str:
        # As the template's GenerateSecretString: 64 letters and digits.
        return str(self._client.get_random_password(PasswordLength=64, ExcludePunctuation=True)["RandomPassword"])

    def put_pending(self, secret_id: str, version_id: str, value: str) -> None:
        self._client.put_secret_value(SecretId=secret_id, ClientRequestToken=version_id, SecretString=value,
                                      VersionStages=[PENDING])

    def make_current(self, secret_id: str, version_id: str, current: str | None) -> None:
        """AWSCURRENT to `version_id` (Secrets Manager moves AWSPREVIOUS to the version it leaves),
        then AWSPENDING off it, as AWS's rotation templates do."""
        moved: dict[str, str] = {"RemoveFromVersionId": current} if current else {}
        self._client.update_secret_version_stage(SecretId=secret_id, VersionStage=CURRENT,
                                                 MoveToVersionId=version_id, **moved)
        self._client.update_secret_version_stage(SecretId=secret_id, VersionStage=PENDING,
                                                 RemoveFromVersionId=version_id)

    def _version(self, secret_id: str, stage: str) -> tuple[str, str] | None:
        try:
            answer = self._client.get_secret_value(SecretId=secret_id, VersionStage=stage)
        except self._client.exceptions.ResourceNotFoundException:
            return None
        value = answer.get("SecretString")
        return (str(answer["VersionId"]), value) if isinstance(value, str) else None


class TimestampAuthorityMissing(ConfigurationError):
    """No time-stamping authority is configured (`TSA_URL`): no copy is signed without a timestamp."""


def load_pdf_signer(store: SecretStore, secret_id: str, *, tsa_url: str | None) -> PdfSigner:
    """The document signer from the SigningMaterial secret, stamping with the TSA at `tsa_url`,
    or, where the secret is empty or unusable, a log line saying which (never what it holds), the
    `SigningMaterialMissing` metric for the alarm, and `SigningMaterialMissing` raised: the render
    attempt fails and the queue retries it, so copies are signed as soon as ops fill the secret;
    nothing is marked failed for it early. Without `tsa_url` the same, with `TimestampFailed`."""
    from chalicelib.signing import PdfSigner, RevocationInfo, SigningMaterial, Timestamper

    if tsa_url is None:
        log.error("TSA_URL is not set: no copy can be signed until it names the time-stamping authority")
        observability.count("TimestampFailed")
        raise TimestampAuthorityMissing("TSA_URL is not set")
    text = store.value(secret_id)
    problem = "it has no value" if text is None or not text.strip() else None
    signer = None
    if problem is None:
        try:
            signer = PdfSigner(SigningMaterial.from_json(str(text)), timestamper=Timestamper(tsa_url),
                               revocation=RevocationInfo())
        except Exception as e:  # whatever is wrong with the material, it is told the same way
            problem = _described(e)
    if signer is None:
        log.error("SigningMaterial secret %s is not usable (%s): no copy can be signed until it holds the "
                  "document-signing key and chain (README, Operations, Secrets)", secret_id, problem)
        observability.count("SigningMaterialMissing")
        raise SigningMaterialMissing(f"signing material in {secret_id} is not usable: {problem}")
    return signer


def _described(error: Exception) -> str:
    """What is wrong with the material, in words that cannot carry any of it. Our own checks
    (signing/material.py) say which part; a library's message (JSON, PEM) may quote the input, so only
    its kind is told."""
    import json

    if isinstance(error, json.JSONDecodeError):
        return "it is not JSON"
    own = ("signing material", "the signing key", "the signing certificate", "no certificate of the chain")
    if isinstance(error, ValueError) and str(error).startswith(own):
        return str(error)
    return f"its key or certificates cannot be read ({type(error).__name__})"
