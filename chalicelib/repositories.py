"""The domain's records in DynamoDB, through PynamoDB.

AWS errors become domain errors here, once. Every write that must not race is a
conditional write or a transaction, never a read followed by a plain write.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, date, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.constants import NONE
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib.config import Settings
from chalicelib.domain.accounts import Caller, LoginGuard, User
from chalicelib.domain.annotations import (
    Annotation,
    AnnotationStatus,
    QuotaSlot,
    counts_until,
    retention_until,
)
from chalicelib.domain.certificates import Certificate, CertificateStatus
from chalicelib.domain.clock import beijing_date
from chalicelib.domain.errors import ConcurrentUpdate, IdNumberRegistered, UsernameTaken
from chalicelib.domain.verification import Channel, VerificationRecord, VerificationResult
from chalicelib.models import (
    QUOTA_SLOTS,
    AnnotationModel,
    CertificateModel,
    QuotaSlotAttribute,
    RateLimitModel,
    RevokedTokenModel,
    UserKeyModel,
    UserModel,
    VerificationModel,
    bind_models,
)


def _conditional_failed(error: Exception) -> bool:
    cause = getattr(error, "cause_response_code", None)
    return cause == "ConditionalCheckFailedException"


class Repository:
    def __init__(self, settings: Settings) -> None:
        bind_models(settings)
        self._connection = Connection(region=settings.region)
        _ = self._connection.client  # built once, before any thread needs it (see bind_models)
        self.annotations = AnnotationRepository(self._connection)

    # --- users -------------------------------------------------------------------------

    def create_user(self, user: User, username_key: str) -> None:
        """Write the user and claim its username and ID document, all or nothing."""
        model = _user_model(user)
        try:
            with TransactWrite(connection=self._connection) as tx:
                tx.save(UserKeyModel(f"username#{username_key}", user_id=user.user_id),
                        condition=UserKeyModel.key.does_not_exist())
                tx.save(UserKeyModel(f"id#{user.id_hash}", user_id=user.user_id),
                        condition=UserKeyModel.key.does_not_exist())
                tx.save(model, condition=UserModel.user_id.does_not_exist())
        except TransactWriteError as e:
            reasons = [r.code if r else None for r in e.cancellation_reasons]
            if reasons and reasons[0] == "ConditionalCheckFailed":
                raise UsernameTaken() from e
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise IdNumberRegistered() from e
            raise

    def user_by_username(self, username_key: str) -> User | None:
        try:
            key = UserKeyModel.get(f"username#{username_key}")
        except DoesNotExist:
            return None
        return self.user(key.user_id)

    def user(self, user_id: str) -> User | None:
        try:
            return _user(UserModel.get(user_id, consistent_read=True))
        except DoesNotExist:
            return None

    def save_login_guard(self, user: User, guard: LoginGuard) -> None:
        """Record wrong-password bookkeeping; raises ConcurrentUpdate if the user changed."""
        model = _user_model(user)
        try:
            model.update(actions=[
                UserModel.failed_logins.set(guard.failures),
                UserModel.failed_window_start.set(guard.window_start)
                if guard.window_start else UserModel.failed_window_start.remove(),
                UserModel.locked_until.set(guard.locked_until)
                if guard.locked_until else UserModel.locked_until.remove(),
            ])
        except UpdateError as e:
            if _conditional_failed(e):
                raise ConcurrentUpdate() from e
            raise

    def accept_notice(self, user_id: str, version: str) -> None:
        UserModel(user_id).update(
            actions=[UserModel.notice_version.set(version)],
            condition=UserModel.user_id.exists(), add_version_condition=False)

    # --- tokens ------------------------------------------------------------------------

    def revoke_token(self, jti: str, expires_at: datetime) -> None:
        RevokedTokenModel(jti, expires_at=expires_at).save()

    def caller(self, user_id: str, jti: str) -> tuple[Caller | None, bool]:
        """The account a token names and whether the token was logged out, in one
        strongly consistent BatchGetItem over both tables (the authorizer's only read)."""
        users, revoked = UserModel.Meta.table_name, RevokedTokenModel.Meta.table_name
        wanted = (UserModel.user_id, UserModel.id_hash, UserModel.notice_version)
        request: dict[str, Any] = {
            users: {"Keys": [{UserModel.user_id.attr_name: {"S": user_id}}], "ConsistentRead": True,
                    "ProjectionExpression": ", ".join(a.attr_name for a in wanted)},
            revoked: {"Keys": [{RevokedTokenModel.jti.attr_name: {"S": jti}}], "ConsistentRead": True,
                      "ProjectionExpression": RevokedTokenModel.jti.attr_name},
        }
        found = _batch_get(self._connection, request)
        caller = None
        if found[users]:
            user = UserModel.from_raw_data(found[users][0])
            caller = Caller(user_id=user.user_id, holder_key=user.id_hash, notice_version=user.notice_version)
        return caller, bool(found[revoked])

    # --- certificates ------------------------------------------------------------------

    def certificates_of(self, holder_key: str) -> list[Certificate]:
        """Newest first."""
        return [_certificate(m) for m in
                CertificateModel.by_holder.query(holder_key, scan_index_forward=False)]

    def certificate(self, certificate_id: str) -> Certificate | None:
        return _get_certificate(certificate_id)

    def certificates_by_id(self, certificate_ids: list[str]) -> dict[str, Certificate]:
        """Several certificates in one BatchGetItem (per 100), as they are now."""
        if not certificate_ids:
            return {}
        return {m.certificate_id: _certificate(m)
                for m in CertificateModel.batch_get(certificate_ids, consistent_read=True)}

    def put_certificate(self, cert: Certificate, now: datetime) -> bool:
        """Create or update a certificate; False when the stored one is identical.

        The comparison is in the write's condition, so two loads of the same batch
        racing each other still change nothing the second time. A certificate seen for
        the first time is marked for announcing to its holder.
        """
        model = _certificate_model(cert, now)
        identical = CertificateModel.certificate_id.exists()
        actions: list[Any] = [CertificateModel.updated_at.set(now),
                              CertificateModel.loaded_at.set(CertificateModel.loaded_at | now)]
        for name in _CERTIFICATE_FIELDS:
            attribute = getattr(CertificateModel, name)
            value = getattr(model, name)
            identical &= (attribute == value) if value is not None else attribute.does_not_exist()
            actions.append(attribute.set(value) if value is not None else attribute.remove())
        target = CertificateModel(cert.certificate_id)
        try:
            target.update(actions=actions, condition=~identical)
        except UpdateError as e:
            if _conditional_failed(e):
                return False
            raise
        if target.loaded_at == now:
            target.update(actions=[CertificateModel.announce.set(ANNOUNCE)])
        return True

    def certificates_to_announce(self, limit: int = 1000) -> list[tuple[str, str]]:
        """(certificate_id, holder_key) of certificates whose holder has not been told."""
        return [(m.certificate_id, m.holder_key) for m in CertificateModel.by_announce.query(ANNOUNCE, limit=limit)]

    def claim_announcement(self, certificate_id: str) -> bool:
        """Take the certificate off the to-announce list; False if another run did first."""
        try:
            CertificateModel(certificate_id).update(actions=[CertificateModel.announce.remove()],
                                                    condition=CertificateModel.announce == ANNOUNCE)
        except UpdateError as e:
            if _conditional_failed(e):
                return False
            raise
        return True

    def user_by_holder(self, holder_key: str) -> User | None:
        try:
            key = UserKeyModel.get(f"id#{holder_key}")
        except DoesNotExist:
            return None
        return self.user(key.user_id)


ANNOUNCE = "1"
# DynamoDB may leave keys of a BatchGetItem unprocessed under load; they are asked again,
# with exponential backoff (botocore has already retried the throttled requests themselves).
_BATCH_ATTEMPTS = 4
_BATCH_BACKOFF_SECONDS = 0.025
_CERTIFICATE_FIELDS = ("certificate_no", "qualification", "level", "specialty", "holder_name", "id_type",
                       "id_number", "holder_key", "issued_on", "approved_on", "issuer_name", "issuer_contact",
                       "status", "file_key")


def _user_model(user: User) -> UserModel:
    model = UserModel(
        user.user_id, username=user.username, name=user.name, id_type=user.id_type,
        id_hash=user.id_hash, id_number_masked=user.id_number_masked, phone=user.phone,
        email=user.email, password_hash=user.password_hash, notice_version=user.notice_version,
        failed_logins=user.guard.failures, failed_window_start=user.guard.window_start,
        locked_until=user.guard.locked_until, created_at=user.created_at)
    if user.version is not None:
        model.version = user.version
    return model


def _user(model: UserModel) -> User:
    return User(
        user_id=model.user_id, username=model.username, name=model.name, id_type=model.id_type,
        id_hash=model.id_hash, id_number_masked=model.id_number_masked, phone=model.phone,
        email=model.email, password_hash=model.password_hash, notice_version=model.notice_version,
        guard=LoginGuard(failures=int(model.failed_logins or 0),
                         window_start=model.failed_window_start, locked_until=model.locked_until),
        created_at=model.created_at, version=model.version)


def _certificate_model(cert: Certificate, now: datetime) -> CertificateModel:
    return CertificateModel(
        cert.certificate_id, certificate_no=cert.certificate_no, qualification=cert.qualification,
        level=cert.level, specialty=cert.specialty, holder_name=cert.holder_name,
        id_type=cert.id_type, id_number=cert.id_number, holder_key=cert.holder_key,
        issued_on=cert.issued_on.isoformat(), approved_on=cert.approved_on.isoformat(),
        issuer_name=cert.issuer_name, issuer_contact=cert.issuer_contact, status=cert.status.value,
        file_key=cert.file_key, updated_at=now)


def _batch_get(connection: Connection, request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """One BatchGetItem over several tables (PynamoDB's batch_get takes one model), asking
    again for what DynamoDB left unprocessed. Raw items by table name."""
    client: Any = connection.client
    found: dict[str, list[dict[str, Any]]] = {table: [] for table in request}
    for attempt in range(_BATCH_ATTEMPTS):
        if attempt:
            time.sleep(_BATCH_BACKOFF_SECONDS * 2 ** attempt)  # what DynamoDB asks for unprocessed keys
        answer = client.batch_get_item(RequestItems=request)
        for table, items in answer.get("Responses", {}).items():
            found[table].extend(items)
        request = answer.get("UnprocessedKeys") or {}
        if not request:
            return found
    raise RuntimeError("DynamoDB left keys of a BatchGetItem unprocessed after every retry")


def _update_returning_nothing(model: type[Model], hash_key: str, *, actions: list[Any],
                              condition: Condition) -> None:
    """A conditional UpdateItem that asks for nothing back: Model.update always asks for the
    whole item (ALL_NEW). The model's own table connection knows the table's keys; PynamoDB
    offers it only as `_get_connection`."""
    model._get_connection().update_item(hash_key, actions=actions, condition=condition, return_values=NONE)


def _get_certificate(certificate_id: str) -> Certificate | None:
    """Strongly consistent: the quota slots read here decide which slot an application claims."""
    try:
        return _certificate(CertificateModel.get(certificate_id, consistent_read=True))
    except DoesNotExist:
        return None


def _certificate(model: CertificateModel) -> Certificate:
    return Certificate(
        certificate_id=model.certificate_id, certificate_no=model.certificate_no,
        qualification=model.qualification, level=model.level or "", specialty=model.specialty or "",
        holder_name=model.holder_name, id_type=model.id_type, id_number=model.id_number,
        holder_key=model.holder_key, issued_on=date.fromisoformat(model.issued_on),
        approved_on=date.fromisoformat(model.approved_on), issuer_name=model.issuer_name,
        issuer_contact=model.issuer_contact, status=CertificateStatus(model.status),
        file_key=model.file_key, latest_annotation_id=model.latest_annotation_id,
        quota_slots=tuple(QuotaSlot(slot=i, annotation_id=held.annotation_id,
                                    applied_on=date.fromisoformat(held.applied_on))
                          for i, attribute in enumerate(QUOTA_SLOTS)
                          if (held := getattr(model, attribute.attr_name)) is not None))



# --- annotations ---------------------------------------------------------------------------------

PENDING = "1"


class AnnotationRepository:
    """Annotations, and the quota slots they hold on their certificate."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def certificate(self, certificate_id: str) -> Certificate | None:
        return _get_certificate(certificate_id)

    def create_annotation(self, annotation: Annotation, today: date) -> None:
        """Claim the annotation's quota slot on its certificate and write the annotation,
        all or nothing.

        The slot may be taken only if nobody holds it or its holder no longer counts on
        `today`, and only while the certificate is valid; a lost race (or a certificate
        changed meanwhile) raises ConcurrentUpdate and the caller looks again.
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
                tx.save(_annotation_model(annotation), condition=AnnotationModel.annotation_id.does_not_exist())
        except TransactWriteError as e:
            if e.cause_response_code == "TransactionCanceledException":
                raise ConcurrentUpdate() from e
            raise

    def annotation(self, annotation_id: str) -> Annotation | None:
        try:
            return _annotation(AnnotationModel.get(annotation_id, consistent_read=True))
        except DoesNotExist:
            return None

    def annotations_by_id(self, annotation_ids: list[str]) -> dict[str, Annotation]:
        """Several annotations in one BatchGetItem (per 100)."""
        if not annotation_ids:
            return {}
        return {m.annotation_id: _annotation(m) for m in AnnotationModel.batch_get(annotation_ids)}

    def annotations_of(self, certificate_id: str, limit: int | None = None) -> list[Annotation]:
        """Newest first."""
        return [_annotation(m) for m in AnnotationModel.by_certificate.query(
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
            if _conditional_failed(e):
                return None
            raise
        return _annotation(model)

    def mark_ready(self, annotation_id: str, code: str, *, ready_at: datetime, valid_until: datetime,
                   annotation_no: str, sha256: str, file_key: str, expires_at: datetime) -> bool:
        """pending -> ready in one conditional update; False if it was not pending."""
        try:
            _update_returning_nothing(AnnotationModel, annotation_id, actions=[
                AnnotationModel.status.set(AnnotationStatus.READY.value),
                AnnotationModel.ready_at.set(ready_at),
                AnnotationModel.valid_from.set(ready_at),
                AnnotationModel.valid_until.set(valid_until),
                AnnotationModel.annotation_no.set(annotation_no),
                AnnotationModel.file_sha256.set(sha256),
                AnnotationModel.file_key.set(file_key),
                AnnotationModel.expires_at.set(expires_at),
                AnnotationModel.pending.remove(),
                AnnotationModel.expiry_day.set(beijing_date(valid_until).isoformat()),
            ], condition=(AnnotationModel.status == AnnotationStatus.PENDING.value)
                & (AnnotationModel.verification_code == code))
        except UpdateError as e:
            if _conditional_failed(e):
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
            if _conditional_failed(e):
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
            if _conditional_failed(e):
                return None
            raise
        return _annotation(model)

    def record_verification(self, annotation: Annotation, record: VerificationRecord) -> None:
        """Log one check and count it on the annotation, together."""
        at_id = f"{record.at.astimezone(UTC).isoformat(timespec='microseconds')}#{secrets.token_hex(4)}"
        with TransactWrite(connection=self._connection) as tx:
            tx.save(VerificationModel(annotation.annotation_id, at_id, at=record.at, channel=record.channel.value,
                                      result=record.result.value,
                                      expires_at=retention_until(annotation.applied_at, annotation.valid_until)))
            tx.update(AnnotationModel(annotation.annotation_id),
                      actions=[AnnotationModel.verification_count.add(1)],
                      condition=AnnotationModel.annotation_id.exists())

    def verifications(self, annotation_id: str, limit: int) -> list[VerificationRecord]:
        """Newest first."""
        return [VerificationRecord(at=m.at, channel=Channel(m.channel), result=VerificationResult(m.result))
                for m in VerificationModel.query(annotation_id, scan_index_forward=False, limit=limit)]

    def misses_and_certificate(self, client_key: str,
                               certificate_id: str | None) -> tuple[int, Certificate | None]:
        """A client's misses in the current window and, when a copy was found, its
        certificate as it is now: one BatchGetItem for a verification."""
        if certificate_id is None:
            return self.misses(client_key), None
        limits, certificates = RateLimitModel.Meta.table_name, CertificateModel.Meta.table_name
        found = _batch_get(self._connection, {
            limits: {"Keys": [{RateLimitModel.key.attr_name: {"S": client_key}}],
                     "ProjectionExpression": RateLimitModel.misses.attr_name},  # "key" is a reserved word
            certificates: {"Keys": [{CertificateModel.certificate_id.attr_name: {"S": certificate_id}}],
                           "ConsistentRead": True},
        })
        misses = int(RateLimitModel.from_raw_data(found[limits][0]).misses or 0) if found[limits] else 0
        cert = _certificate(CertificateModel.from_raw_data(found[certificates][0])) if found[certificates] else None
        return misses, cert

    def misses(self, client_key: str) -> int:
        try:
            return int(RateLimitModel.get(client_key).misses or 0)
        except DoesNotExist:
            return 0

    def add_misses(self, client_key: str, count: int, expires_at: datetime) -> None:
        RateLimitModel(client_key).update(actions=[RateLimitModel.misses.add(count),
                                                   RateLimitModel.expires_at.set(expires_at)])

    def expiring_on(self, day: date) -> list[str]:
        return [m.annotation_id for m in AnnotationModel.by_expiry_day.query(day.isoformat())]

    def claim_reminder(self, annotation_id: str, now: datetime) -> bool:
        """Mark a ready copy as reminded; False if it was already (or is no longer ready)."""
        try:
            AnnotationModel(annotation_id).update(
                actions=[AnnotationModel.reminded_at.set(now)],
                condition=AnnotationModel.reminded_at.does_not_exist()
                & (AnnotationModel.status == AnnotationStatus.READY.value))
        except UpdateError as e:
            if _conditional_failed(e):
                return False
            raise
        return True

    def release_reminder(self, annotation_id: str) -> None:
        AnnotationModel(annotation_id).update(actions=[AnnotationModel.reminded_at.remove()])

    def pending_before(self, cutoff: datetime, limit: int = 500) -> list[str]:
        """IDs of annotations still pending that were applied for before `cutoff`."""
        bound = cutoff.astimezone(UTC).isoformat(timespec="microseconds")
        return [m.annotation_id for m in AnnotationModel.by_pending.query(
            PENDING, AnnotationModel.applied_at < bound, limit=limit)]

    def by_code(self, code: str) -> Annotation | None:
        found = list(AnnotationModel.by_code.query(code, limit=1))
        return _annotation(found[0]) if found else None

    def by_file(self, sha256_hex: str) -> Annotation | None:
        found = list(AnnotationModel.by_file.query(sha256_hex, limit=1))
        return _annotation(found[0]) if found else None


def _annotation_model(a: Annotation) -> AnnotationModel:
    return AnnotationModel(
        a.annotation_id, certificate_id=a.certificate_id, holder_key=a.holder_key, scenario=a.scenario,
        validity_days=a.validity_days, status=a.stored_status.value,
        applied_at=a.applied_at.astimezone(UTC).isoformat(timespec="microseconds"),
        applied_on=beijing_date(a.applied_at).isoformat(), quota_slot=a.quota_slot,
        pending=PENDING if a.stored_status is AnnotationStatus.PENDING else None,
        expires_at=retention_until(a.applied_at, None))


def _annotation(m: AnnotationModel) -> Annotation:
    return Annotation(
        annotation_id=m.annotation_id, certificate_id=m.certificate_id, holder_key=m.holder_key,
        scenario=m.scenario, validity_days=int(m.validity_days), stored_status=AnnotationStatus(m.status),
        applied_at=datetime.fromisoformat(m.applied_at), quota_slot=int(m.quota_slot),
        ready_at=m.ready_at, valid_from=m.valid_from, valid_until=m.valid_until,
        annotation_no=m.annotation_no, verification_code=m.verification_code, file_sha256=m.file_sha256,
        file_key=m.file_key, withdrawn_at=m.withdrawn_at, failed_reason=m.failed_reason,
        render_started_at=m.render_started_at, verification_count=int(m.verification_count or 0))
