"""How many numba threads a maximum-entropy fit uses: no more than the idle cores.

numba's OpenMP layer keeps its threads spinning between parallel regions. A
fit calls its parallel kernels hundreds of times (every step of the inner
optimiser), so on a machine whose cores are busy with other processes a
second thread mostly waits for a core: on the 2-core development machine
under a load of 4, a 50-unit fit took 2.3-2.7x longer with 2 threads than
with 1. The fit therefore uses at most as many threads as there are idle
cores (the CPUs this process may use minus the 1-minute load average,
rounded), at least one and at most ``numba.get_num_threads()`` (so
``NUMBA_NUM_THREADS`` and ``numba.set_num_threads`` still cap it). Every
kernel adds its partial sums in a fixed order, so the fitted numbers do not
depend on the thread count this picks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numba


def idle_threads(max_threads: int | None = None) -> int:
    """Threads worth using now: the idle cores, between 1 and *max_threads*.

    Parameters
    ----------
    max_threads : int, optional
        Upper bound (default ``numba.get_num_threads()``).

    Returns
    -------
    int
        ``round(cpus - load)`` clipped to ``[1, max_threads]``, with *cpus* the
        CPUs this process may run on and *load* the 1-minute load average;
        *max_threads* where the load average is not available.

    Examples
    --------
    >>> 1 <= idle_threads(2) <= 2
    True
    """
    top = numba.get_num_threads() if max_threads is None else int(max_threads)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this platform
        return max(1, top)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return int(min(top, max(1, round(cpus - load))))


@contextmanager
def fit_threads() -> Iterator[int]:
    """Run the enclosed numba kernels with :func:`idle_threads` threads; restore after.

    Yields the number of threads used.
    """
    previous = numba.get_num_threads()
    n = idle_threads(previous)
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)
