"""PynamoDB models, one per table of `infra/resources.yaml`.

Table names come from the CloudFormation stack, so they are bound at run time by
`tables.bind_models()` (called by the repository when it is first built), never at import.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    MapAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model


class UserModel(Model):
    class Meta:
        table_name = "unbound-users"

    user_id = UnicodeAttribute(hash_key=True)
    username = UnicodeAttribute()
    name = UnicodeAttribute()
    id_type = UnicodeAttribute()
    id_hash = UnicodeAttribute()
    id_number_masked = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    phone_verified = BooleanAttribute(default=False)
    email = UnicodeAttribute(null=True)
    email_verified = BooleanAttribute(default=False)
    password_hash = UnicodeAttribute()
    notice_version = UnicodeAttribute(null=True)
    # Wrong passwords from every client together (the per-client ones are AttemptsModel items).
    failed_logins = NumberAttribute(default=0)
    failed_window_start = UTCDateTimeAttribute(null=True)
    locked_until = UTCDateTimeAttribute(null=True)
    # "sms" or "certificate_no" while the account holds its ID document (see IdDocumentModel).
    proof = UnicodeAttribute(null=True)
    ever_proven = BooleanAttribute(default=False)
    # Tokens carry the generation they were issued in; bumping it ends every session at once.
    generation = NumberAttribute(default=0)
    created_at = UTCDateTimeAttribute()
    # Clean-up of an account never proven (30 days); the rule itself is decided at each request.
    expires_at = TTLAttribute(null=True)
    version = VersionAttribute()


class UserKeyModel(Model):
    """A claimed username ("username#…") pointing at its user."""

    class Meta:
        table_name = "unbound-user-keys"

    key = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    expires_at = TTLAttribute(null=True)


class IdDocumentModel(Model):
    """An ID document ("id#<keyed hash>", in the user keys table): the one proven account that
    holds it. Written by the API."""

    class Meta:
        table_name = "unbound-user-keys"

    key = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute(null=True)


class PhoneRecordModel(Model):
    """The phone the issuing authority has on record for an ID document ("phone#<keyed hash>",
    in the user keys table) and which batch row set it. An item of its own, because the phone on
    record decides who may take the document over by SMS: only the import worker's role may
    write items whose key begins "phone#" (IAM's dynamodb:LeadingKeys), the API's may not."""

    class Meta:
        table_name = "unbound-user-keys"

    key = UnicodeAttribute(hash_key=True)
    phone = UnicodeAttribute()
    # "<when the file was first loaded>#<line>": a phone changes only for a greater stamp.
    phone_stamp = UnicodeAttribute()
    # "<object version>#<line>" of the row that set it, so a retried load knows its own write.
    phone_loaded_by = UnicodeAttribute(null=True)


class ImportFileModel(Model):
    """When a batch file's content (its ETag) was first loaded ("import#…", in the user keys
    table), so that loading it again later, under any name, still counts as that old file."""

    class Meta:
        table_name = "unbound-user-keys"

    key = UnicodeAttribute(hash_key=True)
    first_loaded_at = UTCDateTimeAttribute(null=True)


class ImportModel(Model):
    """One version of a batch file being loaded in chunks (domain.batches): its layout, the
    chunks done and the chunks that died, and when its report was written."""

    class Meta:
        table_name = "unbound-imports"

    import_id = UnicodeAttribute(hash_key=True)
    key = UnicodeAttribute()
    version = UnicodeAttribute()
    # The chunks as JSON: [{"index", "start", "end", "first_line", "last_line"}, ...]
    chunks = JSONAttribute()
    header = UnicodeAttribute(null=True)
    # Why the file could not be split at all (domain.batches.BatchUnreadable); then no chunks.
    problem = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute()
    first_loaded_at = UTCDateTimeAttribute()
    done = NumberSetAttribute(null=True)
    failed = NumberSetAttribute(null=True)
    reported_at = UTCDateTimeAttribute(null=True)
    # How many chunks were done when the report was written: a chunk recorded dead that finishes
    # after all (a duplicate message, a redrive) makes the report be written again.
    reported_done = NumberAttribute(null=True)
    expires_at = TTLAttribute()


class RevokedTokenModel(Model):
    class Meta:
        table_name = "unbound-revoked-tokens"

    jti = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()


# What each index projects beside the keys (infra/resources.yaml says the same; a test checks
# the two agree): what `certificate_from` and `annotation_from` read, without the counters and
# marks that change on their own (a check counted, a reminder sent, a quota slot claimed), so
# those writes touch the table alone. An annotation or certificate read from an index has no
# check count and no quota slots: what needs them reads the item itself.
CERTIFICATE_READ = ("certificate_no", "qualification", "level", "specialty", "holder_name", "id_type", "id_number",
                    "issuer_name", "issuer_contact", "approved_on", "status", "file_code", "file_key", "file_sha256",
                    "file_printed", "latest_annotation_id")
ANNOTATION_READ = ("certificate_id", "holder_key", "account_id", "scenario", "validity_days", "status", "applied_at",
                   "quota_slot", "render_started_at", "ready_at", "valid_from", "valid_until", "annotation_no",
                   "verification_code", "file_sha256", "file_key", "withdrawn_at", "failed_reason",
                   "language")


def _beside(keys: set[str], read: tuple[str, ...]) -> list[str]:
    """The attributes an index projects beside its own keys (which it holds anyway)."""
    return [name for name in read if name not in keys]


_BY_HOLDER = _beside(set(), CERTIFICATE_READ)
_BY_CERTIFICATE = _beside({"certificate_id", "applied_at"}, ANNOTATION_READ)
_BY_CODE = _beside({"verification_code"}, ANNOTATION_READ)
_BY_FILE = _beside({"file_sha256"}, ANNOTATION_READ)


class HolderIndex(GlobalSecondaryIndex["CertificateModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_holder"
        projection = IncludeProjection(_BY_HOLDER)

    holder_key = UnicodeAttribute(hash_key=True)
    issued_on = UnicodeAttribute(range_key=True)


class AnnounceIndex(GlobalSecondaryIndex["CertificateModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_announce"
        projection = KeysOnlyProjection()

    announce = UnicodeAttribute(hash_key=True)
    holder_key = UnicodeAttribute(range_key=True)


class FileCodeIndex(GlobalSecondaryIndex["CertificateModel"]):  # type: ignore[no-untyped-call]
    """Sparse: the electronic files' verification codes (older certificates only)."""

    class Meta:
        index_name = "by_file_code"
        projection = KeysOnlyProjection()

    file_code = UnicodeAttribute(hash_key=True)


