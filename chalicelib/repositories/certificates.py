"""Certificates in DynamoDB: listed by holder, loaded by batch, announced once."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.annotations import QuotaSlot
from chalicelib.domain.batches import RowStamp
from chalicelib.domain.certificates import Certificate, CertificateStatus
from chalicelib.domain.shards import announce_key, every_shard
from chalicelib.models import QUOTA_SLOTS, CertificateModel
from chalicelib.repositories.base import conditional_failed, updated_if
from chalicelib.repositories.shards import stream_all

# What a batch needs to know of a stored certificate to tell whether a row changes it.
_LOAD_STATE = ["certificate_id", "row_digest", "row_stamp", "loaded_by"]
_CERTIFICATE_FIELDS = ("certificate_no", "qualification", "level", "specialty", "holder_name", "id_type",
                       "id_number", "holder_key", "issued_on", "approved_on", "issuer_name", "issuer_contact",
                       "status", "qualification_en", "issuer_name_en")
# Added after certificates were first loaded: in a row's digest only when given, so that the
# digest of a row without them stays what it was (and reloading an old batch changes nothing).
_ADDED_LATER = frozenset({"qualification_en", "issuer_name_en"})


class CertificateRepository:
    _connection: Connection
    _shards: int

    def certificates_of(self, holder_key: str) -> list[Certificate]:
        """Newest first."""
        return [certificate_from(m) for m in
                CertificateModel.by_holder.query(holder_key, scan_index_forward=False)]

    def certificate(self, certificate_id: str) -> Certificate | None:
        return get_certificate(certificate_id)

    def certificates_by_id(self, certificate_ids: list[str]) -> dict[str, Certificate]:
        """Several certificates in one BatchGetItem (per 100), as they are now."""
        if not certificate_ids:
            return {}
        return {m.certificate_id: certificate_from(m)
                for m in CertificateModel.batch_get(certificate_ids, consistent_read=True)}

    def put_certificate(self, cert: Certificate, now: datetime, stamp: RowStamp | None = None) -> bool:
        """Create or update a certificate; False when the stored one is identical, or was
        written by a row of a later `stamp` (RowStamp), unless this very row wrote it.

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
        actions.append(CertificateModel.row_digest.set(_digest(model)))
        if cert.file_code is not None:  # an electronic file keeps the code it was first given
            actions.append(CertificateModel.file_code.set(CertificateModel.file_code | cert.file_code))
        condition: Any = ~identical
        if stamp is not None:
            actions += [CertificateModel.row_stamp.set(stamp.order), CertificateModel.loaded_by.set(stamp.loaded_by)]
            later = CertificateModel.row_stamp.does_not_exist() | (CertificateModel.row_stamp < stamp.order)
            condition = (condition & later) | (CertificateModel.loaded_by == stamp.loaded_by)
        target = CertificateModel(cert.certificate_id)
        try:
            target.update(actions=actions, condition=condition)
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        if target.loaded_at == now:
            target.update(actions=[CertificateModel.announce.set(announce_key(cert.holder_key, self._shards))])
        return True

    def load_certificates(self, rows: Sequence[tuple[Certificate, RowStamp]], now: datetime) -> list[bool]:
        """`put_certificate` for up to 100 rows of a batch (distinct certificates), in one
        BatchGetItem and, for the certificates not stored yet, one transaction: the rows that
        change nothing cost no write. Each row's answer as `put_certificate` would give it."""
        stored = {m.certificate_id: m for m in
                  CertificateModel.batch_get([c.certificate_id for c, _ in rows], consistent_read=True,
                                             attributes_to_get=_LOAD_STATE)}
        answers: list[bool | None] = [None] * len(rows)
        new = [i for i, (cert, _) in enumerate(rows) if cert.certificate_id not in stored]
        if new and self._create_all([rows[i] for i in new], now):
            for i in new:
                answers[i] = True
        for i, (cert, stamp) in enumerate(rows):
            if answers[i] is not None:
                continue
            held = stored.get(cert.certificate_id)
            if held is not None and held.loaded_by == stamp.loaded_by:
                answers[i] = True  # this row wrote it, in an earlier run of this load
            elif held is not None and (held.row_digest == _digest(_certificate_model(cert, now))
                                       or (held.row_stamp or "") >= stamp.order):
                answers[i] = False
            else:  # changed, or created meanwhile by another load: decided by the write's condition
                answers[i] = self.put_certificate(cert, now, stamp)
        return [bool(a) for a in answers]

    def _create_all(self, rows: Sequence[tuple[Certificate, RowStamp]], now: datetime) -> bool:
        """Create these certificates, all or none (False when any exists by now)."""
        try:
            with TransactWrite(connection=self._connection) as tx:
                for cert, stamp in rows:
                    model = _certificate_model(cert, now)
                    model.loaded_at, model.announce = now, announce_key(cert.holder_key, self._shards)
                    model.row_stamp, model.loaded_by = stamp.order, stamp.loaded_by
                    model.row_digest = _digest(model)
                    model.file_code = cert.file_code
                    tx.save(model, condition=CertificateModel.certificate_id.does_not_exist())
        except TransactWriteError:
            # One exists by now, or another load is creating one (TransactionConflict): each row
            # then takes the single-row conditional write, which decides it.
            return False
        return True

    def certificates_to_announce(self) -> Iterator[tuple[str, str]]:
        """(certificate_id, holder_key) of certificates whose holder has not been told, holder by
        holder (a holder's all lie in one shard, sorted by the index's sort key), shard after
        shard, read page by page as they are taken."""
        def shard(key: str) -> Iterator[tuple[str, str]]:
            return ((m.certificate_id, m.holder_key) for m in CertificateModel.by_announce.query(key))

        return stream_all(every_shard(self._shards), shard)

    def claim_announcement(self, certificate_id: str) -> bool:
        """Take the certificate off the to-announce list; False if another run did first."""
        return updated_if(CertificateModel, certificate_id, actions=[CertificateModel.announce.remove()],
                          condition=CertificateModel.announce.exists())


