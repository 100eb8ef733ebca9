"""The functions' roles as the packaged template has them, for the tests and `make test`.

`packaged_template()` is what `make package` writes to build/package/sam.json, less the code's
location: Chalice's own template generation (without building the deployment zip: about half a
second instead of twenty) with infra/package.py's merge template merged over it.

Each role's permissions are read in two forms:
- symbolic, for people and the tests' tables: `UsersTable`, `CertificatesTable/index/by_holder`,
  `FilesBucket/annotations/*`, `RenderQueue`, `TokenSigningKey`,
  `logs:log-group:/aws/lambda/APIHandler:*` (an ARN of ours, less `arn:${AWS::Partition}:` and
  its region and account), `*`;
- as example ARNs (`example_policies`), for parliament, which checks real policy documents.
"""

from __future__ import annotations

import copy
import json
import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STAGE = "prod"
FUNCTION = "AWS::Serverless::Function"
ROLE = "AWS::IAM::Role"
ROLE_POLICY = "AWS::IAM::RolePolicy"
# Our ARNs start like this: the partition is never written out (aws-cn is where we run).
OUR_ARN = re.compile(r"^arn:\$\{AWS::Partition\}:(?P<service>[a-z0-9-]+):(\$\{AWS::Region\})?:(\$\{AWS::AccountId\})?:")
_SUB_VARIABLE = re.compile(r"\$\{([A-Za-z0-9:]+)(?:\.([A-Za-z]+))?\}")

# What the examples resolve to (parliament knows the partitions, not our account).
EXAMPLE = {"AWS::Partition": "aws-cn", "AWS::Region": "cn-north-1", "AWS::AccountId": "123456789012"}


def chalice_template(stage: str = STAGE) -> dict[str, Any]:
    """The template `chalice package` generates for the app, before any merge."""
    import botocore.session
    from chalice.awsclient import TypedAWSClient
    from chalice.cli.factory import CLIFactory
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder
    from chalice.deploy.deployer import (
        BaseDeployStep,
        BuildStage,
        InjectDefaults,
        LambdaEventSourcePolicyInjector,
        PolicyGenerator,
        SwaggerBuilder,
        WebsocketPolicyInjector,
    )
    from chalice.deploy.swagger import CFNSwaggerGenerator
    from chalice.package import PackageOptions, ResourceBuilder, SAMTemplateGenerator
    from chalice.policy import AppPolicyGenerator
    from chalice.utils import OSUtils

    class NoZip(BaseDeployStep):  # type: ignore[misc]
        """Stands in for Chalice's DeploymentPackager: the template only names the zip."""

        def handle_deploymentpackage(self, config: Any, resource: models.DeploymentPackage) -> None:
            resource.filename = "deployment.zip"

    config = CLIFactory(str(ROOT)).create_config_obj(chalice_stage_name=stage)
    osutils = OSUtils()
    # create_build_stage's steps, in its order, with the zip left out.
    build = BuildStage(steps=[
        InjectDefaults(), NoZip(), PolicyGenerator(policy_gen=AppPolicyGenerator(osutils=osutils), osutils=osutils),
        SwaggerBuilder(swagger_generator=CFNSwaggerGenerator()), LambdaEventSourcePolicyInjector(),
        WebsocketPolicyInjector()])
    builder = ResourceBuilder(ApplicationGraphBuilder(), DependencyBuilder(), build)
    resources = builder.construct_resources(config, stage)
    session = botocore.session.get_session()
    session.set_config_variable("region", "cn-north-1")
    generator = SAMTemplateGenerator(config, PackageOptions(TypedAWSClient(session)))
    template: dict[str, Any] = generator.generate(resources)
    return template


def packaged_template(stage: str = STAGE) -> dict[str, Any]:
    """What `make package` writes (build/package/sam.json), but for CodeUri: infra/package.py's
    merge template merged as Chalice merges it, then infra/package.py's pass over the functions."""
    from chalice.package import TemplateDeepMerger

    from infra import package

    merged: dict[str, Any] = TemplateDeepMerger().merge(package.merge_template(), chalice_template(stage))
    plain: dict[str, Any] = json.loads(json.dumps(merged))  # no piece shared between two resources
    return package.for_every_function(plain)


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r.get("Type") == FUNCTION}


def role_of(function: dict[str, Any]) -> str | None:
    """The logical name of the role a function runs with (`!GetAtt <Role>.Arn`), or None."""
    role = function.get("Properties", {}).get("Role")
    if isinstance(role, dict) and list(role) == ["Fn::GetAtt"] and role["Fn::GetAtt"][1:] == ["Arn"]:
        return str(role["Fn::GetAtt"][0])
    return None


def role_policies(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """Every policy document of a role: its inline policies and the RolePolicy resources on it."""
    resources = template["Resources"]
    documents = [p["PolicyDocument"] for p in resources[role].get("Properties", {}).get("Policies", [])]
    documents += [r["Properties"]["PolicyDocument"] for r in resources.values()
                  if r.get("Type") == ROLE_POLICY and r["Properties"].get("RoleName") == {"Ref": role}]
    return documents


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for document in role_policies(template, role) for s in _listed(document["Statement"])]


# --- symbolic form ------------------------------------------------------------------------------

