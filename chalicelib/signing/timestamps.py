"""The RFC 3161 client (PAdES B-T): a signature value's SHA-256 imprint in, the time-stamping
authority's token out, checked; any failure is logged, counted (`TimestampFailed`) and raised
as `TimestampUnavailable`, so no copy is made without a timestamp and the queue retries it."""

from __future__ import annotations

import logging
import secrets
from typing import Any

from asn1crypto import tsp  # type: ignore[import-untyped]

from chalicelib import observability
from chalicelib.signing.container import DIGEST
from chalicelib.signing.errors import TimestampUnavailable, kind

log = logging.getLogger("chalicelib.signing")  # the logger name these lines had before the package split


class Timestamper:
    """An RFC 3161 client for one TSA (`TSA_URL`): a SHA-256 imprint in, the TSA's token out,
    its status, imprint and nonce checked. One connection pool, reused from copy to copy."""

    def __init__(self, url: str, *, timeout_s: float = 5.0) -> None:
        import urllib3

        self.url = url
        self._http = urllib3.PoolManager(maxsize=4, retries=False,
                                         timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s))

    def token(self, digest: bytes) -> Any:
        nonce = secrets.randbits(63)
        request = tsp.TimeStampReq({
            "version": 1, "nonce": nonce, "cert_req": True,
            "message_imprint": {"hash_algorithm": {"algorithm": DIGEST}, "hashed_message": digest},
        })
        try:
            answer = self._http.request("POST", self.url, body=request.dump(),
                                        headers={"Content-Type": "application/timestamp-query"})
            if answer.status != 200:
                raise ValueError(f"HTTP {answer.status}")
            response = tsp.TimeStampResp.load(answer.data)
            status = response["status"]["status"].native
            if status not in ("granted", "granted_with_mods"):
                raise ValueError(f"status {status}")
            token = response["time_stamp_token"]
            info = token["content"]["encap_content_info"]["content"].parsed
            if info["nonce"].native != nonce or info["message_imprint"]["hashed_message"].native != digest:
                raise ValueError("the token is not for this request")
        except Exception as e:  # a TSA down, slow or answering nonsense: all the same to the copy
            log.warning("no timestamp from the TSA at %s: %s", self.url, kind(e))
            observability.count("TimestampFailed")
            raise TimestampUnavailable(f"no timestamp from the TSA at {self.url}: {kind(e)}") from e
        return token
