"""Verification over HTTP: by code, by file (and a tampered file), in batch, the throttle,
withdrawal and the holder's log."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from tests.e2e.clients import client
from tests.e2e.helpers import (
    HEADER,
    a_resident_id,
    accepted_session,
    assert_error,
    auth,
    certificates,
    drop,
    register,
    row,
)


@pytest.fixture(autouse=True)
def own_throttle_window(stack: Any) -> Any:
    """Every client of the local stack is 127.0.0.1: these checks run in minutes of their
    own on the server's clock, so misses made by other tests cannot throttle them."""
    with stack.clock_moved(100 * 60):
        yield


@pytest.fixture(scope="module")
def holder(stack: Any) -> tuple[str, list[str]]:
    """A holder with three fresh e-certificates, loaded through a batch file."""
    id_number = a_resident_id("19920202")
    tag = id_number[-6:]
    drop(stack, f"verify-{tag}.csv", HEADER + "".join(row(f"VF{tag}{i}", id_number) for i in range(3)))
    username = f"verifier_{tag}"
    register(stack, username=username, password="Check#2026pw", name="周九", id_type="resident_id",
             id_number=id_number).raise_for_status()
    token = accepted_session(stack, username, "Check#2026pw", proof=(f"VF{tag}0", "周九"))
    return token, [c["certificate_id"] for c in certificates(stack, token).values()]


def ready_copy(stack: Any, token: str, certificate_id: str) -> dict[str, Any]:
    r = requests.post(stack.url(f"/certificates/{certificate_id}/annotations"), headers=auth(token),
                      json={"scenario": "self_use", "validity_days": 10}, timeout=10)
    assert r.status_code == 202, r.text
    annotation = r.json()
    deadline = time.monotonic() + 15
    while annotation["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        annotation = requests.get(stack.url(f"/annotations/{annotation['annotation_id']}"), headers=auth(token),
                                  timeout=5).json()
    assert annotation["status"] == "ready", annotation
    return dict(annotation)


def the_file(stack: Any, token: str, annotation_id: str) -> bytes:
    link = requests.get(stack.url(f"/annotations/{annotation_id}/file"), headers=auth(token), timeout=5).json()
    return requests.get(link["url"], timeout=10).content


def test_a_copy_verifies_by_code_qr_link_file_and_batch_and_its_holder_sees_each_check(stack, holder) -> None:
    token, certs = holder
    copy = ready_copy(stack, token, certs[0])
    by_code = requests.get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5)
    assert by_code.status_code == 200
    answer = by_code.json()
    assert answer["result"] == "valid"
    assert answer["certificate"]["id_number_masked"].count("*") == 8
    assert answer["annotation"]["annotation_no"] == copy["annotation_no"]
    assert copy["verify_url"].startswith(stack.base + "/verify?code=")
    pdf = the_file(stack, token, copy["annotation_id"])
    # The log keeps one check a minute per copy and client: the other channels come from clients of their own.
    by_file = client("127.0.0.21").post(stack.url("/verify/file"), data=pdf,
                                        headers={"Content-Type": "application/pdf"}, timeout=10)
    assert by_file.status_code == 200 and by_file.json()["result"] == "valid"
    tampered = bytearray(pdf)
    tampered[len(pdf) // 2] ^= 0x01
    assert_error(requests.post(stack.url("/verify/file"), data=bytes(tampered),
                               headers={"Content-Type": "application/pdf"}, timeout=10), 404, "unknown_document")
    batch = client("127.0.0.22").post(stack.url("/verify/batch"), json={"codes": ["XXXX", copy["verification_code"]]},
                                      timeout=10).json()
    assert [i["result"] for i in batch["items"]] == ["unknown", "valid"]
    log = requests.get(stack.url(f"/annotations/{copy['annotation_id']}/verifications"), headers=auth(token),
                       timeout=5).json()
    assert log["count"] == 3
    assert [i["channel"] for i in log["items"]] == ["batch", "file", "code"]


def test_a_copy_re_saved_by_a_reader_verifies_as_that_copy_modified_after_signing(stack, holder) -> None:
    """A reader's "save" with a comment is an incremental update: the signed revision is still
    the issued copy, so the answer is the copy's, told as changed; the copy as issued is not."""
    from tests.unit.test_file_changes import incremental

    token, certs = holder
    copy = ready_copy(stack, token, certs[1])
    pdf = the_file(stack, token, copy["annotation_id"])
    as_issued = client("127.0.0.31").post(stack.url("/verify/file"), data=pdf,
                                          headers={"Content-Type": "application/pdf"}, timeout=10).json()
    assert (as_issued["modified_after_signing"], as_issued["modifications"]) == (False, [])
    r = client("127.0.0.32").post(stack.url("/verify/file"), data=incremental(pdf, "annotation"),
                                  headers={"Content-Type": "application/pdf"}, timeout=10)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["annotation"]["annotation_no"] == copy["annotation_no"]
    assert (answer["result"], answer["modified_after_signing"], answer["modifications"]) == (
        "valid", True, ["annotations"])


def test_bad_documents_and_batches_are_refused_with_their_codes(stack) -> None:
    assert_error(requests.post(stack.url("/verify/file"), data=b"hello", headers={"Content-Type": "application/pdf"},
                               timeout=5), 400, "invalid_document")
    big = b"%PDF-1.7\n" + b"0" * (5 * 1024 * 1024)
    assert_error(requests.post(stack.url("/verify/file"), data=big, headers={"Content-Type": "application/pdf"},
                               timeout=20), 413, "document_too_large")
    assert_error(requests.post(stack.url("/verify/batch"), json={"codes": []}, timeout=5), 400, "invalid_request")
    assert_error(requests.post(stack.url("/verify/batch"), json={"codes": ["A"] * 101}, timeout=5), 400,
                 "invalid_request")
    assert_error(requests.get(stack.url("/verify/NOSUCHCODE000000"), timeout=5), 404, "unknown_code")


def test_a_withdrawn_copy_stops_verifying_and_is_no_longer_served(stack, holder) -> None:
    token, certs = holder
    copy = ready_copy(stack, token, certs[1])
    r = requests.post(stack.url(f"/annotations/{copy['annotation_id']}/withdraw"), headers=auth(token), timeout=5)
    assert r.status_code == 200 and r.json()["status"] == "withdrawn" and r.json()["status_label"] == "已撤回"
    assert requests.get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5).json()["result"] == "withdrawn"
    assert_error(requests.get(stack.url(f"/annotations/{copy['annotation_id']}/file"), headers=auth(token),
                              timeout=5), 410, "annotation_withdrawn")
    assert_error(requests.post(stack.url(f"/annotations/{copy['annotation_id']}/withdraw"), headers=auth(token),
                               timeout=5), 409, "annotation_not_ready")


def test_a_burst_of_unknown_codes_is_throttled_well_before_120_a_minute(stack, holder) -> None:
    token, certs = holder
    copy = ready_copy(stack, token, certs[2])
    # The local server sees every client as 127.0.0.1; this test owns that address's budget
    # only within one minute, so move the clock to a minute nobody else uses.
    with stack.clock_moved(3600 * 24 * 365):
        statuses = [requests.get(stack.url(f"/verify/{'Z' * 15}{i % 10}"), timeout=5).status_code
                    for i in range(40)]
        first_refusal = statuses.index(429)
        assert set(statuses[:first_refusal]) == {404} and first_refusal <= 30
        r = requests.get(stack.url(f"/verify/{copy['verification_code']}"), timeout=5)
        assert_error(r, 429, "rate_limited")
        assert 0 < int(r.headers["Retry-After"]) <= 60
