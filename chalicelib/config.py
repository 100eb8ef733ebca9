"""One frozen Settings object, read from the environment the first time it is asked for.

Nothing here runs at import time: the local stack and the tests set the environment
(often after starting moto) before the first request reaches `get_settings()`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from chalicelib.domain.batches import ROWS_PER_CHUNK
from chalicelib.domain.codes import SendLimits


@dataclass(frozen=True)
class Settings:
    region: str
    users_table: str
    user_keys_table: str
    revoked_tokens_table: str
    certificates_table: str
    annotations_table: str
    verifications_table: str
    rate_limits_table: str
    codes_table: str
    imports_table: str
    files_bucket: str
    render_queue_url: str
    render_dlq_url: str
    notify_queue_url: str
    import_queue_url: str
    import_dlq_url: str
    token_key_secret_id: str
    id_hash_key_secret_id: str
    signing_secret_id: str
    public_base_url: str
    allowed_origins: tuple[str, ...]
    token_lifetime_seconds: int = 7200
    notify_sender: str = "noreply@certificates.example.cn"
    send_limits: SendLimits = field(default_factory=SendLimits)
    # Rows per chunk of a batch file (domain.batches): each chunk loads far inside a function's timeout.
    import_rows_per_chunk: int = ROWS_PER_CHUNK
    # Set only by the local stack: messages are written to standard output (its outbox) as well.
    outbox: bool = False
    # How the notifier sends (README, "E-mail and SMS transports"): aws-cn has no SES and no SNS SMS.
    notify_email_transport: str = "ses"
    notify_sms_transport: str = "sns"
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password_secret_id: str | None = None
    smtp_security: str = "starttls"
    # Set only by the local stack for end-to-end tests (see domain.clock.OffsetClock).
    clock_offset_file: str | None = None
    # The RFC 3161 time-stamping authority every copy's signature is stamped by (README, "Signed
    # copies"); the render worker signs nothing without it.
    tsa_url: str | None = None
    # How long a holder's first download of an electronic file waits for the render worker to
    # render and sign it (services.efiles) before answering 503 file_not_ready; 0 to 20.
    file_wait_seconds: int = 4
    # Shards of each low-cardinality index key (domain.shards; README, "Keys at national scale"):
    # may grow, never shrink.
    index_shards: int = 128


# The environment variable each field is read from; `.chalice/config.json` and the
# CloudFormation outputs in `infra/` use the same names.
ENV_NAMES = {
    "users_table": "USERS_TABLE",
    "user_keys_table": "USER_KEYS_TABLE",
    "revoked_tokens_table": "REVOKED_TOKENS_TABLE",
    "certificates_table": "CERTIFICATES_TABLE",
    "annotations_table": "ANNOTATIONS_TABLE",
    "verifications_table": "VERIFICATIONS_TABLE",
    "rate_limits_table": "RATE_LIMITS_TABLE",
    "codes_table": "CODES_TABLE",
    "imports_table": "IMPORTS_TABLE",
    "files_bucket": "FILES_BUCKET",
    "render_queue_url": "RENDER_QUEUE_URL",
    "render_dlq_url": "RENDER_DLQ_URL",
    "notify_queue_url": "NOTIFY_QUEUE_URL",
    "import_queue_url": "IMPORT_QUEUE_URL",
    "import_dlq_url": "IMPORT_DLQ_URL",
    "token_key_secret_id": "TOKEN_KEY_SECRET_ID",
    "id_hash_key_secret_id": "ID_HASH_KEY_SECRET_ID",
    "signing_secret_id": "SIGNING_SECRET_ID",
}


# The one-time code limits (../shared/API.md), each overridable by its environment variable.
LIMIT_ENV_NAMES = {
    "per_minute": "CODE_SENDS_PER_MINUTE",
    "per_hour": "CODE_SENDS_PER_HOUR",
    "per_day": "CODE_SENDS_PER_DAY",
    "per_client_hour": "CODE_SENDS_PER_CLIENT_HOUR",
    "wrong_tries_per_day": "CODE_WRONG_TRIES_PER_DAY",
}


class ConfigurationError(RuntimeError):
    """A required environment variable is missing."""


def _send_limits() -> SendLimits:
    values: dict[str, int] = {}
    for name, env in LIMIT_ENV_NAMES.items():
        if os.environ.get(env, "").strip():
            values[name] = _whole_number(env, 0)
    return SendLimits(**values)


def _rows_per_chunk() -> int:
    """100 to 10,000: fewer would write more chunks than an import's item holds for 10^6 rows."""
    rows = _whole_number("IMPORT_ROWS_PER_CHUNK", ROWS_PER_CHUNK)
    if not 100 <= rows <= 10_000:
        raise ConfigurationError("environment variable IMPORT_ROWS_PER_CHUNK must be between 100 and 10000")
    return rows


def _file_wait_seconds() -> int:
    """Within API Gateway's 29 s, with room for the rest of the request."""
    seconds = _whole_number("FILE_WAIT_SECONDS", 4)
    if not 0 <= seconds <= 20:
        raise ConfigurationError("environment variable FILE_WAIT_SECONDS must be between 0 and 20")
    return seconds


def _index_shards() -> int:
    shards = _whole_number("INDEX_SHARDS", 128)
    if not 1 <= shards <= 1000:
        raise ConfigurationError("environment variable INDEX_SHARDS must be between 1 and 1000")
    return shards


def _whole_number(env: str, default: int) -> int:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as e:
        raise ConfigurationError(f"environment variable {env} must be a whole number") from e


# Each choice's environment variable, its values and (first) its default.
CHOICES = {
    "notify_email_transport": ("NOTIFY_EMAIL_TRANSPORT", ("ses", "smtp")),
    "notify_sms_transport": ("NOTIFY_SMS_TRANSPORT", ("sns", "none")),
    "smtp_security": ("SMTP_SECURITY", ("starttls", "tls", "none")),
}


def _choice(field_name: str) -> str:
    env, allowed = CHOICES[field_name]
    value = os.environ.get(env, "").strip().lower() or allowed[0]
    if value not in allowed:
        raise ConfigurationError(f"environment variable {env} must be one of: {', '.join(allowed)}")
    return value


def _port(env: str, default: int) -> int:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigurationError(f"environment variable {env} must be a port number")
    return int(raw)


def _require(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    values: dict[str, str] = {name: _require(env) for name, env in ENV_NAMES.items()}
    origins = tuple(o.strip() for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o.strip())
    return Settings(
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        public_base_url=os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
        allowed_origins=origins,
        notify_sender=os.environ.get("NOTIFY_SENDER", "noreply@certificates.example.cn"),
        clock_offset_file=os.environ.get("CLOCK_OFFSET_FILE") or None,
        send_limits=_send_limits(),
        import_rows_per_chunk=_rows_per_chunk(),
        outbox=os.environ.get("NOTIFY_OUTBOX", "") == "stdout",
        notify_email_transport=_choice("notify_email_transport"),
        notify_sms_transport=_choice("notify_sms_transport"),
        smtp_security=_choice("smtp_security"),
        smtp_host=os.environ.get("SMTP_HOST", "").strip() or None,
        smtp_port=_port("SMTP_PORT", 587),
        smtp_username=os.environ.get("SMTP_USERNAME") or None,
        smtp_password_secret_id=os.environ.get("SMTP_PASSWORD_SECRET_ID", "").strip() or None,
        tsa_url=os.environ.get("TSA_URL", "").strip() or None,
        file_wait_seconds=_file_wait_seconds(),
        index_shards=_index_shards(),
        **values,  # type: ignore[arg-type]  # every field named in ENV_NAMES is a str
    )
