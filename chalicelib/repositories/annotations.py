"""Annotations in DynamoDB, and the quota slots they hold on their certificate.

Every write that must not race is a conditional write or a transaction, never a read
followed by a plain write.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.operand import Path
from pynamodb.transactions import TransactWrite

from chalicelib.domain.annotations import (
    Annotation,
    AnnotationStatus,
    CopyLanguage,
    counts_until,
    retention_until,
)
from chalicelib.domain.certificates import Certificate, CertificateStatus
from chalicelib.domain.clock import beijing_date
from chalicelib.domain.errors import ConcurrentUpdate, IdentityNotVerified
from chalicelib.domain.shards import every_shard, expiry_key, expiry_keys, pending_key
from chalicelib.models import (
    QUOTA_SLOTS,
    AnnotationModel,
    CertificateModel,
    IdDocumentModel,
    QuotaSlotAttribute,
)
from chalicelib.repositories.accounts import document_item_key
from chalicelib.repositories.base import cancelled_items, conditional_failed, update_returning_nothing
from chalicelib.repositories.certificates import get_certificate
from chalicelib.repositories.shards import read_all


class AnnotationRepository:
    """Annotations, and the quota slots they hold on their certificate."""

    def __init__(self, connection: Connection, shards: int) -> None:
        self._connection = connection
        self._shards = shards

    def certificate(self, certificate_id: str) -> Certificate | None:
        return get_certificate(certificate_id)

    def create_annotation(self, annotation: Annotation, today: date) -> None:
        """Claim the annotation's quota slot on its certificate and write the annotation,
        all or nothing.

        The slot may be taken only if nobody holds it or its holder no longer counts on
        `today`, and only while the certificate is valid; a lost race (or a certificate
        changed meanwhile) raises ConcurrentUpdate and the caller looks again. The applying
        account must still hold the certificate's ID document: one that lost it to a take-over
        while its request was under way gets IdentityNotVerified, and no copy.
        """
        slot = QUOTA_SLOTS[annotation.quota_slot]
        held = QuotaSlotAttribute(  # type: ignore[no-untyped-call]
            annotation_id=annotation.annotation_id, applied_on=today.isoformat(),
            counts_until=counts_until(today).isoformat())
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.update(CertificateModel(annotation.certificate_id),
                          actions=[slot.set(held),
                                   CertificateModel.latest_annotation_id.set(annotation.annotation_id)],
                          condition=(CertificateModel.status == CertificateStatus.VALID.value)
                          & (slot.does_not_exist() | (Path(slot)["counts_until"] < today.isoformat())))
                tx.save(_annotation_model(annotation, self._shards),
                        condition=AnnotationModel.annotation_id.does_not_exist())
                tx.condition_check(IdDocumentModel, document_item_key(annotation.holder_key),
                                   condition=IdDocumentModel.user_id == annotation.account_id)
        except TransactWriteError as e:
            if cancelled_items(e)[:1] == [True]:  # PynamoDB sends condition checks first
                raise IdentityNotVerified() from e
            if e.cause_response_code == "TransactionCanceledException":
                raise ConcurrentUpdate() from e
            raise

    def annotation(self, annotation_id: str) -> Annotation | None:
        try:
            return annotation_from(AnnotationModel.get(annotation_id, consistent_read=True))
        except DoesNotExist:
            return None

    def annotations_by_id(self, annotation_ids: list[str]) -> dict[str, Annotation]:
        """Several annotations in one BatchGetItem (per 100)."""
        if not annotation_ids:
            return {}
        return {m.annotation_id: annotation_from(m) for m in AnnotationModel.batch_get(annotation_ids)}

    def annotations_of(self, certificate_id: str, limit: int | None = None) -> list[Annotation]:
        """Newest first."""
        return [annotation_from(m) for m in AnnotationModel.by_certificate.query(
            certificate_id, scan_index_forward=False, limit=limit)]

    def claim_render(self, annotation_id: str, now: datetime, code: str) -> Annotation | None:
        """Fix the render time and verification code on the first attempt (later attempts
        get the same ones back). None when the annotation is no longer pending."""
        model = AnnotationModel(annotation_id)
        try:
            model.update(actions=[
                AnnotationModel.render_started_at.set(AnnotationModel.render_started_at | now),
                AnnotationModel.verification_code.set(AnnotationModel.verification_code | code),
            ], condition=AnnotationModel.status == AnnotationStatus.PENDING.value)
        except UpdateError as e:
            if conditional_failed(e):
                return None
            raise
        return annotation_from(model)

    def mark_ready(self, annotation_id: str, code: str, *, ready_at: datetime, valid_until: datetime,
                   annotation_no: str, sha256: str, file_key: str, expires_at: datetime) -> bool:
        """pending -> ready in one conditional update; False if it was not pending."""
        try:
            update_returning_nothing(AnnotationModel, annotation_id, actions=[
                AnnotationModel.status.set(AnnotationStatus.READY.value),
                AnnotationModel.ready_at.set(ready_at),
                AnnotationModel.valid_from.set(ready_at),
                AnnotationModel.valid_until.set(valid_until),
                AnnotationModel.annotation_no.set(annotation_no),
                AnnotationModel.file_sha256.set(sha256),
                AnnotationModel.file_key.set(file_key),
                AnnotationModel.expires_at.set(expires_at),
                AnnotationModel.pending.remove(),
                AnnotationModel.expiry_day.set(expiry_key(beijing_date(valid_until), annotation_id, self._shards)),
            ], condition=(AnnotationModel.status == AnnotationStatus.PENDING.value)
                & (AnnotationModel.verification_code == code))
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    def mark_failed(self, annotation: Annotation, reason: str) -> bool:
        """pending -> failed, and give the quota slot back, all or nothing."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.update(AnnotationModel(annotation.annotation_id), actions=[
                    AnnotationModel.status.set(AnnotationStatus.FAILED.value),
                    AnnotationModel.failed_reason.set(reason[:500]),
                    AnnotationModel.pending.remove(),
                ], condition=AnnotationModel.status == AnnotationStatus.PENDING.value)
                slot = QUOTA_SLOTS[annotation.quota_slot]
                tx.update(CertificateModel(annotation.certificate_id), actions=[slot.remove()],
                          condition=Path(slot)["annotation_id"] == annotation.annotation_id)
        except TransactWriteError as e:
            reasons = [r.code if r else None for r in e.cancellation_reasons]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                return False
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                # The slot was already reused (the annotation no longer counted): just fail it.
                return self._fail_only(annotation, reason)
            raise
        return True

    def _fail_only(self, annotation: Annotation, reason: str) -> bool:
        try:
            AnnotationModel(annotation.annotation_id).update(actions=[
                AnnotationModel.status.set(AnnotationStatus.FAILED.value),
                AnnotationModel.failed_reason.set(reason[:500]),
                AnnotationModel.pending.remove(),
            ], condition=AnnotationModel.status == AnnotationStatus.PENDING.value)
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    def withdraw(self, annotation_id: str, now: datetime) -> Annotation | None:
        """ready (and unexpired) -> withdrawn, and the annotation as it is now; None if it
        was not ready."""
        model = AnnotationModel(annotation_id)
        try:
            model.update(actions=[
                AnnotationModel.status.set(AnnotationStatus.WITHDRAWN.value),
                AnnotationModel.withdrawn_at.set(now),
                AnnotationModel.expiry_day.remove(),
            ], condition=(AnnotationModel.status == AnnotationStatus.READY.value)
                & (AnnotationModel.valid_until > now))
        except UpdateError as e:
            if conditional_failed(e):
                return None
            raise
        return annotation_from(model)

    def give_back(self, annotation: Annotation, now: datetime) -> bool:
        """Withdraw a live copy and give its quota slot back, as when its account loses the ID
        document or is deleted; a pending one fails instead (its render then does nothing).
        False if it was neither pending nor ready any more."""
        if annotation.stored_status is AnnotationStatus.PENDING:
            return self.mark_failed(annotation, "its account no longer holds the ID document")
        withdraw = AnnotationModel(annotation.annotation_id)
        actions: list[Any] = [AnnotationModel.status.set(AnnotationStatus.WITHDRAWN.value),
                   AnnotationModel.withdrawn_at.set(now), AnnotationModel.expiry_day.remove()]
        ready = AnnotationModel.status == AnnotationStatus.READY.value
        slot = QUOTA_SLOTS[annotation.quota_slot]
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.update(withdraw, actions=actions, condition=ready)
                tx.update(CertificateModel(annotation.certificate_id), actions=[slot.remove()],
                          condition=Path(slot)["annotation_id"] == annotation.annotation_id)
        except TransactWriteError as e:
            failed = cancelled_items(e)
            if failed and failed[0]:
                return False
            if len(failed) > 1 and failed[1]:  # the slot was reused already: only withdraw
                try:
                    update_returning_nothing(AnnotationModel, annotation.annotation_id, actions=actions,
                                             condition=ready)
                except UpdateError as again:
                    if conditional_failed(again):
                        return False
                    raise
                return True
            raise ConcurrentUpdate() from e  # a conflict with a concurrent transaction: try again
        return True

    def expiring_on(self, day: date) -> list[str]:
        """The copies that expire on `day` (Beijing), from every shard of its key."""
        return read_all(expiry_keys(day, self._shards),
                        lambda key: [m.annotation_id for m in AnnotationModel.by_expiry_day.query(key)])

    def claim_reminder(self, annotation_id: str, now: datetime) -> bool:
        """Mark a ready copy as reminded; False if it was already (or is no longer ready)."""
        try:
            AnnotationModel(annotation_id).update(
                actions=[AnnotationModel.reminded_at.set(now)],
                condition=AnnotationModel.reminded_at.does_not_exist()
                & (AnnotationModel.status == AnnotationStatus.READY.value))
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    def release_reminder(self, annotation_id: str) -> None:
        AnnotationModel(annotation_id).update(actions=[AnnotationModel.reminded_at.remove()])

    def pending_before(self, cutoff: datetime, limit: int = 500) -> list[str]:
        """IDs of annotations still pending that were applied for before `cutoff`."""
        bound = cutoff.astimezone(UTC).isoformat(timespec="microseconds")
        found = read_all(every_shard(self._shards), lambda key: [(m.applied_at, m.annotation_id) for m in
                         AnnotationModel.by_pending.query(key, AnnotationModel.applied_at < bound, limit=limit)])
        return [annotation_id for _, annotation_id in sorted(found)[:limit]]  # the oldest, from every shard

