"""Access tokens across a key rotation: the `kid` header, the two keys a verifier holds, and when a
container asks Secrets Manager again (a fake key source stands in for it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from chalicelib.domain.errors import Unauthorized
from chalicelib.security import SigningKey, TokenKeys, TokenSigner, well_formed_key

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
K0, K1, K2 = (SigningKey(f"v{n}", f"{n}" * 64) for n in range(3))


class RotatingSecret:
    """The token key's versions as Secrets Manager would hand them out, counting the reads."""

    def __init__(self) -> None:
        self.keys = TokenKeys(current=K0)
        self.reads = 0
        self.unreachable = False

    def rotate(self, to: SigningKey) -> None:
        self.keys = TokenKeys(current=to, previous=self.keys.current)

    def __call__(self) -> TokenKeys:
        if self.unreachable:
            raise ConnectionError("Secrets Manager is unreachable")
        self.reads += 1
        return self.keys


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def hand_made(header: dict[str, object], payload: dict[str, object], key: str) -> str:
    """An HS256 token with any header at all (PyJWT refuses to make one with a non-string kid)."""
    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signed = f"{part(json.dumps(header).encode())}.{part(json.dumps(payload).encode())}"
    return f"{signed}.{part(hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest())}"


def a_container(secret: RotatingSecret, clock: Monotonic | None = None) -> TokenSigner:
    return TokenSigner(secret, timedelta(hours=2), monotonic=clock or Monotonic())


def test_a_token_names_the_version_of_the_key_that_signed_it() -> None:
    token, _ = a_container(RotatingSecret()).issue("u1", NOW, generation=1)
    assert jwt.get_unverified_header(token)["kid"] == "v0"


def test_a_token_signed_before_a_rotation_verifies_after_it_and_a_known_kid_costs_no_read() -> None:
    secret = RotatingSecret()
    old, _ = a_container(secret).issue("u1", NOW, generation=1)
    secret.rotate(K1)
    fresh = a_container(secret)
    reads = secret.reads
    for _ in range(10):
        assert fresh.read(old, NOW).user_id == "u1"
        assert fresh.read(fresh.issue("u2", NOW, generation=1)[0], NOW).user_id == "u2"
    assert secret.reads == reads


def test_a_container_that_loaded_its_keys_before_the_rotation_reloads_once_for_a_new_kid() -> None:
    secret = RotatingSecret()
    stale = a_container(secret)
    secret.rotate(K1)
    new, _ = a_container(secret).issue("u1", NOW, generation=1)
    reads = secret.reads
    assert stale.read(new, NOW).user_id == "u1"
    assert stale.read(new, NOW).user_id == "u1"
    assert secret.reads == reads + 1


def test_after_two_rotations_the_first_keys_tokens_are_refused() -> None:
    secret = RotatingSecret()
    first, _ = a_container(secret).issue("u1", NOW, generation=1)
    secret.rotate(K1)
    secret.rotate(K2)
    with pytest.raises(Unauthorized):
        a_container(secret).read(first, NOW)


def test_made_up_kids_reload_at_most_once_per_interval() -> None:
    secret, clock = RotatingSecret(), Monotonic()
    container = a_container(secret, clock)
    reads = secret.reads
    forged = [jwt.encode({"sub": "u1"}, "x" * 64, algorithm="HS256", headers={"kid": f"forged-{n}"})
              for n in range(50)]
    for token in forged:
        with pytest.raises(Unauthorized):
            container.read(token, NOW)
    assert secret.reads == reads + 1
    clock.now += TokenSigner.RELOAD_INTERVAL
    with pytest.raises(Unauthorized):
        container.read(forged[0], NOW)
    assert secret.reads == reads + 2


def test_a_token_signed_with_a_known_kid_but_another_key_is_refused() -> None:
    token = jwt.encode({"sub": "u1", "jti": "j", "exp": 2 ** 32, "iat": 0, "gen": 1, "auth_time": 0,
                        "aud": TokenSigner.AUDIENCE}, "forged" * 11, algorithm="HS256", headers={"kid": "v0"})
    with pytest.raises(Unauthorized):
        a_container(RotatingSecret()).read(token, NOW)


@pytest.mark.parametrize("kid", [12, "", "x" * 65])
def test_a_malformed_kid_is_refused_without_a_read(kid: object) -> None:
    secret = RotatingSecret()
    container = a_container(secret)
    token = hand_made({"alg": "HS256", "typ": "JWT", "kid": kid}, {"sub": "u1"}, K0.secret)
    reads = secret.reads
    with pytest.raises(Unauthorized):
        container.read(token, NOW)
    assert secret.reads == reads


def test_a_token_from_before_tokens_had_a_kid_verifies_with_the_current_key_only() -> None:
    secret = RotatingSecret()
    legacy = TokenSigner(K0.secret, timedelta(hours=2)).issue("u1", NOW, generation=1)[0]
    bare = jwt.encode(jwt.decode(legacy, options={"verify_signature": False}), K0.secret, algorithm="HS256")
    assert "kid" not in jwt.get_unverified_header(bare)
    assert a_container(secret).read(bare, NOW).user_id == "u1"
    secret.rotate(K1)
    with pytest.raises(Unauthorized):
        a_container(secret).read(bare, NOW)


def kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_a_container_reloads_keys_a_day_old_before_it_signs_so_it_never_signs_with_a_retired_key() -> None:
    secret, clock = RotatingSecret(), Monotonic()
    container = a_container(secret, clock)
    secret.rotate(K1)
    assert jwt.get_unverified_header(container.issue("u1", NOW, generation=1)[0])["kid"] == "v0"
    clock.now += TokenSigner.MAX_KEY_AGE
    assert jwt.get_unverified_header(container.issue("u1", NOW, generation=1)[0])["kid"] == "v1"


def test_keys_are_never_shown_in_a_repr() -> None:
    assert K0.secret not in repr(TokenKeys(current=K0, previous=K1))


@pytest.mark.parametrize(("value", "ok"), [
    ("aB3" * 21 + "x", True),  # the template's and the rotation's: 64 letters and digits
    ("Zm9v-_" * 8, True),  # secrets.token_urlsafe(48), the local stack's
    ("a" * 42, False),  # under 256 bits
    ("", False),
    ("a" * 60 + " \n", False),
    ("a" * 60 + "@!", False),
])
def test_a_well_formed_key_is_at_least_256_bits_of_letters_digits_dash_and_underscore(value: str, ok: bool) -> None:
    assert well_formed_key(value) is ok


def test_a_container_that_cannot_reload_old_keys_keeps_signing_with_the_ones_it_holds() -> None:
    secret, clock = RotatingSecret(), Monotonic()
    container = a_container(secret, clock)
    secret.unreachable = True
    clock.now += TokenSigner.MAX_KEY_AGE
    token, _ = container.issue("u1", NOW, generation=1)
    assert kid(token) == "v0" and container.read(token, NOW).user_id == "u1"
