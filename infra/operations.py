"""What every function of the packaged template gets, whatever its name (infra/package.py applies
it to Chalice's output, so a function added to the app cannot be left without them):

- a name of its own, `<stack>-<LogicalId>`, so that its log group can exist before it does: the
  function depends on `<LogicalId>LogGroup` (`/aws/lambda/<stack>-<LogicalId>`, kept
  `LogRetentionDays`), and no role needs `logs:CreateLogGroup`;
- the right to write to that log group and no other, on its own role (`<LogicalId>Logs`: a policy
  of its own, since a role that named its function would depend on it, and the function on it);
- alarms on its `Errors` and `Throttles` (`<LogicalId>ErrorsAlarm`, `<LogicalId>ThrottlesAlarm`)
  notifying the alarm topic;
- `PUBLIC_BASE_URL` from the `DomainName` parameter, where .chalice/config.json sets one.

The rest of what the deployed stack has is written out in infra/operations.yaml.
"""

from __future__ import annotations

from typing import Any

FUNCTION = "AWS::Serverless::Function"
ALARM_TOPIC = {"Ref": "AlarmTopic"}


def functions(template: dict[str, Any]) -> list[str]:
    return [name for name, resource in template["Resources"].items() if resource.get("Type") == FUNCTION]


def _alarm(function: str, metric: str, what: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CloudWatch::Alarm",
        "Properties": {
            "AlarmDescription": f"{function} {what}.",
            "Namespace": "AWS/Lambda",
            "MetricName": metric,
            "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function}}],
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [ALARM_TOPIC],
            "OKActions": [ALARM_TOPIC],
        },
    }


def _own_log_group(function: str, role: dict[str, Any]) -> dict[str, Any]:
    arn = f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:/aws/lambda/${{{function}}}:*"
    return {
        "Type": "AWS::IAM::RolePolicy",
        "Properties": {
            "RoleName": {"Ref": role["Fn::GetAtt"][0]},
            "PolicyName": "OwnLogGroup",
            "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": {"Fn::Sub": arn}}]},
        },
    }


def for_every_function(template: dict[str, Any]) -> dict[str, Any]:
    """The template with each function's name, log group, alarms and PUBLIC_BASE_URL (in place)."""
    resources = template["Resources"]
    for name in functions(template):
        function = resources[name]
        properties = function["Properties"]
        physical = f"${{AWS::StackName}}-{name}"
        properties["FunctionName"] = {"Fn::Sub": physical}
        resources[f"{name}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": {"Fn::Sub": f"/aws/lambda/{physical}"},
                           "RetentionInDays": {"Ref": "LogRetentionDays"}},
        }
        resources[f"{name}Logs"] = _own_log_group(name, properties["Role"])
        depends = function.get("DependsOn", [])
        function["DependsOn"] = [*([depends] if isinstance(depends, str) else depends), f"{name}LogGroup"]
        variables = properties.get("Environment", {}).get("Variables", {})
        if "PUBLIC_BASE_URL" in variables:
            variables["PUBLIC_BASE_URL"] = {"Fn::Sub": "https://${DomainName}"}
        resources[f"{name}ErrorsAlarm"] = _alarm(name, "Errors", "failed (an exception, a timeout or out of memory)")
        resources[f"{name}ThrottlesAlarm"] = _alarm(name, "Throttles", "was throttled (its concurrency was used up)")
    return template