def symbolic(resource: Any, template: dict[str, Any]) -> str:
    """A policy's Resource entry by logical names (see the module's docstring)."""
    resources = template["Resources"]
    if isinstance(resource, str):
        text = resource
    elif list(resource) == ["Fn::GetAtt"] and resource["Fn::GetAtt"][1:] == ["Arn"]:
        text = "${" + resource["Fn::GetAtt"][0] + ".Arn}"
    elif list(resource) == ["Ref"]:
        text = "${" + resource["Ref"] + "}"
    elif list(resource) == ["Fn::Sub"] and isinstance(resource["Fn::Sub"], str):
        text = resource["Fn::Sub"]
    else:
        raise ValueError(f"a policy resource this module does not read: {resource!r}")

    def name(match: re.Match[str]) -> str:
        logical, attribute = match.group(1), match.group(2)
        if logical.startswith("AWS::"):
            return match.group(0)
        kind = resources[logical]["Type"]
        # Ref gives an ARN for secrets and a name for functions (in a log group's name);
        # for a table, queue or bucket it gives a name or URL, which no policy can use.
        if attribute == "Arn" or (attribute is None and kind in ("AWS::SecretsManager::Secret", FUNCTION)):
            return logical
        raise ValueError(f"{match.group(0)} in a policy resource is not an ARN ({kind})")

    text = _SUB_VARIABLE.sub(name, text)
    found = OUR_ARN.match(text)
    if found:
        return f"{found.group('service')}:{text[found.end():]}"
    if "${" in text or text.startswith("arn:"):
        raise ValueError(f"a policy resource with a partition, region or account written out: {text!r}")
    return text


def permissions(template: dict[str, Any], role: str) -> dict[str, set[str]]:
    """symbolic resource -> the actions the role allows on it. Allow statements only, without
    conditions but one: DynamoDB items by the start of their key (`dynamodb:LeadingKeys`), read
    as the resource `<table>:key=<pattern>`."""
    allowed: dict[str, set[str]] = {}
    for statement in statements(template, role):
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            raise ValueError(f"{role}: only plain Allow statements are read here: {statement}")
        keys = leading_keys(statement)
        for resource in _listed(statement["Resource"]):
            name = symbolic(resource, template)
            for scoped in ([f"{name}:key={k}" for k in keys] if keys is not None else [name]):
                allowed.setdefault(scoped, set()).update(_listed(statement["Action"]))
    return allowed


def leading_keys(statement: dict[str, Any]) -> list[str] | None:
    """The key patterns a statement's only condition allows, or None without a condition."""
    condition = statement.get("Condition")
    if condition is None:
        return None
    if list(condition) != ["ForAllValues:StringLike"] or list(condition["ForAllValues:StringLike"]) != \
            ["dynamodb:LeadingKeys"]:
        raise ValueError(f"a condition this module does not read: {condition}")
    return [str(k) for k in _listed(condition["ForAllValues:StringLike"]["dynamodb:LeadingKeys"])]


def allows(granted: dict[str, set[str]], action: str, resource: str) -> bool:
    """Whether symbolic permissions allow `action` on a symbolic resource (IAM's * and ? in both)."""
    return any(fnmatchcase(resource, pattern) and any(fnmatchcase(action, a) for a in actions)
               for pattern, actions in granted.items())


# --- example ARNs -------------------------------------------------------------------------------

def _example_arn(logical: str, template: dict[str, Any]) -> str:
    kind = template["Resources"][logical]["Type"]
    p, region, account = EXAMPLE["AWS::Partition"], EXAMPLE["AWS::Region"], EXAMPLE["AWS::AccountId"]
    return {
        "AWS::DynamoDB::Table": f"arn:{p}:dynamodb:{region}:{account}:table/certificates-{logical}",
        "AWS::SQS::Queue": f"arn:{p}:sqs:{region}:{account}:certificates-{logical}",
        "AWS::S3::Bucket": f"arn:{p}:s3:::certificates-{logical.lower()}",
        "AWS::SecretsManager::Secret":
            f"arn:{p}:secretsmanager:{region}:{account}:secret:certificates/{logical}-AbCdEf",
        FUNCTION: f"arn:{p}:lambda:{region}:{account}:function:certificates-{logical}",
        ROLE: f"arn:{p}:iam::{account}:role/certificates-{logical}",
    }[kind]


def _example_name(logical: str, template: dict[str, Any]) -> str:
    """What Ref gives: an ARN for a secret, a name for the rest."""
    if template["Resources"][logical]["Type"] == "AWS::SecretsManager::Secret":
        return _example_arn(logical, template)
    return f"certificates-{logical}"


def resolve(value: Any, template: dict[str, Any]) -> Any:
    """A piece of template with Ref, Fn::GetAtt (Arn) and Fn::Sub replaced by example values."""
    if isinstance(value, list):
        return [resolve(v, template) for v in value]
    if not isinstance(value, dict):
        return value
    if list(value) == ["Ref"]:
        ref = value["Ref"]
        return EXAMPLE[ref] if ref in EXAMPLE else _example_name(ref, template)
    if list(value) == ["Fn::GetAtt"]:
        logical, attribute = value["Fn::GetAtt"]
        if attribute != "Arn":
            raise ValueError(f"Fn::GetAtt {logical}.{attribute} in a policy")
        return _example_arn(logical, template)
    if list(value) == ["Fn::Sub"]:
        def replace(match: re.Match[str]) -> str:
            logical, attribute = match.group(1), match.group(2)
            if logical in EXAMPLE:
                return EXAMPLE[logical]
            return _example_arn(logical, template) if attribute == "Arn" else _example_name(logical, template)

        return _SUB_VARIABLE.sub(replace, value["Fn::Sub"])
    return {k: resolve(v, template) for k, v in value.items()}


def example_policies(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The role's policy documents with every intrinsic resolved to an example."""
    return [resolve(copy.deepcopy(document), template) for document in role_policies(template, role)]