def _annotation_model(a: Annotation, shards: int) -> AnnotationModel:
    return AnnotationModel(
        a.annotation_id, certificate_id=a.certificate_id, holder_key=a.holder_key, account_id=a.account_id,
        scenario=a.scenario, language=a.language.value,
        validity_days=a.validity_days, status=a.stored_status.value,
        applied_at=a.applied_at.astimezone(UTC).isoformat(timespec="microseconds"),
        applied_on=beijing_date(a.applied_at).isoformat(), quota_slot=a.quota_slot,
        pending=pending_key(a.annotation_id, shards) if a.stored_status is AnnotationStatus.PENDING else None,
        expires_at=retention_until(a.applied_at, None))


def annotation_from(m: AnnotationModel) -> Annotation:
    return Annotation(
        annotation_id=m.annotation_id, certificate_id=m.certificate_id, holder_key=m.holder_key,
        scenario=m.scenario, validity_days=int(m.validity_days), stored_status=AnnotationStatus(m.status),
        applied_at=datetime.fromisoformat(m.applied_at), quota_slot=int(m.quota_slot),
        ready_at=m.ready_at, valid_from=m.valid_from, valid_until=m.valid_until,
        annotation_no=m.annotation_no, verification_code=m.verification_code, file_sha256=m.file_sha256,
        file_key=m.file_key, withdrawn_at=m.withdrawn_at, failed_reason=m.failed_reason,
        render_started_at=m.render_started_at, verification_count=int(m.verification_count or 0),
        account_id=m.account_id, language=CopyLanguage(m.language or CopyLanguage.ZH))
