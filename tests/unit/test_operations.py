"""The deployed stack's operations side (infra/operations.yaml, infra/operations.py): throttling
paths that name real routes, data that survives the stack, alarms that reach someone, a log group
per function, and the template checks' own logic (infra/template_checks.py)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice.package import TemplateDeepMerger

from infra.iam import chalice_template
from infra.operations import for_every_function
from infra.package import merge_template
from infra.template_checks import accepted_findings, unaccepted, without_what_moto_cannot_create


@lru_cache(maxsize=1)
def _packaged() -> dict[str, Any]:
    """build/package/sam.json as `make package` writes it, but for the code's location."""
    return for_every_function(TemplateDeepMerger().merge(merge_template(), chalice_template()))


def _resources(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in _packaged()["Resources"].items() if r["Type"] == kind}


def _routes() -> set[tuple[str, str]]:
    from app import app

    return {(path, method) for path, entries in app.routes.items() for method in entries}


def test_every_method_setting_path_is_written_as_api_gateway_wants_and_names_a_real_route() -> None:
    settings = _packaged()["Resources"]["RestAPI"]["Properties"]["MethodSettings"]
    stage_wide = [s for s in settings if s["ResourcePath"] == "/*"]
    assert [(s["HttpMethod"], s["ThrottlingRateLimit"]) for s in stage_wide] == [("*", {"Ref": "ThrottlingRateLimit"})]
    routes = [s for s in settings if s["ResourcePath"] != "/*"]
    assert routes, "the routes that need their own limit"
    for setting in routes:
        path = setting["ResourcePath"]
        assert path.startswith("/~1") and "/" not in path[1:], path
        assert (path[1:].replace("~1", "/"), setting["HttpMethod"]) in _routes(), path


def test_tables_bucket_dead_letter_queues_and_secrets_are_retained_and_tables_protected() -> None:
    resources = _packaged()["Resources"]
    dead_letter_queues = {q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0]
                          for q in _resources("AWS::SQS::Queue").values() if "RedrivePolicy" in q["Properties"]}
    kept = {*_resources("AWS::DynamoDB::Table"), *_resources("AWS::S3::Bucket"),
            *_resources("AWS::SecretsManager::Secret"), *dead_letter_queues, "ImportTriggerFailureQueue"}
    assert {"RenderDeadLetterQueue", "NotifyDeadLetterQueue", "ImportDeadLetterQueue", "SmtpPassword"} <= kept
    for name in kept:
        policies = (resources[name].get("DeletionPolicy"), resources[name].get("UpdateReplacePolicy"))
        assert policies == ("Retain", "Retain"), name
    for name, table in _resources("AWS::DynamoDB::Table").items():
        assert table["Properties"].get("DeletionProtectionEnabled") is True, name


def test_every_alarm_notifies_the_topic_and_every_queue_that_collects_failures_has_one() -> None:
    alarms = _resources("AWS::CloudWatch::Alarm")
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["Properties"]["OKActions"] == [{"Ref": "AlarmTopic"}], name
    watched_queues = {d["Value"]["Fn::GetAtt"][0] for a in alarms.values() for d in a["Properties"]["Dimensions"]
                      if d["Name"] == "QueueName"}
    assert watched_queues == {"RenderDeadLetterQueue", "NotifyDeadLetterQueue", "ImportDeadLetterQueue",
                              "ImportTriggerFailureQueue"}
    service_metrics = {a["Properties"]["MetricName"] for a in alarms.values()
                       if a["Properties"]["Namespace"] == "CertificateService"}
    assert service_metrics == {"AnnotationsFailed", "MessagesFailed", "ImportChunksFailed", "SigningMaterialMissing",
                               "TimestampFailed"}


def test_every_function_has_its_log_group_first_its_alarms_traces_and_the_public_address() -> None:
    resources = _packaged()["Resources"]
    functions = _resources("AWS::Serverless::Function")
    assert {"APIHandler", "RenderWorker", "ImportWorker", "ImportDeadLetters", "TokenKeyRotation"} <= set(functions)
    for name, function in functions.items():
        properties = function["Properties"]
        assert properties["FunctionName"] == {"Fn::Sub": f"${{AWS::StackName}}-{name}"}
        assert f"{name}LogGroup" in function["DependsOn"]
        log_group = resources[f"{name}LogGroup"]["Properties"]
        assert log_group["LogGroupName"] == {"Fn::Sub": f"/aws/lambda/${{AWS::StackName}}-{name}"}
        assert log_group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert {resources[f"{name}{metric}Alarm"]["Properties"]["MetricName"] for metric in ("Errors", "Throttles")} \
            == {"Errors", "Throttles"}
        assert properties["Tracing"] == "Active"
        assert properties["Environment"]["Variables"]["PUBLIC_BASE_URL"] == {"Fn::Sub": "https://${DomainName}"}


def test_the_workers_cannot_take_the_apis_concurrency() -> None:
    resources = _packaged()["Resources"]
    for worker in ("RenderWorker", "ImportWorker"):
        (source,) = resources[worker]["Properties"]["Events"].values()
        assert source["Properties"]["ScalingConfig"]["MaximumConcurrency"] == {"Ref": f"{worker}MaximumConcurrency"}
    assert "ReservedConcurrentExecutions" in resources["APIHandler"]["Properties"]


def test_every_accepted_checkov_finding_has_a_reason_and_is_accepted_only_where_listed() -> None:
    accepted = accepted_findings()
    assert all(entry["reason"].strip() for entry in accepted.values())
    failed = [{"check_id": "CKV_AWS_111", "resource": "AWS::IAM::Role.NotifierRole", "check_name": "write access"},
              {"check_id": "CKV_AWS_111", "resource": "AWS::IAM::Role.APIHandlerRole", "check_name": "write access"},
              {"check_id": "CKV_AWS_1", "resource": "AWS::S3::Bucket.FilesBucket", "check_name": "anything new"}]
    assert unaccepted(failed, accepted) == ["CKV_AWS_1 FilesBucket: anything new",
                                            "CKV_AWS_111 APIHandlerRole: write access"]


def test_what_moto_cannot_create_leaves_no_reference_behind() -> None:
    template = {
        "Resources": {
            "Acl": {"Type": "AWS::WAFv2::WebACL", "Properties": {}},
            "Queue": {"Type": "AWS::SQS::Queue", "DependsOn": ["Acl"], "Properties": {
                "A": {"Ref": "Acl"}, "B": {"Fn::GetAtt": ["Acl", "Arn"]},
                "C": {"Fn::Sub": "x-${Acl.Arn}-${AWS::Region}"}}},
        },
        "Outputs": {"Acl": {"Value": {"Ref": "Acl"}}, "Queue": {"Value": {"Ref": "Queue"}}},
    }
    left, removed = without_what_moto_cannot_create(template)
    assert removed == ["Acl"]
    assert left["Resources"] == {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {
        "A": "acl-not-created-in-moto", "B": "acl-not-created-in-moto",
        "C": {"Fn::Sub": "x-acl-not-created-in-moto-${AWS::Region}"}}}}
    assert left["Outputs"] == {"Queue": {"Value": {"Ref": "Queue"}}}
