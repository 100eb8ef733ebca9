"""Reminders: a copy expires within 7 days; new certificates are available. Each is sent
once however often the schedule runs: it is claimed with a conditional write first, and
released again if sending fails."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from operator import itemgetter
from typing import Protocol

from chalicelib.domain.accounts import Contacts, User
from chalicelib.domain.annotations import Annotation, AnnotationStatus
from chalicelib.domain.certificates import Certificate
from chalicelib.domain.clock import beijing_date
from chalicelib.services.accounts import Outbox, tell

log = logging.getLogger(__name__)

REMIND_DAYS_BEFORE = 7


class ReminderStore(Protocol):
    def expiring_on(self, day: date) -> list[str]: ...
    def annotation(self, annotation_id: str) -> Annotation | None: ...
    def claim_reminder(self, annotation_id: str, now: datetime) -> bool: ...
    def release_reminder(self, annotation_id: str) -> None: ...


class Directory(Protocol):
    def certificate(self, certificate_id: str) -> Certificate | None: ...
    def certificates_to_announce(self) -> Iterable[tuple[str, str]]: ...
    def claim_announcement(self, certificate_id: str) -> bool: ...


class Holders(Protocol):
    def holder(self, holder_key: str) -> User | None: ...


@dataclass(frozen=True)
class ReminderReport:
    expiring: int
    announced: int


def remind(*, store: ReminderStore, directory: Directory, accounts: Holders, outbox: Outbox,
           now: datetime) -> ReminderReport:
    """Reminders go to the proven account's verified contacts only (rule 9), through the
    notify queue: one message each, by e-mail if the account has one, else by SMS."""
    return ReminderReport(expiring=_expiring(store, directory, accounts, outbox, now),
                          announced=_announce(directory, accounts, outbox))


def _expiring(store: ReminderStore, directory: Directory, accounts: Holders, outbox: Outbox, now: datetime) -> int:
    today = beijing_date(now)
    sent = 0
    for offset in range(REMIND_DAYS_BEFORE + 1):
        for annotation_id in store.expiring_on(today + timedelta(days=offset)):
            annotation = store.annotation(annotation_id)
            if annotation is None or annotation.status_at(now) is not AnnotationStatus.READY:
                continue
            user = accounts.holder(annotation.holder_key)
            cert = directory.certificate(annotation.certificate_id)
            if user is None or cert is None or not Contacts.of(user):
                continue
            if not store.claim_reminder(annotation_id, now):
                continue
            assert annotation.valid_until is not None
            until = beijing_date(annotation.valid_until)
            try:
                tell(Contacts.of(user).one(), outbox, subject="加注件即将到期",
                     text=f"您的{cert.qualification}证书（{cert.certificate_no}）加注件将于 {until} 到期，"
                          f"到期后将无法查看、下载和查验。如需继续使用，请登录后重新申请加注。")
            except Exception:
                store.release_reminder(annotation_id)
                log.exception("expiry reminder for %s could not be sent; it will be tried again", annotation_id)
                continue
            sent += 1
    return sent


def _announce(directory: Directory, accounts: Holders, outbox: Outbox) -> int:
    """Every certificate not announced yet, holder by holder, however many a batch loaded
    (a run once took only the first 1,000 and left the rest for later days)."""
    told = 0
    for holder_key, pending in groupby(directory.certificates_to_announce(), key=itemgetter(1)):
        claimed = [c for c, _ in pending if directory.claim_announcement(c)]
        user = accounts.holder(holder_key)
        # A holder without a proven account cannot be reached; they see the certificates
        # the first time they log in.
        if not claimed or user is None or not Contacts.of(user):
            continue
        names = [cert.qualification for c in claimed if (cert := directory.certificate(c)) is not None]
        tell(Contacts.of(user).one(), outbox, subject="您有新的职业资格证书",
             text=f"您有 {len(claimed)} 本新的职业资格证书（{'、'.join(names)}）可以查询，请登录后查看。")
        told += 1
    return told
