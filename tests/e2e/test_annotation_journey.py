"""The holder's journey over HTTP on the local stack: apply, watch it become ready, view
and download the copy; the e-file download; the refusals with their codes."""

from __future__ import annotations

import hashlib
import io
import time

import pytest
import requests

from tests.e2e.helpers import accepted_session, assert_error, auth, certificates, lisi, new_holder


@pytest.fixture(scope="module")
def demo(stack) -> str:  # type: ignore[no-untyped-def]
    return accepted_session(stack, "demo", "Demo#2026")


def wait_until_ready(stack, token: str, annotation_id: str, timeout: float = 15) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        a = requests.get(stack.url(f"/annotations/{annotation_id}"), headers=auth(token), timeout=5).json()
        if a["status"] != "pending" or time.monotonic() > deadline:
            return a
        time.sleep(0.05)


def test_apply_watch_it_become_ready_then_view_and_download_the_copy(stack, demo: str) -> None:
    cert = certificates(stack, demo)["CH20231100123"]
    assert cert["issuer"] == {"name": "北京市人力资源和社会保障局", "contact": "010-87901800"}
    detail = requests.get(stack.url(f"/certificates/{cert['certificate_id']}"), headers=auth(demo), timeout=5)
    assert detail.json()["certificate_no"] == "CH20231100123"
    r = requests.post(stack.url(f"/certificates/{cert['certificate_id']}/annotations"), headers=auth(demo),
                      json={"scenario": "self_use", "validity_days": 30}, timeout=10)
    if r.status_code == 409:  # an earlier run on this stack used the quota
        assert r.json()["error"]["code"] == "annotation_quota_exceeded"
        pytest.skip("the demo certificate's quota is used up on this stack")
    assert r.status_code == 202, r.text
    pending = r.json()
    assert pending["status"] == "pending" and pending["status_label"] == "证书生成中…"
    assert pending["verification_code"] is None and pending["file_sha256"] is None
    ready = wait_until_ready(stack, demo, pending["annotation_id"])
    assert ready["status"] == "ready", ready
    assert ready["status_label"] == "已完成"
    assert ready["verify_url"].endswith(ready["verification_code"].replace("-", ""))
    for disposition in ("inline", "attachment"):
        link = requests.get(stack.url(f"/annotations/{ready['annotation_id']}/file"), headers=auth(demo),
                            params={"disposition": disposition}, timeout=5)
        assert link.status_code == 200, link.text
        pdf = requests.get(link.json()["url"], timeout=10)
        assert pdf.status_code == 200
        assert pdf.headers["Content-Type"] == "application/pdf"
        assert pdf.headers["Content-Disposition"].startswith(disposition)
        assert pdf.content.startswith(b"%PDF")
        assert hashlib.sha256(pdf.content).hexdigest() == ready["file_sha256"]
    listing = requests.get(stack.url(f"/certificates/{cert['certificate_id']}/annotations"), headers=auth(demo),
                           timeout=5).json()
    assert listing["items"][0]["annotation_id"] == ready["annotation_id"]
    assert listing["quota"]["limit"] == 3 and listing["quota"]["window_days"] == 90
    assert 1 <= listing["quota"]["used"] <= 3
    assert certificates(stack, demo)["CH20231100123"]["latest_annotation"]["annotation_id"] == ready["annotation_id"]


def test_the_fourth_application_within_ninety_days_is_refused(stack) -> None:
    token = lisi(stack)
    cert_id = certificates(stack, token)["ZJ20241100321"]["certificate_id"]
    url = stack.url(f"/certificates/{cert_id}/annotations")
    used = requests.get(url, headers=auth(token), timeout=5).json()["quota"]["used"]
    for _ in range(3 - used):
        r = requests.post(url, headers=auth(token), json={"scenario": "self_use"}, timeout=10)
        assert r.status_code == 202, r.text
    r = requests.post(url, headers=auth(token), json={"scenario": "self_use"}, timeout=10)
    assert_error(r, 409, "annotation_quota_exceeded")
    assert r.json()["error"]["details"]["next_available_on"]
    quota = requests.get(url, headers=auth(token), timeout=5).json()["quota"]
    assert quota["used"] == 3 and quota["next_available_on"] == r.json()["error"]["details"]["next_available_on"]


