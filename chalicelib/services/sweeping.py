"""The sweeper: the second line behind the render queue. Annotations pending for too long
are queued again; annotations whose job reached the dead-letter queue are failed (their
quota slot given back) if the worker could not do it itself. Safe to run twice."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.services.rendering import RenderStore, give_up

log = logging.getLogger(__name__)

STUCK_AFTER = timedelta(minutes=3)


class PendingIndex(RenderStore, Protocol):
    def pending_before(self, cutoff: datetime, limit: int = 500) -> list[str]: ...


class Queue(Protocol):
    def send(self, annotation_id: str) -> None: ...


class DeadLetterSource(Protocol):
    def annotation_ids(self, limit: int = 100) -> list[str]: ...


@dataclass(frozen=True)
class SweepReport:
    requeued: int
    failed: int


def sweep(*, store: PendingIndex, queue: Queue, dead_letters: DeadLetterSource, now: datetime) -> SweepReport:
    failed = sum(1 for annotation_id in dead_letters.annotation_ids()
                 if give_up(annotation_id, "render job reached the dead-letter queue", store=store))
    stuck = store.pending_before(now - STUCK_AFTER)
    for annotation_id in stuck:
        queue.send(annotation_id)
    if stuck or failed:
        log.warning("sweeper: re-queued %d stuck annotation(s), failed %d dead-lettered", len(stuck), failed)
    return SweepReport(requeued=len(stuck), failed=failed)
