"""The Lambda package leaves out the modules no path imports (infra/package.py): the API must
answer and the worker must render, sign and make certificate files without them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from infra.package import NEVER_IMPORTED, PROBE, keep


def run_probe(blocked: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE.format(blocked=blocked)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], check=False, timeout=120)


def test_the_api_answers_and_the_worker_renders_and_signs_without_the_modules_left_out() -> None:
    done = run_probe(list(NEVER_IMPORTED))
    assert done.stdout.strip().endswith("ok"), done.stderr


def test_the_probe_fails_when_a_module_it_needs_is_blocked() -> None:
    done = run_probe(["fontTools.varLib"])
    assert not done.stdout.strip().endswith("ok")
    assert "fontTools.varLib" in done.stderr


def test_a_left_out_package_goes_whole_and_its_siblings_stay() -> None:
    assert not keep("fontTools/cu2qu/cu2qu.py")
    assert not keep("aws_lambda_powertools/event_handler/api_gateway.py")
    assert not keep("oscrypto-1.3.0.dist-info/METADATA")
    assert keep("fontTools/ttLib/tables/_g_l_y_f.py")
    assert keep("fontTools/varLib/__init__.py")
    assert keep("aws_lambda_powertools/utilities/jmespath_utils/__init__.py")
    assert keep("_cffi_backend.cpython-311-x86_64-linux-gnu.so")


def test_the_bytecode_added_to_the_package_is_what_python_loads_and_is_never_checked_against_the_source(
        tmp_path: Path) -> None:
    from infra.package import bytecode, pycache_name

    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    compiled = tmp_path / pycache_name("pkg/mod.py")
    compiled.parent.mkdir()
    compiled.write_bytes(bytecode(b"ORIGIN = 'bytecode'\n", "pkg/mod.py"))
    # A source that differs from what was compiled: Python must still load the bytecode (the
    # zip's timestamps cannot be trusted, so nothing compares the two).
    (tmp_path / "pkg" / "mod.py").write_text("ORIGIN = 'source'\n")
    loaded = subprocess.run([sys.executable, "-c", "from pkg import mod; print(mod.ORIGIN)"], cwd=tmp_path,
                            capture_output=True, text=True, check=True, timeout=60)
    assert loaded.stdout.strip() == "bytecode"
