"""Proving that an account holds its ID document (身份核验, rule 1), and what a proof takes
from another account.

(a) an SMS code to the phone the issuing authority has on record for the document takes it
from any other account; (b) where no phone is on record, a certificate number of the document
with the holder's name as on that certificate takes it from none. Until then the account sees
no certificate, and nothing it is told depends on what the document has.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from chalicelib.domain.accounts import CERTIFICATE_PROOFS, Attempts, Contacts, IdDocument, ProofMethod, User
from chalicelib.domain.annotations import Annotation, AnnotationStatus
from chalicelib.domain.certificates import Certificate, certificate_id_for
from chalicelib.domain.codes import CODE_LIFETIME, Purpose
from chalicelib.domain.errors import (
    ConcurrentUpdate,
    IdDocumentClaimed,
    InvalidRequest,
    ProofFailed,
    RateLimited,
)
from chalicelib.domain.text import Text
from chalicelib.services import accounts
from chalicelib.services.codes import Codes, Destination

log = logging.getLogger(__name__)


class DocumentStore(Protocol):
    def user(self, user_id: str) -> User | None: ...
    def document(self, holder_key: str) -> IdDocument: ...
    def take_document(self, user: User, method: ProofMethod, *, held_by: str | None, owner: User | None,
                      verified_phone: str | None) -> None: ...


class CertificateReader(Protocol):
    def certificate(self, certificate_id: str) -> Certificate | None: ...
    def certificates_of(self, holder_key: str) -> list[Certificate]: ...


class CopyStore(Protocol):
    def annotation(self, annotation_id: str) -> Annotation | None: ...
    def annotations_of(self, certificate_id: str, limit: int | None = None) -> list[Annotation]: ...
    def give_back(self, annotation: Annotation, now: datetime) -> bool: ...


class AttemptStore(Protocol):
    def attempts(self, key: str) -> Attempts: ...
    def save_attempts(self, key: str, before: Attempts, after: Attempts) -> None: ...


@dataclass(frozen=True)
class Identity:
    documents: DocumentStore
    certificates: CertificateReader
    copies: CopyStore
    attempts: AttemptStore
    codes: Codes

    def send_code(self, user_id: str, holder_key: str, *, client: str, now: datetime) -> int:
        """Always the same answer: a code goes to the phone on record if there is one."""
        phone = self.documents.document(holder_key).phone
        self.codes.send(Purpose.IDENTITY, user_id, _phone_of(holder_key, phone), client=client, now=now,
                        subject="身份核验验证码",
                        text=lambda code: f"您正在进行身份核验，验证码 {code}，5 分钟内有效。"
                                          "如非本人操作，请忽略本短信。")
        return int(CODE_LIFETIME.total_seconds())

    def prove_by_sms(self, user: User, code: str, *, now: datetime) -> bool:
        """Whether another account lost the document to this one."""
        document = self.documents.document(user.id_hash)
        to = _phone_of(user.id_hash, document.phone)
        checked = self.codes.check(Purpose.IDENTITY, user.user_id, to, code, now=now)
        self.codes.use(Purpose.IDENTITY, user.user_id, checked)
        return self.take(user, ProofMethod.SMS, now=now, phone=document.phone)

    def prove_by_certificate(self, user: User, certificate_no: str, name: str, *, now: datetime) -> bool:
        for field, value in (("certificate_no", certificate_no), ("name", name)):
            if not value.strip():
                raise InvalidRequest(Text("请填写证书编号和姓名",
                                          "Enter the certificate number and the name"), details={"field": field})
        # Counted as a failure before it is checked (and taken back if it proves the document), so
        # that proofs sent at once pass one by one through the count.
        key = f"proof#{user.id_hash}"
        counted = self._count_failure(key, now)
        cert = self.certificates.certificate(certificate_id_for(certificate_no))
        document = self.documents.document(user.id_hash)
        if document.phone is not None or cert is None or not cert.proves(user.id_hash, certificate_no, name):
            raise ProofFailed()
        self._take_back(key, counted)
        return self.take(user, ProofMethod.CERTIFICATE_NO, now=now)

    def take(self, user: User, method: ProofMethod, *, now: datetime, phone: str | None = None) -> bool:
        """Make `user` the one proven account of its ID document, taking it from another for an
        SMS proof; that account's sessions end and its live copies are withdrawn. The copies
        are looked for again on every proof, so one that a failure left live is withdrawn then."""
        for _ in range(_ATTEMPTS):
            document = self.documents.document(user.id_hash)
            if document.user_id == user.user_id and user.proof is not None:
                self._withdraw_others(user, now)
                return False
            other = document.user_id if document.user_id != user.user_id else None
            owner = self.documents.user(other) if other else None
            if owner is not None and not owner.proven:
                owner = None  # a document names only a proven account; if not, it holds nothing to take
            if owner is not None and method is ProofMethod.CERTIFICATE_NO:
                raise IdDocumentClaimed()
            verified = phone if method is ProofMethod.SMS and not user.phone_verified else None
            try:
                self.documents.take_document(user, method, held_by=document.user_id, owner=owner,
                                             verified_phone=verified)
            except ConcurrentUpdate:
                fresh = self.documents.user(user.user_id)
                if fresh is None:
                    raise
                user = fresh
                continue
            if owner is not None:
                accounts.tell(Contacts.of(owner), self.codes.outbox, subject="账号身份核验已解除",
                      text=f"您的账号 {owner.username} 绑定的证件已由另一账号通过发证机构登记的手机号码完成身份核验。"
                           "您的账号已无法查看该证件的证书，未到期的加注件已撤回。如非本人操作，请联系发证机构。")
            self._withdraw_others(user, now)
            return owner is not None
        raise ConcurrentUpdate("the ID document kept changing hands")

    def _withdraw_others(self, holder: User, now: datetime) -> None:
        """Every live copy of the document's certificates that another account made is withdrawn
        and its quota slot given back, so that the real holder can apply at once."""
        withdrawn = give_back_copies(holder.id_hash, made_by=lambda account: account != holder.user_id,
                                     certificates=self.certificates, copies=self.copies, now=now)
        if withdrawn:
            log.info("ID document proven: %d live copies of other accounts withdrawn", withdrawn)

    def _count_failure(self, key: str, now: datetime) -> Attempts:
        """The document's failed proofs with this one counted; RateLimited once they are locked."""
        for _ in range(_ATTEMPTS):
            before = self.attempts.attempts(key)
            locked = before.retry_after(now)
            if locked:
                raise RateLimited(locked)
            after = before.after_failure(CERTIFICATE_PROOFS, now)
            try:
                self.attempts.save_attempts(key, before, after)
            except ConcurrentUpdate:
                continue
            return after
        raise RateLimited(1)  # so many proofs at once that none got through: try again

    def _take_back(self, key: str, counted: Attempts) -> None:
        for _ in range(_ATTEMPTS):
            if not counted.failures:
                return
            try:
                self.attempts.save_attempts(key, counted, counted.undone(CERTIFICATE_PROOFS))
                return
            except ConcurrentUpdate:
                counted = self.attempts.attempts(key)


