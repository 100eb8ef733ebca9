"""Operations over the local stack: a batch dropped into the bucket loads its good rows and
reports its bad ones; a revocation row stops verification at once."""

from __future__ import annotations

import json
import secrets
import time

import requests

from tests.e2e.helpers import HEADER, a_resident_id, accepted_session, auth, certificates, drop, register, row

__all__ = ["HEADER", "drop", "row"]  # the browser tests take them from here too

def test_a_batch_loads_good_rows_reports_bad_ones_and_the_holder_sees_them_after_registering(stack) -> None:
    id_number = a_resident_id("19800515")
    suffix = secrets.token_hex(3).upper()
    wrong_check_digit = id_number[:-1] + ("1" if id_number[-1] != "1" else "2")
    body = HEADER + row(f"ZJ{suffix}1", id_number) + row(f"ZJ{suffix}2", wrong_check_digit) + \
        row(f"ZJ{suffix}3", id_number, status="lost") + row(f"ZJ{suffix}4", id_number, issued="2019-05-01")
    report = drop(stack, f"batch-{suffix}.csv", body)
    assert (report["rows"], report["loaded"], report["unchanged"]) == (4, 2, 0)
    assert [r["line"] for r in report["rejected"]] == [3, 4]
    assert id_number[:-1] not in json.dumps(report)
    again = drop(stack, f"batch-{suffix}-again.csv", body)
    assert (again["loaded"], again["unchanged"]) == (0, 2)
    username = "zhou_" + suffix.lower()
    assert register(stack, username=username, password="Zhou#2026pw", name="周九", id_type="resident_id",
                    id_number=id_number).status_code == 201
    token = accepted_session(stack, username, "Zhou#2026pw", proof=(f"ZJ{suffix}1", "周九"))
    mine = certificates(stack, token)
    assert sorted(mine) == [f"ZJ{suffix}1", f"ZJ{suffix}4"]
    assert mine[f"ZJ{suffix}4"]["kind"] == "e_file"
    link = requests.get(stack.url(f"/certificates/{mine[f'ZJ{suffix}4']['certificate_id']}/file"),
                        headers=auth(token), timeout=5).json()["url"]
    assert requests.get(link, timeout=10).content.startswith(b"%PDF")


def test_a_revocation_row_stops_verification_and_new_annotations_at_once(stack) -> None:
    id_number = a_resident_id("19790909")
    suffix = secrets.token_hex(3).upper()
    drop(stack, f"issue-{suffix}.csv", HEADER + row(f"RV{suffix}", id_number))
    username = "rev_" + suffix.lower()
    register(stack, username=username, password="Revoke#2026pw", name="周九", id_type="resident_id",
             id_number=id_number).raise_for_status()
    token = accepted_session(stack, username, "Revoke#2026pw", proof=(f"RV{suffix}", "周九"))
    cert = certificates(stack, token)[f"RV{suffix}"]
    url = stack.url(f"/certificates/{cert['certificate_id']}/annotations")
    annotation = requests.post(url, headers=auth(token), json={"scenario": "self_use"}, timeout=10).json()
    deadline = time.monotonic() + 15
    while annotation["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.05)
        annotation = requests.get(stack.url(f"/annotations/{annotation['annotation_id']}"), headers=auth(token),
                                  timeout=5).json()
    code = annotation["verification_code"]
    assert requests.get(stack.url(f"/verify/{code}"), timeout=5).json()["result"] == "valid"
    report = drop(stack, f"revoke-{suffix}.csv", HEADER + row(f"RV{suffix}", id_number, status="revoked"))
    assert report["loaded"] == 1
    assert requests.get(stack.url(f"/verify/{code}"), timeout=5).json()["result"] == "revoked"
    r = requests.get(stack.url(f"/annotations/{annotation['annotation_id']}/file"), headers=auth(token), timeout=5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "certificate_not_valid"
    r = requests.post(url, headers=auth(token), json={"scenario": "self_use"}, timeout=5)
    assert r.status_code == 409 and r.json()["error"]["code"] == "certificate_not_valid"
    assert certificates(stack, token)[f"RV{suffix}"]["status_label"] == "已撤销"
