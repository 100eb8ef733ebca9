"""`make template-checks` (part of `make test`, after `make package`): the packaged template,
build/package/sam.json, checked two more ways than cfn-lint's.

1. checkov (in .venv-checkov, `--skip-download`, so it never waits on the network): every finding
   must be accepted, with its reason, in infra/checkov.yaml.
2. The template as CloudFormation would run it: SAM-transformed (aws-sam-translator) and created in
   moto's CloudFormation, which must reach CREATE_COMPLETE. The resource types moto cannot create
   are taken out first (MOTO_CANNOT_CREATE, each with what goes unchecked), and what referred to
   them gets a placeholder.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from infra.deploy import load_template

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(os.environ.get("PACKAGED_TEMPLATE", ROOT / "build" / "package" / "sam.json"))
CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
ACCEPTED = ROOT / "infra" / "checkov.yaml"
REGION = "us-east-1"
ARTEFACTS = "artefacts"  # the bucket `aws cloudformation package` would upload deployment.zip to

# moto 5.2.5's CloudFormation has no model for these (it would skip them with a warning and fail
# on what refers to them). What that leaves unchecked here, and what checks it instead:
MOTO_CANNOT_CREATE = {
    "AWS::ApiGateway::Deployment": "the API's deployment: moto's RestApi model ignores the OpenAPI Body, so the "
                                   "API has no methods and moto refuses to deploy it",
    "AWS::ApiGateway::Stage": "the stage's access logs, tracing and method settings (cfn-lint checks their form)",
    "AWS::ApiGateway::Account": "the account's API Gateway logging role setting (one per account and region)",
    "AWS::ApiGateway::DomainName": "the custom domain (needs a real ACM certificate anyway)",
    "AWS::ApiGateway::BasePathMapping": "the domain's mapping to the stage",
    "AWS::WAFv2::WebACL": "the web ACL's rules (cfn-lint checks their form; checkov the Log4j rule)",
    "AWS::WAFv2::WebACLAssociation": "the web ACL on the stage",
    "AWS::CloudWatch::Alarm": "the alarms (moto has CloudWatch alarms, but no CloudFormation model of them)",
    "AWS::SNS::Subscription": "the alarm e-mail's subscription",
    "AWS::IAM::RolePolicy": "the functions' own-log-group policies (tests/unit/test_roles.py reads them)",
    "AWS::S3::BucketPolicy": "the bucket's TLS-only policy",
    "AWS::Lambda::EventInvokeConfig": "the import trigger's retries and failure destination",
    "AWS::SecretsManager::Secret": "the secrets (infra/deploy.py creates them beside the local stack for this reason)",
    "AWS::SecretsManager::RotationSchedule": "the token key's rotation schedule",
}
# Only the deploy's own parameters without a default; any value of the right form will do.
PARAMETERS = {
    "DomainName": "certificates.example.cn",
    "CertificateArn": f"arn:aws:acm:{REGION}:123456789012:certificate/00000000-0000-0000-0000-000000000000",
}


def accepted_findings() -> dict[str, dict[str, Any]]:
    """infra/checkov.yaml: check id -> {reason, resources (absent: every resource)}."""
    entries: dict[str, dict[str, Any]] = load_template(ACCEPTED.read_text(encoding="utf-8"))
    for check, entry in entries.items():
        if not isinstance(entry, dict) or not str(entry.get("reason", "")).strip():
            raise SystemExit(f"infra/checkov.yaml: {check} needs a one-line reason")
    return entries


def unaccepted(failed: list[dict[str, Any]], accepted: dict[str, dict[str, Any]]) -> list[str]:
    """checkov's failed checks that infra/checkov.yaml does not accept for their resource."""
    left = []
    for finding in failed:
        resource = finding["resource"].rsplit(".", 1)[-1]
        entry = accepted.get(finding["check_id"])
        if entry is None or ("resources" in entry and resource not in entry["resources"]):
            left.append(f"{finding['check_id']} {resource}: {finding['check_name']}")
    return sorted(left)


def run_checkov(template: Path = TEMPLATE) -> list[str]:
    accepted = accepted_findings()
    everywhere = [check for check, entry in accepted.items() if "resources" not in entry]
    command = [str(CHECKOV), "--file", str(template), "--framework", "cloudformation", "--skip-download",
               "--compact", "--quiet", "--output", "json", "--skip-check", ",".join(everywhere)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"checkov did not report:\n{done.stdout}{done.stderr}") from None
    summary, left = report["summary"], unaccepted(report["results"]["failed_checks"], accepted)
    print(f"checkov {summary['checkov_version']}: {summary['passed']} passed, {summary['failed']} failed "
          f"({summary['failed'] - len(left)} of them accepted for their resources in infra/checkov.yaml), "
          f"{len(everywhere)} checks skipped everywhere")
    return left


