"""Timing helpers shared by the benchmark scripts (run them from the repo root)."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable


def best_of(func: Callable[[], object], repeat: int) -> float:
    """Best wall time of *repeat* calls of *func*, after one warm-up call
    (first-call imports, numba compilation, file cache)."""
    func()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def ratio_line(name: str, ours: float, base: float, what: str) -> None:
    """Print one benchmark row: our time, the baseline's, and their ratio."""
    print(
        f"{name:<34s} {ours * 1e3:10.1f} ms  baseline {base * 1e3:10.1f} ms  "
        f"ratio {ours / base:9.3g}   ({what})"
    )


def timed_peak(func: Callable[[], object]) -> tuple[object, float, int]:
    """``(result, wall seconds, tracemalloc peak bytes)`` of one call of *func*."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = func()
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, wall, peak
