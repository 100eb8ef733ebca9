"""A thin adapter over S3: store rendered files, hand out short-lived presigned links."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.domain.batches import ObjectVersion

MAX_LINK_LIFETIME = timedelta(seconds=300)


def annotation_key(annotation_id: str) -> str:
    return f"annotations/{annotation_id}.pdf"


def _version(version_id: str) -> dict[str, str]:
    return {} if version_id == "null" or version_id.startswith("null:") else {"VersionId": version_id}


def content_disposition(disposition: str, filename: str) -> str:
    """`inline` or `attachment` with an ASCII fallback name and the real (Chinese) one in
    RFC 5987 form, so every browser saves a sensible name."""
    ascii_name = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_.") else "_" for ch in filename)
    return f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


class FileStore:
    def __init__(self, session: Any, bucket: str) -> None:
        self.bucket = bucket
        self._s3 = session.client("s3", config=Config(signature_version="s3v4"))

    def put_pdf(self, key: str, data: bytes, sha256_hex: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/pdf",
                            ServerSideEncryption="AES256", Metadata={"sha256": sha256_hex})

    def put_pdf_once(self, key: str, data: bytes, sha256_hex: str) -> str:
        """Store the PDF only if nothing is under `key` yet (S3's conditional write,
        `If-None-Match: *`): the first upload wins. The SHA-256 of the file stored under `key`,
        this one's or the winner's."""
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/pdf",
                                ServerSideEncryption="AES256", Metadata={"sha256": sha256_hex}, IfNoneMatch="*")
        except ClientError as e:
            # 412: a file is there; 409: another conditional write to the key is under way.
            if e.response.get("Error", {}).get("Code") not in ("PreconditionFailed", "ConditionalRequestConflict"):
                raise
            stored = self.stored_sha256(key)
            if stored is None:  # the concurrent write did not complete: the queue tries again
                raise
            return stored
        return sha256_hex

    def stored_sha256(self, key: str) -> str | None:
        """The SHA-256 of the PDF under `key` (from the metadata it was stored with), or None."""
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        stored = head.get("Metadata", {}).get("sha256")
        return str(stored) if stored else hashlib.sha256(self.get(key)).hexdigest()

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type,
                            ServerSideEncryption="AES256")

    def object_version(self, key: str, version_id: str | None = None) -> ObjectVersion:
        """This version of the object (by default the current one) and its ETag; LookupError when
        it is gone. A bucket never versioned says "null"."""
        try:
            head = self._s3.head_object(Bucket=self.bucket, Key=key, **_version(version_id or "null"))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchVersion"):
                raise LookupError(key) from None
            raise
        return ObjectVersion(str(head.get("VersionId") or "null"), str(head["ETag"]).strip('"'),
                             head["LastModified"].isoformat())

    def blocks(self, key: str, version_id: str, size: int = 1 << 20) -> Iterator[bytes]:
        """One version of an object, streamed in blocks."""
        body = self._s3.get_object(Bucket=self.bucket, Key=key, **_version(version_id))["Body"]
        try:
            yield from body.iter_chunks(size)
        finally:
            body.close()

    def byte_range(self, key: str, version_id: str, start: int, end: int) -> bytes:
        """Bytes [start, end) of one version of an object."""
        if end <= start:
            return b""
        got = self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}",
                                  **_version(version_id))
        return bytes(got["Body"].read())

    def put_json(self, key: str, data: dict[str, Any]) -> None:
        self._s3.put_object(Bucket=self.bucket, Key=key, ContentType="application/json; charset=utf-8",
                            ServerSideEncryption="AES256",
                            Body=json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8"))

    def get_json(self, key: str) -> dict[str, Any]:
        return dict(json.loads(self.get(key)))

    def get(self, key: str) -> bytes:
        return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def presigned_pdf(self, key: str, *, disposition: str, filename: str, now: datetime,
                      not_after: datetime | None = None) -> tuple[str, datetime]:
        """A GET link that lives at most 300 s and never past `not_after`."""
        expires_at = now + MAX_LINK_LIFETIME
        if not_after is not None:
            expires_at = min(expires_at, not_after)
        seconds = max(1, int((expires_at - now).total_seconds()))
        url = self._s3.generate_presigned_url("get_object", ExpiresIn=seconds, Params={
            "Bucket": self.bucket, "Key": key, "ResponseContentType": "application/pdf",
            "ResponseContentDisposition": content_disposition(disposition, filename)})
        return str(url), now + timedelta(seconds=seconds)