def sam_transformed(template: dict[str, Any]) -> dict[str, Any]:
    """Plain CloudFormation, as the SAM transform makes it at deploy time."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:  # the functions name no managed policy by name
        def load(self) -> dict[str, str]:
            return {}

    template = json.loads(json.dumps(template))
    for resource in template["Resources"].values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{ARTEFACTS}/deployment.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    result: dict[str, Any] = transform(template, {"AWS::Region": REGION}, NoManagedPolicies())
    return result


_SUB_NAME = re.compile(r"\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}")


def without_what_moto_cannot_create(template: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The template less MOTO_CANNOT_CREATE's resources, and the names taken out. A Ref, GetAtt or
    ${...} of one becomes a placeholder string, a DependsOn on one goes, and so do outputs of one."""
    template = json.loads(json.dumps(template))
    resources = template["Resources"]
    removed = sorted(name for name, r in resources.items() if r["Type"] in MOTO_CANNOT_CREATE)
    for name in removed:
        del resources[name]
    gone = set(removed)

    def placeholder(name: str) -> str:
        return f"{name.lower()}-not-created-in-moto"

    def fix(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"} and value["Ref"] in gone:
                return placeholder(value["Ref"])
            if set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][0] in gone:
                return placeholder(value["Fn::GetAtt"][0])
            if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
                return {"Fn::Sub": _SUB_NAME.sub(
                    lambda m: placeholder(m.group(1)) if m.group(1) in gone else m.group(0), value["Fn::Sub"])}
            return {key: fix(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fix(item) for item in value]
        return value

    for resource in resources.values():
        depends = resource.get("DependsOn")
        if depends is not None:
            kept = [d for d in ([depends] if isinstance(depends, str) else depends) if d not in gone]
            if kept:
                resource["DependsOn"] = kept
            else:
                del resource["DependsOn"]
    template["Resources"] = fix(resources)
    outputs = template.get("Outputs", {})
    template["Outputs"] = {key: output for key, output in outputs.items()
                           if json.dumps(fix(output)) == json.dumps(output)}
    return template, removed


def create_in_moto(template: dict[str, Any]) -> tuple[str, list[str]]:
    """Create the stack in an in-process moto; its final status and the failures' reasons."""
    import boto3
    from moto import mock_aws

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "testing")
    with mock_aws():
        session = boto3.session.Session(region_name=REGION)
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as package:
            package.writestr("app.py", "")  # created, never invoked
        s3 = session.client("s3")
        s3.create_bucket(Bucket=ARTEFACTS)
        s3.put_object(Bucket=ARTEFACTS, Key="deployment.zip", Body=code.getvalue())
        cfn = session.client("cloudformation")
        cfn.create_stack(StackName="certificates", TemplateBody=json.dumps(template),
                         Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in PARAMETERS.items()],
                         Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"])
        stack = cfn.describe_stacks(StackName="certificates")["Stacks"][0]
        failures = [f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason')}"
                    for e in cfn.describe_stack_events(StackName="certificates")["StackEvents"]
                    if e["ResourceStatus"].endswith("FAILED")]
        created = cfn.list_stack_resources(StackName="certificates")["StackResourceSummaries"]
        print(f"moto created {sum(r['ResourceStatus'] == 'CREATE_COMPLETE' for r in created)} resources")
        return str(stack["StackStatus"]), failures


def main() -> int:
    if not TEMPLATE.exists():
        print("no build/package/sam.json: run `make package` first", file=sys.stderr)
        return 2
    problems = [f"checkov: {line}" for line in run_checkov()]
    transformed, removed = without_what_moto_cannot_create(sam_transformed(json.loads(TEMPLATE.read_text("utf-8"))))
    print(f"moto cannot create {len(removed)} of the transformed template's resources "
          f"({', '.join(sorted(MOTO_CANNOT_CREATE))}): taken out")
    status, failures = create_in_moto(transformed)
    print(f"moto's CloudFormation: {status}")
    if status != "CREATE_COMPLETE":
        problems += [f"moto: {status}", *(f"moto: {f}" for f in failures)]
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
