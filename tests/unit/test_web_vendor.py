"""The one third-party browser file: pinned to an exact version with its integrity hash, fetched by
`make web-deps` into a path the pages serve, and never committed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.api import pages

ROOT = Path(__file__).resolve().parents[2]


def test_every_npm_dependency_is_pinned_exactly_with_a_sha512_integrity() -> None:
    wanted = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))["dependencies"]
    locked = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    assert wanted == {"jsqr": "1.4.0"}
    for name, version in wanted.items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), name
        entry = locked[f"node_modules/{name}"]
        assert entry["version"] == version and entry["integrity"].startswith("sha512-")
    assert set(locked) == {"", *(f"node_modules/{name}" for name in wanted)}  # nothing pulled in besides


def test_the_decoder_is_served_from_the_pages_own_files_and_kept_out_of_git() -> None:
    assert pages.STATIC_FILES["jsQR.js"].startswith("text/javascript")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "npm ci" in makefile and "cp node_modules/jsqr/dist/jsQR.js $@" in makefile
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert {"node_modules/", "/chalicelib/web/jsQR.js", "/chalicelib/web/jsQR.LICENSE"} <= set(ignored)
