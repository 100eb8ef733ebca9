"""Integration tests run the services against moto, with the resources deployed from
`infra/resources.yaml` exactly as the local stack deploys them.

Every test that uses the stack runs twice, once per DynamoDB (`[moto]`, `[local]`): moto's, with
the local stack's patches (infra/moto_server.py), and AWS's own DynamoDB Local
(infra/dynamodb_local.py), which has none of them; S3, SQS, Secrets Manager, SES and SNS are
moto's in both. One DynamoDB Local serves the whole run, in memory; each session makes its own
tables in it (moto's stack names them), as each session deploys its own stack into moto.

moto does not enforce IAM, so across the whole run every AWS request that our code (anything
under `chalicelib`) makes is recorded with its IAM action and resource, and attributed to the
Lambda function(s) whose code made it (tests/integration/entry_points.py); at the end each must
be allowed by that function's own role in the packaged template (infra/iam.py). A missing
permission fails here, not on AWS; so does a request from code that no entry point names.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import boto3
import botocore.signers
import pytest
from botocore.client import BaseClient
from moto import mock_aws
from pynamodb.models import Model

import chalicelib.models
from chalicelib import deps
from infra import iam
from infra.deploy import OUTPUT_ENV, TEMPLATE, deploy, load_template
from infra.dynamodb_local import start as start_dynamodb_local
from infra.dynamodb_local import wait_until_ready
from infra.moto_server import install_item_rollback, install_partition_queries, install_serialized_dynamodb
from infra.tsa import TrustServices, start_trust_services
from tests.integration.entry_points import DIRECT, ENTRY_POINTS, PASS_THROUGH

# Operations whose IAM action has another name.
_ACTION_FOR = {"s3:HeadObject": "s3:GetObject", "s3:ListObjectsV2": "s3:ListBucket",
               "sqs:SendMessageBatch": "sqs:SendMessage", "sqs:DeleteMessageBatch": "sqs:DeleteMessage",
               "sqs:ChangeMessageVisibilityBatch": "sqs:ChangeMessageVisibility"}
_TRANSACT_ACTION = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}

Request = tuple[str, str]  # (IAM action, resource in infra/iam.py's symbolic form)


# Tables whose writers may write only items whose key starts as their role says (infra/
# overrides.yaml: the phone on record, "phone#…", only from the import worker), with their key.
KEY_SCOPED = {"UserKeysTable": "key"}
KEY_SCOPED_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}


class Recorder:
    """What our code asked of AWS: (function, action, resource) -> one place that asked it."""

    def __init__(self) -> None:
        self.logical: dict[str, str] = {}  # physical name, URL or ARN -> logical name
        self.used: dict[tuple[str, str, str], str] = {}
        self.unattributed: dict[str, set[Request]] = {}

    def bind(self, env: dict[str, str]) -> None:
        outputs = load_template(TEMPLATE.read_text(encoding="utf-8"))["Outputs"]
        for key, variable in OUTPUT_ENV.items():
            if variable in env:
                self.logical[env[variable]] = outputs[key]["Value"]["Ref"]

    def resource(self, physical: str) -> str:
        try:
            return self.logical[physical]
        except KeyError:
            raise AssertionError(f"a request to {physical}, which is none of the stack's resources") from None

    def item(self, params: dict[str, Any], action: str) -> str:
        """A table, or for a write to a table whose writers are scoped by key (KEY_SCOPED), the
        table and the item's key as infra/iam.py reads a dynamodb:LeadingKeys condition."""
        table = self.resource(params["TableName"])
        if table not in KEY_SCOPED or action not in KEY_SCOPED_ACTIONS:
            return table
        key = (params.get("Key") or params.get("Item") or {})[KEY_SCOPED[table]]["S"]
        return f"{table}:key={key}"

    def requests(self, client: BaseClient, operation: str, params: dict[str, Any]) -> list[Request]:
        service = client.meta.service_model.signing_name
        action = _ACTION_FOR.get(f"{service}:{operation}", f"{service}:{operation}")
        if service == "dynamodb":
            if operation in ("TransactWriteItems", "TransactGetItems"):  # authorized item by item
                return [(f"dynamodb:{_TRANSACT_ACTION[kind]}", self.item(item, f"dynamodb:{_TRANSACT_ACTION[kind]}"))
                        for entry in params["TransactItems"] for kind, item in entry.items()]
            if operation == "BatchGetItem":
                return [(action, self.resource(table)) for table in params["RequestItems"]]
            if params.get("IndexName"):
                return [(action, f"{self.resource(params['TableName'])}/index/{params['IndexName']}")]
            return [(action, self.item(params, action))]
        if service == "s3":
            if operation in ("GetObject", "HeadObject") and params.get("VersionId"):
                action = "s3:GetObjectVersion"
            bucket = self.resource(params["Bucket"])
            return [(action, f"{bucket}/{params['Key']}" if "Key" in params else bucket)]
        if service == "sqs":
            return [(action, self.resource(params["QueueUrl"]))]
        if service == "secretsmanager":
            return [(action, self.resource(params["SecretId"]) if "SecretId" in params else "*")]
        if service == "ses" and operation in ("SendEmail", "SendRawEmail"):
            return [(action, f"ses:identity/{params['Source']}")]
        if service == "sns" and operation == "Publish" and "PhoneNumber" in params:
            return [(action, "*")]
        raise AssertionError(f"tests/integration/conftest.py does not know the resource of {service}:{operation}")

    def record(self, client: BaseClient, operation: str, params: dict[str, Any]) -> None:
        where = _entry_point(sys._getframe(2))
        if where is None:
            return  # not our code: a test's own setup or check
        requests = self.requests(client, operation, params)
        functions = ENTRY_POINTS.get(where, DIRECT.get(where))
        if functions is None:
            self.unattributed.setdefault(where, set()).update(requests)
            return
        for function in functions:
            for action, resource in requests:
                self.used.setdefault((function, action, resource), where)

    def refused(self, template: dict[str, Any]) -> list[str]:
        granted = {name: iam.permissions(template, iam.role_of(f) or "") for name, f in iam.functions(template).items()}
        return [f"{function} may not {action} on {resource} (asked by {where})"
                for (function, action, resource), where in sorted(self.used.items())
                if not iam.allows(granted[function], action, resource)]


