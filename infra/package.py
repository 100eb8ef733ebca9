"""`make package`: merge resources.yaml, overrides.yaml and operations.yaml into one merge
template, run `chalice package --merge-template` with it, into build/, and give every function
what infra/operations.py says each one gets."""

from __future__ import annotations

import importlib.util
import json
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from infra.deploy import load_template
from infra.operations import for_every_function

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


# Merged in this order over Chalice's template: the stateful resources (the local stack's too),
# the functions' wiring and roles, what only the deployed stack has.
MERGED = ("resources.yaml", "overrides.yaml", "operations.yaml")


def merge_template() -> dict[str, Any]:
    """What `chalice package` gets as its merge template (build/merge.json)."""
    merged: dict[str, Any] = {}
    for name in MERGED:
        merged = deep_merge(merged, load_template((ROOT / "infra" / name).read_text(encoding="utf-8")))
    return merged


def main(stage: str = "prod") -> int:
    merged = merge_template()
    BUILD.mkdir(exist_ok=True)
    merge_file = BUILD / "merge.json"
    merge_file.write_text(json.dumps(merged, ensure_ascii=False, indent=1), encoding="utf-8")
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "cn-north-1")}
    command = [str(Path(sys.executable).with_name("chalice")), "package", "--stage", stage,
               "--merge-template", str(merge_file), str(BUILD / "package")]
    code = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603
    if code == 0:
        template = BUILD / "package" / "sam.json"
        template.write_text(json.dumps(for_every_function(json.loads(template.read_text(encoding="utf-8"))),
                                       ensure_ascii=False, indent=2), encoding="utf-8")
        _same_python_as_lambda(template)
        package = BUILD / "package" / "deployment.zip"
        slim(package)
        loaded = probe(package)
        if loaded is None:
            return 1
        add_bytecode(package, loaded)
        code = 0 if probe(package) is not None else 1  # again, loading the bytecode just added
    return code


