"""Binding the PynamoDB models (chalicelib/models.py) to the stack's tables: names from the
settings, one botocore session for all, clients built once before any thread needs them."""

from __future__ import annotations

import botocore.session
from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib.config import Settings
from chalicelib.models import (
    AnnotationModel,
    AttemptsModel,
    CertificateModel,
    CodeModel,
    CounterModel,
    IdDocumentModel,
    ImportFileModel,
    ImportModel,
    PhoneRecordModel,
    RateLimitModel,
    RevokedTokenModel,
    UserKeyModel,
    UserModel,
    VerificationModel,
)

# Connections a client keeps open: more than the readers of a sharded index run at once
# (repositories/shards.py, 16), which would otherwise wait for one another's sockets.
POOL_CONNECTIONS = 32


_BINDINGS: tuple[tuple[type[Model], str], ...] = (
    (UserModel, "users_table"),
    (UserKeyModel, "user_keys_table"),
    (IdDocumentModel, "user_keys_table"),
    (PhoneRecordModel, "user_keys_table"),
    (ImportFileModel, "user_keys_table"),
    (ImportModel, "imports_table"),
    (RevokedTokenModel, "revoked_tokens_table"),
    (CertificateModel, "certificates_table"),
    (AnnotationModel, "annotations_table"),
    (VerificationModel, "verifications_table"),
    (RateLimitModel, "rate_limits_table"),
    (AttemptsModel, "rate_limits_table"),
    (CounterModel, "rate_limits_table"),
    (CodeModel, "codes_table"),
)


def bind_models(settings: Settings) -> botocore.session.Session:
    """Point every model at its table from the settings, with a fresh connection each.

    The botocore clients are built here, once, from one botocore session: PynamoDB builds them
    lazily, and threads that race to use a model first would each build their own (slowly).
    """
    session = botocore.session.get_session()
    for model, field in _BINDINGS:
        model.Meta.table_name = getattr(settings, field)
        model.Meta.region = settings.region
        model.Meta.max_pool_connections = POOL_CONNECTIONS
        model._connection = None
        share_session(model._get_connection().connection, session)
    return session


def share_session(connection: Connection, session: botocore.session.Session) -> None:
    """Build `connection`'s client from `session`, which every model shares: each botocore
    session loads DynamoDB's service model anew, and fifteen of them made the first request of
    a cold start wait for every load. PynamoDB keeps a connection's session in the
    thread-local `_local.session` it creates the client from (pynamodb 6.1.0, pinned in
    requirements.txt; tests/unit/test_models.py checks it); a client is built once, here."""
    connection._local.session = session
    _ = connection.client
