"""Who may send messages: only the notifier function's role may publish SMS or send e-mail
(issue 11: codes go out through the notify queue and the notifier alone)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from infra.deploy import load_template

OVERRIDES = Path(__file__).resolve().parents[2] / "infra" / "overrides.yaml"
SENDING = {"sns:Publish", "ses:SendEmail", "ses:SendRawEmail"}


def _actions(role: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for policy in role["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            listed = statement["Action"]
            found |= {listed} if isinstance(listed, str) else set(listed)
    return found


def test_only_the_notifiers_role_may_send_sms_or_e_mail_and_the_notifier_runs_with_it() -> None:
    resources = load_template(OVERRIDES.read_text(encoding="utf-8"))["Resources"]
    roles = {name: r for name, r in resources.items() if name == "DefaultRole" or r.get("Type") == "AWS::IAM::Role"}
    senders = {name for name, role in roles.items() if _actions(role) & SENDING}
    assert senders == {"NotifierRole"}
    assert resources["Notifier"]["Properties"]["Role"] == {"Fn::GetAtt": ["NotifierRole", "Arn"]}
