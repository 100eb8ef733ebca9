"""The smoke test an operator runs after deploying: it drives the service over HTTP only,
through ../shared/API.md's contract, and prints one line per step and a summary.

    SMOKE_USERNAME=… SMOKE_PASSWORD=… python -m infra.smoke --base-url https://<api-id>.execute-api.<region>.amazonaws.com/api

Without credentials it checks what anyone can reach: health, the notice, the scenarios, the
page, a verification of a code that cannot exist and an unknown path. With the credentials of a
test holder (an account already proven, with at least one valid 电子证书) it also makes one
annotated copy end to end: log in, list the certificates, apply, wait until ready, download the
PDF, verify it by code and by file, withdraw it, check it now verifies as withdrawn, log out.

What a run costs the test holder: one of the 3 copies a certificate allows in 90 days (a
withdrawn copy still counts), taken from the valid 电子证书 with the most left; the copy is made
for 1 day and withdrawn at once; three checks appear in its verification log.

Only the standard library, so an operator needs nothing but Python 3.11. Credentials come from
the environment (never the command line, which other users can read in the process list). No
output line carries a token, a password, a link's signature, an ID number or a phone number.
Exit code 0 only when every step passed; 1 when one failed; 2 on a usage error.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, TextIO

# The verification code's alphabet and length (chalicelib.domain.annotations, not imported so
# that this runs without the app's dependencies): a random code of it is well-formed, and with
# 80 random bits it is as good as one that cannot exist.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 16
USER_AGENT = "certificates-smoke/1"
# ID numbers (18 characters, as resident IDs), mobile phone numbers and anything shaped like a
# JWT are never printed, even were the server's answer to carry them. Bounded by letters too, so
# that a certificate number (CH20231100123) stays readable.
_ID_OR_PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|1[3-9]\d{9})(?![0-9A-Za-z])")
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


class StepFailed(Exception):
    """A step's answer was not the one API.md promises; the message says how, for a person."""


def scrub(text: str, secrets_: tuple[str, ...] = ()) -> str:
    for secret in secrets_:
        if len(secret) >= 4:  # a shorter one would mask ordinary words; the service refuses such passwords
            text = text.replace(secret, "***")
    return _ID_OR_PHONE.sub("***", _JWT.sub("***", text))


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return str(self.headers.get("Content-Type", ""))

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise StepFailed(f"HTTP {self.status}: the body is not JSON ({self.content_type or 'no content type'})"
                             ) from None

    def problem(self) -> str:
        """What went wrong, in a few words: the status and the API's error code and message."""
        text = f"HTTP {self.status}"
        try:
            error = json.loads(self.body).get("error", {})
            text += f" {error.get('code')}: {str(error.get('message', ''))[:120]}"
        except (ValueError, AttributeError):
            text += f" ({self.content_type or 'no content type'})"
        return text