def test_the_certificate_electronic_file_is_downloaded_directly(stack, demo: str) -> None:
    cert = certificates(stack, demo)["HS20191100456"]
    assert cert["kind"] == "e_file" and cert["latest_annotation"] is None
    link = requests.get(stack.url(f"/certificates/{cert['certificate_id']}/file"), headers=auth(demo),
                        params={"disposition": "attachment"}, timeout=5)
    assert link.status_code == 200, link.text
    pdf = requests.get(link.json()["url"], timeout=10)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "filename*=UTF-8''" in pdf.headers["Content-Disposition"]
    r = requests.post(stack.url(f"/certificates/{cert['certificate_id']}/annotations"), headers=auth(demo),
                      json={"scenario": "self_use"}, timeout=5)
    assert_error(r, 409, "annotation_not_required")


def test_the_electronic_file_is_signed_on_first_download_and_verifies_by_code_qr_and_file(stack, demo: str) -> None:
    """The 证书电子文件 is a document of the service: its code is on the certificate from the
    load, printed with a QR code on the file, and checks by code, link and file say it is a
    genuine 证书电子文件 of a valid certificate; each check is in the holder's log."""
    from pypdf import PdfReader

    from tests.e2e.clients import client
    from tests.unit.test_file_changes import incremental

    cert = certificates(stack, demo)["HS20191100456"]
    code = cert["file_verification_code"]
    assert code and len(code) == 19
    link = requests.get(stack.url(f"/certificates/{cert['certificate_id']}/file"), headers=auth(demo), timeout=15)
    assert link.status_code == 200, link.text
    pdf = requests.get(link.json()["url"], timeout=10).content
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert code in text and "证书电子文件" in text and cert["certificate_no"] in text
    again = requests.get(stack.url(f"/certificates/{cert['certificate_id']}/file"), headers=auth(demo), timeout=5)
    assert hashlib.sha256(requests.get(again.json()["url"], timeout=10).content).digest() == \
        hashlib.sha256(pdf).digest()  # kept, not rendered again

    by_code = client("127.0.0.31").get(stack.url(f"/verify/{code}"), timeout=5).json()
    assert by_code["result"] == "valid" and by_code["kind"] == "e_file" and by_code["annotation"] is None
    assert by_code["certificate"]["certificate_no"] == cert["certificate_no"]
    page = client("127.0.0.32").get(stack.url("/verify"), params={"code": code}, timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    by_file = client("127.0.0.33").post(stack.url("/verify/file"), data=pdf,
                                        headers={"Content-Type": "application/pdf"}, timeout=10).json()
    assert {**by_file, "modified_after_signing": False} == {**by_code, "modified_after_signing": False}
    assert by_file["modified_after_signing"] is False
    resaved = client("127.0.0.34").post(stack.url("/verify/file"), data=incremental(pdf, "annotation"),
                                        headers={"Content-Type": "application/pdf"}, timeout=10).json()
    assert resaved["kind"] == "e_file" and resaved["modified_after_signing"] is True
    log = requests.get(stack.url(f"/certificates/{cert['certificate_id']}/verifications"), headers=auth(demo),
                       timeout=5).json()
    assert log["count"] >= 3 and [i["channel"] for i in log["items"][:3]] == ["file", "file", "code"]
    e_cert = certificates(stack, demo)["CH20231100123"]
    assert e_cert["file_verification_code"] is None
    assert_error(requests.get(stack.url(f"/certificates/{e_cert['certificate_id']}/verifications"),
                              headers=auth(demo), timeout=5), 404, "not_found")


def test_refusals_carry_their_codes(stack, demo: str) -> None:
    certs = certificates(stack, demo)
    e_cert, revoked = certs["CH20231100123"], certs["JZ20221100789"]
    url = stack.url(f"/certificates/{e_cert['certificate_id']}")
    assert_error(requests.get(url + "/file", headers=auth(demo), timeout=5), 409, "annotation_required")
    assert_error(requests.post(url + "/annotations", headers=auth(demo), json={"scenario": "other_use"},
                               timeout=5), 400, "invalid_scenario")
    for bad in (0, 91, "30"):
        r = requests.post(url + "/annotations", headers=auth(demo),
                          json={"scenario": "self_use", "validity_days": bad}, timeout=5)
        assert r.status_code == 400 and r.json()["error"]["code"] in {"invalid_validity", "invalid_request"}
    assert_error(requests.post(url + "/annotations", headers=auth(demo),
                               json={"scenario": "self_use", "extra": 1}, timeout=5), 400, "invalid_request")
    assert_error(requests.post(stack.url(f"/certificates/{revoked['certificate_id']}/annotations"),
                               headers=auth(demo), json={"scenario": "self_use"}, timeout=5),
                 409, "certificate_not_valid")
    assert_error(requests.get(stack.url("/certificates/c000000000000000000000000"), headers=auth(demo),
                              timeout=5), 404, "not_found")
    assert_error(requests.get(stack.url("/annotations/a000000000000000000000000"), headers=auth(demo),
                              timeout=5), 404, "not_found")


def test_another_holders_certificate_is_404_on_every_route(stack, demo: str) -> None:
    token = new_holder(stack, "other")
    assert not set(certificates(stack, token)) & set(certificates(stack, demo))
    for cert in certificates(stack, demo).values():
        base = f"/certificates/{cert['certificate_id']}"
        for method, path in (("GET", ""), ("GET", "/annotations"), ("GET", "/file"), ("POST", "/annotations")):
            r = requests.request(method, stack.url(base + path), headers=auth(token),
                                 json={"scenario": "self_use"} if method == "POST" else None, timeout=5)
            assert_error(r, 404, "not_found")
        latest = cert["latest_annotation"]
        if latest:
            for method, path in (("GET", ""), ("GET", "/file"), ("POST", "/withdraw")):
                r = requests.request(method, stack.url(f"/annotations/{latest['annotation_id']}{path}"),
                                     headers=auth(token), timeout=5)
                assert_error(r, 404, "not_found")


def test_an_expired_copy_is_listed_as_expired_and_never_served(stack) -> None:
    # 李四's second e-certificate, with a one-day copy.
    token = lisi(stack)
    cert_id = certificates(stack, token)["GC20221100654"]["certificate_id"]
    r = requests.post(stack.url(f"/certificates/{cert_id}/annotations"), headers=auth(token),
                      json={"scenario": "self_use", "validity_days": 1}, timeout=10)
    if r.status_code == 409:
        pytest.skip("李四's second certificate has no quota left on this stack")
    ready = wait_until_ready(stack, token, r.json()["annotation_id"])
    assert ready["status"] == "ready"
    code = ready["verification_code"]
    with stack.clock_moved(24 * 3600 + 1):
        token = lisi(stack)  # the old token expired with the clock
        a = requests.get(stack.url(f"/annotations/{ready['annotation_id']}"), headers=auth(token), timeout=5).json()
        assert a["status"] == "expired" and a["status_label"] == "加注件已过期"
        r = requests.get(stack.url(f"/annotations/{ready['annotation_id']}/file"), headers=auth(token), timeout=5)
        assert_error(r, 410, "annotation_expired")
        assert requests.get(stack.url(f"/verify/{code}"), timeout=5).json()["result"] == "expired"
    assert requests.get(stack.url(f"/verify/{code}"), timeout=5).json()["result"] == "valid"