class FileHashIndex(GlobalSecondaryIndex["CertificateModel"]):  # type: ignore[no-untyped-call]
    """Sparse: the SHA-256 of each electronic file rendered so far."""

    class Meta:
        index_name = "by_file_hash"
        projection = KeysOnlyProjection()

    file_sha256 = UnicodeAttribute(hash_key=True)


class QuotaSlotAttribute(MapAttribute[str, str]):
    """One of a certificate's annotation quota slots and the annotation that holds it."""

    annotation_id = UnicodeAttribute()
    applied_on = UnicodeAttribute()
    # The last Beijing date on which this annotation still counts (YYYY-MM-DD).
    counts_until = UnicodeAttribute()


class CertificateModel(Model):
    class Meta:
        table_name = "unbound-certificates"

    certificate_id = UnicodeAttribute(hash_key=True)
    certificate_no = UnicodeAttribute()
    qualification = UnicodeAttribute()
    level = UnicodeAttribute(default="")
    specialty = UnicodeAttribute(default="")
    holder_name = UnicodeAttribute()
    id_type = UnicodeAttribute()
    # The full number is kept only because the certificate's PDF prints it.
    id_number = UnicodeAttribute()
    holder_key = UnicodeAttribute()
    issued_on = UnicodeAttribute()
    approved_on = UnicodeAttribute()
    issuer_name = UnicodeAttribute()
    issuer_contact = UnicodeAttribute()
    status = UnicodeAttribute()
    # English names for bilingual copies (the import's optional columns); absent when not given.
    qualification_en = UnicodeAttribute(null=True)
    issuer_name_en = UnicodeAttribute(null=True)
    # The electronic file of an older certificate (domain.certificates.Certificate): its code
    # from the first load on; its key, hash and printed digest once rendered; when a holder last
    # asked for it to be rendered; how often it was checked (its log is in the verifications
    # table, under the certificate's ID).
    file_code = UnicodeAttribute(null=True)
    file_key = UnicodeAttribute(null=True)
    file_sha256 = UnicodeAttribute(null=True)
    file_printed = UnicodeAttribute(null=True)
    file_requested_at = UTCDateTimeAttribute(null=True)
    file_verification_count = NumberAttribute(default=0)
    updated_at = UTCDateTimeAttribute()
    loaded_at = UTCDateTimeAttribute(null=True)
    # The newest annotation applied for, so a list of certificates needs one BatchGet.
    latest_annotation_id = UnicodeAttribute(null=True)
    # Its shard (domain.shards.announce_key) from the moment a certificate is first loaded until
    # its holder has been told; absent after.
    announce = UnicodeAttribute(null=True)
    # The batch row that last changed it (domain.batches.RowStamp): its order, and its load.
    row_stamp = UnicodeAttribute(null=True)
    loaded_by = UnicodeAttribute(null=True)
    # A hash of the values a batch row gives, so that a batch tells an unchanged row by reading
    # three small attributes (repositories.certificates.load_certificates).
    row_digest = UnicodeAttribute(null=True)
    # The quota slots live on the certificate, so that one read gives the certificate and its
    # quota, and claiming a slot is a condition on the same item (see QUOTA_SLOTS).
    quota_slot_0 = QuotaSlotAttribute(null=True)  # type: ignore[no-untyped-call]
    quota_slot_1 = QuotaSlotAttribute(null=True)  # type: ignore[no-untyped-call]
    quota_slot_2 = QuotaSlotAttribute(null=True)  # type: ignore[no-untyped-call]

    by_holder = HolderIndex()
    by_announce = AnnounceIndex()
    by_file_code = FileCodeIndex()
    by_file_hash = FileHashIndex()


