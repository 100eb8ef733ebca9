"""Certificates: their kinds, states and the identifiers derived from them."""

from __future__ import annotations

import hashlib
import hmac
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from chalicelib.domain.annotations import QuotaSlot

# Certificates issued after this date are e-certificates, served only through an
# annotation; those issued on or before it are electronic files, served directly.
E_CERTIFICATE_AFTER = date(2021, 12, 17)


class CertificateStatus(StrEnum):
    VALID = "valid"
    CANCELLED = "cancelled"
    REVOKED = "revoked"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    CertificateStatus.VALID: "有效",
    CertificateStatus.CANCELLED: "已注销",
    CertificateStatus.REVOKED: "已撤销",
}


class CertificateKind(StrEnum):
    E_CERTIFICATE = "e_certificate"
    E_FILE = "e_file"

    @property
    def label(self) -> str:
        return "电子证书" if self is CertificateKind.E_CERTIFICATE else "证书电子文件"


def kind_for(issued_on: date) -> CertificateKind:
    return CertificateKind.E_CERTIFICATE if issued_on > E_CERTIFICATE_AFTER else CertificateKind.E_FILE


def certificate_id_for(certificate_no: str) -> str:
    """A stable, opaque ID from the certificate number, so that loading a batch twice
    lands on the same item and URLs do not expose the number itself."""
    digest = hashlib.sha256(certificate_no.strip().encode("utf-8")).hexdigest()
    return "c" + digest[:24]


def certificate_file_key(certificate_id: str, printed: str) -> str:
    """Where an older certificate's electronic file is stored in the bucket: one key for each
    version of what it prints (`printed_digest`), so a file is never replaced by another."""
    return f"certificates/{certificate_id}/{printed[:16]}.pdf"


@dataclass(frozen=True)
class Certificate:
    certificate_id: str
    certificate_no: str
    qualification: str
    level: str
    specialty: str
    holder_name: str
    id_type: str
    id_number: str
    holder_key: str
    issued_on: date
    approved_on: date
    issuer_name: str
    issuer_contact: str
    status: CertificateStatus
    # The electronic file (证书电子文件) of an older certificate: its verification code, given
    # when the certificate is first loaded, and once the file has been rendered (on first
    # download) where it is, its hash and the `printed_digest` it was rendered from.
    file_code: str | None = None
    file_key: str | None = None
    file_sha256: str | None = None
    file_printed: str | None = None
    file_verification_count: int = 0
    latest_annotation_id: str | None = None
    # The annotation quota's slots in use (see annotations.free_slot), kept with the certificate.
    quota_slots: tuple[QuotaSlot, ...] = ()
    # English names from the import's optional columns, printed beside the Chinese ones on a
    # bilingual copy ("" when the issuer gave none).
    qualification_en: str = ""
    issuer_name_en: str = ""

    @property
    def kind(self) -> CertificateKind:
        return kind_for(self.issued_on)

    @property
    def is_valid(self) -> bool:
        return self.status is CertificateStatus.VALID

    @property
    def current_file(self) -> str | None:
        """The stored electronic file's key if it prints what the certificate says now."""
        return self.file_key if self.file_printed == printed_digest(self) else None

    def proves(self, holder_key: str, certificate_no: str, name: str) -> bool:
        """Rule 1 (b): this certificate's number together with the holder's name exactly as on
        it (Unicode NFC, surrounding spaces trimmed) proves the ID document `holder_key`. A
        certificate in any state counts."""
        return (self.holder_key == holder_key
                and hmac.compare_digest(self.certificate_no.encode(), certificate_no.strip().encode())
                and hmac.compare_digest(_proof_name(self.holder_name).encode(), _proof_name(name).encode()))


# What an electronic file prints of its certificate (render.CertificateFile): a change to any
# of these makes a new file; a change of state does not (the file says nothing of it).
PRINTED_FIELDS = ("qualification", "level", "specialty", "holder_name", "id_number", "certificate_no",
                  "issuer_name", "issued_on", "approved_on")


def printed_digest(cert: Certificate) -> str:
    values = [str(getattr(cert, name)) for name in PRINTED_FIELDS]
    return hashlib.sha256("\n".join(values).encode("utf-8")).hexdigest()[:32]


def _proof_name(name: str) -> str:
    return unicodedata.normalize("NFC", name).strip()