# What the Lambda Python runtime already has (it ships boto3 and its dependencies), and
# sources that wheels carry beside their compiled modules.
RUNTIME_PROVIDED = ("botocore", "boto3", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# Installed as dependencies, but no path of ours imports them: not the API, not a worker rendering,
# signing or making a certificate file (tests/unit/test_package_exclusions.py does all of that with
# each of them blocked). Whole packages only: fontTools loads its table modules lazily, so
# fontTools.ttLib stays whole.
NEVER_IMPORTED = (
    "lxml", "PIL",  # images in fpdf2, XML in pyHanko
    "cffi", "pycparser",  # cffi's compiler; the compiled bindings need only _cffi_backend
    "oscrypto",  # pyhanko-certvalidator's system trust roots: we sign, we never validate
    # fontTools: fpdf2 uses ttLib, subset and (at import) varLib; not the font compilers and converters
    "fontTools.cu2qu", "fontTools.qu2cu", "fontTools.ufoLib", "fontTools.voltLib", "fontTools.mtiLib",
    "fontTools.merge", "fontTools.t1Lib", "fontTools.diff", "fontTools.misc.filesystem",
    "fontTools.varLib.avar",
    # Powertools: we use Logger and Metrics, not the web framework or the utilities
    "aws_lambda_powertools.event_handler", "aws_lambda_powertools.metrics.provider.datadog",
    *(f"aws_lambda_powertools.utilities.{name}" for name in (
        "auth_alpha", "batch", "circuit_breaker", "data_classes", "data_masking", "feature_flags",
        "idempotency", "kafka", "parameters", "parser", "streaming")),
)
NEVER_IMPORTED_DISTRIBUTIONS = ("lxml", "pillow", "cffi", "pycparser", "oscrypto")
DROPPED_SUFFIXES = (".c", ".pyx", ".pxd", ".pyi")


def keep(name: str) -> bool:
    """Whether a file of the package (its path in the zip) stays in it."""
    top = name.split("/", 1)[0]
    provided = any(top == p or (top.startswith(p.removesuffix(".py") + "-") and top.endswith(".dist-info"))
                   for p in RUNTIME_PROVIDED + NEVER_IMPORTED_DISTRIBUTIONS)
    unused = any(name.startswith(module.replace(".", "/") + "/") for module in NEVER_IMPORTED)
    return not provided and not unused and not name.endswith(DROPPED_SUFFIXES)


def strip_debug_info(library: bytes) -> bytes:
    """A compiled module without its debugging sections (`strip --strip-debug`: the code and the
    symbols stay): most wheels ship theirs unstripped, cryptography's 14 MB module included."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "module.so"
        path.write_bytes(library)
        subprocess.run(["strip", "--strip-debug", str(path)], check=True)  # noqa: S603, S607
        return path.read_bytes()


def _same_python_as_lambda(template: Path) -> None:
    """Bytecode is per Python version: the package's must be the functions' runtime's."""
    resources = json.loads(template.read_text(encoding="utf-8"))["Resources"].values()
    runtimes = {r["Properties"]["Runtime"] for r in resources if "Runtime" in r.get("Properties", {})}
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtimes != {here}:
        raise SystemExit(f"the functions run {sorted(runtimes)}, but the package is built with {here}")


def bytecode(source: bytes, name: str) -> bytes:
    """A module's compiled form for `__pycache__`, checked by nothing (unchecked-hash).

    Lambda's /var/task is read-only, so without these every cold start compiles every module
    from source; a zip's timestamps cannot be trusted, so the .pyc is never compared with them
    (a new package replaces the whole directory anyway)."""
    with tempfile.TemporaryDirectory() as tmp:
        source_file, compiled = Path(tmp) / "module.py", Path(tmp) / "module.pyc"
        source_file.write_bytes(source)
        py_compile.compile(str(source_file), cfile=str(compiled), dfile=name, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        return compiled.read_bytes()


def pycache_name(name: str) -> str:
    """`pkg/mod.py` -> `pkg/__pycache__/mod.cpython-311.pyc`, for the Python running the build."""
    folder, _, file = name.rpartition("/")
    compiled = f"__pycache__/{file.removesuffix('.py')}.{sys.implementation.cache_tag}.pyc"
    return f"{folder}/{compiled}" if folder else compiled


def slim(path: Path) -> None:
    """Rewrite the deployment package without what Lambda provides or never runs, with
    compiled modules stripped of debugging sections."""
    slimmed = path.with_suffix(".slim.zip")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(slimmed, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in source.infolist():
            if keep(info.filename):
                data = source.read(info)
                if info.filename.endswith(".so"):
                    data = strip_debug_info(data)
                out.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    slimmed.replace(path)


def add_bytecode(path: Path, modules: set[str]) -> None:
    """Add the compiled form of these modules (paths in the package) and of all our own code.

    Only what the API's functions import (the probe below finds it), where a cold start keeps a
    person waiting: bytecode for every module would add about 4 MB, the API's adds 0.7 MB. The
    workers' own libraries (fpdf2, fontTools, pyHanko) are compiled on their first use, as before."""
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as package:
        sources = [info for info in package.infolist() if info.filename.endswith(".py")
                   and (info.filename in modules or info.filename == "app.py"
                        or info.filename.startswith("chalicelib/"))]
        for info in sources:
            compiled = zipfile.ZipInfo(pycache_name(info.filename), date_time=info.date_time)
            compiled.external_attr = info.external_attr
            package.writestr(compiled, bytecode(package.read(info), info.filename),
                             compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)


# What the package must still do: the API answers a request (called as Lambda calls it), and a
# worker renders, signs and makes a certificate file. The unit tests run it with NEVER_IMPORTED
# blocked, `make package` with nothing on the path but the package and the runtime's libraries.
PROBE = """
import sys
for name in {blocked!r}:
    sys.modules[name] = None
from datetime import UTC, date, datetime, timedelta
import app
for path in ("/health", "/notice", "/scenarios", "/"):
    event = {{"resource": path, "path": path, "httpMethod": "GET", "headers": {{}}, "body": None,
              "multiValueQueryStringParameters": None, "pathParameters": None, "stageVariables": None,
              "isBase64Encoded": False, "requestContext": {{"resourcePath": path, "httpMethod": "GET",
                                                           "requestId": "probe"}}}}
    assert app.app(event, None)["statusCode"] == 200, path
api_modules = list(sys.modules.values())
from chalicelib import observability
from chalicelib.domain.certificates import Certificate, CertificateStatus
from chalicelib.services import copies
from chalicelib.services.efiles import FileFacts
from chalicelib.services.rendering import CopyFacts
from chalicelib.signing import PdfSigner
from infra.pki import create_local_material
now = datetime(2026, 11, 23, 2, tzinfo=UTC)
cert = Certificate("c1", "CH1", "注册测绘师", "", "", "张三", "resident_id", "11010519900307451X", "h",
                   date(2023, 12, 20), date(2023, 11, 25), "北京市人力资源和社会保障局", "010", CertificateStatus.VALID)
facts = CopyFacts(cert, "JZ1", "本人调用", now, now + timedelta(days=90), "ABCD-EFGH-JKLM-NPQR", "http://x/verify")
# unstamped: the probe has no TSA (a worker signer always has one, deps.pdf_signer)
assert copies.signed_copy(facts, signer=PdfSigner(create_local_material(now=now), unstamped=True)).startswith(b"%PDF")
assert copies.render_file(FileFacts(cert, "ABCD-EFGH-JKLM-NPQR", "http://x/verify", now)).startswith(b"%PDF")
assert copies.missing_glyphs("张三X") == set()
observability.count("ProbeCopies")
observability.flush()
print("ok")
"""


def probe(path: Path) -> set[str] | None:
    """Run PROBE on the package's own files (stripped modules included) and the runtime's
    libraries: the package's Python files the API's requests loaded, or None (and why, on
    stderr) if it fails."""
    contents, runtime = path.resolve().parent / "contents", path.resolve().parent / "runtime"
    tools = path.resolve().parent / "probe-tools"
    for directory in (contents, runtime, tools):
        shutil.rmtree(directory, ignore_errors=True)
    with zipfile.ZipFile(path) as package:
        package.extractall(contents)
    runtime.mkdir()
    for name in RUNTIME_PROVIDED:
        found = importlib.util.find_spec(name.removesuffix(".py"))
        assert found is not None and found.origin is not None, name
        origin = Path(found.origin)
        (runtime / name).symlink_to(origin.parent if origin.name == "__init__.py" else origin)
    # The probe's local signing key comes from infra/pki.py, which is not in the package: only
    # that file joins it, so a module missing from the package cannot be found in the repository.
    (tools / "infra").mkdir(parents=True)
    (tools / "infra" / "__init__.py").touch()
    shutil.copy(ROOT / "infra" / "pki.py", tools / "infra" / "pki.py")
    # -S: no site-packages.
    code = (f"import sys; sys.path[:0] = {[str(contents), str(runtime), str(tools)]!r}\n"
            + PROBE.format(blocked=[])
            + f"for m in api_modules:\n"
              f"    f = getattr(m, '__file__', None) or ''\n"
              f"    if f.startswith({str(contents) + '/'!r}) and f.endswith('.py'):\n"
              f"        print('loaded', f[{len(str(contents)) + 1}:])\n")
    done = subprocess.run([sys.executable, "-S", "-c", code], cwd=contents, capture_output=True,  # noqa: S603
                          text=True, check=False)
    lines = done.stdout.splitlines()
    if done.returncode == 0 and "ok" in lines:
        return {line.removeprefix("loaded ") for line in lines if line.startswith("loaded ")}
    print(f"the package fails its probe:\n{done.stdout}{done.stderr}", file=sys.stderr)
    return None


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