class CertificateAnnotationsIndex(GlobalSecondaryIndex["AnnotationModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_certificate"
        projection = IncludeProjection(_BY_CERTIFICATE)

    certificate_id = UnicodeAttribute(hash_key=True)
    applied_at = UnicodeAttribute(range_key=True)


class CodeIndex(GlobalSecondaryIndex["AnnotationModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_code"
        projection = IncludeProjection(_BY_CODE)

    verification_code = UnicodeAttribute(hash_key=True)


class FileIndex(GlobalSecondaryIndex["AnnotationModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_file"
        projection = IncludeProjection(_BY_FILE)

    file_sha256 = UnicodeAttribute(hash_key=True)


class ExpiryDayIndex(GlobalSecondaryIndex["AnnotationModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_expiry_day"
        projection = KeysOnlyProjection()

    expiry_day = UnicodeAttribute(hash_key=True)


class PendingIndex(GlobalSecondaryIndex["AnnotationModel"]):  # type: ignore[no-untyped-call]
    class Meta:
        index_name = "by_pending"
        projection = KeysOnlyProjection()

    pending = UnicodeAttribute(hash_key=True)
    applied_at = UnicodeAttribute(range_key=True)


class AnnotationModel(Model):
    class Meta:
        table_name = "unbound-annotations"

    annotation_id = UnicodeAttribute(hash_key=True)
    certificate_id = UnicodeAttribute()
    holder_key = UnicodeAttribute()
    # The account that applied: its live copies are withdrawn if it loses the ID document.
    account_id = UnicodeAttribute(null=True)
    scenario = UnicodeAttribute()
    validity_days = NumberAttribute()
    # The copy's language (domain.annotations.CopyLanguage); absent on copies made before it.
    language = UnicodeAttribute(null=True)
    status = UnicodeAttribute()
    verification_count = NumberAttribute(default=0)
    # Its shard while pending (the sparse by_pending index, domain.shards); removed when ready or failed.
    pending = UnicodeAttribute(null=True)
    # `<Beijing date it expires>#<shard>` (ready copies only), and when its holder was reminded.
    expiry_day = UnicodeAttribute(null=True)
    reminded_at = UTCDateTimeAttribute(null=True)
    # ISO 8601 UTC text, so that the index sorts by time.
    applied_at = UnicodeAttribute()
    applied_on = UnicodeAttribute()
    quota_slot = NumberAttribute()
    # Set once by the first render attempt; every retry renders with the same time and
    # code, so the copy's bytes (and hash) do not depend on which attempt wins.
    render_started_at = UTCDateTimeAttribute(null=True)
    ready_at = UTCDateTimeAttribute(null=True)
    valid_from = UTCDateTimeAttribute(null=True)
    valid_until = UTCDateTimeAttribute(null=True)
    annotation_no = UnicodeAttribute(null=True)
    verification_code = UnicodeAttribute(null=True)
    file_sha256 = UnicodeAttribute(null=True)
    file_key = UnicodeAttribute(null=True)
    withdrawn_at = UTCDateTimeAttribute(null=True)
    failed_reason = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)

    by_certificate = CertificateAnnotationsIndex()
    by_code = CodeIndex()
    by_file = FileIndex()
    by_pending = PendingIndex()
    by_expiry_day = ExpiryDayIndex()


class VerificationModel(Model):
    """One check of a document, for its holder's log: a copy's under its annotation's ID, an
    electronic file's under its certificate's."""

    class Meta:
        table_name = "unbound-verifications"

    annotation_id = UnicodeAttribute(hash_key=True)
    # ISO time plus a random suffix: sorts by time, never collides.
    at_id = UnicodeAttribute(range_key=True)
    at = UTCDateTimeAttribute()
    channel = UnicodeAttribute()
    result = UnicodeAttribute()
    expires_at = TTLAttribute()


class RateLimitModel(Model):
    class Meta:
        table_name = "unbound-rate-limits"

    key = UnicodeAttribute(hash_key=True)
    misses = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class AttemptsModel(Model):
    """Failed attempts in a window, and a lock (domain.accounts.Attempts), in the rate-limits
    table: wrong passwords per account and client, failed certificate-number proofs."""

    class Meta:
        table_name = "unbound-rate-limits"

    key = UnicodeAttribute(hash_key=True)
    failures = NumberAttribute(default=0)
    window_start = UTCDateTimeAttribute(null=True)
    locked_until = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


class CounterModel(Model):
    """How many times something happened in one fixed window (the key names the window)."""

    class Meta:
        table_name = "unbound-rate-limits"

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    # For a sliding limit: when it last happened.
    last_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


class CodeModel(Model):
    """A one-time code: "<purpose>#<account>"; a resend replaces the item (voiding the code)."""

    class Meta:
        table_name = "unbound-codes"

    key = UnicodeAttribute(hash_key=True)
    code_hash = UnicodeAttribute()
    destination = UnicodeAttribute()
    tries = NumberAttribute(default=0)
    valid_until = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


# Slot i of a certificate's annotation quota (domain.annotations.QUOTA_LIMIT of them).
QUOTA_SLOTS: tuple[QuotaSlotAttribute, ...] = (
    CertificateModel.quota_slot_0, CertificateModel.quota_slot_1, CertificateModel.quota_slot_2)
