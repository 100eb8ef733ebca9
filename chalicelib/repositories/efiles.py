"""The electronic files (证书电子文件) of older certificates, on their certificate's item: a
holder's request for one (so one render is queued however many ask), the code given to an item
loaded before files had codes, and the rendered file recorded (services/efiles.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from chalicelib.domain.certificates import PRINTED_FIELDS, Certificate
from chalicelib.models import CertificateModel
from chalicelib.repositories.base import updated_if


class FileRepository:
    def request_file(self, certificate_id: str, now: datetime, asked_before: datetime) -> bool:
        """Note that a holder asked for the electronic file; False when someone asked after
        `asked_before` already (then its render is under way)."""
        return updated_if(CertificateModel, certificate_id, actions=[CertificateModel.file_requested_at.set(now)],
                          condition=CertificateModel.certificate_id.exists()
                          & (CertificateModel.file_requested_at.does_not_exist()
                             | (CertificateModel.file_requested_at < asked_before)))

    def give_file_code(self, certificate_id: str, code: str) -> str:
        """The electronic file's code: `code`, unless the certificate has one already."""
        model = CertificateModel(certificate_id)
        model.update(actions=[CertificateModel.file_code.set(CertificateModel.file_code | code)],
                     condition=CertificateModel.certificate_id.exists())
        assert model.file_code is not None
        return model.file_code

    def file_rendered(self, cert: Certificate, *, key: str, sha256: str, printed: str) -> bool:
        """Record the stored file, if the certificate still prints what it was rendered from
        (each printed value as read) and no file of that is recorded yet."""
        condition: Any = CertificateModel.file_printed.does_not_exist() | (CertificateModel.file_printed != printed)
        for name in PRINTED_FIELDS:
            value = getattr(cert, name)
            condition &= getattr(CertificateModel, name) == (value.isoformat() if isinstance(value, date) else value)
        return updated_if(CertificateModel, cert.certificate_id, actions=[
            CertificateModel.file_key.set(key), CertificateModel.file_sha256.set(sha256),
            CertificateModel.file_printed.set(printed)], condition=condition)
