"""Races over HTTP: 30 concurrent applications for one certificate give exactly 3
annotations; 20 accounts of one ID document proving it at once leave exactly one proven."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from tests.e2e.helpers import HEADER, a_resident_id, accepted_session, auth, certificates, drop, login, register, row


def test_thirty_concurrent_applications_over_http_give_exactly_three(stack: Any) -> None:
    id_number = a_resident_id("19870707")
    tag = id_number[-6:]
    drop(stack, f"race-{tag}.csv", HEADER + row(f"RACE{tag}", id_number))
    register(stack, username=f"race_{tag}", password="Race#2026pw", name="周九", id_type="resident_id",
             id_number=id_number).raise_for_status()
    token = accepted_session(stack, f"race_{tag}", "Race#2026pw", proof=(f"RACE{tag}", "周九"))
    cert_id = certificates(stack, token)[f"RACE{tag}"]["certificate_id"]
    url = stack.url(f"/certificates/{cert_id}/annotations")

    def apply(_: int) -> int:
        return requests.post(url, headers=auth(token), json={"scenario": "self_use"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(apply, range(30)))
    assert sorted(statuses) == [202] * 3 + [409] * 27
    listing = requests.get(url, headers=auth(token), timeout=5).json()
    assert len(listing["items"]) == 3 and listing["quota"]["used"] == 3


def test_twenty_accounts_proving_one_document_at_once_leave_exactly_one_proven(stack: Any) -> None:
    id_number = a_resident_id("19860606")
    tag = id_number[-6:]
    drop(stack, f"dup-{tag}.csv", HEADER + row(f"DUP{tag}", id_number))
    tokens = []
    for i in range(20):
        username = f"dup_{tag}_{i}"
        assert register(stack, username=username, password="Dup#2026pwd", name="周九", id_type="resident_id",
                        id_number=id_number).status_code == 201  # one ID document, many accounts: all made
        tokens.append(login(stack, username, "Dup#2026pwd")["access_token"])

    def attempt(token: str) -> requests.Response:
        return requests.post(stack.url("/me/identity"), headers=auth(token), timeout=30,
                             json={"method": "certificate_no", "certificate_no": f"DUP{tag}", "name": "周九"})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(attempt, tokens))
    # Every proof is counted as a failure until it is found right, so proofs racing each other may
    # also be told to try again later (429); exactly one wins, and the others are told why.
    statuses = [a.status_code for a in answers]
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409, 429}, statuses
    assert {a.json()["error"]["code"] for a in answers if a.status_code == 409} <= {"id_document_claimed"}
    proven = [t for t in tokens
              if requests.get(stack.url("/me"), headers=auth(t), timeout=5).json()["identity_verified"]]
    assert len(proven) == 1
