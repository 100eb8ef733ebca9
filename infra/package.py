"""`make package`: merge resources.yaml and overrides.yaml into one merge template and run
`chalice package --merge-template` with it, into build/."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
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
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603
    if code == 0:
        slim(BUILD / "package" / "deployment.zip")
    return code


# What the Lambda Python runtime already has (it ships boto3 and its dependencies), and
# sources that wheels carry beside their compiled modules.
RUNTIME_PROVIDED = ("botocore", "boto3", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# Installed as dependencies but never imported on our paths (images in fpdf2, XML in pyHanko);
# tests/unit/test_package_exclusions.py renders and signs a copy with them blocked.
NEVER_IMPORTED = ("lxml", "PIL", "pillow")
DROPPED_SUFFIXES = (".c", ".pyx", ".pxd", ".pyi")


def slim(path: Path) -> None:
    """Rewrite the deployment package without what Lambda provides or never runs."""
    def keep(name: str) -> bool:
        top = name.split("/", 1)[0]
        provided = any(top == p or (top.startswith(p.removesuffix(".py") + "-") and top.endswith(".dist-info"))
                       for p in RUNTIME_PROVIDED + NEVER_IMPORTED)
        return not provided and not name.endswith(DROPPED_SUFFIXES)

    slimmed = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(slimmed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in source.infolist():
            if keep(info.filename):
                out.writestr(info, source.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    slimmed.replace(path)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
