"""How many numba threads rgdata's parallel kernels use: threads only where they pay.

One module, two policies. Both start from :func:`available_cores` (the CPUs
this process may run on) and never exceed ``numba``'s own limit, and both
rest on the kernels giving the same numbers with any thread count
(fixed-order partial sums; counter-based random numbers), so the choice
only changes how long a call takes:

* :class:`ThreadChooser`, for kernels called with a known amount of work
  (lattice sweeps): it times the serial and the parallel kernel on the first
  calls, runs the faster, and re-times the other within ``EXPLORE_FRACTION``
  of the run. On a machine whose other cores are busy, a parallel kernel with
  a barrier per half-sweep can run several times *slower* than the serial one
  (a descheduled thread stalls the others at every barrier: 0.067 against
  0.27 updates/ns was measured with two threads on two busy cores).
  Before it runs the parallel kernel (to time it, or because it was faster)
  it asks :func:`free_cores_now` whether another core is free at this moment:
  one parallel call with a busy core cost 64-75 ms against 3.4 ms serially
  (L = 512, 5 sweeps, 2 cores, a busy-loop process), so timing it once cost a
  short run ~7% (``benchmarks/bench_threads.py``: 0.93x one thread, 95%
  interval 0.88-0.98). When no core is free it runs the serial kernel and asks
  again after ``EXPLORE_FRACTION`` of the serial time (every ~50 calls).
* :func:`fit_threads` / :func:`idle_threads`, for fits that call many short
  parallel kernels (every step of an inner optimiser, where timing each call
  would cost more than it saves): as many threads as there are idle cores
  (the available cores minus the smaller of the 1-minute load average and
  the runnable tasks seen in a few snapshots, rounded), at least one. On the
  2-core development machine under a load of 4, a 50-unit maximum-entropy fit
  took 2.3-2.7x longer with 2 threads than with 1.
* :func:`chunk_threads` / :func:`map_chunks`, for a few large calls (PRG's
  per-level kernels, each run once or twice per level: too few calls to time
  both modes): the work is cut into many chunks that Python threads take one
  after the other (the kernels release the GIL), so a thread whose core is
  busy takes fewer chunks instead of stalling the others at a barrier, and
  no thread spins: all the threads numba allows, busy cores or not
  (measured faster than one thread with a busy-loop on the other core).

The chooser's :meth:`ThreadChooser.summary` goes into a sampler's ``attrs``.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import numba
import numpy as np

__all__ = [
    "EXPLORE_FRACTION",
    "ThreadChooser",
    "available_cores",
    "chunk_threads",
    "fit_threads",
    "free_cores_now",
    "idle_threads",
    "map_chunks",
    "run_with_threads",
]

#: Share of the run's time that re-timing the slower mode may take.
EXPLORE_FRACTION = 0.02
#: Calls timed per mode before the faster one is chosen (the first call of each
#: may carry a one-off cost: loading the threading layer, waking the threads).
_CALIBRATION_CALLS = 3
#: ... unless one mode is this many times slower after one call each.
_CLEAR_RATIO = 1.5


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


#: the kernel's instantaneous count of runnable tasks is the 4th field ("running/total")
LOADAVG_PATH = "/proc/loadavg"


def free_cores_now() -> int | None:
    """Cores with nothing to run at this moment, besides the caller; None where unknown.

    ``available_cores()`` minus the number of runnable tasks (threads) on the
    machine right now, which counts the calling thread; read from
    ``/proc/loadavg`` (Linux). Unlike the load average (a 1-minute mean that
    includes the caller's own work) it sees a core that became busy a moment
    ago. A snapshot: it may err either way; the chooser only uses it to skip
    parallel calls (never to force them).

    Examples
    --------
    >>> free = free_cores_now()
    >>> free is None or 0 <= free < available_cores()
    True
    """
    running = _running_now()
    if running is None:
        return None
    return max(0, available_cores() - max(running, 1))


def _running_now() -> int | None:
    """Runnable tasks on the machine now, the caller included (``/proc/loadavg``); or None."""
    try:
        with open(LOADAVG_PATH, encoding="ascii") as f:
            return int(f.read().split()[3].split("/")[0])
    except (OSError, ValueError, IndexError):
        return None


#: snapshots of the runnable count taken by :func:`idle_threads`, and the pause between them
IDLE_SNAPSHOTS, IDLE_SNAPSHOT_PAUSE = 9, 0.005


def _others_running() -> float | None:
    """Median over :data:`IDLE_SNAPSHOTS` snapshots of the runnable tasks besides the caller."""
    counts = []
    for k in range(IDLE_SNAPSHOTS):
        running = _running_now()
        if running is None:
            return None
        counts.append(max(running, 1) - 1)
        if k + 1 < IDLE_SNAPSHOTS:
            time.sleep(IDLE_SNAPSHOT_PAUSE)
    return float(np.median(counts))


def idle_threads(max_threads: int | None = None) -> int:
    """Threads worth using now: the idle cores, between 1 and *max_threads*.

    Parameters
    ----------
    max_threads : int, optional
        Upper bound (default ``numba.get_num_threads()``).

    Returns
    -------
    int
        ``round(cores - busy)`` clipped to ``[1, max_threads]``, with *cores*
        from :func:`available_cores` and *busy* the smaller of the 1-minute
        load average and the median number of other runnable tasks over
        :data:`IDLE_SNAPSHOTS` snapshots 5 ms apart (:func:`free_cores_now`'s
        count). The load average alone remembers the caller's own work of
        the last minute (a PRG run just before a fit made the 160-unit
        hierarchical fit run on one of two cores) and cores freed a moment
        ago; the snapshots alone miss work that pauses. *max_threads* where
        neither is available.

    Examples
    --------
    >>> 1 <= idle_threads(2) <= 2
    True
    """
    top = numba.get_num_threads() if max_threads is None else int(max_threads)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # not available on this platform
        load = None
    others = _others_running()
    if load is None and others is None:
        return max(1, top)
    busy = min(x for x in (load, others) if x is not None)
    return int(min(top, max(1, round(available_cores() - busy))))


#: marks the threads of a multi-threaded :func:`map_chunks` while they run chunks
_CHUNK_WORKER = threading.local()


def chunk_threads(max_threads: int | None = None) -> int:
    """Threads for one large call cut into chunks (:func:`map_chunks`).

    No check of the free cores is needed here: the chunks go to whichever
    thread is free and no thread waits at a barrier or spins, so a thread on
    a busy core only does a smaller share (PRG at N = 4096 on the 2-core
    development machine with a busy-loop process on one core and another
    developer's jobs: 2.5 s with two threads against 3.5 s with one,
    ``benchmarks/bench_prg_threads.py``).

    Parameters
    ----------
    max_threads : int, optional
        Upper bound (default ``numba.get_num_threads()``, which
        ``NUMBA_NUM_THREADS`` or :func:`numba.set_num_threads` set).

    Returns
    -------
    int
        *max_threads* capped at :func:`available_cores`, at least 1; 1 when
        called from a chunk that :func:`map_chunks` runs on several threads
        (no threads within threads).

    Examples
    --------
    >>> chunk_threads(1)
    1
    """
    if getattr(_CHUNK_WORKER, "active", False):  # inside a chunk: no threads within threads
        return 1
    top = numba.get_num_threads() if max_threads is None else int(max_threads)
    return max(1, min(top, available_cores()))


def map_chunks(func: Callable[[int], Any], n_chunks: int, n_threads: int) -> list[Any]:
    """``[func(k) for k in range(n_chunks)]``, the chunks shared out among *n_threads* threads.

    The calling thread and ``n_threads - 1`` helpers each take the next chunk
    not yet taken (in order) whenever they finish one, so a thread slowed
    down by a busy core takes fewer chunks rather than holding up the rest.
    *func* should release the GIL (numba ``nogil`` kernels, large numpy
    operations) and write only its own chunk's part of any shared output;
    each chunk is then computed exactly as one thread would compute it.

    Parameters
    ----------
    func : callable
        Called with the chunk index.
    n_chunks : int
        Number of chunks.
    n_threads : int
        Threads to use (the caller's included); 1 (or one chunk) runs the
        chunks in order on the calling thread.

    Returns
    -------
    list
        The results in chunk order.

    Raises
    ------
    Exception
        The first exception raised by *func* (the remaining chunks are not
        started).

    Examples
    --------
    >>> map_chunks(lambda k: k * k, 5, 2)
    [0, 1, 4, 9, 16]
    """
    n_threads = max(1, min(int(n_threads), n_chunks))
    if n_threads == 1:
        return [func(k) for k in range(n_chunks)]
    results: list[Any] = [None] * n_chunks
    errors: list[BaseException] = []
    counter = itertools.count()
    lock = threading.Lock()

    def work() -> None:
        outer = getattr(_CHUNK_WORKER, "active", False)
        _CHUNK_WORKER.active = True
        try:
            while not errors:
                with lock:
                    k = next(counter)
                if k >= n_chunks:
                    return
                try:
                    results[k] = func(k)
                except BaseException as err:  # handed to the caller below
                    errors.append(err)
                    return
        finally:
            _CHUNK_WORKER.active = outer

    helpers = [threading.Thread(target=work, daemon=True) for _ in range(n_threads - 1)]
    for thread in helpers:
        thread.start()
    work()
    for thread in helpers:
        thread.join()
    if errors:
        raise errors[0]
    return results


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


def run_with_threads(n_threads: int, kernel: Callable[..., Any], *args: Any) -> Any:
    """Call a numba kernel with *n_threads* threads, restoring the previous count."""
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(previous)


class ThreadChooser:
    """Run a serial or a parallel kernel, whichever is faster here and now.

    Parameters
    ----------
    n_threads : int, optional
        Threads requested (>= 1; default numba's ``NUMBA_NUM_THREADS``).
        Capped at :func:`available_cores`.
    clock : callable, optional
        Time source in seconds (``time.perf_counter``; tests pass a fake one).
    free_cores : callable, optional
        Returns the cores free right now, or None when unknown
        (:func:`free_cores_now`; tests pass a fake one). The parallel kernel
        runs only when at least ``n_threads - 1`` cores are free.

    Notes
    -----
    Both kernels must give the same result for the same arguments; the
    chooser only changes how long a call takes. Costs are kept per unit of
    work (e.g. site updates) as the latest measurement of each mode.
    """

    def __init__(
        self,
        n_threads: int | None = None,
        clock: Callable[[], float] = time.perf_counter,
        free_cores: Callable[[], int | None] | None = None,
    ) -> None:
        self.requested = int(numba.config.NUMBA_NUM_THREADS if n_threads is None else n_threads)
        self.n_threads = min(self.requested, available_cores(), numba.config.NUMBA_NUM_THREADS)
        self._clock = clock
        self._free_cores = free_cores if free_cores is not None else free_cores_now
        self._held = math.nan  # serial seconds since the cores were last found busy (nan: not)
        self.busy_checks = 0  # times the parallel kernel was skipped for want of a free core
        # seconds per unit of work, latest measurement, for modes 1 and n_threads
        self.cost: dict[int, float] = {1: math.nan, self.n_threads: math.nan}
        self.calls: dict[int, int] = {1: 0, self.n_threads: 0}
        self.work: dict[int, float] = {1: 0.0, self.n_threads: 0.0}
        self._since_explore = 0.0  # seconds spent in the chosen mode since the last re-timing

    def _calibrated(self) -> bool:
        """Both modes timed ``_CALIBRATION_CALLS`` times, or once each and far apart."""
        c1, cn = self.calls[1], self.calls[self.n_threads]
        if c1 >= _CALIBRATION_CALLS and cn >= _CALIBRATION_CALLS:
            return True
        if c1 and cn:  # a clear difference needs no more calls (a slow mode costs each time)
            ratio = self.cost[self.n_threads] / self.cost[1]
            return not (1 / _CLEAR_RATIO < ratio < _CLEAR_RATIO)
        return False

    def _best(self) -> int:
        return 1 if self.cost[1] <= self.cost[self.n_threads] else self.n_threads

    def _pick(self, work: float) -> int:
        n = self.n_threads
        if n == 1:
            return 1
        if not self._calibrated():  # alternate, serial first
            mode = 1 if self.calls[1] <= self.calls[n] else n
        else:
            other = _other(self._best(), n)
            if self._since_explore * EXPLORE_FRACTION < self.cost[other] * work:
                return self._best()  # measured faster (every call re-measures it)
            mode = other
        # timing the parallel kernel: only with free cores (a busy one stalls it many-fold)
        return mode if mode == 1 else self._cores_allow(n, work)

    def _cores_allow(self, n: int, work: float) -> int:
        """*n* if ``n - 1`` other cores are free now, else 1 (and ask again later)."""
        if math.isfinite(self._held):  # busy when last asked: ask again after a budget
            if self._held * EXPLORE_FRACTION < self.cost[1] * work:
                return 1
        free = self._free_cores()
        if free is not None and free < n - 1:
            self._held = 0.0
            self.busy_checks += 1
            return 1
        self._held = math.nan
        return n

    def run(self, work: float, serial: Callable[..., Any], parallel: Callable[..., Any], *args):
        """Call ``serial(*args)`` or ``parallel(*args)`` (with threads); *work* sizes the call."""
        mode = self._pick(work)
        start = self._clock()
        out = serial(*args) if mode == 1 else run_with_threads(mode, parallel, *args)
        elapsed = self._clock() - start
        if mode == 1 and math.isfinite(self._held):
            self._held += elapsed
        if self.n_threads > 1 and self._calibrated():
            # time in the best mode accrues the re-timing budget; a re-timing spends it
            self._since_explore = self._since_explore + elapsed if mode == self._best() else 0.0
        self.cost[mode] = elapsed / max(work, 1e-300)
        self.calls[mode] += 1
        self.work[mode] += work
        return out

    def run_kernel(self, work: float, kernel: Callable[..., Any], *args):
        """:meth:`run` for one parallel numba *kernel*: serially it runs on one thread."""
        return self.run(work, partial(run_with_threads, 1, kernel), kernel, *args)

    def summary(self) -> dict[str, Any]:
        """attrs of a run: threads requested, used (for most of the work), measured speed-up."""
        n = self.n_threads
        used = n if self.work[n] > self.work[1] else 1
        speedup = self.cost[1] / self.cost[n] if n > 1 else 1.0
        total = self.work[1] + (self.work[n] if n > 1 else 0.0)
        return {
            "n_threads": self.requested,
            "n_threads_available": available_cores(),
            "n_threads_used": used,
            "thread_speedup": float(speedup) if math.isfinite(speedup) else math.nan,
            "threaded_work_fraction": float(self.work[n] / total) if n > 1 and total else 0.0,
        }


def _other(mode: int, n: int) -> int:
    return n if mode == 1 else 1
