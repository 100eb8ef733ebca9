"""Certificates in DynamoDB: listed by holder, loaded by batch, announced once."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.domain.annotations import QuotaSlot
from chalicelib.domain.certificates import Certificate, CertificateStatus
from chalicelib.models import QUOTA_SLOTS, CertificateModel
from chalicelib.repositories.base import conditional_failed

ANNOUNCE = "1"
_CERTIFICATE_FIELDS = ("certificate_no", "qualification", "level", "specialty", "holder_name", "id_type",
                       "id_number", "holder_key", "issued_on", "approved_on", "issuer_name", "issuer_contact",
                       "status", "file_key")


class CertificateRepository:
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
            if conditional_failed(e):
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
            if conditional_failed(e):
                return False
            raise
        return True


def _certificate_model(cert: Certificate, now: datetime) -> CertificateModel:
    return CertificateModel(
        cert.certificate_id, certificate_no=cert.certificate_no, qualification=cert.qualification,
        level=cert.level, specialty=cert.specialty, holder_name=cert.holder_name,
        id_type=cert.id_type, id_number=cert.id_number, holder_key=cert.holder_key,
        issued_on=cert.issued_on.isoformat(), approved_on=cert.approved_on.isoformat(),
        issuer_name=cert.issuer_name, issuer_contact=cert.issuer_contact, status=cert.status.value,
        file_key=cert.file_key, updated_at=now)


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
        file_key=model.file_key, latest_annotation_id=model.latest_annotation_id,
        quota_slots=tuple(QuotaSlot(slot=i, annotation_id=held.annotation_id,
                                    applied_on=date.fromisoformat(held.applied_on))
                          for i, attribute in enumerate(QUOTA_SLOTS)
                          if (held := getattr(model, attribute.attr_name)) is not None))
