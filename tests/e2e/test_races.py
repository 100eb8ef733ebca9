"""Races over HTTP: 30 concurrent applications for one certificate give exactly 3
annotations; 20 concurrent registrations with one ID make exactly one account."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.e2e.helpers import a_resident_id, accepted_session, auth, certificates, register
from tests.e2e.test_operations import HEADER, drop, row


def test_thirty_concurrent_applications_over_http_give_exactly_three(stack: Any) -> None:
    id_number = a_resident_id("19870707")
    tag = id_number[-6:]
    drop(stack, f"race-{tag}.csv", HEADER + row(f"RACE{tag}", id_number))
    register(stack, username=f"race_{tag}", password="Race#2026pw", name="周九", id_type="resident_id",
             id_number=id_number).raise_for_status()
    token = accepted_session(stack, f"race_{tag}", "Race#2026pw")
    cert_id = certificates(stack, token)[f"RACE{tag}"]["certificate_id"]
    url = stack.url(f"/certificates/{cert_id}/annotations")

    def apply(_: int) -> int:
        return requests.post(url, headers=auth(token), json={"scenario": "self_use"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(apply, range(30)))
    assert sorted(statuses) == [202] * 3 + [409] * 27
    listing = requests.get(url, headers=auth(token), timeout=5).json()
    assert len(listing["items"]) == 3 and listing["quota"]["used"] == 3


def test_twenty_concurrent_registrations_with_one_id_make_one_account(stack: Any) -> None:
    id_number = a_resident_id("19860606")

    def attempt(i: int) -> requests.Response:
        return register(stack, username=f"dup_{id_number[-6:]}_{i}", password="Dup#2026pwd", name="周九",
                        id_type="resident_id", id_number=id_number)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(attempt, range(20)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 19
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} == {"id_number_registered"}
