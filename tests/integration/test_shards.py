"""The sparse indexes' write shards (domain.shards) on the stack's DynamoDB: a few thousand
items spread evenly over the key values, and every reader (sweeper, reminders, announcements)
finds each item exactly once whatever its shard."""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import groupby
from operator import itemgetter

from chalicelib import deps
from chalicelib.domain.annotations import Annotation, AnnotationStatus
from chalicelib.domain.batches import RowStamp
from chalicelib.domain.certificates import Certificate, CertificateStatus, certificate_id_for
from chalicelib.domain.shards import expiry_key
from chalicelib.models import AnnotationModel, CertificateModel
from chalicelib.repositories.annotations import AnnotationRepository, _annotation_model

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
SHARDS = 16
ITEMS = 3000
# Each shard's share of ITEMS, expected ITEMS / SHARDS = 187.5 (a binomial deviation of about
# 13): within a quarter of it, or a shard is hot.
SPREAD = 0.25


def even(counts: Counter[str], shards: int = SHARDS) -> None:
    """Every shard used, none more than SPREAD off its share. (The stack is shared by the whole
    run: only this test's items are counted.)"""
    expected = sum(counts.values()) / shards
    assert len(counts) == shards, counts
    assert all(abs(n - expected) <= SPREAD * expected for n in counts.values()), counts


def fixed_id(prefix: str, i: int) -> str:
    """IDs like the service's but the same in every run, so the spread checked is always the same."""
    return prefix + hashlib.sha256(f"{prefix}{i}".encode()).hexdigest()[:24]


def pending(i: int) -> Annotation:
    return Annotation(annotation_id=fixed_id("a", i), certificate_id=f"c{i}", holder_key=f"h{i}",
                      scenario="self_use", validity_days=90, stored_status=AnnotationStatus.PENDING,
                      applied_at=NOW - timedelta(days=30, seconds=i), quota_slot=0)


def test_pending_and_expiring_copies_spread_evenly_and_are_all_found(aws) -> None:
    store = AnnotationRepository(deps.repository()._connection, SHARDS)
    copies = [pending(i) for i in range(ITEMS)]
    with AnnotationModel.batch_write() as batch:
        for a in copies:
            batch.save(_annotation_model(a, SHARDS))
    mine = {a.annotation_id for a in copies}
    even(Counter(m.pending for m in AnnotationModel.scan(attributes_to_get=["annotation_id", "pending"])
                 if m.annotation_id in mine))
    assert mine <= set(store.pending_before(NOW, limit=10 * ITEMS))
    oldest = store.pending_before(NOW, limit=50)  # the oldest across every shard, not a shard's
    assert oldest == [a.annotation_id for a in sorted(copies, key=lambda a: a.applied_at)[:50]]

    # A day's copies, all expiring together: most loaded as ready, some made ready by the worker's update.
    until, day = NOW + timedelta(days=90), date(2027, 2, 21)
    with AnnotationModel.batch_write() as batch:
        for a in copies[40:]:
            model = _annotation_model(a, SHARDS)
            model.pending, model.status, model.expiry_day = None, "ready", expiry_key(day, a.annotation_id, SHARDS)
            batch.save(model)
    for a in copies[:40]:
        store.claim_render(a.annotation_id, NOW, "CODE")
        assert store.mark_ready(a.annotation_id, "CODE", ready_at=NOW, valid_until=until, annotation_no="JZ",
                                sha256="0" * 64, file_key="k", expires_at=until)
    even(Counter(m.expiry_day for m in AnnotationModel.scan(attributes_to_get=["annotation_id", "expiry_day"])
                 if m.annotation_id in mine))
    expiring = [annotation_id for annotation_id in store.expiring_on(day) if annotation_id in mine]
    assert sorted(expiring) == sorted(mine)  # each once
    assert not mine & set(store.expiring_on(day + timedelta(days=1)))
    assert not mine & set(store.pending_before(NOW, limit=10 * ITEMS))


def test_new_certificates_spread_evenly_and_each_holders_come_together(aws) -> None:
    repo = deps.repository()
    repo._shards = SHARDS
    # As a year's results: most holders get one new certificate, some two.
    holders = [fixed_id("h", i) for i in range(ITEMS * 2 // 3)]
    certs = [Certificate(certificate_id=certificate_id_for(f"S{i}"), certificate_no=f"S{i}", qualification="注册测绘师",
                         level="", specialty="", holder_name="张三", id_type="resident_id",
                         id_number="11010519900307451X", holder_key=holders[i % len(holders)],
                         issued_on=date(2023, 12, 20), approved_on=date(2023, 12, 20), issuer_name="北京",
                         issuer_contact="010", status=CertificateStatus.VALID) for i in range(ITEMS)]
    for first in range(0, ITEMS, 100):
        rows = [(c, RowStamp.of(first_loaded=NOW, version="v1", line=first + i + 1))
                for i, c in enumerate(certs[first:first + 100])]
        assert all(repo.load_certificates(rows, NOW))
    mine = {c.certificate_id for c in certs}
    even(Counter(m.announce for m in CertificateModel.scan(attributes_to_get=["certificate_id", "announce"])
                 if m.certificate_id in mine))

    told = [(c, holder) for c, holder in repo.certificates_to_announce() if c in mine]
    assert sorted(c for c, _ in told) == sorted(mine)
    # Each holder's certificates come together, so one message tells a holder of all of them.
    runs = [holder for holder, _ in groupby(told, key=itemgetter(1))]
    assert len(runs) == len(holders) == len(set(runs))
    assert repo.claim_announcement(told[0][0]) and not repo.claim_announcement(told[0][0])
    assert len([c for c, _ in repo.certificates_to_announce() if c in mine]) == ITEMS - 1