class Client:
    """One HTTP client over urllib: every request has a timeout and asks for English messages."""

    def __init__(self, base_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token: str | None = None

    def request(self, method: str, path: str, *, body: Any = None, data: bytes | None = None,
                content_type: str | None = None, accept: str = "application/json",
                absolute: bool = False, authorized: bool = True) -> Answer:
        url = path if absolute else self.base_url + path
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise StepFailed("only http and https addresses are fetched")
        headers = {"Accept": accept, "Accept-Language": "en", "User-Agent": USER_AGENT}
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        if self.token and authorized and not absolute:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 (checked above)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310 (checked above)
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as e:
            with e:
                return Answer(e.code, e.headers, e.read())
        except urllib.error.URLError as e:
            # The reason only: the address may be a presigned link, whose query is a credential.
            raise StepFailed(f"no answer: {e.reason}") from None
        except TimeoutError:
            raise StepFailed(f"no answer within {self.timeout:g} s") from None
        except OSError as e:
            raise StepFailed(f"no answer: {type(e).__name__}") from None


def expect(answer: Answer, status: int, what: str) -> Answer:
    if answer.status != status:
        raise StepFailed(f"{what}: expected HTTP {status}, got {answer.problem()}")
    return answer


def expect_error(answer: Answer, status: int, code: str) -> None:
    """The API's error format (API.md, Errors) with the documented code."""
    if answer.status != status:
        raise StepFailed(f"expected HTTP {status} {code}, got {answer.problem()}")
    body = answer.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or error.get("code") != code or not error.get("message"):
        raise StepFailed(f"expected {{\"error\": {{\"code\": \"{code}\", \"message\": …}}}}, got {answer.problem()}")


@dataclass
class Run:
    out: TextIO
    hidden: tuple[str, ...] = ()
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    started: float = field(default_factory=time.perf_counter)

    def step(self, name: str, action: Callable[[], str]) -> bool:
        """Run one step and print its line: `action` returns a detail for the line, or raises
        StepFailed. Whether it passed."""
        start = time.perf_counter()
        try:
            detail = action()
        except StepFailed as e:
            self.failed += 1
            self._line("✗", name, start, str(e))
            return False
        except Exception as e:  # an answer of an unforeseen shape: still one line, and no traceback
            self.failed += 1
            self._line("✗", name, start, f"unexpected answer ({type(e).__name__}: {str(e)[:80]})")
            return False
        self.passed += 1
        self._line("✓", name, start, detail)
        return True

    def skip(self, name: str, why: str) -> None:
        self.skipped += 1
        print(f"- {name:<22} {'':>8}  skipped: {why}", file=self.out, flush=True)

    def note(self, text: str) -> None:
        print(f"  {scrub(text, self.hidden)}", file=self.out, flush=True)

    def _line(self, mark: str, name: str, start: float, detail: str) -> None:
        ms = (time.perf_counter() - start) * 1000
        detail = scrub(detail, self.hidden)
        print(f"{mark} {name:<22} {ms:>5.0f} ms  {detail}".rstrip(), file=self.out, flush=True)

    def summary(self, base_url: str) -> None:
        ms = (time.perf_counter() - self.started) * 1000
        verdict = "PASSED" if self.failed == 0 else "FAILED"
        print(f"smoke {verdict}: {self.passed} passed, {self.failed} failed, {self.skipped} skipped "
              f"in {ms:.0f} ms against {base_url}", file=self.out, flush=True)


# --- the public steps ------------------------------------------------------------------------------

def check_health(client: Client) -> str:
    body = expect(client.request("GET", "/health"), 200, "GET /health").json()
    if body != {"status": "ok"}:
        raise StepFailed(f'expected {{"status": "ok"}}, got {str(body)[:80]}')
    return ""


def check_notice(client: Client) -> str:
    body = expect(client.request("GET", "/notice"), 200, "GET /notice").json()
    if not (isinstance(body, dict) and body.get("version") and body.get("title") and body.get("body")):
        raise StepFailed("expected {version, title, body}, each non-empty")
    return f"version {body['version']}"


def check_scenarios(client: Client, chosen: list[str]) -> str:
    body = expect(client.request("GET", "/scenarios"), 200, "GET /scenarios").json()
    codes = [str(item.get("code")) for item in body.get("items", []) if isinstance(item, dict) and item.get("code")]
    if not codes:
        raise StepFailed("expected {items: [{code, name}]} with at least one scenario")
    # 本人调用 is the scenario API.md names; another deployment's list may offer others.
    chosen.append("self_use" if "self_use" in codes else codes[0])
    return ", ".join(codes)


def check_page(client: Client) -> str:
    answer = expect(client.request("GET", "/", accept="text/html"), 200, "GET /")
    if not answer.content_type.startswith("text/html"):
        raise StepFailed(f"expected text/html, got {answer.content_type or 'no content type'}")
    if b"<html" not in answer.body[:2000].lower():
        raise StepFailed("the body is not an HTML page")
    missing = [h for h in ("Content-Security-Policy", "X-Content-Type-Options") if not answer.headers.get(h)]
    if missing:
        raise StepFailed(f"the page lacks {', '.join(missing)}")
    if "frame-ancestors 'none'" not in str(answer.headers.get("Content-Security-Policy")):
        raise StepFailed("the page's Content-Security-Policy lacks frame-ancestors 'none'")
    return f"{len(answer.body) // 1024} KB"


def check_unknown_code(client: Client) -> str:
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    expect_error(client.request("GET", f"/verify/{code}"), 404, "unknown_code")
    return "404 unknown_code"


def check_unknown_path(client: Client) -> str:
    expect_error(client.request("GET", f"/smoke-no-such-path-{secrets.token_hex(4)}"), 404, "not_found")
    return "404 not_found"


# --- the holder's steps ----------------------------------------------------------------------------

@dataclass
class Journey:
    client: Client
    scenario: str
    ready_within: float
    poll_interval: float
    session: dict[str, Any] = field(default_factory=dict)
    certificate: dict[str, Any] = field(default_factory=dict)
    quota: dict[str, Any] = field(default_factory=dict)
    annotation: dict[str, Any] = field(default_factory=dict)
    pdf: bytes = b""

    def log_in(self, username: str, password: str) -> str:
        answer = self.client.request("POST", "/auth/login", body={"username": username, "password": password})
        if answer.status in (401, 429):
            details = (answer.json().get("error") or {}).get("details") or {}
            left = details.get("attempts_left", details.get("retry_after_seconds"))
            more = "" if left is None else \
                f"; {left} tries left before a lock" if answer.status == 401 else f"; locked for {left} s"
            raise StepFailed(f"the test holder's credentials were refused ({answer.problem()}{more})")
        self.session = expect(answer, 200, "POST /auth/login").json()
        self.client.token = str(self.session["access_token"])
        proven = "proven" if self.session.get("identity_verified") else "NOT proven"
        return f"identity {proven}, notice {'accepted' if self.session.get('notice_accepted') else 'new'}"

    def accept_notice(self) -> str:
        # The test holder's own account: a new notice version would otherwise fail every run
        # until someone signs in by hand.
        version = self.session["notice_version"]
        expect(self.client.request("POST", "/notice/accept", body={"version": version}), 204, "POST /notice/accept")
        return f"version {version} was not accepted yet"

    def list_certificates(self) -> str:
        answer = self.client.request("GET", "/certificates")
        if answer.status == 403:
            raise StepFailed(f"{answer.problem()} (prove the test holder's identity once, on the page)")
        items = expect(answer, 200, "GET /certificates").json()["items"]
        usable = [c for c in items if c.get("status") == "valid" and c.get("kind") == "e_certificate"]
        if not usable:
            raise StepFailed(f"{len(items)} listed, none a valid 电子证书: the test holder needs one")
        # The one with the most copies left, so that runs spread over the holder's certificates.
        best: tuple[dict[str, Any], dict[str, Any]] | None = None
        for cert in usable[:10]:
            listing = expect(self.client.request("GET", f"/certificates/{cert['certificate_id']}/annotations"),
                             200, "GET /certificates/{id}/annotations").json()
            quota = listing["quota"]
            if best is None or quota["used"] < best[1]["used"]:
                best = cert, quota
        assert best is not None
        self.certificate, self.quota = best
        if self.quota["used"] >= self.quota["limit"]:
            raise StepFailed(f"every valid 电子证书 has used its {self.quota['limit']} copies in "
                             f"{self.quota['window_days']} days; the next one on {self.quota.get('next_available_on')}")
        return (f"{len(items)} listed; {self.certificate['certificate_no']} has used "
                f"{self.quota['used']}/{self.quota['limit']}")

    def apply(self) -> str:
        # 1 day, the shortest: were the withdrawal to fail, the copy would still lapse tomorrow.
        answer = self.client.request("POST", f"/certificates/{self.certificate['certificate_id']}/annotations",
                                     body={"scenario": self.scenario, "validity_days": 1})
        self.annotation = expect(answer, 202, "POST /certificates/{id}/annotations").json()
        if self.annotation.get("status") not in ("pending", "ready"):
            raise StepFailed(f"expected status pending, got {self.annotation.get('status')}")
        return f"{self.annotation['annotation_id']} ({self.scenario}, 1 day)"

    def wait_until_ready(self) -> str:
        deadline = time.monotonic() + self.ready_within
        polls = 0
        while self.annotation["status"] == "pending":
            if time.monotonic() > deadline:
                raise StepFailed(f"still pending after {self.ready_within:g} s")
            time.sleep(self.poll_interval)
            polls += 1
            answer = self.client.request("GET", f"/annotations/{self.annotation['annotation_id']}")
            self.annotation = expect(answer, 200, "GET /annotations/{id}").json()
        if self.annotation["status"] != "ready":
            raise StepFailed(f"became {self.annotation['status']}, not ready")
        return f"after {polls} poll{'s' if polls != 1 else ''}"

    def download(self) -> str:
        link = expect(self.client.request("GET", f"/annotations/{self.annotation['annotation_id']}/file"
                                                 "?disposition=attachment"), 200, "GET /annotations/{id}/file").json()
        answer = self.client.request("GET", str(link["url"]), accept="application/pdf", absolute=True)
        expect(answer, 200, "the presigned link")
        if not answer.content_type.startswith("application/pdf"):
            raise StepFailed(f"expected application/pdf, got {answer.content_type or 'no content type'}")
        if not answer.body.startswith(b"%PDF"):
            raise StepFailed("the file does not start with %PDF")
        sha256 = self.annotation.get("file_sha256")
        if sha256 and hashlib.sha256(answer.body).hexdigest() != sha256:
            raise StepFailed("the file's SHA-256 is not the annotation's file_sha256")
        self.pdf = answer.body
        return f"{len(answer.body) // 1024} KB, SHA-256 as listed"

    def _check_verification(self, answer: Answer, what: str, result: str) -> None:
        body = expect(answer, 200, what).json()
        if body.get("result") != result:
            raise StepFailed(f"expected result {result}, got {body.get('result')}")
        # `kind` and `modified_after_signing` are checked where the answer carries them: a
        # deployment from before they were added answers without them.
        if body.get("kind", "annotated_copy") != "annotated_copy" or \
                (body.get("annotation") or {}).get("annotation_no") != self.annotation["annotation_no"]:
            raise StepFailed("the answer is not about this copy")
        if body.get("modified_after_signing"):
            raise StepFailed(f"modified_after_signing: {body.get('modifications')}")

    def verify_by_code(self) -> str:
        code = self.annotation["verification_code"]
        self._check_verification(self.client.request("GET", f"/verify/{code}"), "GET /verify/{code}", "valid")
        return "valid"

    def verify_by_file(self) -> str:
        answer = self.client.request("POST", "/verify/file", data=self.pdf, content_type="application/pdf")
        self._check_verification(answer, "POST /verify/file", "valid")
        return "valid, not modified after signing"

    def withdraw(self) -> str:
        answer = self.client.request("POST", f"/annotations/{self.annotation['annotation_id']}/withdraw")
        status = expect(answer, 200, "POST /annotations/{id}/withdraw").json().get("status")
        if status != "withdrawn":
            raise StepFailed(f"expected status withdrawn, got {status}")
        return "withdrawn"

    def verify_withdrawn(self) -> str:
        code = self.annotation["verification_code"]
        self._check_verification(self.client.request("GET", f"/verify/{code}"), "GET /verify/{code}", "withdrawn")
        return "withdrawn"

    def log_out(self) -> str:
        expect(self.client.request("POST", "/auth/logout"), 204, "POST /auth/logout")
        after = self.client.request("GET", "/me")
        self.client.token = None
        if after.status != 401:
            raise StepFailed(f"the token still works after logging out ({after.problem()})")
        return "the token is refused afterwards"


def holder_journey(run: Run, journey: Journey, username: str, password: str) -> None:
    steps: list[tuple[str, Callable[[], str]]] = [
        ("certificates", journey.list_certificates), ("apply", journey.apply), ("ready", journey.wait_until_ready),
        ("download", journey.download), ("verify by code", journey.verify_by_code),
        ("verify by file", journey.verify_by_file)]
    if not run.step("log in", lambda: journey.log_in(username, password)):
        for name in [*(name for name, _ in steps), "withdraw", "verify withdrawn", "log out"]:
            run.skip(name, "not logged in")
        return
    try:
        if not journey.session.get("notice_accepted"):
            run.step("accept notice", journey.accept_notice)
        for index, (name, action) in enumerate(steps):
            if not run.step(name, action) and index < 4:  # the checks after these need their result
                for rest, _ in steps[index + 1:]:
                    run.skip(rest, f"{name} failed")
                break
    finally:
        # Whatever failed above (or on Ctrl-C), a ready copy is withdrawn and the session ended.
        if journey.annotation.get("status") == "ready":
            if run.step("withdraw", journey.withdraw):
                run.step("verify withdrawn", journey.verify_withdrawn)
            else:
                run.skip("verify withdrawn", "withdraw failed")
        else:
            run.skip("withdraw", "the copy never became ready" if journey.annotation else "no copy made")
            run.skip("verify withdrawn", "nothing withdrawn")
        run.step("log out", journey.log_out)
    if journey.annotation:
        quota = journey.quota
        run.note(f"cost to the test holder: 1 of the {quota['limit']} copies per {quota['window_days']} days of "
                 f"certificate {journey.certificate['certificate_no']} (a withdrawn copy still counts; "
                 f"{quota['used'] + 1}/{quota['limit']} used now)")


def credentials() -> tuple[str, str] | None:
    """The test holder's, from the environment; a password not given is asked for on a terminal."""
    username = os.environ.get("SMOKE_USERNAME", "")
    password = os.environ.get("SMOKE_PASSWORD", "")
    if username and not password and sys.stdin.isatty():
        password = getpass.getpass(f"password of {username}: ")
    if bool(username) != bool(password):
        raise SystemExit("smoke: set both SMOKE_USERNAME and SMOKE_PASSWORD, or neither")
    return (username, password) if username else None


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.smoke", description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", required=True,
                        help="the API root: http://127.0.0.1:8000, or https://<api-id>.execute-api.<region>"
                             ".amazonaws.com/api")
    parser.add_argument("--timeout", type=float, default=10, help="seconds for each request (default 10)")
    parser.add_argument("--ready-within", type=float, default=60,
                        help="seconds the copy may take to become ready (default 60)")
    parser.add_argument("--poll-interval", type=float, default=0.1, help="seconds between polls (default 0.1)")
    args = parser.parse_args(argv)
    if urllib.parse.urlsplit(args.base_url).scheme not in ("http", "https"):
        parser.error("--base-url must be an http:// or https:// address")
    try:
        creds = credentials()
    except SystemExit as e:
        print(e, file=sys.stderr)
        return 2
    client = Client(args.base_url, args.timeout)
    run = Run(out, hidden=(creds[1],) if creds else ())
    print(f"smoke test of {client.base_url}", file=out, flush=True)
    run.step("health", lambda: check_health(client))
    run.step("notice", lambda: check_notice(client))
    scenario: list[str] = []
    run.step("scenarios", lambda: check_scenarios(client, scenario))
    run.step("page", lambda: check_page(client))
    run.step("unknown code", lambda: check_unknown_code(client))
    run.step("unknown path", lambda: check_unknown_path(client))
    if creds is None:
        run.skip("holder journey", "SMOKE_USERNAME and SMOKE_PASSWORD not set")
    else:
        journey = Journey(client, (scenario or ["self_use"])[0], args.ready_within, args.poll_interval)
        holder_journey(run, journey, *creds)
    run.summary(client.base_url)
    return 0 if run.failed == 0 else 1


if __name__ == "__main__":
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="replace")
    sys.exit(main())
