"""Write shards (domain.shards): stable, in range, and read back in order by the helpers that
fan a reader out over them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date

from chalicelib.domain import shards
from chalicelib.repositories.shards import read_all, stream_all


def test_a_shard_is_stable_in_range_and_names_its_key_value() -> None:
    assert shards.shard_of("a0123456789abcdef01234567", 128) == shards.shard_of("a0123456789abcdef01234567", 128)
    assert {shards.shard_of(f"a{i}", 8) for i in range(200)} == set(range(8))
    assert shards.shard_of("anything", 1) == 0
    key = shards.expiry_key(date(2027, 2, 21), "a1", 8)
    assert key in shards.expiry_keys(date(2027, 2, 21), 8) and key.startswith("2027-02-21#")
    assert shards.pending_key("a1", 8) in shards.every_shard(8)
    assert shards.announce_key("h1", 8) in shards.every_shard(8)


def test_read_all_reads_in_parallel_and_answers_in_the_keys_order() -> None:
    threads: set[int] = set()
    barrier = threading.Barrier(4, timeout=5)

    def read(key: str) -> list[str]:
        threads.add(threading.get_ident())
        barrier.wait()  # four reads at once, or this times out
        return [key, key]

    assert read_all(["0", "1", "2", "3"], read) == ["0", "0", "1", "1", "2", "2", "3", "3"]
    assert len(threads) == 4


def test_stream_all_yields_every_shard_in_turn_reading_ahead_only_one_page() -> None:
    asked: list[str] = []

    def read(key: str) -> Iterator[tuple[str, int]]:
        asked.append(key)
        return ((key, i) for i in range(250))

    stream = stream_all(["a", "b", "c"], read)
    first = [next(stream) for _ in range(10)]
    assert first == [("a", i) for i in range(10)]
    assert asked[:1] == ["a"] and "c" not in asked  # one shard ahead at most
    rest = list(stream)
    assert [k for k, _ in first + rest] == ["a"] * 250 + ["b"] * 250 + ["c"] * 250
    assert list(stream_all([], read)) == []
