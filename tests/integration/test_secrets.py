"""The secrets on moto: TokenSigningKey rotated by Secrets Manager through the rotation function
without logging anyone out, and an empty or malformed SigningMaterial failing renders loudly.

moto's RotateSecret runs the rotation's four steps by invoking the function in its Lambda
service, which would need Docker; here moto's invoke runs our handler in-process, with the event
Secrets Manager sends, so every step goes through moto's Secrets Manager as it would on AWS.
Each test uses a secret of its own: rotating the stack's own key would reach other tests.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import boto3
import jwt
import pytest
from moto.awslambda.models import LambdaBackend

from chalicelib import deps, rotation, workers
from chalicelib.domain.annotations import AnnotationStatus
from chalicelib.domain.errors import Unauthorized
from chalicelib.security import TokenSigner
from chalicelib.services.key_rotation import RotationRefused
from infra.pki import create_local_material
from infra.tsa import TrustServices
from tests.integration.test_annotations import a_certificate, apply

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def stands_for(arn: str, logical: str) -> None:
    """The role check (conftest.py) takes requests to this test's own secret as requests to the
    stack's `logical` secret, which it stands in for."""
    from tests.integration import conftest

    recorder = getattr(conftest, "RECORDER", None)
    if recorder is not None:
        recorder.logical[arn] = logical


