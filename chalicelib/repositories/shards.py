"""Reading a write-sharded index key (domain.shards): every shard's key value queried in
parallel, or shard after shard as a stream that fetches the next shard's first page ahead."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# Shards read at once by one reader; beyond this, more threads only wait on each other. The
# models' connection pools hold more than this (tables.POOL_CONNECTIONS).
PARALLEL_READS = 16


def read_all(keys: Iterable[str], read: Callable[[str], list[T]]) -> list[T]:
    """Read each key value in parallel; the results in the keys' order."""
    keys = list(keys)
    with ThreadPoolExecutor(min(PARALLEL_READS, max(1, len(keys)))) as pool:
        return [item for found in pool.map(read, keys) for item in found]


def stream_all(keys: Iterable[str], read: Callable[[str], Iterator[T]]) -> Iterator[T]:
    """Each key value's items in turn, the next key's first page fetched while this one's are
    taken (a reader that acts on each item, page by page, with little held in memory)."""
    keys = list(keys)
    if not keys:
        return
    with ThreadPoolExecutor(2) as pool:
        ahead = pool.submit(_first_page, read, keys[0])
        for i in range(len(keys)):
            first, rest = ahead.result()
            if i + 1 < len(keys):
                ahead = pool.submit(_first_page, read, keys[i + 1])
            yield from first
            yield from rest


def _first_page(read: Callable[[str], Iterator[T]], key: str, size: int = 100) -> tuple[list[T], Iterator[T]]:
    items = read(key)
    first = []
    for item in items:
        first.append(item)
        if len(first) == size:
            break
    return first, items
