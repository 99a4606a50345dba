"""PRG's large per-level kernels on numba's threads, with one thread's numbers.

Every kernel run through here works row by row (or block of rows by block
of rows) and writes only its own rows' outputs: a chunk of rows is computed
with the same operations in the same order whichever thread takes it, so
the results are bit for bit those of one thread (integers and floats alike)
for any thread count and any split.

How many threads: :func:`rgdata._threads.chunk_threads`
(``numba.get_num_threads()``, at most the available cores;
``NUMBA_NUM_THREADS=1`` or ``numba.set_num_threads(1)`` gives the serial
kernels exactly as before). Calls below :data:`MIN_PARALLEL_WORK` stay on one
thread (starting and joining a thread costs ~0.1-0.5 ms on a loaded
machine). The rows are cut into about :data:`CHUNKS_PER_THREAD` chunks per
thread, taken one after the other by whichever thread is free
(:func:`rgdata._threads.map_chunks`), so a thread on a busy core takes fewer
chunks instead of holding up the others: with a busy-loop process on one of
two cores, two threads still beat one (``benchmarks/bench_prg_threads.py``:
N = 4096, 1.42x as the machine was, 1.15x with the busy loop, identical
results).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import _threads

__all__ = ["MIN_PARALLEL_WORK", "CHUNKS_PER_THREAD", "n_threads_for", "row_chunks", "map_rows"]

#: element operations below which a call stays on one thread (~5 ms of work: starting and
#: joining a thread costs ~0.1-0.5 ms on a loaded machine, and prg makes ~60 such calls)
MIN_PARALLEL_WORK = 10_000_000
#: chunks per thread: small enough to even out a slowed thread, large enough to amortise a call
CHUNKS_PER_THREAD = 8


def n_threads_for(work: float) -> int:
    """Threads for a call of *work* element operations: 1 below :data:`MIN_PARALLEL_WORK`.

    Examples
    --------
    >>> n_threads_for(10)
    1
    """
    if work < MIN_PARALLEL_WORK:
        return 1
    return _threads.chunk_threads()


def row_chunks(n_rows: int, n_threads: int, align: int = 1) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive row chunks covering ``0..n_rows``.

    One chunk for one thread, else about :data:`CHUNKS_PER_THREAD` per
    thread; every start is a multiple of *align* (kernels that work on
    blocks of rows). No chunk has a single row unless the whole has one: a
    one-row view of a strided array (e.g. ``x[:, t0:t1]``) is contiguous to
    numpy, so numba would run it through its contiguous-array compilation,
    whose float sums may round differently.

    Examples
    --------
    >>> row_chunks(10, 1)
    [(0, 10)]
    >>> row_chunks(11, 2)
    [(0, 2), (2, 4), (4, 6), (6, 8), (8, 11)]
    >>> row_chunks(100, 2, align=32)
    [(0, 32), (32, 64), (64, 96), (96, 100)]
    """
    if n_threads <= 1 or n_rows <= max(align, 2):
        return [(0, n_rows)]
    per = max(2, -(-n_rows // (n_threads * CHUNKS_PER_THREAD)))
    per = -(-per // align) * align
    starts = list(range(0, n_rows, per))
    if n_rows - starts[-1] == 1:  # a last single row joins the chunk before it
        starts.pop()
    return [(r0, min(n_rows, r0 + per)) if r0 != starts[-1] else (r0, n_rows) for r0 in starts]


def map_rows(
    func: Callable[[int, int], Any], n_rows: int, work: float, align: int = 1
) -> list[Any]:
    """``func(start, stop)`` over row chunks of ``0..n_rows``, on numba's threads.

    *work* (element operations of the whole call) decides the threads
    (:func:`n_threads_for`); one thread calls ``func(0, n_rows)`` once.
    Returns the results in row order.
    """
    n_threads = n_threads_for(work) if n_rows > max(align, 2) else 1
    chunks = row_chunks(n_rows, n_threads, align)
    return _threads.map_chunks(lambda k: func(*chunks[k]), len(chunks), n_threads)
