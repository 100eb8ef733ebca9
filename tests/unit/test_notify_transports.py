"""The notifier's transports, chosen by settings (issue 12): e-mail by SES or SMTP, SMS by SNS or
none. aws-cn has neither SES nor SNS SMS; `none` must fail every SMS loudly, never pretend."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime

import pytest

from chalicelib import config, deps, observability
from chalicelib.config import ConfigurationError
from chalicelib.notify import Message, NoSms, Notifier, NotSent, SesEmail, SmtpEmail, SnsSms
from chalicelib.services import notifying

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
TRANSPORT_ENV = ("NOTIFY_EMAIL_TRANSPORT", "NOTIFY_SMS_TRANSPORT", "SMTP_HOST", "SMTP_PORT", "SMTP_USERNAME",
                 "SMTP_PASSWORD_SECRET_ID", "SMTP_SECURITY", "NOTIFY_OUTBOX", "NOTIFY_SENDER")
CODE_SMS = Message(channel="sms", to="13912345678", subject="验证码", text="您的验证码是 482913，5 分钟内有效。",
                   message_id="m-1")


@pytest.fixture()
def env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """A complete environment without AWS: every required setting, no transport setting."""
    for name in config.ENV_NAMES.values():
        monkeypatch.setenv(name, "unused")
    for name in TRANSPORT_ENV:
        monkeypatch.delenv(name, raising=False)
    deps.reset()

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        deps.reset()

    yield set_env
    deps.reset()


@pytest.fixture()
def metrics() -> Iterator[None]:
    observability.metrics().clear_metrics()
    yield
    observability.metrics().clear_metrics()


class Recording:
    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)


class Claims:
    """The claim store, in memory."""

    def __init__(self) -> None:
        self.held: set[str] = set()

    def claim_message(self, message_id: str, expires_at: datetime) -> bool:
        if message_id in self.held:
            return False
        self.held.add(message_id)
        return True

    def release_message(self, message_id: str) -> None:
        self.held.discard(message_id)


# --- the choice ----------------------------------------------------------------------------------

def test_without_settings_e_mail_goes_through_ses_and_sms_through_sns(env) -> None:
    notifier = deps.notifier()
    assert isinstance(notifier.email, SesEmail) and isinstance(notifier.sms, SnsSms)
    assert notifier.email.sender == "noreply@certificates.example.cn" and not notifier.outbox


def test_smtp_and_no_sms_are_chosen_by_their_settings_with_the_smtp_defaults(env) -> None:
    env(NOTIFY_EMAIL_TRANSPORT="smtp", NOTIFY_SMS_TRANSPORT="none", SMTP_HOST="smtpdm.aliyun.com",
        NOTIFY_SENDER="noreply@certificates.example.cn")
    notifier = deps.notifier()
    assert isinstance(notifier.sms, NoSms)
    email = notifier.email
    assert isinstance(email, SmtpEmail)
    assert (email.host, email.port, email.security, email.username) == ("smtpdm.aliyun.com", 587, "starttls", None)
    assert email.sender == "noreply@certificates.example.cn" and 0 < email.timeout <= 30


class Secrets:
    """The secret store, in memory: counts the reads."""

    def __init__(self, **values: str | None) -> None:
        self.values = values
        self.read: list[str] = []

    def value(self, secret_id: str) -> str | None:
        self.read.append(secret_id)
        return self.values.get(secret_id)


SMTP_WITH_AUTH = {"NOTIFY_EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "smtp.example.cn", "SMTP_PORT": "465",
                  "SMTP_SECURITY": "TLS", "SMTP_USERNAME": "notifier", "SMTP_PASSWORD_SECRET_ID": "smtp-password"}


def test_the_smtp_password_is_read_from_its_secret_at_each_sending_not_when_the_notifier_is_built(
        env, monkeypatch) -> None:
    secrets = Secrets(**{"smtp-password": "s3cret"})
    monkeypatch.setattr(deps, "secret_store", lambda: secrets)
    env(**SMTP_WITH_AUTH)
    email = deps.notifier().email
    assert isinstance(email, SmtpEmail) and (email.port, email.security, email.username) == (465, "tls", "notifier")
    assert secrets.read == []
    assert email._password is not None and email._password() == "s3cret"
    assert secrets.read == ["smtp-password"]


def test_an_smtp_password_secret_without_a_value_fails_the_sending_with_a_reason_that_may_be_logged(
        env, monkeypatch) -> None:
    monkeypatch.setattr(deps, "secret_store", lambda: Secrets(**{"smtp-password": None}))
    env(**SMTP_WITH_AUTH)
    email = deps.notifier().email
    assert isinstance(email, SmtpEmail) and email._password is not None
    with pytest.raises(NotSent, match=r"smtp-password .*SMTP_PASSWORD_SECRET_ID.* has no value"):
        email._password()


@pytest.mark.parametrize(("settings", "named"), [
    ({"NOTIFY_EMAIL_TRANSPORT": "smtp"}, "SMTP_HOST"),
    ({"NOTIFY_EMAIL_TRANSPORT": "smtp", "SMTP_HOST": "smtp.example.cn", "SMTP_USERNAME": "n"},
     "SMTP_PASSWORD_SECRET_ID"),
])
def test_a_missing_smtp_setting_is_a_configuration_error_that_names_it(env, settings, named) -> None:
    env(**settings)
    with pytest.raises(ConfigurationError, match=named):
        deps.notifier()


@pytest.mark.parametrize(("name", "value", "says"), [
    ("NOTIFY_EMAIL_TRANSPORT", "sendgrid", "ses, smtp"),
    ("NOTIFY_SMS_TRANSPORT", "aliyun", "sns, none"),
    ("SMTP_SECURITY", "ssl", "starttls, tls, none"),
    ("SMTP_PORT", "smtp", "port number"),
    ("SMTP_PORT", "70000", "port number"),
])
def test_an_unknown_value_is_a_configuration_error_that_names_the_setting_and_what_it_may_be(
        env, name, value, says) -> None:
    env(**{name: value})
    with pytest.raises(ConfigurationError, match=f"{name} must be .*{says}"):
        deps.notifier()


def test_without_a_username_smtp_is_used_without_auth_and_the_secret_is_never_read(env, monkeypatch) -> None:
    secrets = Secrets()
    monkeypatch.setattr(deps, "secret_store", lambda: secrets)
    env(NOTIFY_EMAIL_TRANSPORT="smtp", SMTP_HOST="relay.internal", SMTP_PASSWORD_SECRET_ID="smtp-password")
    email = deps.notifier().email
    assert isinstance(email, SmtpEmail) and email.username is None and email._password is None


# --- no SMS transport ----------------------------------------------------------------------------

def test_with_no_sms_transport_an_sms_fails_is_counted_and_logged_without_the_number_or_the_text(
        metrics, caplog, capsys) -> None:
    email = Recording()
    notifier = Notifier(email=email, sms=NoSms(), outbox=True)
    claims = Claims()
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    failed = notifying.process_batch([notifying.QueuedMessage("r1", CODE_SMS.to_json())], claims=claims,
                                     deliverer=notifier, now=NOW)
    assert failed == ["r1"], "the queue tries it again, then the dead-letter queue and its alarm take it"
    assert claims.held == set(), "the claim is given back for the next try"
    assert observability.metrics().metric_set["MessagesFailed"]["Value"] == [1.0]
    assert "MessagesSent" not in observability.metrics().metric_set
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "NOTIFY_SMS_TRANSPORT=none" in errors[0].getMessage()
    out = capsys.readouterr().out
    logged = "\n".join(r.getMessage() for r in caplog.records) + out
    assert "13912345678" not in logged and "482913" not in logged
    assert "OUTBOX" not in out, "nothing pretends to have sent it"
    by_channel = [json.loads(line) for line in out.splitlines() if "MessagesFailed" in line]
    assert [(m["channel"], m["MessagesFailed"]) for m in by_channel] == [("sms", [1.0])]
    assert by_channel[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == observability.NAMESPACE


def test_no_sms_transport_raises_rather_than_sending_nothing_quietly() -> None:
    with pytest.raises(NotSent):
        NoSms().send(CODE_SMS)


def test_e_mail_still_goes_out_when_there_is_no_sms_transport(metrics) -> None:
    email = Recording()
    message = Message(channel="email", to="zs@example.com", subject="密码已修改", text="您的密码已修改。",
                      message_id="m-2")
    assert notifying.process_batch([notifying.QueuedMessage("r1", message.to_json())], claims=Claims(),
                                   deliverer=Notifier(email=email, sms=NoSms()), now=NOW) == []
    assert [m.message_id for m in email.sent] == ["m-2"]
    assert observability.metrics().metric_set["MessagesSent"]["Value"] == [1.0]


def test_every_failed_send_is_counted_whatever_the_transport(metrics) -> None:
    class Down:
        def send(self, message: Message) -> None:
            raise ConnectionRefusedError(f"cannot reach the server for {message.to}")

    batch = [notifying.QueuedMessage(f"r{i}", Message(channel="email", to=f"a{i}@example.com", subject="s",
                                                       text="t", message_id=f"m{i}").to_json()) for i in range(3)]
    assert notifying.process_batch(batch, claims=Claims(), deliverer=Notifier(email=Down(), sms=NoSms()),
                                   now=NOW) == ["r0", "r1", "r2"]
    assert observability.metrics().metric_set["MessagesFailed"]["Value"] == [1.0, 1.0, 1.0]


# --- the local stack's outbox, and the e-mail itself ------------------------------------------------

def test_the_outbox_prints_what_was_sent_through_the_chosen_transport(capsys) -> None:
    sms = Recording()
    Notifier(email=Recording(), sms=sms, outbox=True).deliver(CODE_SMS)
    assert sms.sent == [CODE_SMS]
    assert capsys.readouterr().out == "OUTBOX sms 139****5678 您的验证码是 482913，5 分钟内有效。\n"


def test_a_message_to_nobody_reaches_no_transport() -> None:
    sms = Recording()
    Notifier(email=Recording(), sms=sms).deliver(Message(channel="sms", to=None, subject="s", text="t"))
    assert sms.sent == []


def test_the_smtp_e_mail_is_utf_8_with_sender_recipient_subject_date_and_message_id() -> None:
    transport = SmtpEmail(host="smtp.example.cn", port=587, sender="证书查询验证 <noreply@certificates.example.cn>")
    message = Message(channel="email", to="zs@example.com", subject="证书查询验证：验证码",
                      text="您的验证码是 482913，5 分钟内有效。", message_id="abc123")
    raw = transport.email(message).as_bytes(policy=policy.SMTP)
    raw.decode("ascii")  # every header and the body are encoded for any server
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["From"] == "证书查询验证 <noreply@certificates.example.cn>" and parsed["To"] == "zs@example.com"
    assert parsed["Subject"] == "证书查询验证：验证码"
    assert parsed["Message-ID"] == "<abc123@certificates.example.cn>"
    assert parsedate_to_datetime(parsed["Date"]).tzinfo is not None
    assert parsed.get_content_type() == "text/plain" and parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().strip() == "您的验证码是 482913，5 分钟内有效。"


def test_an_unknown_smtp_security_is_refused_by_the_adapter_too() -> None:
    with pytest.raises(ValueError, match="starttls, tls, none"):
        SmtpEmail(host="h", port=25, sender="a@b.cn", security="ssl")
