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
    chunks: list[dict[str, Any]]
    started_at: datetime
    first_loaded_at: datetime
    done: frozenset[int]
    failed: frozenset[int]
    reported: bool

    @property
    def accounted_for(self) -> bool:
        """Every chunk is done or dead."""
        return len(self.done | self.failed) >= len(self.chunks)

    def chunk(self, index: int) -> Chunk:
        return Chunk(**self.chunks[index])


class ImportRepository:
    def start(self, import_id: str, *, key: str, version: str, layout: Layout, started_at: datetime,
              first_loaded_at: datetime) -> tuple[Progress, bool]:
        """The import of this version, created now (True) or as it was first started (False: the
        trigger ran again; its chunks, start time and stamps are the first run's)."""
        model = ImportModel(import_id, key=key, version=version, header=layout.header, started_at=started_at,
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

    def mark_reported(self, import_id: str, now: datetime) -> bool:
        """False when another run wrote the report first."""
        try:
            ImportModel(import_id).update(actions=[ImportModel.reported_at.set(now)],
                                          condition=ImportModel.reported_at.does_not_exist())
        except UpdateError as e:
            if conditional_failed(e):
                return False
            raise
        return True

    def _update(self, import_id: str, actions: list[Any]) -> Progress:
        model = ImportModel(import_id)
        model.update(actions=actions, condition=ImportModel.import_id.exists())
        return _progress(model)


def _progress(model: ImportModel) -> Progress:
    done = frozenset(int(i) for i in (model.done or ()))
    return Progress(import_id=model.import_id, key=model.key, version=model.version, header=model.header,
                    chunks=list(model.chunks), started_at=model.started_at, first_loaded_at=model.first_loaded_at,
                    done=done, failed=frozenset(int(i) for i in (model.failed or ())) - done,
                    reported=model.reported_at is not None)
