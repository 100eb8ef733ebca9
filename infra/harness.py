"""Start the local stack as `make run` does (`python -m infra.local`), on free ports, for
the end-to-end tests and the benchmarks; stop it with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from chalicelib.config import ENV_NAMES, LIMIT_ENV_NAMES

ROOT = Path(__file__).resolve().parent.parent


# The one-time code limits raised so far that they stop nothing: for tests and benchmarks that
# send many codes from one client address. Each is a setting; tests that are about a limit run
# on a stack with the defaults.
RAISED_CODE_LIMITS = {"CODE_SENDS_PER_MINUTE": "6000", "CODE_SENDS_PER_HOUR": "100000",
                      "CODE_SENDS_PER_DAY": "100000", "CODE_SENDS_PER_CLIENT_HOUR": "100000",
                      "CODE_WRONG_TRIES_PER_DAY": "100000"}


class StackFailed(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(stat: str) -> float:
    """User + system CPU seconds from a /proc/<pid>/stat line (fields 14 and 15)."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stack:
    def __init__(self, base: str, aws: str, log: Path, clock_file: Path, started_in: float, pid: int) -> None:
        self.base = base
        self.aws = aws
        self.log = log
        self.clock_file = clock_file
        self.started_in = started_in
        self.pid = pid

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by the stack's process and by its children (the embedded AWS)."""
        stack = _cpu_seconds(Path(f"/proc/{self.pid}/stat").read_text())
        children = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                text = stat.read_text()
            except OSError:
                continue  # gone meanwhile
            if int(text.rsplit(")", 1)[1].split()[1]) == self.pid:
                children += _cpu_seconds(text)
        return {"stack": stack, "embedded AWS": children}

    def url(self, path: str) -> str:
        return self.base + path

    @contextmanager
    def clock_moved(self, seconds: float) -> Iterator[None]:
        """Move the server's clock forward (the local stack's --clock-file), then back."""
        before = self.clock_file.read_text()
        self.clock_file.write_text(str(seconds))
        try:
            yield
        finally:
            self.clock_file.write_text(before)


@contextmanager
def running_stack(workdir: Path | None = None, env: dict[str, str] | None = None,
                  timeout: float = 90, dynamodb: str = "moto") -> Iterator[Stack]:
    """The local stack on free ports; `dynamodb="local"` gives it AWS's DynamoDB Local for DynamoDB."""
    import requests

    workdir = workdir or Path(tempfile.mkdtemp(prefix="stack-"))
    port, aws_port = free_port(), free_port()
    log, clock_file = workdir / "stack.log", workdir / "clock"
    clock_file.write_text("0")
    # The stack configures itself as `make run` does: nothing of AWS, and none of the app's own
    # settings, comes from the calling process (a test session that ran the app in-process has
    # set them for its moto; its PUBLIC_BASE_URL would be printed in the stack's QR codes).
    # A caller that wants a setting passes it in `env`.
    app_settings = {"PUBLIC_BASE_URL", "ALLOWED_ORIGINS", "CLOCK_OFFSET_FILE", "NOTIFY_OUTBOX", "DYNAMODB",
                    "DYNAMODB_LOCAL_PORT", "DYNAMODB_LOCAL_ENDPOINT", *ENV_NAMES.values(),
                    *LIMIT_ENV_NAMES.values()}
    child_env: dict[str, Any] = {k: v for k, v in os.environ.items()
                                 if not k.startswith("AWS_") and k not in app_settings}
    child_env.update(env or {})
    child_env.update(PORT=str(port), AWS_MOCK_PORT=str(aws_port), PYTHONUNBUFFERED="1")
    command = [sys.executable, "-m", "infra.local", "--clock-file", str(clock_file), "--dynamodb", dynamodb]
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(command, cwd=ROOT, env=child_env, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if proc.poll() is not None:
                raise StackFailed(f"the local stack exited early:\n{log.read_text()}")
            try:
                if requests.get(base + "/health", timeout=1).status_code == 200 and "ready" in log.read_text():
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise StackFailed(f"the local stack did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield Stack(base, f"http://127.0.0.1:{aws_port}", log, clock_file, time.perf_counter() - started,
                    proc.pid)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                raise StackFailed("the local stack did not stop on SIGTERM") from None
