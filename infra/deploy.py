"""Deploy `infra/resources.yaml` into an AWS endpoint (moto, for the local stack and tests).

The local stack and the integration tests create their tables, bucket, queues and secrets
from the same template that production deploys, never from a second copy. With a DynamoDB
endpoint of its own (DynamoDB Local, `infra/dynamodb_local.py`) the tables are made there
too, from the same template's table resources, with the names moto's stack gave them.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

TEMPLATE = Path(__file__).with_name("resources.yaml")

# CloudFormation output -> the environment variable `chalicelib.config` reads.
OUTPUT_ENV = {
    "UsersTable": "USERS_TABLE",
    "UserKeysTable": "USER_KEYS_TABLE",
    "RevokedTokensTable": "REVOKED_TOKENS_TABLE",
    "CertificatesTable": "CERTIFICATES_TABLE",
    "AnnotationsTable": "ANNOTATIONS_TABLE",
    "VerificationsTable": "VERIFICATIONS_TABLE",
    "RateLimitsTable": "RATE_LIMITS_TABLE",
    "CodesTable": "CODES_TABLE",
    "ImportsTable": "IMPORTS_TABLE",
    "FilesBucket": "FILES_BUCKET",
    "RenderQueueUrl": "RENDER_QUEUE_URL",
    "RenderDlqUrl": "RENDER_DLQ_URL",
    "NotifyQueueUrl": "NOTIFY_QUEUE_URL",
    "ImportQueueUrl": "IMPORT_QUEUE_URL",
    "ImportDlqUrl": "IMPORT_DLQ_URL",
    "TokenKeySecretId": "TOKEN_KEY_SECRET_ID",
    "IdHashKeySecretId": "ID_HASH_KEY_SECRET_ID",
    "SigningSecretId": "SIGNING_SECRET_ID",
    "SmtpPasswordSecretId": "SMTP_PASSWORD_SECRET_ID",
}


def load_template(body: str) -> dict[str, Any]:
    """A CloudFormation YAML template as JSON-shaped data (short-form intrinsics expanded)."""
    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
        name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if suffix == "GetAtt":  # JSON's form is a list: "X.Arn" -> ["X", "Arn"]
                return {name: str(value).split(".", 1)}
            return {name: value}
        if isinstance(node, yaml.SequenceNode):
            return {name: loader.construct_sequence(node)}
        return {name: loader.construct_mapping(node)}  # type: ignore[arg-type]

    _Loader.add_multi_constructor("!", _tagged)
    doc: dict[str, Any] = yaml.load(body, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    return doc


def _template_ttl(doc: dict[str, Any]) -> dict[str, str]:
    """Table logical id -> TTL attribute, as the template declares them."""
    ttl: dict[str, str] = {}
    for name, res in doc["Resources"].items():
        spec = (res.get("Properties") or {}).get("TimeToLiveSpecification")
        if res["Type"] == "AWS::DynamoDB::Table" and spec and spec.get("Enabled"):
            ttl[name] = spec["AttributeName"]
    return ttl


SENDER = "noreply@certificates.example.cn"


def deploy(session: Any, stack_name: str = "certificates", *, signing_material: str | None = None,
           dynamodb_endpoint: str | None = None, ttl: bool = True) -> dict[str, str]:
    """Create the stack (or reuse it if it exists) and return environment variables.
    `signing_material` (SigningMaterial JSON) fills a new SigningMaterial secret: the local
    stack's, whose certificate names its own CRL (`infra/tsa.py`). With `dynamodb_endpoint`
    the tables are made at that endpoint as well, and the environment sends DynamoDB there
    (botocore's AWS_ENDPOINT_URL_DYNAMODB) while every other service stays on the session's.
    `ttl=False` leaves the tables' TTL off: DynamoDB Local deletes expired items by its wall
    clock within seconds, so tests whose clock is fixed in the past would see the items they
    just wrote vanish (README, "DynamoDB Local")."""
    cfn = session.client("cloudformation")
    body = TEMPLATE.read_text(encoding="utf-8")
    existing = {s["StackName"] for s in cfn.list_stacks()["StackSummaries"]
                if s["StackStatus"] != "DELETE_COMPLETE"}
    if stack_name not in existing:
        cfn.create_stack(StackName=stack_name, TemplateBody=body)
        cfn.get_waiter("stack_create_complete").wait(
            StackName=stack_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    stack = cfn.describe_stacks(StackName=stack_name)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    resources = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                 for r in cfn.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]}
    doc = load_template(body)
    ddb = session.client("dynamodb", endpoint_url=dynamodb_endpoint)
    if dynamodb_endpoint:
        create_tables(ddb, doc, resources)
    # moto's CloudFormation creates the tables but leaves TTL off: turn it on as declared.
    for logical, attribute in (_template_ttl(doc) if ttl else {}).items():
        table = resources[logical]
        current = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") != "ENABLED":
            ddb.update_time_to_live(
                TableName=table,
                TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True})
    # Nor does it turn on a bucket's versioning (batch imports are keyed by the object's version).
    s3 = session.client("s3")
    for logical, res in doc["Resources"].items():
        versioning = (res.get("Properties") or {}).get("VersioningConfiguration")
        if res["Type"] == "AWS::S3::Bucket" and versioning and versioning.get("Status") == "Enabled":
            s3.put_bucket_versioning(Bucket=resources[logical], VersioningConfiguration={"Status": "Enabled"})
    outputs.update(_create_secrets(session, stack_name, doc, outputs, signing_material))
    # The reminders' sender; in AWS its domain is verified once, by hand, in SES.
    session.client("ses").verify_email_identity(EmailAddress=SENDER)
    env = {env: outputs[key] for key, env in OUTPUT_ENV.items()}
    if dynamodb_endpoint:
        env["AWS_ENDPOINT_URL_DYNAMODB"] = dynamodb_endpoint
    return env


# What CreateTable takes as the template writes it; what it takes in another shape; and what
# only AWS's durability and protection are about (backups, encryption at rest, deletion
# protection: nothing a test or the local stack can tell, and DynamoDB Local's tables are
# thrown away with it). A property in none of these fails the deploy, so that the copy in
# DynamoDB Local never silently differs from the template.
_AS_WRITTEN = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "BillingMode",
               "ProvisionedThroughput", "TableClass")
_RESHAPED = ("StreamSpecification", "TimeToLiveSpecification")  # the stream below, TTL after creating
_DURABILITY = ("DeletionProtectionEnabled", "PointInTimeRecoverySpecification", "SSESpecification",
               "ContributorInsightsSpecification", "Tags")


def create_tables(ddb: Any, doc: dict[str, Any], names: dict[str, str]) -> None:
    """Make the template's tables (keys, indexes, billing) through `ddb`, named as `names`
    (logical id -> physical name) says; a table that exists is left as it is."""
    for logical, res in doc["Resources"].items():
        if res["Type"] != "AWS::DynamoDB::Table":
            continue
        props = res.get("Properties") or {}
        unknown = set(props) - {*_AS_WRITTEN, *_RESHAPED, *_DURABILITY}
        if unknown:
            raise ValueError(f"infra/deploy.py cannot make {logical} outside moto: it does not know "
                             f"{', '.join(sorted(unknown))}")
        request = {key: props[key] for key in _AS_WRITTEN if key in props}
        if "StreamSpecification" in props:
            request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        try:
            ddb.create_table(TableName=names[logical], **request)
        except ddb.exceptions.ResourceInUseException:
            continue
        ddb.get_waiter("table_exists").wait(TableName=names[logical], WaiterConfig={"Delay": 1, "MaxAttempts": 60})


def _create_secrets(session: Any, stack_name: str, doc: dict[str, Any],
                    outputs: dict[str, str], signing_material: str | None = None) -> dict[str, str]:
    """Create the template's secrets where the stack could not (moto's CloudFormation
    does not know AWS::SecretsManager::Secret), with random values as the template's
    GenerateSecretString would; return the outputs that name them."""
    sm = session.client("secretsmanager")
    created: dict[str, str] = {}
    for key, output in doc["Outputs"].items():
        logical = output["Value"].get("Ref") if isinstance(output["Value"], dict) else None
        if key in outputs or not logical:
            continue
        resource = doc["Resources"][logical]
        if resource["Type"] != "AWS::SecretsManager::Secret":
            continue
        name = f"{stack_name}/{logical}"
        try:
            created[key] = sm.describe_secret(SecretId=name)["ARN"]
        except sm.exceptions.ResourceNotFoundException:
            created[key] = sm.create_secret(Name=name, SecretString=_secret_value(logical, signing_material))["ARN"]
    return created


def _secret_value(logical: str, signing_material: str | None = None) -> str:
    """A random key, as GenerateSecretString would make; for the signing material, the one
    given, or a self-signed CA and document-signing certificate made on this first start."""
    if logical == "SigningMaterial" and signing_material is not None:
        return signing_material
    if logical == "SigningMaterial":
        from datetime import UTC, datetime

        from infra.pki import create_local_material

        return create_local_material(now=datetime.now(UTC)).to_json()
    return secrets.token_urlsafe(48)
