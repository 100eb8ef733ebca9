"""Batch files loading in chunks: which chunks are done or dead, and the one report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, UpdateError

from chalicelib.domain.batches import Chunk, Layout
from chalicelib.models import ImportModel
from chalicelib.repositories.base import conditional_failed

# An import's progress is kept as long as its batch file (the bucket's rule for imports/).
KEPT = timedelta(days=400)


@dataclass(frozen=True)
class Progress:
    import_id: str
    key: str
    version: str
    header: str | None
    problem: str | None
    chunks: list[dict[str, Any]]
    started_at: datetime
    first_loaded_at: datetime
    done: frozenset[int]
    failed: frozenset[int]
    reported_done: int | None  # chunks done when the report was last written

    @property
    def reported(self) -> bool:
        return self.reported_done is not None

    @property
    def report_due(self) -> bool:
        """Every chunk is accounted for, and the report does not say so yet."""
        return self.accounted_for and (self.reported_done is None or len(self.done) > self.reported_done)

    @property
    def accounted_for(self) -> bool:
        """Every chunk is done or dead."""
        return len(self.done | self.failed) >= len(self.chunks)

    def chunk(self, index: int) -> Chunk:
        return Chunk(**self.chunks[index])


class ImportRepository:
    def start(self, import_id: str, *, key: str, version: str, layout: Layout, started_at: datetime,
              first_loaded_at: datetime, problem: str | None = None) -> tuple[Progress, bool]:
        """The import of this version, created now (True) or as it was first started (False: the
        trigger ran again; its chunks, start time and stamps are the first run's)."""
        model = ImportModel(import_id, key=key, version=version, header=layout.header, problem=problem,
                            started_at=started_at,
                            first_loaded_at=first_loaded_at, expires_at=started_at + KEPT,
                            chunks=[chunk.__dict__ for chunk in layout.chunks])
        try:
            model.save(condition=ImportModel.import_id.does_not_exist())
        except PutError as e:
            if conditional_failed(e):
                return self.progress(import_id), False
            raise
        return _progress(model), True

    def progress(self, import_id: str) -> Progress:
        try:
            return _progress(ImportModel.get(import_id, consistent_read=True))
        except DoesNotExist:
            raise LookupError(import_id) from None

    def chunk_done(self, import_id: str, index: int) -> Progress:
        """Record a chunk as done (again, harmlessly); the import as it is now."""
        return self._update(import_id, [ImportModel.done.add({index})])

    def chunk_died(self, import_id: str, index: int) -> Progress:
        """Record a chunk that never finished (a chunk done meanwhile stays done)."""
        return self._update(import_id, [ImportModel.failed.add({index})])

    def mark_reported(self, import_id: str, now: datetime, *, done: int) -> bool:
        """Record the report as written with `done` chunks done; False when a run recorded one
        written with as many or more (its report is at least as new as this one)."""
        newer = ImportModel.reported_done.does_not_exist() | (ImportModel.reported_done < done)
        try:
            ImportModel(import_id).update(actions=[ImportModel.reported_at.set(now),
                                                   ImportModel.reported_done.set(done)], condition=newer)
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    def _update(self, import_id: str, actions: list[Any]) -> Progress:
        """LookupError for an import that does not exist (never started, or removed by TTL)."""
        model = ImportModel(import_id)
        try:
            model.update(actions=actions, condition=ImportModel.import_id.exists())
        except UpdateError as e:
            if conditional_failed(e):
                raise LookupError(import_id) from None
            raise
        return _progress(model)


def _progress(model: ImportModel) -> Progress:
    done = frozenset(int(i) for i in (model.done or ()))
    return Progress(import_id=model.import_id, key=model.key, version=model.version, header=model.header,
                    problem=model.problem, chunks=list(model.chunks), started_at=model.started_at,
                    first_loaded_at=model.first_loaded_at, done=done,
                    failed=frozenset(int(i) for i in (model.failed or ())) - done,
                    reported_done=None if model.reported_done is None else int(model.reported_done))
