"""Rotating the token-signing key (TokenSigningKey) with Secrets Manager's four steps.

Secrets Manager calls the rotation function once per step, each time with the secret, the
step and a ClientRequestToken that is the new version's ID; a step may come again (Secrets
Manager retries), so each is safe to repeat. As in AWS's rotation templates, every step first
checks that the secret has rotation enabled and that the token is a version staged for this
rotation: AWSPENDING, or AWSCURRENT already (then the rotation is over and the step does nothing).

Nobody is logged out: the verifiers hold AWSCURRENT and AWSPREVIOUS (security.TokenKeys), so a
token signed before `finishSecret` keeps verifying after it.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Protocol

from chalicelib.secret_store import CURRENT, PENDING, SecretState
from chalicelib.security import well_formed_key

log = logging.getLogger(__name__)


class Step(StrEnum):
    CREATE = "createSecret"
    SET = "setSecret"
    TEST = "testSecret"
    FINISH = "finishSecret"


class RotationRefused(ValueError):
    """The event cannot be acted on: another secret, rotation not enabled, a token that is not
    the rotation's version, an unknown step, or a pending value that is not a key. Secrets Manager
    records the failure and leaves AWSCURRENT where it was."""


class RotatableSecret(Protocol):
    def state(self, secret_id: str) -> SecretState: ...
    def value(self, secret_id: str, stage: str = CURRENT) -> str | None: ...
    def pending_value(self, secret_id: str, version_id: str) -> str | None: ...
    def random_key(self) -> str: ...
    def put_pending(self, secret_id: str, version_id: str, value: str) -> None: ...
    def make_current(self, secret_id: str, version_id: str, current: str | None) -> None: ...


def rotate(step: str, secret_id: str, token: str, *, secrets: RotatableSecret, only: str) -> str:
    """Run one step for version `token` of `secret_id`, which must be the secret `only` (the ARN
    the function is configured with; Secrets Manager names the secret by ARN, moto by name):
    this function rotates the token key alone, never IdHashKey, whose every stored hash depends
    on its value. Every call then names `only`, so the role's resource is exactly that secret.
    Returns what was done, for the function's result and log."""
    try:
        kind = Step(step)
    except ValueError:
        raise RotationRefused(f"unknown rotation step {step!r}") from None
    if secret_id not in (only, _name_in(only)):
        raise RotationRefused(f"this function rotates only {only}, not {secret_id}")
    secret_id = only
    state = secrets.state(secret_id)
    if not state.rotation_enabled:
        raise RotationRefused(f"secret {secret_id} is not enabled for rotation")
    stages = state.stages.get(token)
    if stages is None:
        raise RotationRefused(f"version {token} has no stage for rotation of secret {secret_id}")
    if CURRENT in stages:
        log.info("%s: version %s of %s is already AWSCURRENT", step, token, secret_id)
        return "already current"
    if PENDING not in stages:
        raise RotationRefused(f"version {token} is not AWSPENDING for rotation of secret {secret_id}")
    done = _STEPS[kind](secrets, secret_id, token, state)
    log.info("%s: %s for version %s of %s", step, done, token, secret_id)
    return done


def _name_in(arn: str) -> str | None:
    """The secret's name in its ARN (`arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>`)."""
    _, found, rest = arn.partition(":secret:")
    name, dash, suffix = rest.rpartition("-")
    return name if found and dash and len(suffix) == 6 else None


def _create(secrets: RotatableSecret, secret_id: str, token: str, state: SecretState) -> str:
    if secrets.value(secret_id, CURRENT) is None:
        raise RotationRefused(f"secret {secret_id} has no current value to rotate from")
    if secrets.pending_value(secret_id, token) is not None:
        return "pending key already made"  # a repeated createSecret keeps the key it made
    secrets.put_pending(secret_id, token, secrets.random_key())
    return "pending key made"


def _set(secrets: RotatableSecret, secret_id: str, token: str, state: SecretState) -> str:
    # An HMAC key lives nowhere but in the secret: no database or service holds a copy to set.
    return "nothing to set"


def _test(secrets: RotatableSecret, secret_id: str, token: str, state: SecretState) -> str:
    pending = secrets.pending_value(secret_id, token)
    if pending is None or not well_formed_key(pending):
        raise RotationRefused(f"the pending value of {secret_id} (version {token}) is not a token-signing key")
    return "pending key is well formed"


def _finish(secrets: RotatableSecret, secret_id: str, token: str, state: SecretState) -> str:
    secrets.make_current(secret_id, token, state.version_with(CURRENT))
    return "made current"


_STEPS = {Step.CREATE: _create, Step.SET: _set, Step.TEST: _test, Step.FINISH: _finish}
