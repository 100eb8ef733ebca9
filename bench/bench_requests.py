"""P3: DynamoDB requests per API call, counted with botocore's event hooks, with few and with
many certificates loaded: the counts must not grow with the data, and no call may Scan.

    python bench/bench_requests.py [--many 100000]

Runs the app in process (chalice.test.Client) against moto.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

Row = tuple[str, str]


class Counter:
    def __init__(self) -> None:
        self.calls: collections.Counter[str] = collections.Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def take(self) -> collections.Counter[str]:
        taken, self.calls = self.calls, collections.Counter()
        return taken


def _hook_clients(counter: Counter) -> None:
    from chalicelib import deps
    from chalicelib.tables import _BINDINGS

    repo = deps.repository()
    clients = {id(c): c for c in [repo._connection.client] +
               [model._get_connection().connection.client for model, _ in _BINDINGS]}
    for client in clients.values():
        client.meta.events.register("before-call.dynamodb", counter)


def _seed(count: int, holder_key: str) -> None:
    """`count` certificates of other holders, written in batches (fast, unlike the import)."""
    from datetime import UTC, datetime

    from chalicelib.models import CertificateModel

    now = datetime.now(UTC)
    with CertificateModel.batch_write() as batch:
        for i in range(count):
            batch.save(CertificateModel(
                f"cseed{i:08d}", certificate_no=f"SEED{i:08d}", qualification="注册测绘师", level="", specialty="",
                holder_name="某", id_type="resident_id", id_number="110105199003070000",
                holder_key=f"{holder_key}-{i % 1000}", issued_on=date(2023, 1, 1).isoformat(),
                approved_on=date(2023, 1, 1).isoformat(), issuer_name="某机构", issuer_contact="010",
                status="valid", updated_at=now))


def _stored_copy(annotation_id: str) -> bytes:
    """The copy's bytes as the holder would download them (read outside the counting)."""
    from chalicelib import deps

    annotation = deps.repository().annotations.annotation(annotation_id)
    assert annotation is not None and annotation.file_key is not None
    return deps.files().get(annotation.file_key)


def measure_with(seeded: int) -> dict[str, tuple[int, list[str]]]:
    from chalice.test import Client

    from bench.inprocess import app_on_embedded_aws, render

    with app_on_embedded_aws() as app:
        _seed(seeded, "other")
        counter = Counter()
        _hook_clients(counter)
        results: dict[str, tuple[int, list[str]]] = {}
        with Client(app) as client:
            def call(label: str, method: str, path: str, **kwargs: Any) -> Any:
                counter.take()
                response = client.http.request(method, path, **kwargs)
                taken = counter.take()
                results[label] = (sum(taken.values()), sorted(taken))
                return response

            json_headers = {"Content-Type": "application/json"}
            login = call("POST /auth/login", "POST", "/auth/login", headers=json_headers,
                         body=b'{"username": "demo", "password": "Demo#2026"}').json_body
            auth = {"Authorization": f"Bearer {login['access_token']}", **json_headers}
            call("POST /notice/accept", "POST", "/notice/accept", headers=auth,
                 body=json.dumps({"version": login["notice_version"]}).encode())
            call("GET /me", "GET", "/me", headers=auth)
            certs = call("GET /certificates (3 certificates)", "GET", "/certificates", headers=auth).json_body
            e_cert = next(c for c in certs["items"] if c["kind"] == "e_certificate" and c["status"] == "valid")
            e_file = next(c for c in certs["items"] if c["kind"] == "e_file" and c["status"] == "valid")
            cid = e_cert["certificate_id"]
            call("GET /certificates/{id}", "GET", f"/certificates/{cid}", headers=auth)
            # The first download asks the render worker (FILE_WAIT_SECONDS=0 here: no worker runs
            # inside the test client), the worker renders and signs it, then every download links it.
            fid = e_file["certificate_id"]
            call("GET /certificates/{id}/file (证书电子文件, first: asks the worker)", "GET",
                 f"/certificates/{fid}/file", headers=auth)
            counter.take()
            render(client, json.dumps({"certificate_id": fid}))
            taken = counter.take()
            results["render worker, per 证书电子文件 (first download only)"] = (sum(taken.values()), sorted(taken))
            call("GET /certificates/{id}/file (证书电子文件)", "GET", f"/certificates/{fid}/file", headers=auth)
            applied = call("POST /certificates/{id}/annotations", "POST", f"/certificates/{cid}/annotations",
                           headers=auth, body=b'{"scenario": "self_use"}').json_body
            aid = applied["annotation_id"]
            counter.take()
            render(client, json.dumps({"annotation_id": aid}))
            taken = counter.take()
            results["render worker, per copy (SQS message -> ready)"] = (sum(taken.values()), sorted(taken))
            call("GET /certificates/{id}/annotations", "GET", f"/certificates/{cid}/annotations", headers=auth)
            call("GET /certificates (3 certificates, one annotated)", "GET", "/certificates", headers=auth)
            call("GET /certificates/{id} (annotated)", "GET", f"/certificates/{cid}", headers=auth)
            ready = call("GET /annotations/{id}", "GET", f"/annotations/{aid}", headers=auth).json_body
            call("GET /annotations/{id}/file", "GET", f"/annotations/{aid}/file", headers=auth)
            call("GET /verify/{code} (a copy)", "GET", f"/verify/{ready['verification_code']}")
            call("GET /verify/{code} (unknown)", "GET", "/verify/ABCDEFGHJKLMNPQR")
            call("POST /verify/file (a copy)", "POST", "/verify/file", headers={"Content-Type": "application/pdf"},
                 body=_stored_copy(aid))
            call("POST /verify/batch (3 codes: the copy twice, 1 unknown; grows with the codes)", "POST",
                 "/verify/batch", headers=json_headers, body=json.dumps(
                     {"codes": [ready["verification_code"], ready["verification_code"], "ABCDEFGHJKLMNPQS"]}).encode())
            call("GET /annotations/{id}/verifications", "GET", f"/annotations/{aid}/verifications", headers=auth)
            call("POST /annotations/{id}/withdraw", "POST", f"/annotations/{aid}/withdraw", headers=auth)
            call("POST /auth/refresh", "POST", "/auth/refresh", headers=auth)
            call("POST /me/identity/code", "POST", "/me/identity/code", headers=auth)
            call("POST /auth/password/forgot (by ID document)", "POST", "/auth/password/forgot", headers=json_headers,
                 body=b'{"id_type": "resident_id", "id_number": "440304198512120023"}')
            call("POST /auth/logout", "POST", "/auth/logout", headers=auth)
    return results


def measure(many: int = 100_000) -> list[Row]:
    few = measure_with(100)
    lots = measure_with(many)
    rows: list[Row] = []
    for label, (count, ops) in few.items():
        other = lots[label][0]
        scan = " SCAN!" if "Scan" in ops else ""
        rows.append((f"P3 DynamoDB requests: {label}",
                     f"{count} with 10² certificates, {other} with {many:,} ({', '.join(ops)}){scan}"))
    return rows


def main() -> int:
    from bench.inprocess import standalone

    parser = argparse.ArgumentParser()
    parser.add_argument("--many", type=int, default=100_000)
    args = parser.parse_args()
    return standalone(lambda: measure(args.many))


if __name__ == "__main__":
    sys.exit(main())
