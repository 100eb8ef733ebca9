"""Each function runs with a role of its own that allows exactly what the function's code does
(issue 12): the table below is that, function by function, and the packaged template must say
the same, no permission more and none less.

The template is the one `make package` writes (infra/iam.py makes it without the zip). Resources
are named as infra/iam.py's symbolic form has them: logical names, `/index/<name>` for an
index, `FilesBucket/<prefix>*` for objects, `<table>:key=<prefix>*` for items by their key.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import iam

GET, BATCH_GET, PUT, UPDATE, DELETE, CHECK, QUERY = (
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem", "dynamodb:Query")
# What Lambda's poller does with a function's role for its SQS event source.
CONSUME = {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
SEND = "sqs:SendMessage"
READ_SECRET = "secretsmanager:GetSecretValue"
GET_OBJECT, GET_VERSION, PUT_OBJECT = "s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"

# What each function may do, beyond what every function may (EVERY_FUNCTION below).
TABLE: dict[str, dict[str, set[str]]] = {
    "APIHandler": {
        "UsersTable": {GET, PUT, UPDATE, DELETE},
        "UserKeysTable": {GET, BATCH_GET},
        # Usernames and ID documents' holders; never the phone on record ("phone#…").
        "UserKeysTable:key=username#*": {PUT, UPDATE, DELETE, CHECK},
        "UserKeysTable:key=id#*": {PUT, UPDATE, DELETE, CHECK},
        "CodesTable": {GET, PUT, UPDATE, DELETE},
        "RateLimitsTable": {GET, BATCH_GET, PUT, UPDATE, DELETE},
        "RevokedTokensTable": {PUT},
        # UpdateItem: the quota slots, an electronic file asked for, its checks counted
        "CertificatesTable": {GET, BATCH_GET, UPDATE},
        "CertificatesTable/index/by_holder": {QUERY},
        "CertificatesTable/index/by_file_code": {QUERY},
        "CertificatesTable/index/by_file_hash": {QUERY},
        "AnnotationsTable": {GET, BATCH_GET, PUT, UPDATE},
        "AnnotationsTable/index/by_certificate": {QUERY},
        "AnnotationsTable/index/by_code": {QUERY},
        "AnnotationsTable/index/by_file": {QUERY},
        "VerificationsTable": {PUT, QUERY},
        "FilesBucket/annotations/*": {GET_OBJECT},  # presigned links
        "FilesBucket/certificates/*": {GET_OBJECT},
        "RenderQueue": {SEND},
        "NotifyQueue": {SEND},
        "TokenSigningKey": {READ_SECRET},
        "IdHashKey": {READ_SECRET},
    },
    "HolderToken": {
        "UsersTable": {BATCH_GET},
        "RevokedTokensTable": {BATCH_GET},
        "TokenSigningKey": {READ_SECRET},
    },
    "RenderWorker": {
        "RenderQueue": CONSUME,
        "AnnotationsTable": {GET, UPDATE},
        "CertificatesTable": {GET, UPDATE},
        # GetObject for HeadObject: a redelivery reuses the file an earlier attempt uploaded.
        "FilesBucket/annotations/*": {PUT_OBJECT, GET_OBJECT},
        "FilesBucket/certificates/*": {PUT_OBJECT, GET_OBJECT},  # the electronic files, on first download
        "SigningMaterial": {READ_SECRET},
    },
    "Notifier": {
        "NotifyQueue": CONSUME,
        "RateLimitsTable": {PUT, DELETE},
        "ses:identity/*": {"ses:SendEmail"},
        "*": {"sns:Publish"},  # SMS to a phone number: SNS knows no narrower resource
        "SmtpPassword": {READ_SECRET},  # the SMTP e-mail transport's login
    },
    "Sweeper": {
        "RenderQueue": {SEND},
        "RenderDeadLetterQueue": {"sqs:ReceiveMessage"},
        "AnnotationsTable": {GET, UPDATE},
        "AnnotationsTable/index/by_pending": {QUERY},
        "CertificatesTable": {UPDATE},
    },
    "Reminders": {
        "AnnotationsTable": {GET, UPDATE},
        "AnnotationsTable/index/by_expiry_day": {QUERY},
        "CertificatesTable": {GET, UPDATE},
        "CertificatesTable/index/by_announce": {QUERY},
        "UsersTable": {GET},
        "UserKeysTable": {BATCH_GET},
        "NotifyQueue": {SEND},
    },
    "ImportTrigger": {
        "FilesBucket/imports/*": {GET_OBJECT, GET_VERSION},
        "UserKeysTable:key=import#*": {UPDATE},  # when a file's content was first loaded
        "ImportsTable": {GET, PUT, UPDATE},
        "ImportQueue": {SEND},
        "ImportTriggerFailureQueue": {SEND},  # its failure destination: Lambda sends as this role
        # It writes the report itself when every chunk is accounted for already.
        "FilesBucket/import-chunks/*": {GET_OBJECT},
        "FilesBucket/import-reports/*": {PUT_OBJECT},
    },
    "ImportWorker": {
        "ImportQueue": CONSUME,
        "FilesBucket/imports/*": {GET_OBJECT, GET_VERSION},
        "CertificatesTable": {BATCH_GET, PUT, UPDATE},
        "UserKeysTable:key=phone#*": {UPDATE},  # the phones on record, and nothing else
        "ImportsTable": {GET, UPDATE},
        "FilesBucket/import-chunks/*": {GET_OBJECT, PUT_OBJECT},
        "FilesBucket/import-reports/*": {PUT_OBJECT},
        "IdHashKey": {READ_SECRET},
    },
    "ImportDeadLetters": {
        "ImportDeadLetterQueue": CONSUME,
        "ImportsTable": {GET, UPDATE},
        "FilesBucket/import-chunks/*": {GET_OBJECT},
        "FilesBucket/import-reports/*": {PUT_OBJECT},
    },
    "TokenKeyRotation": {
        "TokenSigningKey": {"secretsmanager:DescribeSecret", READ_SECRET, "secretsmanager:PutSecretValue",
                            "secretsmanager:UpdateSecretVersionStage"},
        "*": {"secretsmanager:GetRandomPassword"},  # acts on no resource
    },
}


def every_function(name: str) -> dict[str, set[str]]:
    """Its own log group (no other, and no creating one) and X-Ray's two actions (on "*" only)."""
    return {f"logs:log-group:/aws/lambda/{name}:*": {"logs:CreateLogStream", "logs:PutLogEvents"},
            "*": {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}}