def _entry_point(frame: FrameType | None) -> str | None:
    """Where a request comes from: the innermost handler or service of ENTRY_POINTS on the stack
    (a test's fake may run another function's code inside a service: a render "meanwhile"), else
    the outermost frame of our code (past PASS_THROUGH), which DIRECT must name; None when no
    code of ours is on the stack."""
    entry = outermost = None
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module.startswith("chalicelib.") and module not in PASS_THROUGH:
            outermost = f"{module}:{frame.f_code.co_qualname}"
            if entry is None and outermost in ENTRY_POINTS:
                entry = outermost
        frame = frame.f_back
    return entry or outermost


RECORDER = Recorder()


@pytest.fixture(scope="session", autouse=True)
def every_aws_call_of_ours_is_allowed_by_its_functions_role() -> Iterator[None]:
    original, presign = BaseClient._make_api_call, botocore.signers.generate_presigned_url

    def make_api_call(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        RECORDER.record(self, operation, params)
        return original(self, operation, params)

    def generate_presigned_url(self: BaseClient, ClientMethod: str, Params: Any = None,
                               **kwargs: Any) -> Any:
        # A presigned link makes no request, but S3 authorizes its GET against the signer's role.
        operation = self.meta.method_to_api_mapping[ClientMethod]
        RECORDER.record(self, operation, Params or {})
        return presign(self, ClientMethod, Params, **kwargs)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    botocore.signers.generate_presigned_url = generate_presigned_url
    yield
    BaseClient._make_api_call = original  # type: ignore[method-assign]
    botocore.signers.generate_presigned_url = presign
    unattributed = {where: sorted(requests) for where, requests in sorted(RECORDER.unattributed.items())}
    assert not unattributed, f"AWS requests from code that tests/integration/entry_points.py names no function for: " \
                             f"{unattributed}"
    refused = RECORDER.refused(iam.packaged_template())
    assert not refused, "the functions' roles (infra/overrides.yaml) do not allow:\n" + "\n".join(refused)


@pytest.fixture(scope="session")
def trust_services() -> Iterator[TrustServices]:
    """The local stack's TSA and CRL (infra/tsa.py), on a free port, for this session."""
    services = start_trust_services()
    yield services
    services.stop()


# The DynamoDB every test that uses the stack runs against, in turn; and the modules that test
# moto itself (the local stack's patches of its DynamoDB), which run on moto only.
DYNAMODB_BACKENDS = ("moto", "local")
MOTO_ONLY = {"tests.integration.test_embedded_aws"}
# An already running DynamoDB Local to use (`make test` starts one for all its workers:
# tests/integration/shared_dynamodb_local.py); without it the session starts its own.
SHARED_ENDPOINT = "DYNAMODB_LOCAL_ENDPOINT"
DYNAMODB_ENDPOINT = "AWS_ENDPOINT_URL_DYNAMODB"  # botocore's: DynamoDB's endpoint, no other service's


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "dynamodb_backend" in metafunc.fixturenames:
        backends = ("moto",) if metafunc.module.__name__ in MOTO_ONLY else DYNAMODB_BACKENDS
        metafunc.parametrize("dynamodb_backend", backends, indirect=True, scope="module")


@pytest.fixture(scope="module")
def dynamodb_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[str]:
    """The endpoint of DynamoDB Local, in memory, for the rest of the session."""
    shared = os.environ.get(SHARED_ENDPOINT)
    if shared:
        wait_until_ready(shared)
        yield shared
        return
    local = start_dynamodb_local()
    yield local.endpoint
    local.stop()


@pytest.fixture(scope="session")
def stacks(trust_services: TrustServices) -> Iterator[dict[str, dict[str, str]]]:
    """moto for the session, and in it one stack per DynamoDB backend (deployed when a module
    first asks for it): DynamoDB backend -> the stack's environment. Modules switch between
    them without tearing down moto, so each backend's data lives for the session, as it did
    with one moto."""
    with mock_aws():
        yield {}
    os.environ.pop(DYNAMODB_ENDPOINT, None)


@pytest.fixture(scope="module")
def aws(request: pytest.FixtureRequest, trust_services: TrustServices, stacks: dict[str, dict[str, str]],
        dynamodb_backend: str) -> Iterator[dict[str, str]]:
    # The embedded AWS as the local stack runs it; the signing material and the TSA are the
    # trust services', as on the local stack. On moto, DynamoDB requests are taken one at a time
    # (so races are decided as on AWS), transactions rolled back item by item, queries by
    # partition; on DynamoDB Local, DynamoDB is AWS's own code and moto never sees a request.
    os.environ.pop(DYNAMODB_ENDPOINT, None)  # the other backend's, if it came first
    if dynamodb_backend not in stacks:
        endpoint = None
        if dynamodb_backend == "moto":
            install_serialized_dynamodb()
            install_item_rollback()
            install_partition_queries()
        else:
            endpoint = request.getfixturevalue("dynamodb_local")
        assert trust_services.pki is not None
        # TTL stays off in DynamoDB Local: it deletes expired items by the wall clock, and these
        # tests' clocks are fixed days in the past (README, "DynamoDB Local"; moto deletes nothing).
        env = deploy(boto3.Session(), f"certificates-{dynamodb_backend}",
                     signing_material=trust_services.pki.material.to_json(), dynamodb_endpoint=endpoint,
                     ttl=dynamodb_backend == "moto")
        env["TSA_URL"] = trust_services.tsa_url
        RECORDER.bind(env)
        stacks[dynamodb_backend] = env
    env = stacks[dynamodb_backend]
    os.environ.update(env)
    os.environ.setdefault("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
    deps.reset()
    _check_dynamodb(env)
    yield env


def _check_dynamodb(env: dict[str, str]) -> None:
    """Every model and the repository's connection reach the backend's DynamoDB (DynamoDB Local
    names its region `ddblocal`), not the tables of the other stack, which moto holds too."""
    expected = env.get(DYNAMODB_ENDPOINT, "https://dynamodb.us-east-1.amazonaws.com")
    client = deps.repository()._connection.client  # binds the models
    models = [m for m in vars(chalicelib.models).values()
              if isinstance(m, type) and issubclass(m, Model) and getattr(getattr(m, "Meta", None), "table_name", None)]
    endpoints = {m.__name__: m._get_connection().connection.client.meta.endpoint_url for m in models}
    assert set(endpoints.values()) == {expected} == {client.meta.endpoint_url}, endpoints
    arn = client.describe_table(TableName=env["ANNOTATIONS_TABLE"])["Table"]["TableArn"]
    assert (":ddblocal:" in arn) == (DYNAMODB_ENDPOINT in env), f"{arn} is not the expected backend's"


@pytest.fixture()
def repo(aws: dict[str, str]):  # type: ignore[no-untyped-def]
    return deps.repository()
