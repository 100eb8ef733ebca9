"""The domain's records in DynamoDB, through PynamoDB, one module per kind of record.

AWS errors become domain errors here, once. Every write that must not race is a
conditional write or a transaction, never a read followed by a plain write.
"""

from __future__ import annotations

from pynamodb.connection import Connection

from chalicelib.config import Settings
from chalicelib.repositories.accounts import AccountRepository
from chalicelib.repositories.annotations import AnnotationRepository
from chalicelib.repositories.certificates import CertificateRepository
from chalicelib.repositories.efiles import FileRepository
from chalicelib.repositories.imports import ImportRepository
from chalicelib.repositories.limits import LimitRepository
from chalicelib.repositories.verifications import VerificationRepository
from chalicelib.tables import POOL_CONNECTIONS, bind_models, share_session


class Repository(CertificateRepository, FileRepository):
    """The certificates and their electronic files, and beside them the other repositories on one
    connection."""

    def __init__(self, settings: Settings) -> None:
        session = bind_models(settings)
        self._connection = Connection(region=settings.region, max_pool_connections=POOL_CONNECTIONS)
        share_session(self._connection, session)  # built once, before any thread needs it (see bind_models)
        self._shards = settings.index_shards
        self.annotations = AnnotationRepository(self._connection, settings.index_shards)
        self.verifications = VerificationRepository(self._connection)
        self.accounts = AccountRepository(self._connection)
        self.limits = LimitRepository(self._connection)
        self.imports = ImportRepository()


__all__ = ["AccountRepository", "AnnotationRepository", "CertificateRepository", "FileRepository", "ImportRepository",
           "LimitRepository", "Repository", "VerificationRepository"]