def expected(name: str) -> dict[str, set[str]]:
    allowed = {resource: set(actions) for resource, actions in TABLE[name].items()}
    for resource, actions in every_function(name).items():
        allowed.setdefault(resource, set()).update(actions)
    return allowed


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return iam.packaged_template()


def test_the_table_names_every_function_of_the_packaged_template_and_no_other(template: dict[str, Any]) -> None:
    assert sorted(iam.functions(template)) == sorted(TABLE)


def test_each_function_runs_with_a_role_of_its_own(template: dict[str, Any]) -> None:
    roles = {name: iam.role_of(function) for name, function in iam.functions(template).items()}
    assert roles == {name: f"{name}Role" for name in roles}
    lambda_roles = sorted(n for n, r in template["Resources"].items() if r["Type"] == iam.ROLE
                          and "lambda.amazonaws.com" in json.dumps(r["Properties"]["AssumeRolePolicyDocument"]))
    assert lambda_roles == sorted(roles.values()), "a Lambda role that no function, or more than one, runs with"


def test_chalices_default_role_is_not_in_the_packaged_template(template: dict[str, Any]) -> None:
    assert "DefaultRole" not in template["Resources"]
    assert "DefaultRole" not in json.dumps(template)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_a_functions_role_allows_exactly_what_the_table_says(template: dict[str, Any], name: str) -> None:
    granted = iam.permissions(template, f"{name}Role")
    want = expected(name)
    extra = {r: sorted(a - want.get(r, set())) for r, a in granted.items() if a - want.get(r, set())}
    missing = {r: sorted(a - granted.get(r, set())) for r, a in want.items() if a - granted.get(r, set())}
    assert (extra, missing) == ({}, {}), f"{name}Role: (allowed beyond the table, in the table but not allowed)"


def test_only_the_notifiers_role_may_send_sms_or_e_mail(template: dict[str, Any]) -> None:
    sending = {"sns:Publish", "ses:SendEmail", "ses:SendRawEmail"}
    senders = {name for name in TABLE if any(a & sending for a in iam.permissions(template, f"{name}Role").values())}
    assert senders == {"Notifier"}


def test_only_the_notifier_reads_the_smtp_password(template: dict[str, Any]) -> None:
    readers = {name for name in TABLE if "SmtpPassword" in iam.permissions(template, f"{name}Role")}
    assert readers == {"Notifier"}


def test_only_the_render_worker_reads_the_signing_material(template: dict[str, Any]) -> None:
    readers = {name for name in TABLE if "SigningMaterial" in iam.permissions(template, f"{name}Role")}
    assert readers == {"RenderWorker"}


def test_every_arn_in_the_roles_is_written_with_the_stacks_partition(template: dict[str, Any]) -> None:
    """We run in aws-cn: an ARN written `arn:aws:` would name nothing there."""
    for name in TABLE:
        written = json.dumps(iam.role_policies(template, f"{name}Role"))
        assert written.count("arn:") == written.count("arn:${AWS::Partition}:"), name


PARLIAMENT_ALLOWED = Path(iam.ROOT) / "infra" / "parliament-allowed.yaml"


def test_parliament_finds_nothing_in_the_roles_but_what_is_allowed_with_its_reason(template: dict[str, Any]) -> None:
    """Parliament (with its community auditors, at every severity) over each role's policies,
    their intrinsics resolved to example ARNs."""
    import parliament
    import yaml

    found = []
    for name in sorted(TABLE):
        for document in iam.example_policies(template, f"{name}Role"):
            policy = parliament.analyze_policy_string(json.dumps(document), include_community_auditors=True)
            found += [{"role": f"{name}Role", "issue": f.issue, "detail": f.detail} for f in policy.findings]
    allowed = yaml.safe_load(PARLIAMENT_ALLOWED.read_text(encoding="utf-8"))
    assert all(entry.get("reason") for entry in allowed)
    assert found == [{k: entry[k] for k in ("role", "issue", "detail")} for entry in allowed]
