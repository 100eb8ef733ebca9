"""The holder's own data: everything held about them (个人信息导出, PIPL art. 45) and deleting
the account (注销账号, PIPL art. 47)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from chalicelib.content import Notice
from chalicelib.domain.accounts import User
from chalicelib.domain.annotations import Annotation
from chalicelib.domain.certificates import CertificateKind
from chalicelib.domain.clock import iso
from chalicelib.domain.errors import ConcurrentUpdate, WrongPassword
from chalicelib.domain.verification import VerificationRecord
from chalicelib.services import accounts, certificates, identity

# Checks of one document listed in an export; the holder's log view shows fewer.
EXPORT_VERIFICATIONS = 1000


class AccountDeleter(Protocol):
    def user(self, user_id: str) -> User | None: ...
    def delete_user(self, user: User) -> None: ...


class CheckReader(Protocol):
    def verifications(self, log_id: str, limit: int) -> list[VerificationRecord]: ...


def export(user: User, *, notice: Notice, certificates_of: identity.CertificateReader, copies: identity.CopyStore,
           checks: CheckReader, annotation_view: Callable[[Annotation], dict[str, Any] | None]) -> dict[str, Any]:
    """The account as GET /me shows it and, for a proven account, its document's certificates,
    their copies and every check of them and of the electronic files. No password hash; ID
    numbers masked."""
    data: dict[str, Any] = {"account": accounts.profile(user, notice), "certificates": [], "annotations": [],
                            "verifications": []}
    if not user.proven:
        return data
    for cert in certificates_of.certificates_of(user.id_hash):
        made = copies.annotations_of(cert.certificate_id)
        data["certificates"].append(certificates.view(cert, annotation_view(made[0]) if made else None))
        if cert.kind is CertificateKind.E_FILE:
            data["verifications"] += _checks({"certificate_id": cert.certificate_id}, cert.certificate_id, checks)
        for copy in made:
            data["annotations"].append(annotation_view(copy))
            data["verifications"] += _checks({"annotation_id": copy.annotation_id}, copy.annotation_id, checks)
    return data


def _checks(of: dict[str, str], log_id: str, checks: CheckReader) -> list[dict[str, Any]]:
    return [{**of, "at": iso(r.at), "channel": r.channel.value, "result": r.result.value}
            for r in checks.verifications(log_id, EXPORT_VERIFICATIONS)]


@dataclass(frozen=True)
class Deletion:
    store: AccountDeleter
    passwords: accounts.Passwords
    certificates: identity.CertificateReader
    copies: identity.CopyStore

    def delete(self, user: User, password: str, *, client: str, now: datetime) -> None:
        """Credentials, contacts and sessions go at once, live copies are withdrawn, and the ID
        document is free to be proven by another account; the certificates stay."""
        user = self.passwords.check(user, password, client=client, now=now, wrong=WrongPassword)
        user_id = user.user_id
        for _ in range(_ATTEMPTS):
            if user.proven:
                identity.give_back_copies(user.id_hash, made_by=lambda account: account == user_id,
                                          certificates=self.certificates, copies=self.copies, now=now)
            try:
                self.store.delete_user(user)
                return
            except ConcurrentUpdate:
                fresh = self.store.user(user.user_id)
                if fresh is None:
                    return
                user = fresh
        raise ConcurrentUpdate("the account kept changing")


_ATTEMPTS = 5