_ATTEMPTS = 8


def give_back_copies(holder_key: str, *, made_by: Callable[[str | None], bool], certificates: CertificateReader,
                     copies: CopyStore, now: datetime) -> int:
    """Withdraw every live copy of the document's certificates that an account `made_by` accepts
    made, and give their quota slots back; how many. Safe to run again."""
    done = 0
    for cert in certificates.certificates_of(holder_key):
        for copy in copies.annotations_of(cert.certificate_id):
            if made_by(copy.account_id) and _give_back(copy, copies, now):
                done += 1
    return done


def _give_back(copy: Annotation, copies: CopyStore, now: datetime) -> bool:
    """Withdraw one live copy; a pending one that became ready meanwhile is withdrawn as ready."""
    for _ in range(_ATTEMPTS):
        if copy.status_at(now) not in (AnnotationStatus.PENDING, AnnotationStatus.READY):
            return False
        with contextlib.suppress(ConcurrentUpdate):  # read again and retry
            if copies.give_back(copy, now):
                return True
        fresh = copies.annotation(copy.annotation_id)
        if fresh is None:
            return False
        copy = fresh
    return False


def _phone_of(holder_key: str, phone: str | None) -> Destination:
    return Destination(channel="sms", address=phone, nowhere=f"document:{holder_key}")