def _certificate_model(cert: Certificate, now: datetime) -> CertificateModel:
    return CertificateModel(
        cert.certificate_id, certificate_no=cert.certificate_no, qualification=cert.qualification,
        level=cert.level, specialty=cert.specialty, holder_name=cert.holder_name,
        id_type=cert.id_type, id_number=cert.id_number, holder_key=cert.holder_key,
        issued_on=cert.issued_on.isoformat(), approved_on=cert.approved_on.isoformat(),
        issuer_name=cert.issuer_name, issuer_contact=cert.issuer_contact, status=cert.status.value,
        qualification_en=cert.qualification_en or None, issuer_name_en=cert.issuer_name_en or None,
        updated_at=now)


def _digest(model: CertificateModel) -> str:
    """The values a batch row gives a certificate, hashed (a changed value, a changed digest)."""
    values: list[Any] = [getattr(model, name) for name in _CERTIFICATE_FIELDS if name not in _ADDED_LATER]
    values += [[name, value] for name in sorted(_ADDED_LATER) if (value := getattr(model, name))]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode("utf-8")).hexdigest()[:32]


def get_certificate(certificate_id: str) -> Certificate | None:
    """Strongly consistent: the quota slots read here decide which slot an application claims."""
    try:
        return certificate_from(CertificateModel.get(certificate_id, consistent_read=True))
    except DoesNotExist:
        return None


def certificate_from(model: CertificateModel) -> Certificate:
    return Certificate(
        certificate_id=model.certificate_id, certificate_no=model.certificate_no,
        qualification=model.qualification, level=model.level or "", specialty=model.specialty or "",
        holder_name=model.holder_name, id_type=model.id_type, id_number=model.id_number,
        holder_key=model.holder_key, issued_on=date.fromisoformat(model.issued_on),
        approved_on=date.fromisoformat(model.approved_on), issuer_name=model.issuer_name,
        issuer_contact=model.issuer_contact, status=CertificateStatus(model.status),
        qualification_en=model.qualification_en or "", issuer_name_en=model.issuer_name_en or "",
        file_code=model.file_code, file_key=model.file_key, file_sha256=model.file_sha256,
        file_printed=model.file_printed, file_verification_count=int(model.file_verification_count or 0),
        latest_annotation_id=model.latest_annotation_id,
        quota_slots=tuple(QuotaSlot(slot=i, annotation_id=held.annotation_id,
                                    applied_on=date.fromisoformat(held.applied_on))
                          for i, attribute in enumerate(QUOTA_SLOTS)
                          if (held := getattr(model, attribute.attr_name)) is not None))
