"""The local stack's trust services: an RFC 3161 time-stamping authority and the CA's CRL, on a
port of their own.

    POST /tsa      application/timestamp-query -> application/timestamp-reply (OpenSSL's `ts -reply`)
    GET  /ca.crl   the local CA's CRL (DER), as the certificates' CRL distribution point names it

The answers are OpenSSL's: this module only carries bytes between HTTP and `openssl ts
-reply` (Debian's openssl), which signs each reply with the TSA certificate the local CA issued
(`infra/pki.py`: extendedKeyUsage timeStamping, critical). The local stack starts it before
deploying (`infra/local.py`), so the signing certificate can name the CRL's URL on whatever
free port the server got; production points `TSA_URL` at the issuing authority's TSA and the
certificates at its CRL instead.

One `openssl` process per request, a few milliseconds; requests are taken one at a time,
since OpenSSL reads and rewrites the serial-number file on each.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.pki import LocalPki, create_local_pki

# A policy OID for the local TSA's tokens (a private arc: the tokens mean nothing outside this machine).
LOCAL_POLICY = "1.3.6.1.4.1.55555.3161.1"
MAX_QUERY = 16 * 1024
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

_CONFIG = """\
[ tsa ]
default_tsa = local_tsa

[ local_tsa ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/ca.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


class TrustServices(ThreadingHTTPServer):
    """The TSA and the CRL, served from a thread of this process. `available = False` makes the
    TSA answer 503 (for tests of a TSA that is down); the CRL is still served."""

    daemon_threads = True

    def __init__(self, host: str, port: int) -> None:
        super().__init__((host, port), _Handler)
        self.base_url = f"http://{host}:{self.server_address[1]}"
        self.tsa_url = self.base_url + "/tsa"
        self.crl_url = self.base_url + "/ca.crl"
        self.available = True
        self.pki: LocalPki | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="tsa-"))
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def install(self, pki: LocalPki) -> None:
        """Serve with this PKI's TSA certificate and CRL."""
        (self._dir / "tsa.pem").write_bytes(pki.tsa_cert_pem)
        (self._dir / "ca.pem").write_bytes(pki.ca_cert_pem)
        key = self._dir / "tsa.key"
        key.touch(mode=0o600)
        key.write_bytes(pki.tsa_key_pem)
        (self._dir / "serial").write_text("01\n")
        (self._dir / "openssl.cnf").write_text(_CONFIG.format(dir=self._dir, policy=LOCAL_POLICY))
        self.pki = pki

    def start(self) -> TrustServices:
        self._thread = threading.Thread(target=self.serve_forever, name="trust-services", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def reply(self, query: bytes) -> bytes:
        with self._lock:
            done = subprocess.run(  # noqa: S603 - fixed arguments, our own files
                [OPENSSL, "ts", "-reply", "-config", str(self._dir / "openssl.cnf"), "-queryfile", "/dev/stdin",
                 "-out", "/dev/stdout"],
                input=query, capture_output=True, check=False, timeout=10)
        if done.returncode != 0 or not done.stdout:
            raise RuntimeError(f"openssl ts -reply failed: {done.stderr.decode(errors='replace')[:500]}")
        return done.stdout


def start_trust_services(host: str = "127.0.0.1", port: int = 0, *, now: datetime | None = None) -> TrustServices:
    """Bind a port, make the local PKI naming this server's CRL, and serve."""
    server = TrustServices(host, port)
    server.install(create_local_pki(now=now or datetime.now(UTC), crl_url=server.crl_url))
    return server.start()


class _Handler(BaseHTTPRequestHandler):
    server: TrustServices
    protocol_version = "HTTP/1.1"  # keep-alive: the worker's connection pool reuses one connection

    def setup(self) -> None:
        super().setup()
        # The status line and headers go out before the body: without this, Nagle's algorithm
        # and the client's delayed ACK hold every answer back by 40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        if self.path != "/tsa":
            return self._send(404, b"", "text/plain")
        size = int(self.headers.get("Content-Length") or 0)
        if not 0 < size <= MAX_QUERY:
            return self._send(400, b"", "text/plain")
        query = self.rfile.read(size)
        if not self.server.available or self.server.pki is None:
            return self._send(503, b"", "text/plain")
        try:
            answer = self.server.reply(query)
        except (RuntimeError, subprocess.TimeoutExpired):
            return self._send(500, b"", "text/plain")
        self._send(200, answer, "application/timestamp-reply")

    def do_GET(self) -> None:
        if self.path != "/ca.crl" or self.server.pki is None:
            return self._send(404, b"", "text/plain")
        self._send(200, self.server.pki.crl(datetime.now(UTC)), "application/pkix-crl")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per copy would drown the stack's log
