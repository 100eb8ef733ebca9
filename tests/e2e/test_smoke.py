"""The operator's smoke test (`python -m infra.smoke`, `make smoke`) run as a subprocess against
the session's local stack, as an operator runs it against a deployment: with a proven test
holder it passes every step; with a wrong password it fails clearly and echoes nothing."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from infra.harness import ROOT
from tests.e2e.conftest import personal_data
from tests.e2e.helpers import HEADER, a_phone, a_resident_id, drop, login, prove, register, row

PUBLIC_STEPS = ["health", "notice", "scenarios", "page", "unknown code", "unknown path"]
HOLDER_STEPS = ["log in", "accept notice", "certificates", "apply", "ready", "download", "verify by code",
                "verify by file", "withdraw", "verify withdrawn", "log out"]
# A step's line: its mark, its name, and its time in ms or why it was skipped.
LINE = re.compile(r"^([✓✗-]) (.+?) +(?:(\d+) ms(?:  |$)|skipped: )", re.MULTILINE)


@pytest.fixture(scope="module")
def test_holder(stack: Any) -> dict[str, str]:
    """An operator's test holder: proven (by SMS), notice not yet accepted, with a revoked 电子证书,
    a 证书电子文件 and one valid 电子证书, the only one the smoke test can annotate."""
    id_number, phone, tag = a_resident_id(), a_phone(), secrets.token_hex(4).upper()
    drop(stack, f"smoke-{tag}.csv", HEADER + row(f"SR{tag}", id_number, status="revoked", phone=phone)
         + row(f"SF{tag}", id_number, issued="2019-05-01") + row(f"SV{tag}", id_number))
    holder = {"username": f"smoke_{tag.lower()}", "password": f"Smoke#{secrets.token_hex(6)}",
              "certificate_no": f"SV{tag}", "phone": phone, "id_number": id_number}
    assert register(stack, username=holder["username"], password=holder["password"], name="周九",
                    id_type="resident_id", id_number=id_number).status_code == 201
    prove(stack, login(stack, holder["username"], holder["password"])["access_token"], phone)
    return holder


@pytest.fixture
def own_throttle_window(stack: Any) -> Iterator[None]:
    """The smoke test's unknown code is a miss from 127.0.0.1, like other tests' misses: on a
    minute of its own on the server's clock, others cannot throttle it."""
    with stack.clock_moved(5 * 3600 + 90):
        yield


def smoke(stack: Any, username: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(SMOKE_USERNAME=username, SMOKE_PASSWORD=password, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "infra.smoke", "--base-url", stack.base, "--timeout", "10",
                           "--ready-within", "30"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def steps(output: str) -> dict[str, str]:
    return {name: mark for mark, name, _ in LINE.findall(output)}


def assert_nothing_secret(result: subprocess.CompletedProcess[str], holder: dict[str, str], password: str) -> None:
    output = result.stdout + result.stderr
    assert password not in output
    assert not re.search(r"eyJ[\w-]+\.", output), "a token was printed"
    assert holder["id_number"] not in output
    assert not holder["phone"] or holder["phone"] not in output
    assert not personal_data(output)


def test_the_smoke_test_passes_every_step_against_the_local_stack_with_a_proven_test_holder(
        stack: Any, test_holder: dict[str, str], own_throttle_window: None) -> None:
    result = smoke(stack, test_holder["username"], test_holder["password"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert steps(result.stdout) == dict.fromkeys(PUBLIC_STEPS + HOLDER_STEPS, "✓"), result.stdout
    assert all(ms.isdigit() for _, _, ms in LINE.findall(result.stdout))  # every step line is timed
    assert f"certificate {test_holder['certificate_no']}" in result.stdout  # the one valid 电子证书
    assert "cost to the test holder: 1 of the 3 copies per 90 days" in result.stdout
    assert "smoke PASSED: 17 passed, 0 failed, 0 skipped" in result.stdout
    assert_nothing_secret(result, test_holder, test_holder["password"])

    again = smoke(stack, test_holder["username"], test_holder["password"])  # the notice is accepted now
    assert again.returncode == 0, again.stdout
    assert "accept notice" not in steps(again.stdout)
    assert "(a withdrawn copy still counts; 2/3 used now)" in again.stdout


def test_the_smoke_test_fails_clearly_on_a_wrong_password_and_never_echoes_it(
        stack: Any, test_holder: dict[str, str], own_throttle_window: None) -> None:
    wrong = f"Wrong#{secrets.token_hex(6)}"
    result = smoke(stack, test_holder["username"], wrong)
    assert result.returncode == 1
    marks = steps(result.stdout)
    assert [marks[name] for name in PUBLIC_STEPS] == ["✓"] * len(PUBLIC_STEPS)
    assert marks["log in"] == "✗"
    assert "credentials were refused (HTTP 401 invalid_credentials" in result.stdout
    assert "tries left before a lock" in result.stdout
    assert {marks[name] for name in HOLDER_STEPS if name not in ("log in", "accept notice")} == {"-"}
    assert "smoke FAILED" in result.stdout
    assert_nothing_secret(result, test_holder, wrong)


def test_a_test_holder_with_nothing_to_annotate_fails_at_the_certificates_and_is_still_logged_out(
        stack: Any, own_throttle_window: None) -> None:
    id_number, tag = a_resident_id(), secrets.token_hex(4).upper()
    drop(stack, f"smoke-efile-{tag}.csv", HEADER + row(f"SE{tag}", id_number, issued="2019-05-01"))
    holder = {"username": f"smoke_e_{tag.lower()}", "password": f"Smoke#{secrets.token_hex(6)}", "phone": "",
              "id_number": id_number}
    assert register(stack, username=holder["username"], password=holder["password"], name="周九",
                    id_type="resident_id", id_number=id_number).status_code == 201
    prove(stack, login(stack, holder["username"], holder["password"])["access_token"], (f"SE{tag}", "周九"))
    result = smoke(stack, holder["username"], holder["password"])
    assert result.returncode == 1, result.stdout
    marks = steps(result.stdout)
    assert (marks["log in"], marks["certificates"], marks["log out"]) == ("✓", "✗", "✓"), result.stdout
    assert "1 listed, none a valid 电子证书" in result.stdout
    assert {marks[name] for name in ("apply", "ready", "download", "withdraw", "verify withdrawn")} == {"-"}
    assert "cost to the test holder" not in result.stdout
    assert_nothing_secret(result, holder, holder["password"])
