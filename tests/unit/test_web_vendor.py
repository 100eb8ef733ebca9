"""The one third-party browser file the pages serve, and the one the browser tests load: pinned
to exact versions with their integrity hashes, fetched by `make web-deps`, and never committed."""

from __future__ import annotations

import json
import re
from pathlib import Path

from chalicelib.api import pages

ROOT = Path(__file__).resolve().parents[2]


def test_every_npm_dependency_is_pinned_exactly_with_a_sha512_integrity() -> None:
    package = json.loads((ROOT / "package.json").read_text(encoding="utf-8"))
    locked = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))["packages"]
    # What the pages serve, and what only the browser tests load (axe-core, never served by the app).
    assert package["dependencies"] == {"jsqr": "1.4.0"}
    assert package["devDependencies"] == {"axe-core": "4.10.3"}
    wanted = {**package["dependencies"], **package["devDependencies"]}
    assert not any(name.startswith("axe") for name in pages.STATIC_FILES)
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
