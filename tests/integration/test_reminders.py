"""Reminders on moto: each sent once across repeated runs, found through indexes."""

from __future__ import annotations

from datetime import timedelta

from chalicelib import deps
from chalicelib.domain.accounts import ProofMethod
from chalicelib.notify import Message
from chalicelib.services import reminding
from tests.integration.test_accounts import a_resident_id, register, registration
from tests.integration.test_annotations import NOW, a_certificate, apply, render


class RecordingSender:
    """Stands in for the notify queue."""

    def __init__(self) -> None:
        self.sent: list[dict[str, str | None]] = []

    def send(self, message: Message) -> None:
        self.sent.append({"email": message.to if message.channel == "email" else None,
                          "phone": message.to if message.channel == "sms" else None,
                          "subject": message.subject, "text": message.text})


def holder(repo, email: str | None = None, phone: str | None = None, verified: bool = True):  # type: ignore[no-untyped-def]
    """A proven holder whose contacts are verified (or, with `verified` False, only given)."""
    user = register(repo, registration(id_number=a_resident_id(), **({"email": email} if email else {}),
                                       **({"phone": phone} if phone else {})), NOW)
    deps.identity().take(user, ProofMethod.CERTIFICATE_NO, now=NOW)
    user = repo.accounts.user(user.user_id)
    if verified and email:
        repo.accounts.set_contact(user, "email", email)
        user = repo.accounts.user(user.user_id)
    if verified and phone:
        repo.accounts.set_contact(user, "phone", phone)
    return repo.accounts.user(user.user_id)


def remind(repo, sender: RecordingSender, now=NOW):  # type: ignore[no-untyped-def]
    return reminding.remind(store=repo.annotations, directory=repo, accounts=repo.accounts, outbox=sender, now=now)


def test_a_copy_expiring_within_seven_days_is_reminded_once_however_often_the_schedule_runs(repo) -> None:
    user = holder(repo, email="li@example.com")
    cert = a_certificate(repo, holder_key=user.id_hash)
    annotation = apply(repo, cert, account_id=user.user_id, validity_days=5)
    render(annotation.annotation_id)
    sender = RecordingSender()
    for _ in range(2):
        remind(repo, sender, NOW + timedelta(hours=1))
    mine = [m for m in sender.sent if m["email"] == "li@example.com" and m["subject"] == "加注件即将到期"]
    assert len(mine) == 1
    assert cert.certificate_no in mine[0]["text"] and "2026-11-28" in mine[0]["text"]


def test_a_copy_further_from_expiry_or_withdrawn_is_not_reminded(repo) -> None:
    user = holder(repo, email="far@example.com")
    cert = a_certificate(repo, holder_key=user.id_hash)
    render(apply(repo, cert, account_id=user.user_id, validity_days=30).annotation_id)
    sender = RecordingSender()
    remind(repo, sender)
    assert not [m for m in sender.sent if m["email"] == "far@example.com" and m["subject"] == "加注件即将到期"]


def test_new_certificates_are_announced_once_to_holders_with_an_account(repo) -> None:
    user = holder(repo, phone="13700001111", email="new@example.com")
    a_certificate(repo, holder_key=user.id_hash)
    a_certificate(repo, holder_key=user.id_hash)
    sender = RecordingSender()
    for _ in range(2):
        remind(repo, sender)
    mine = [m for m in sender.sent if m["email"] == "new@example.com"]
    assert len(mine) == 1 and "2 本新的职业资格证书" in mine[0]["text"], [m["text"] for m in mine]
    # One message: by e-mail, the verified phone gets no SMS (it costs some fifty times as much).
    assert not [m for m in sender.sent if m["phone"] == "13700001111"]


def test_a_holder_with_a_verified_phone_only_is_reminded_by_sms(repo) -> None:
    user = holder(repo, phone="13700002222")
    cert = a_certificate(repo, holder_key=user.id_hash)
    render(apply(repo, cert, account_id=user.user_id, validity_days=5).annotation_id)
    sender = RecordingSender()
    remind(repo, sender, NOW + timedelta(hours=1))
    texts = sorted(m["subject"] for m in sender.sent if m["phone"] == "13700002222")
    assert texts == ["加注件即将到期", "您有新的职业资格证书"]


def test_reminders_go_to_verified_contacts_only(repo) -> None:
    user = holder(repo, email="unverified@example.com", verified=False)
    cert = a_certificate(repo, holder_key=user.id_hash)
    render(apply(repo, cert, account_id=user.user_id, validity_days=5).annotation_id)
    sender = RecordingSender()
    remind(repo, sender, NOW + timedelta(hours=1))
    assert not [m for m in sender.sent if m["email"] == "unverified@example.com"]
