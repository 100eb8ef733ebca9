"""Reminders on moto: each sent once across repeated runs, found through indexes."""

from __future__ import annotations

from datetime import timedelta

import boto3

from chalicelib import deps
from chalicelib.services import reminding
from tests.integration.test_accounts import a_resident_id, register, registration
from tests.integration.test_annotations import NOW, a_certificate, apply, render


class RecordingSender:
    def __init__(self) -> None:
        self.sent: list[dict[str, str | None]] = []

    def send(self, *, email: str | None, phone: str | None, subject: str, text: str) -> list[str]:
        self.sent.append({"email": email, "phone": phone, "subject": subject, "text": text})
        return ["email"]


def holder(repo, **contact: str):  # type: ignore[no-untyped-def]
    id_number = a_resident_id()
    user = register(repo, registration(id_number=id_number, **contact), NOW)
    return user


def test_a_copy_expiring_within_seven_days_is_reminded_once_however_often_the_schedule_runs(repo) -> None:
    user = holder(repo, email="li@example.com")
    cert = a_certificate(repo, holder_key=user.id_hash)
    annotation = apply(repo, cert, validity_days=5)
    render(annotation.annotation_id)
    sender = RecordingSender()
    for _ in range(2):
        reminding.remind(store=repo.annotations, directory=repo, sender=sender, now=NOW + timedelta(hours=1))
    mine = [m for m in sender.sent if m["email"] == "li@example.com" and m["subject"] == "加注件即将到期"]
    assert len(mine) == 1
    assert cert.certificate_no in mine[0]["text"] and "2026-11-28" in mine[0]["text"]


def test_a_copy_further_from_expiry_or_withdrawn_is_not_reminded(repo) -> None:
    user = holder(repo, email="far@example.com")
    cert = a_certificate(repo, holder_key=user.id_hash)
    render(apply(repo, cert, validity_days=30).annotation_id)
    sender = RecordingSender()
    reminding.remind(store=repo.annotations, directory=repo, sender=sender, now=NOW)
    assert not [m for m in sender.sent if m["email"] == "far@example.com" and m["subject"] == "加注件即将到期"]


def test_new_certificates_are_announced_once_to_holders_with_an_account(repo) -> None:
    user = holder(repo, phone="13700001111", email="new@example.com")
    a_certificate(repo, holder_key=user.id_hash)
    a_certificate(repo, holder_key=user.id_hash)
    sender = RecordingSender()
    for _ in range(2):
        reminding.remind(store=repo.annotations, directory=repo, sender=sender, now=NOW)
    mine = [m for m in sender.sent if m["email"] == "new@example.com"]
    assert len(mine) == 1 and "2 本新的职业资格证书" in mine[0]["text"], [m["text"] for m in mine]


def test_the_real_notifier_sends_email_and_sms_through_ses_and_sns(repo) -> None:
    used = deps.notifier().send(email="zs@example.com", phone="13800138000", subject="测试", text="内容")
    assert used == ["email", "sms"]
    stats = boto3.client("ses").get_send_quota()
    assert stats["SentLast24Hours"] >= 1
