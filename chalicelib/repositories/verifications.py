"""Checks of issued documents in DynamoDB: finding a document by its code or its file's hash
(an annotated copy in the annotations table, an electronic file on its certificate), the
holder's log of checks with its once-a-minute marker, and the misses that throttle a client.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError
from pynamodb.transactions import TransactWrite

from chalicelib.domain.certificates import Certificate
from chalicelib.domain.errors import ConcurrentUpdate
from chalicelib.domain.verification import (
    Channel,
    IssuedDocument,
    VerificationRecord,
    VerificationResult,
)
from chalicelib.models import AnnotationModel, CertificateModel, CounterModel, RateLimitModel, VerificationModel
from chalicelib.repositories.annotations import annotation_from
from chalicelib.repositories.base import batch_get, cancelled_items, conditional_failed, update_returning_nothing
from chalicelib.repositories.certificates import certificate_from

# A log entry's transaction is tried again this many times in all when it loses to a concurrent one.
_LOG_ATTEMPTS = 3


class VerificationRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def by_code(self, code: str) -> IssuedDocument | None:
        """The document whose verification code this is: a copy, else an electronic file (the two
        kinds' codes are drawn from one space, so a code names at most one document)."""
        copies = list(AnnotationModel.by_code.query(code, limit=1))
        if copies:
            return IssuedDocument.copy(annotation_from(copies[0]))
        files = list(CertificateModel.by_file_code.query(code, limit=1))
        return IssuedDocument.e_file(files[0].certificate_id) if files else None

    def by_file(self, sha256_hex: str) -> IssuedDocument | None:
        copies = list(AnnotationModel.by_file.query(sha256_hex, limit=1))
        if copies:
            return IssuedDocument.copy(annotation_from(copies[0]))
        files = list(CertificateModel.by_file_hash.query(sha256_hex, limit=1))
        return IssuedDocument.e_file(files[0].certificate_id) if files else None

    def record_verification(self, document: IssuedDocument, record: VerificationRecord, once_key: str,
                            once_until: datetime, keep_until: datetime) -> bool:
        """Log one check and count it on the document, together, unless a check with the same
        `once_key` (document, client, minute) was logged: the marker that key names is written
        in the same transaction, on the condition that it does not exist. False when it did;
        ConcurrentUpdate when concurrent checks of the document kept winning.

        The entry itself holds only the time, the channel and the result, until `keep_until`."""
        at_id = f"{record.at.astimezone(UTC).isoformat(timespec='microseconds')}#{secrets.token_hex(4)}"
        for attempt in range(_LOG_ATTEMPTS):
            try:
                with TransactWrite(connection=self._connection) as tx:
                    tx.save(CounterModel(once_key, hits=1, expires_at=once_until),
                            condition=CounterModel.key.does_not_exist())
                    tx.save(VerificationModel(document.log_id, at_id, at=record.at, channel=record.channel.value,
                                              result=record.result.value, expires_at=keep_until))
                    if document.annotation is not None:
                        tx.update(AnnotationModel(document.log_id),
                                  actions=[AnnotationModel.verification_count.add(1)],
                                  condition=AnnotationModel.annotation_id.exists())
                    else:
                        tx.update(CertificateModel(document.log_id),
                                  actions=[CertificateModel.file_verification_count.add(1)],
                                  condition=CertificateModel.certificate_id.exists())
            except TransactWriteError as e:
                refused = cancelled_items(e)
                if refused[:1] == [True]:  # the puts come first, the marker first of them
                    return False
                if any(refused):
                    raise
                if attempt == _LOG_ATTEMPTS - 1:
                    raise ConcurrentUpdate() from e
                # else a conflict with a concurrent transaction (another check of the document): again
            else:
                return True
        raise AssertionError("unreachable")

    def verifications(self, log_id: str, limit: int) -> list[VerificationRecord]:
        """A document's log (`IssuedDocument.log_id`), newest first."""
        return [VerificationRecord(at=m.at, channel=Channel(m.channel), result=VerificationResult(m.result))
                for m in VerificationModel.query(log_id, scan_index_forward=False, limit=limit)]

    def misses_and_certificate(self, client_key: str,
                               certificate_id: str | None) -> tuple[int, Certificate | None]:
        """A client's misses in the current window and, when a document was found, its
        certificate as it is now: one BatchGetItem for a verification."""
        if certificate_id is None:
            return self.misses(client_key), None
        limits, certificates = RateLimitModel.Meta.table_name, CertificateModel.Meta.table_name
        found = batch_get(self._connection, {
            limits: {"Keys": [{RateLimitModel.key.attr_name: {"S": client_key}}],
                     "ProjectionExpression": RateLimitModel.misses.attr_name},  # "key" is a reserved word
            certificates: {"Keys": [{CertificateModel.certificate_id.attr_name: {"S": certificate_id}}],
                           "ConsistentRead": True},
        })
        misses = int(RateLimitModel.from_raw_data(found[limits][0]).misses or 0) if found[limits] else 0
        cert = certificate_from(CertificateModel.from_raw_data(found[certificates][0])) if found[certificates] else None
        return misses, cert

    def misses(self, client_key: str) -> int:
        try:
            return int(RateLimitModel.get(client_key).misses or 0)
        except DoesNotExist:
            return 0

    def add_misses(self, client_key: str, count: int, limit: int, expires_at: datetime) -> bool:
        """Count `count` more misses if the client stays within `limit`, in one conditional
        update (concurrent requests cannot pass it together). Otherwise nothing is counted but
        the refusal itself, which spends the rest of the window (misses = limit): a refusal
        that cost nothing would tell a guesser, for free, that a whole batch missed. False then."""
        expiry = RateLimitModel.expires_at.set(expires_at)
        if count <= limit:
            try:
                update_returning_nothing(RateLimitModel, client_key, actions=[RateLimitModel.misses.add(count), expiry],
                                         condition=RateLimitModel.misses.does_not_exist()
                                         | (RateLimitModel.misses <= limit - count))
                return True
            except UpdateError as e:
                if not conditional_failed(e):
                    raise
        update_returning_nothing(RateLimitModel, client_key, actions=[RateLimitModel.misses.set(limit), expiry],
                                 condition=None)
        return False
