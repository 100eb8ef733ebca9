"""`make package`: merge resources.yaml and overrides.yaml into one merge template and run
`chalice package --merge-template` with it, into build/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.deploy import load_template

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and not _intrinsic(value):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _intrinsic(value: dict[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def main(stage: str = "prod") -> int:
    resources = load_template((ROOT / "infra" / "resources.yaml").read_text(encoding="utf-8"))
    overrides = load_template((ROOT / "infra" / "overrides.yaml").read_text(encoding="utf-8"))
    merged = deep_merge(resources, overrides)
    BUILD.mkdir(exist_ok=True)
    merge_file = BUILD / "merge.json"
    merge_file.write_text(json.dumps(merged, ensure_ascii=False, indent=1), encoding="utf-8")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "cn-north-1")}
    command = [str(Path(sys.executable).with_name("chalice")), "package", "--stage", stage,
               "--merge-template", str(merge_file), str(BUILD / "package")]
    return subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
