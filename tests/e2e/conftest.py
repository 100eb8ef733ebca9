"""End-to-end tests drive the local stack over real HTTP, started exactly as `make run`
starts it (`python -m infra.local`), on free ports."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stack:
    def __init__(self, base: str, aws: str, log: Path, clock_file: Path) -> None:
        self.base = base
        self.aws = aws
        self.log = log
        self.clock_file = clock_file

    def url(self, path: str) -> str:
        return self.base + path

    @contextmanager
    def clock_moved(self, seconds: float) -> Iterator[None]:
        """Move the server's clock forward (the local stack's --clock-file), then back."""
        self.clock_file.write_text(str(seconds))
        try:
            yield
        finally:
            self.clock_file.write_text("0")


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    port, aws_port = _free_port(), _free_port()
    workdir = tmp_path_factory.mktemp("stack")
    log, clock_file = workdir / "stack.log", workdir / "clock"
    clock_file.write_text("0")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PORT=str(port), AWS_MOCK_PORT=str(aws_port), PYTHONUNBUFFERED="1")
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "infra.local", "--clock-file", str(clock_file)], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the local stack exited early:\n{log.read_text()}")
        try:
            if requests.get(base + "/health", timeout=1).status_code == 200 and "ready" in log.read_text():
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the local stack did not start:\n{log.read_text()}")
        time.sleep(0.2)
    yield Stack(base, f"http://127.0.0.1:{aws_port}", log, clock_file)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the local stack did not stop on SIGTERM")