def forget(getter: Any) -> None:
    """The settings and one cached collaborator built anew (not all of deps: the repository
    would bind its tables again, which takes seconds on moto)."""
    deps.get_settings.cache_clear()
    getter.cache_clear()


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def token_key(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A token-signing secret of this test's own, made as the template makes TokenSigningKey, and
    configured as the one the app signs with and the rotation function rotates."""
    arn = boto3.client("secretsmanager").create_secret(
        Name=f"certificates/TokenSigningKey-{secrets.token_hex(4)}", SecretString=secrets.token_urlsafe(48))["ARN"]
    stands_for(arn, "TokenSigningKey")
    monkeypatch.setenv("TOKEN_KEY_SECRET_ID", arn)
    forget(deps.token_signer)
    yield arn
    monkeypatch.undo()
    forget(deps.token_signer)


class RotationFunction:
    """TokenKeyRotation as a function in moto's Lambda: its invocations run our handler, or, with
    `deliver` off, are only recorded, so a test can send the steps itself."""

    def __init__(self, arn: str) -> None:
        self.arn = arn
        self.deliver = True
        self.events: list[dict[str, Any]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        self.events.append(event)
        return rotation.token_key_rotation(event, None) if self.deliver else None


@pytest.fixture()
def rotation_function(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> RotationFunction:
    role = boto3.client("iam").create_role(RoleName=f"rotation-{secrets.token_hex(4)}",
                                           AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as z:
        z.writestr("app.py", "")
    function = RotationFunction(boto3.client("lambda").create_function(
        FunctionName=f"certificates-prod-token_key_rotation-{secrets.token_hex(4)}", Runtime="python3.11",
        Role=role, Handler="app.token_key_rotation", Code={"ZipFile": code.getvalue()})["FunctionArn"])

    def invoke(self: LambdaBackend, function_name: str, qualifier: str | None, body: str, headers: Any,
               response_headers: Any) -> bytes:
        assert function_name == function.arn
        return json.dumps(function.invoke(json.loads(body))).encode()

    monkeypatch.setattr(LambdaBackend, "invoke", invoke)
    return function


def stages(secret_id: str) -> dict[str, list[str]]:
    return dict(boto3.client("secretsmanager").describe_secret(SecretId=secret_id)["VersionIdsToStages"])


def version_with(secret_id: str, stage: str) -> str:
    return next(v for v, s in stages(secret_id).items() if stage in s)


def a_container(secret_id: str, clock: Monotonic | None = None) -> TokenSigner:
    """A Lambda container's signer: it loads the keys once, when it is built, as deps does."""
    return TokenSigner(partial(deps.secret_store().token_keys, secret_id), timedelta(hours=2),
                       monotonic=clock or Monotonic())


def kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def test_a_rotation_by_secrets_manager_logs_nobody_out_and_the_second_one_retires_the_first_key(
        token_key: str, rotation_function: RotationFunction) -> None:
    sm = boto3.client("secretsmanager")
    first_version = version_with(token_key, "AWSCURRENT")
    clock = Monotonic()
    old = a_container(token_key, clock)
    before, _ = old.issue("u1", NOW, generation=1)
    assert kid(before) == first_version

    sm.rotate_secret(SecretId=token_key, RotationLambdaARN=rotation_function.arn,
                     RotationRules={"AutomaticallyAfterDays": 30})
    assert [e["Step"] for e in rotation_function.events] == ["createSecret", "setSecret", "testSecret",
                                                               "finishSecret"]
    second_version = version_with(token_key, "AWSCURRENT")
    assert stages(token_key) == {first_version: ["AWSPREVIOUS"], second_version: ["AWSCURRENT"]}
    new = a_container(token_key)
    assert new.read(before, NOW).user_id == "u1"  # issued before the rotation, read after it
    after, _ = new.issue("u2", NOW, generation=1)
    assert kid(after) == second_version
    assert old.read(after, NOW).user_id == "u2"  # a container that cached the keys before it
    assert old.read(before, NOW).user_id == "u1"

    # As the schedule does, 30 days later (moto forgets the function unless it is named again).
    sm.rotate_secret(SecretId=token_key, RotationLambdaARN=rotation_function.arn)
    third_version = version_with(token_key, "AWSCURRENT")
    assert stages(token_key) == {first_version: [], second_version: ["AWSPREVIOUS"], third_version: ["AWSCURRENT"]}
    newest = a_container(token_key)
    with pytest.raises(Unauthorized):
        newest.read(before, NOW)
    assert newest.read(after, NOW).user_id == "u2"
    third, _ = newest.issue("u3", NOW, generation=1)
    clock.now += TokenSigner.RELOAD_INTERVAL
    assert old.read(third, NOW).user_id == "u3"
    with pytest.raises(Unauthorized):
        old.read(before, NOW)


def test_an_unknown_kid_makes_the_container_read_the_keys_once_and_is_then_refused(token_key: str) -> None:
    store = deps.secret_store()
    reads: list[str] = []
    store._client.meta.events.register("provide-client-params.secrets-manager.GetSecretValue",
                                       lambda params, **_: reads.append(params["VersionStage"]))
    container = a_container(token_key)
    assert reads == ["AWSCURRENT", "AWSPREVIOUS"]
    genuine, _ = container.issue("u1", NOW, generation=1)
    body = jwt.decode(genuine, options={"verify_signature": False})
    for n in range(20):
        forged = jwt.encode(body, "forged" * 11, algorithm="HS256", headers={"kid": f"made-up-{n}"})
        with pytest.raises(Unauthorized):
            container.read(forged, NOW)
    for _ in range(20):
        assert container.read(genuine, NOW).user_id == "u1"
    assert reads == ["AWSCURRENT", "AWSPREVIOUS"] * 2


def test_the_app_signs_with_the_current_key_and_reads_the_previous_after_a_rotation(
        token_key: str, rotation_function: RotationFunction) -> None:
    before, _ = deps.token_signer().issue("u1", NOW, generation=1)
    boto3.client("secretsmanager").rotate_secret(SecretId=token_key, RotationLambdaARN=rotation_function.arn,
                                                 RotationRules={"AutomaticallyAfterDays": 30})
    forget(deps.token_signer)  # a new container
    assert deps.token_signer().read(before, NOW).user_id == "u1"
    fresh, _ = deps.token_signer().issue("u1", NOW, generation=1)
    assert kid(fresh) == version_with(token_key, "AWSCURRENT") != kid(before)


def a_pending_version(token_key: str, function: RotationFunction) -> str:
    """What RotateSecret leaves before the function's first step: an empty AWSPENDING version."""
    function.deliver = False
    boto3.client("secretsmanager").rotate_secret(SecretId=token_key, RotationLambdaARN=function.arn,
                                                 RotationRules={"AutomaticallyAfterDays": 30})
    return version_with(token_key, "AWSPENDING")


def step(name: str, secret_id: str, token: str = "00000000-0000-4000-8000-000000000000") -> Any:
    return rotation.token_key_rotation({"Step": name, "SecretId": secret_id, "ClientRequestToken": token}, None)


def test_the_rotation_function_checks_the_secret_and_the_version_as_aws_templates_do_and_repeats_safely(
        token_key: str, rotation_function: RotationFunction, aws: dict[str, str]) -> None:
    sm = boto3.client("secretsmanager")
    current = version_with(token_key, "AWSCURRENT")
    with pytest.raises(RotationRefused, match="not enabled for rotation"):
        step("createSecret", token_key)
    with pytest.raises(RotationRefused, match="rotates only"):
        step("createSecret", aws["ID_HASH_KEY_SECRET_ID"])
    pending = a_pending_version(token_key, rotation_function)
    with pytest.raises(RotationRefused, match="has no stage"):
        step("createSecret", token_key, token="11111111-0000-4000-8000-000000000000")
    with pytest.raises(RotationRefused, match="is not AWSPENDING"):
        sm.update_secret_version_stage(SecretId=token_key, VersionStage="AWSPENDING", RemoveFromVersionId=pending)
        step("finishSecret", token_key, token=pending)
    sm.update_secret_version_stage(SecretId=token_key, VersionStage="AWSPENDING", MoveToVersionId=pending)
    # Each step twice, as Secrets Manager may retry them.
    done = [step(name, token_key, pending)["result"] for name in
            ("createSecret", "createSecret", "setSecret", "testSecret", "testSecret", "finishSecret", "finishSecret")]
    assert done == ["pending key made", "pending key already made", "nothing to set", "pending key is well formed",
                    "pending key is well formed", "made current", "already current"]
    assert stages(token_key) == {current: ["AWSPREVIOUS"], pending: ["AWSCURRENT"]}
    new_key = sm.get_secret_value(SecretId=token_key, VersionStage="AWSCURRENT")["SecretString"]
    assert new_key != sm.get_secret_value(SecretId=token_key, VersionStage="AWSPREVIOUS")["SecretString"]
    assert len(new_key) == 64 and new_key.isalnum()


def test_a_pending_value_that_is_no_key_is_refused_by_test_secret_and_current_stays(
        token_key: str, rotation_function: RotationFunction) -> None:
    current = version_with(token_key, "AWSCURRENT")
    pending = a_pending_version(token_key, rotation_function)
    boto3.client("secretsmanager").put_secret_value(SecretId=token_key, ClientRequestToken=pending,
                                                    SecretString="too short", VersionStages=["AWSPENDING"])
    with pytest.raises(RotationRefused, match="not a token-signing key"):
        step("testSecret", token_key, pending)
    assert version_with(token_key, "AWSCURRENT") == current


# The document-signing material: empty as the template creates it, or malformed.

MARKER = "THIS-MUST-NOT-BE-LOGGED"


@pytest.fixture()
def signing_secret(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A SigningMaterial secret of this test's own, with no value, as the template creates it."""
    arn = boto3.client("secretsmanager").create_secret(Name=f"certificates/SigningMaterial-{secrets.token_hex(4)}",
                                                       Description="empty, as the template makes it")["ARN"]
    stands_for(arn, "SigningMaterial")
    monkeypatch.setenv("SIGNING_SECRET_ID", arn)
    forget(deps.pdf_signer)
    yield arn
    monkeypatch.undo()
    forget(deps.pdf_signer)


@pytest.fixture()
def material_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    # The worker's JSON logging stops chalicelib's loggers propagating: listen to them directly.
    loggers = [logging.getLogger(name) for name in ("chalicelib.secret_store", "chalicelib.services.rendering")]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    yield caplog
    for logger in loggers:
        logger.removeHandler(caplog.handler)


def records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Each record once (one reaches the handler twice while chalicelib's loggers still propagate)."""
    return list({id(r): r for r in caplog.records}.values())


def sqs_event(annotation_id: str, receive: int) -> dict[str, Any]:
    return {"Records": [{"messageId": "m1", "body": json.dumps({"annotation_id": annotation_id}),
                         "attributes": {"ApproximateReceiveCount": str(receive)}, "eventSource": "aws:sqs",
                         "receiptHandle": "r1"}]}


def emitted_metrics(out: str) -> list[str]:
    names: list[str] = []
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            doc = json.loads(line)
            names += [m["Name"] for d in doc["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
    return names


def test_an_empty_signing_material_fails_each_render_loudly_and_copies_are_made_once_it_is_filled(
        repo, signing_secret: str, material_log: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str], trust_services: TrustServices) -> None:
    annotation = apply(repo, a_certificate(repo))
    for receive in (1, 2):
        assert workers.render_worker(sqs_event(annotation.annotation_id, receive), None) == {
            "batchItemFailures": [{"itemIdentifier": "m1"}]}
        assert repo.annotations.annotation(annotation.annotation_id).stored_status is AnnotationStatus.PENDING
    out = capsys.readouterr().out
    assert emitted_metrics(out).count("SigningMaterialMissing") == 2
    told = [r.getMessage() for r in records(material_log) if r.name == "chalicelib.secret_store"]
    assert len(told) == 2 and "it has no value" in told[0] and signing_secret in told[0]

    assert trust_services.pki is not None
    material = trust_services.pki.material  # a certificate naming the local CRL, as the local stack's
    boto3.client("secretsmanager").put_secret_value(SecretId=signing_secret, SecretString=material.to_json())
    assert workers.render_worker(sqs_event(annotation.annotation_id, 3), None) == {"batchItemFailures": []}
    assert repo.annotations.annotation(annotation.annotation_id).stored_status is AnnotationStatus.READY


@pytest.mark.parametrize(("value", "told"), [
    (f"not json {MARKER}", "it is not JSON"),
    (json.dumps([MARKER]), "signing material must be a JSON object"),
    (json.dumps({"key_pem": MARKER, "cert_pem": MARKER}), "signing material lacks chain_pem"),
    (json.dumps({"key_pem": f"-----BEGIN PRIVATE KEY-----\n{MARKER}\n-----END PRIVATE KEY-----\n",
                 "cert_pem": MARKER, "chain_pem": MARKER}), "its key or certificates cannot be read"),
    ("key_pem", "swap"),
])
def test_malformed_signing_material_fails_the_render_without_showing_it_and_the_last_receive_fails_the_copy(
        repo, signing_secret: str, material_log: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str], value: str, told: str) -> None:
    if told == "swap":  # a real key with another key's certificate
        one, other = create_local_material(now=NOW), create_local_material(now=NOW)
        value = json.dumps({"key_pem": one.key_pem.decode(), "cert_pem": other.cert_pem.decode(),
                            "chain_pem": other.chain_pem.decode()})
        told, secret_text = "the signing certificate is not the signing key's", one.key_pem.decode().split("\n")[1]
    else:
        secret_text = MARKER
    boto3.client("secretsmanager").put_secret_value(SecretId=signing_secret, SecretString=value)
    annotation = apply(repo, a_certificate(repo))
    for receive in range(1, workers.MAX_RECEIVES + 1):
        failed = workers.render_worker(sqs_event(annotation.annotation_id, receive), None)
        assert failed == {"batchItemFailures": [{"itemIdentifier": "m1"}]}  # the queue's redrive then dead-letters it
        expected = AnnotationStatus.FAILED if receive == workers.MAX_RECEIVES else AnnotationStatus.PENDING
        assert repo.annotations.annotation(annotation.annotation_id).stored_status is expected
    out = capsys.readouterr()
    logged = "\n".join([material_log.text] + [r.getMessage() for r in records(material_log)])
    assert told in logged
    assert secret_text not in logged + out.out + out.err
    assert emitted_metrics(out.out).count("SigningMaterialMissing") == workers.MAX_RECEIVES
