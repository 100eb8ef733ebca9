"""Timing helpers the benchmarks share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timings(fn: Callable[[], object], runs: int, warmup: int = 3) -> list[float]:
    """Seconds per call of `fn`, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    """A benchmark's rows as an aligned two-column table."""
    width = max(len(name) for name, _ in rows)
    print(f"{title:<{width}}  value")
    print("-" * (width + 24))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
