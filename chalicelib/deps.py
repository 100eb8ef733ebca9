"""Small cached getters for the collaborators that touch AWS, in the manner of Chalice's
sample apps: nothing is built at import time, so moto (or the local stack) can start
first, and everything is built once per Lambda container."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import TYPE_CHECKING, Any

import botocore.session

from chalicelib.config import ConfigurationError, Settings, get_settings
from chalicelib.domain.clock import utcnow
from chalicelib.notify import NoSms, Notifier, NotSent, Outbox, SesEmail, SmtpEmail, SnsSms, Transport
from chalicelib.queue import ChunkQueue, DeadLetters, RenderQueue
from chalicelib.repositories import Repository
from chalicelib.secret_store import SecretStore, load_pdf_signer
from chalicelib.security import IdHasher, PasswordHasher, TokenSigner
from chalicelib.services import rendering
from chalicelib.services.account_data import Deletion
from chalicelib.services.accounts import Passwords
from chalicelib.services.annotating import Links
from chalicelib.services.codes import Codes
from chalicelib.services.contacts import ContactVerification
from chalicelib.services.efiles import FileRenderer, Waiting
from chalicelib.services.identity import Identity
from chalicelib.services.passwords import PasswordReset
from chalicelib.storage import FileStore

if TYPE_CHECKING:
    from chalicelib.signing import PdfSigner


class _Clients:
    """Makes clients like a boto3 Session, straight from botocore: boto3 (and its
    s3transfer) would add ~100 ms to every cold start for nothing we use."""

    def __init__(self, region: str) -> None:
        self._session = botocore.session.get_session()
        self._region = region

    def client(self, service: str, config: Any = None) -> Any:
        return self._session.create_client(service, region_name=self._region, config=config)


@lru_cache(maxsize=1)
def session() -> _Clients:
    return _Clients(get_settings().region)


class OffsetClock:
    """UTC now, shifted by the number of seconds written in a file.

    Only the local stack sets this up (`--clock-file`), so that end-to-end tests can move
    the server's time forward (to see a copy expire) without waiting; in AWS the file is
    never configured and this is plain `utcnow()`.
    """

    def __init__(self, path: str | None) -> None:
        self._path = path

    def __call__(self) -> datetime:
        now = utcnow()
        if not self._path:
            return now
        try:
            with open(self._path, encoding="ascii") as f:
                return now + timedelta(seconds=float(f.read().strip() or 0))
        except (OSError, ValueError):
            return now


@lru_cache(maxsize=1)
def clock() -> OffsetClock:
    return OffsetClock(get_settings().clock_offset_file)


@lru_cache(maxsize=1)
def repository() -> Repository:
    return Repository(get_settings())


@lru_cache(maxsize=1)
def files() -> FileStore:
    return FileStore(session(), get_settings().files_bucket)


@lru_cache(maxsize=1)
def render_queue() -> RenderQueue:
    return RenderQueue(session(), get_settings().render_queue_url)


@lru_cache(maxsize=1)
def chunk_queue() -> ChunkQueue:
    return ChunkQueue(session(), get_settings().import_queue_url)


@lru_cache(maxsize=1)
def dead_letters() -> DeadLetters:
    return DeadLetters(session(), get_settings().render_dlq_url)


@lru_cache(maxsize=1)
def notifier() -> Notifier:
    settings = get_settings()
    return Notifier(email=_email_transport(settings), sms=_sms_transport(settings), outbox=settings.outbox)


def _email_transport(settings: Settings) -> Transport:
    if settings.notify_email_transport == "ses":
        return SesEmail(session(), settings.notify_sender)
    if not settings.smtp_host:
        raise ConfigurationError("NOTIFY_EMAIL_TRANSPORT is smtp but SMTP_HOST is not set")
    # Without SMTP_USERNAME the server is used without AUTH, and the secret (the template always
    # names it) is never read.
    secret_id = settings.smtp_password_secret_id
    if settings.smtp_username and not secret_id:
        raise ConfigurationError("SMTP_USERNAME is set but SMTP_PASSWORD_SECRET_ID (the secret holding its "
                                 "password) is not")
    return SmtpEmail(host=settings.smtp_host, port=settings.smtp_port, sender=settings.notify_sender,
                     security=settings.smtp_security, username=settings.smtp_username,
                     password=partial(_smtp_password, secret_id) if settings.smtp_username and secret_id else None)


def _smtp_password(secret_id: str) -> str:
    # Read at each connection, not cached: a changed password works at once, and an empty secret
    # (the template creates it without a value) fails each send loudly until ops fill it.
    value = secret_store().value(secret_id)
    if not value:
        raise NotSent(f"the SMTP password secret {secret_id} (SMTP_PASSWORD_SECRET_ID) has no value")
    return value


def _sms_transport(settings: Settings) -> Transport:
    # aws-cn has no SNS SMS: `none` fails every SMS loudly; a China SMS provider would be a third.
    return SnsSms(session()) if settings.notify_sms_transport == "sns" else NoSms()


@lru_cache(maxsize=1)
def outbox() -> Outbox:
    return Outbox(session(), get_settings().notify_queue_url)


@lru_cache(maxsize=1)
def links() -> Links:
    return Links(get_settings().public_base_url)


# The PDF pieces are imported only inside these getters, so that the API path never loads
# fpdf2 (or fontTools, or pyHanko): only the workers pay for them.

def copy_renderer() -> rendering.Renderer:
    from chalicelib.services import copies

    return partial(copies.signed_copy, signer=pdf_signer())


def file_renderer() -> FileRenderer:
    from chalicelib.services import copies

    return partial(copies.signed_certificate_file, signer=pdf_signer())


def file_waiting() -> Waiting:
    return Waiting(get_settings().file_wait_seconds)


@lru_cache(maxsize=1)
def pdf_signer() -> PdfSigner:
    # Not through `_secret`: an empty or malformed value fails this attempt (loudly) and is read
    # again at the next, so copies are signed as soon as ops fill the secret, without a cold start.
    settings = get_settings()
    return load_pdf_signer(secret_store(), settings.signing_secret_id, tsa_url=settings.tsa_url)


def glyph_check() -> Callable[[str], set[str]]:
    from chalicelib.services import copies

    return copies.missing_glyphs


@lru_cache(maxsize=4)
def _secret(secret_id: str) -> str:
    value = session().client("secretsmanager").get_secret_value(SecretId=secret_id)
    return str(value["SecretString"])


@lru_cache(maxsize=1)
def secret_store() -> SecretStore:
    return SecretStore(session())


@lru_cache(maxsize=1)
def token_signer() -> TokenSigner:
    # Not through `_secret`: the signer holds AWSCURRENT and AWSPREVIOUS and asks again when the
    # key rotates (security.TokenSigner).
    settings = get_settings()
    return TokenSigner(partial(secret_store().token_keys, settings.token_key_secret_id),
                       timedelta(seconds=settings.token_lifetime_seconds))


@lru_cache(maxsize=1)
def id_hasher() -> IdHasher:
    return IdHasher(_secret(get_settings().id_hash_key_secret_id))


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHasher:
    return PasswordHasher()


# The account services, each over the repositories and adapters above (cheap to build).

def passwords() -> Passwords:
    repo = repository()
    return Passwords(accounts=repo.accounts, attempts=repo.limits, hasher=password_hasher())


def codes() -> Codes:
    return Codes(store=repository().limits, outbox=outbox(), digest=id_hasher(), limits=get_settings().send_limits)


def identity() -> Identity:
    repo = repository()
    return Identity(documents=repo.accounts, certificates=repo, copies=repo.annotations, attempts=repo.limits,
                    codes=codes())


def password_reset() -> PasswordReset:
    return PasswordReset(accounts=repository().accounts, codes=codes(), id_hash=id_hasher(), hasher=password_hasher())


def contact_verification() -> ContactVerification:
    return ContactVerification(store=repository().accounts, passwords=passwords(), codes=codes())


def deletion() -> Deletion:
    repo = repository()
    return Deletion(store=repo.accounts, passwords=passwords(), certificates=repo, copies=repo.annotations)


_CACHED = (session, clock, pdf_signer, repository, files, render_queue, chunk_queue, dead_letters, notifier, outbox,
           links, _secret,
           secret_store, token_signer, id_hasher, password_hasher)


def reset() -> None:
    """Forget every cached collaborator (tests that deploy a fresh stack call this)."""
    get_settings.cache_clear()
    for getter in _CACHED:
        getter.cache_clear()
