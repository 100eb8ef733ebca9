"""The four rotation steps against a hand-written secret: what each step does, that each is safe
to repeat, and every event the rotation must refuse."""

from __future__ import annotations

import pytest

from chalicelib.secret_store import CURRENT, PENDING, PREVIOUS, SecretState
from chalicelib.services.key_rotation import RotationRefused, rotate

ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:certificates/TokenSigningKey-AbCdEf"
NAME = "certificates/TokenSigningKey"
NEW_KEY = "N" * 64


class FakeSecret:
    """A secret's versions and stages as Secrets Manager keeps them, after RotateSecret has
    staged an empty AWSPENDING version for `token`."""

    def __init__(self, token: str = "t2", *, rotation_enabled: bool = True) -> None:
        self.rotation_enabled = rotation_enabled
        self.values: dict[str, str | None] = {"t1": "C" * 64, token: None}
        self.stages: dict[str, list[str]] = {"t1": [CURRENT], token: [PENDING]}
        self.random_keys = 0

    def state(self, secret_id: str) -> SecretState:
        return SecretState(rotation_enabled=self.rotation_enabled,
                           stages={v: list(s) for v, s in self.stages.items()})

    def value(self, secret_id: str, stage: str = CURRENT) -> str | None:
        return next((self.values[v] for v, s in self.stages.items() if stage in s), None)

    def pending_value(self, secret_id: str, version_id: str) -> str | None:
        return self.values.get(version_id) if PENDING in self.stages.get(version_id, []) else None

    def random_key(self) -> str:
        self.random_keys += 1
        return NEW_KEY

    def put_pending(self, secret_id: str, version_id: str, value: str) -> None:
        self.values[version_id] = value

    def make_current(self, secret_id: str, version_id: str, current: str | None) -> None:
        for stages in self.stages.values():
            for stage in (CURRENT, PREVIOUS):
                if stage in stages:
                    stages.remove(stage)
        if current:
            self.stages[current].append(PREVIOUS)
        self.stages[version_id] = [CURRENT]


def run(secret: FakeSecret, step: str, token: str = "t2", secret_id: str = ARN) -> str:
    return rotate(step, secret_id, token, secrets=secret, only=ARN)


def test_the_four_steps_make_a_new_current_key_and_keep_the_old_one_as_previous() -> None:
    secret = FakeSecret()
    assert [run(secret, step) for step in ("createSecret", "setSecret", "testSecret", "finishSecret")] == [
        "pending key made", "nothing to set", "pending key is well formed", "made current"]
    assert secret.value(ARN, CURRENT) == NEW_KEY and secret.value(ARN, PREVIOUS) == "C" * 64
    assert secret.stages == {"t1": [PREVIOUS], "t2": [CURRENT]}


def test_every_step_may_come_again_and_changes_nothing_the_second_time() -> None:
    secret = FakeSecret()
    for step in ("createSecret", "createSecret", "setSecret", "testSecret", "testSecret", "finishSecret"):
        run(secret, step)
    assert secret.random_keys == 1
    assert [run(secret, step) for step in ("createSecret", "testSecret", "finishSecret")] == ["already current"] * 3
    assert secret.stages == {"t1": [PREVIOUS], "t2": [CURRENT]}


def test_a_secret_named_by_its_name_is_the_same_secret() -> None:
    assert run(FakeSecret(), "createSecret", secret_id=NAME) == "pending key made"


def test_a_pending_value_that_is_no_key_stops_the_rotation_at_its_test() -> None:
    secret = FakeSecret()
    secret.values["t2"] = "short"
    with pytest.raises(RotationRefused, match="not a token-signing key"):
        run(secret, "testSecret")
    empty = FakeSecret()
    with pytest.raises(RotationRefused, match="not a token-signing key"):
        run(empty, "testSecret")
    assert secret.stages["t1"] == [CURRENT] and empty.stages["t1"] == [CURRENT]


@pytest.mark.parametrize(("secret", "step", "token", "only", "reason"), [
    (FakeSecret(rotation_enabled=False), "createSecret", "t2", ARN, "not enabled for rotation"),
    (FakeSecret(), "createSecret", "t9", ARN, "has no stage for rotation"),
    (FakeSecret(), "createSecret", "t2", "arn:aws:secretsmanager:us-east-1:1:secret:IdHashKey-AbCdEf", "rotates only"),
    (FakeSecret(), "createSecret", "t2", "certificates/TokenSigningKey", "rotates only"),
    (FakeSecret(), "dropSecret", "t2", ARN, "unknown rotation step"),
])
def test_the_rotation_refuses_events_it_must_not_act_on(secret: FakeSecret, step: str, token: str, only: str,
                                                        reason: str) -> None:
    with pytest.raises(RotationRefused, match=reason):
        rotate(step, ARN, token, secrets=secret, only=only)
    assert secret.random_keys == 0 and secret.stages["t1"] == [CURRENT]


def test_a_version_staged_neither_pending_nor_current_is_refused() -> None:
    secret = FakeSecret()
    secret.stages["t2"] = [PREVIOUS]
    with pytest.raises(RotationRefused, match="is not AWSPENDING"):
        run(secret, "finishSecret")


def test_a_secret_without_a_current_value_is_not_rotated() -> None:
    secret = FakeSecret()
    secret.values["t1"] = None
    with pytest.raises(RotationRefused, match="no current value"):
        run(secret, "createSecret")
