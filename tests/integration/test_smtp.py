"""The notifier's SMTP transport against a real SMTP server (aiosmtpd) started here, as the
notifier function would be configured in a region without SES: STARTTLS (or implicit TLS) with a
certificate the client must verify, AUTH with a password read from Secrets Manager (moto)."""

from __future__ import annotations

import ipaddress
import logging
import secrets
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from chalicelib import deps, observability
from chalicelib.notify import Message, SmtpEmail
from chalicelib.services import notifying

SENDER = "noreply@certificates.example.cn"
USERNAME = "notifier"
PASSWORD = "Smtp#password-42"
SUBJECT = "证书查询验证：验证码"
TEXT = "您的验证码是 482913，5 分钟内有效。请勿告诉他人。"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost, which the client is told to trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                         x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "smtp.pem", directory / "smtp.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


@dataclass
class Received:
    """What the server took: each envelope, and whether its session was encrypted and signed in."""

    mail: list[tuple[str, list[str], bytes, bool, bool]] = field(default_factory=list)
    logins: list[tuple[bytes, bool]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        encrypted = server.transport.get_extra_info("ssl_object") is not None  # STARTTLS or implicit
        self.mail.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, encrypted,
                          bool(session.authenticated)))
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.login == USERNAME.encode() \
            and data.password == PASSWORD.encode()
        self.logins.append((data.login if isinstance(data, LoginPassword) else b"", ok))
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535 itself


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return server_certificate(tmp_path_factory.mktemp("smtp"))


@pytest.fixture(params=["starttls", "tls"])
def smtp_server(request: pytest.FixtureRequest, certificate: tuple[Path, Path],
                monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int, Received]]:
    security = request.param
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(*certificate)
    received = Received()
    port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port, authenticator=received.authenticate,
                            # aiosmtpd counts only STARTTLS as TLS for AUTH; implicit TLS is TLS all along.
                            auth_require_tls=security == "starttls", require_starttls=security == "starttls",
                            tls_context=tls if security == "starttls" else None,
                            ssl_context=tls if security == "tls" else None)
    controller.start()
    # The client verifies the server as it would on AWS (the default context, hostname checked),
    # with this test's certificate as the one trusted root.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))
    yield security, port, received
    controller.stop()


@pytest.fixture()
def smtp_notifier(aws: dict[str, str], smtp_server: tuple[str, int, Received],
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Received]]:
    """Configures the notifier for SMTP through the environment, as the template does; call it with
    the password to put in the secret."""
    security, port, received = smtp_server

    def configure(password: str) -> Received:
        # The stack's own secret (rule 8, and conftest.py's IAM check knows only the stack's resources).
        secret_id = aws.get("SMTP_PASSWORD_SECRET_ID")
        assert secret_id, ("the deployed stack has no SmtpPassword secret: infra/resources.yaml's output "
                           "SmtpPasswordSecretId, as SMTP_PASSWORD_SECRET_ID in infra/deploy.py's OUTPUT_ENV")
        boto3.client("secretsmanager").put_secret_value(SecretId=secret_id, SecretString=password)
        for name, value in {"NOTIFY_EMAIL_TRANSPORT": "smtp", "NOTIFY_SENDER": SENDER, "SMTP_HOST": "127.0.0.1",
                            "SMTP_PORT": str(port), "SMTP_SECURITY": security, "SMTP_USERNAME": USERNAME,
                            "SMTP_PASSWORD_SECRET_ID": secret_id}.items():
            monkeypatch.setenv(name, value)
        deps.reset()
        return received

    yield configure
    deps.reset()


def code_email(message_id: str) -> Message:
    """A code message as the producers queue it (a 32-hex-digit ID)."""
    return Message(channel="email", to="zhangsan@example.com", subject=SUBJECT, text=TEXT, message_id=message_id,
                   expires_at=datetime.now(UTC) + timedelta(minutes=5))


def test_the_notifier_sends_an_e_mail_through_smtp_over_tls_with_auth_utf_8_and_proper_headers(
        repo, smtp_notifier, caplog) -> None:
    received = smtp_notifier(PASSWORD)
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    message = code_email(secrets.token_hex(16))
    failed = notifying.process_batch([notifying.QueuedMessage("r1", message.to_json())], claims=repo.limits,
                                     deliverer=deps.notifier(), now=datetime.now(UTC))
    assert failed == []
    assert received.logins == [(USERNAME.encode(), True)]
    [(mail_from, rcpt_tos, raw, encrypted, authenticated)] = received.mail
    assert (mail_from, rcpt_tos, encrypted, authenticated) == (SENDER, ["zhangsan@example.com"], True, True)
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["From"] == SENDER and parsed["To"] == "zhangsan@example.com" and parsed["Subject"] == SUBJECT
    assert parsed["Message-ID"] == f"<{message.message_id}@certificates.example.cn>"
    assert abs(parsedate_to_datetime(parsed["Date"]) - datetime.now(UTC)) < timedelta(minutes=1)
    assert parsed.get_content_charset() == "utf-8" and parsed.get_content().strip() == TEXT
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "email sent to z***n@example.com" in logged
    assert PASSWORD not in logged and "482913" not in logged and "zhangsan@example.com" not in logged


def test_a_refused_smtp_login_fails_the_delivery_counts_it_and_logs_no_password(repo, smtp_notifier, caplog) -> None:
    received = smtp_notifier("not-the-password")
    observability.metrics().clear_metrics()
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    message = code_email(secrets.token_hex(16))
    batch = [notifying.QueuedMessage("r1", message.to_json())]
    assert notifying.process_batch(batch, claims=repo.limits, deliverer=deps.notifier(),
                                   now=datetime.now(UTC)) == ["r1"]
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN): each refused.
    assert received.logins and set(received.logins) == {(USERNAME.encode(), False)} and received.mail == []
    assert observability.metrics().metric_set["MessagesFailed"]["Value"] == [1.0]
    observability.metrics().clear_metrics()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "SMTPAuthenticationError" in logged
    assert "not-the-password" not in logged and "482913" not in logged and "zhangsan@example.com" not in logged


def test_a_server_whose_certificate_is_not_trusted_gets_no_message(repo, smtp_notifier, monkeypatch, caplog) -> None:
    received = smtp_notifier(PASSWORD)
    caplog.set_level(logging.DEBUG, logger="chalicelib")
    monkeypatch.delenv("SSL_CERT_FILE")  # the system's roots only: the self-signed server is refused
    batch = [notifying.QueuedMessage("r1", code_email(secrets.token_hex(16)).to_json())]
    assert notifying.process_batch(batch, claims=repo.limits, deliverer=deps.notifier(),
                                   now=datetime.now(UTC)) == ["r1"]
    assert received.logins == [] and received.mail == [], "no password and no message before the server is trusted"
    assert "SSLCertVerificationError" in "\n".join(r.getMessage() for r in caplog.records)


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        silent = SmtpEmail(host="127.0.0.1", port=listener.getsockname()[1], sender=SENDER, timeout=0.5)
        started = datetime.now(UTC)
        with pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected), match="timed out"):
            silent.send(code_email("silent"))
        assert datetime.now(UTC) - started < timedelta(seconds=5)
