"""A holder's certificates, as the holder may see them."""

from __future__ import annotations

from typing import Any, Protocol

from chalicelib.content import Notice
from chalicelib.domain import identity
from chalicelib.domain.accounts import Caller
from chalicelib.domain.annotations import format_code
from chalicelib.domain.certificates import Certificate
from chalicelib.domain.errors import IdentityNotVerified, NotFound, NoticeNotAccepted
from chalicelib.domain.text import Text


class CertificateStore(Protocol):
    def certificates_of(self, holder_key: str) -> list[Certificate]: ...
    def certificate(self, certificate_id: str) -> Certificate | None: ...


def holder_key(caller: Caller, notice: Notice) -> str:
    """Whose certificates the caller may see, checked before anything is looked up: nothing
    until the current notice is accepted (rule 2), then nothing until the account has proven
    that it holds its ID document (rule 1)."""
    if caller.notice_version != notice.version:
        raise NoticeNotAccepted(details={"notice_version": notice.version})
    if caller.holder_key is None:
        raise IdentityNotVerified()
    return caller.holder_key


def list_for(caller: Caller, *, notice: Notice, store: CertificateStore) -> list[Certificate]:
    return store.certificates_of(holder_key(caller, notice))


def owned(caller: Caller, certificate_id: str, *, notice: Notice, store: CertificateStore) -> Certificate:
    """The certificate if it is this holder's; another holder's is simply not found."""
    key = holder_key(caller, notice)
    cert = store.certificate(certificate_id)
    if cert is None or cert.holder_key != key:
        raise NotFound(Text("未找到该证书", "Certificate not found"))
    return cert


def view(cert: Certificate, latest_annotation: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "certificate_id": cert.certificate_id,
        "certificate_no": cert.certificate_no,
        "qualification": cert.qualification,
        "level": cert.level,
        "specialty": cert.specialty,
        "holder_name": cert.holder_name,
        "id_number_masked": identity.mask_id_number(cert.id_number),
        "issued_on": cert.issued_on.isoformat(),
        "approved_on": cert.approved_on.isoformat(),
        "issuer": {"name": cert.issuer_name, "contact": cert.issuer_contact},
        "status": cert.status.value,
        "status_label": cert.status.label,
        "kind": cert.kind.value,
        "latest_annotation": latest_annotation,
        "file_verification_code": format_code(cert.file_code) if cert.file_code else None,
    }
