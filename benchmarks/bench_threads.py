"""n_threads > 1 on a busy machine: never slower than one thread.

Run ``python benchmarks/bench_threads.py`` (2D checkerboard Metropolis at
L = 512, T_c) or ``--quick`` (L = 256, fewer repeats). Two measurements, each
first as the machine is, then with a busy-loop process (started and stopped
here) occupying one core:

* **the user's choice** (the figure to read): a fresh sampler with
  ``n_threads=2`` (``_Chain``, whose ``rgdata._threads.ThreadChooser`` times the
  serial and the parallel kernel and runs the faster, re-timing the other
  within 2% of the run) against a fresh sampler with ``n_threads=1``, each a
  whole run of ``calls`` calls of 5 sweeps (calibration included), in
  interleaved pairs (the order alternates); per pair the speed ratio
  ``time(n_threads=1) / time(n_threads=2)`` (1 = as fast as one thread,
  above 1 faster). Printed: the geometric mean over the pairs with a 95%
  t-interval (on the log ratios), the range, and the threads the chooser used;
* **the kernels** (for reference): the one-thread kernel and the parallel
  kernel forced on 2 threads, in separate blocks of calls (a forced parallel
  call leaves OpenMP threads spinning, which would slow whatever runs next).
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import scipy.stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's rgdata

from rgdata._threads import available_cores, run_with_threads  # noqa: E402
from rgdata.lattice._chains import _Chain, _flip_table  # noqa: E402
from rgdata.lattice._kernels_local import sweeps_table_2d, sweeps_table_2d_parallel  # noqa: E402

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))
KEY = np.uint64(0x7EAD)


def _rate(way, calls: int, work: float) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        way()
    return work / (time.perf_counter() - start) / 1e9


def kernel_rates(L: int, sweeps: int, calls: int) -> dict[str, float]:
    """Updates per ns of the serial kernel and the parallel kernel forced on 2 threads."""
    table = _flip_table("metropolis", 2, 1.0 / TC, 1.0, 0.0)
    s = np.ones((L, L), np.int8)
    ways = {
        "serial": lambda: sweeps_table_2d(s, sweeps, table, KEY, np.uint64(0)),
        "forced": lambda: run_with_threads(
            2, sweeps_table_2d_parallel, s, sweeps, table, KEY, np.uint64(0)
        ),
    }
    for way in ways.values():  # compile / load the cache, start the threads
        way()
    return {name: _rate(way, calls, calls * sweeps * L * L) for name, way in ways.items()}


def _run_once(L: int, sweeps: int, calls: int, n_threads: int) -> tuple[float, dict]:
    """Wall seconds of a fresh sampler's run of *calls* calls, and its thread summary."""
    chain = _Chain(np.ones((L, L), np.int8), "metropolis", 1.0 / TC, 1.0, 0.0, None, KEY, n_threads)
    start = time.perf_counter()
    for _ in range(calls):
        chain.run(sweeps)
    return time.perf_counter() - start, chain.threads.summary()


def paired_ratios(L: int, sweeps: int, calls: int, repeats: int) -> dict:
    """Interleaved whole runs, n_threads=1 against n_threads=2: speed ratios per pair."""
    _run_once(64, 1, 4, 2)  # load the kernels and the threading layer
    ratios, used = [], []
    for r in range(repeats):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        secs = {}
        for n in order:
            secs[n], summary = _run_once(L, sweeps, calls, n)
            if n == 2:
                used.append(summary["n_threads_used"])
        ratios.append(secs[1] / secs[2])
    logs = np.log(ratios)
    half = scipy.stats.t.ppf(0.975, repeats - 1) * logs.std(ddof=1) / math.sqrt(repeats)
    return {
        "ratio": float(np.exp(logs.mean())),
        "low": float(np.exp(logs.mean() - half)),
        "high": float(np.exp(logs.mean() + half)),
        "min": float(min(ratios)),
        "max": float(max(ratios)),
        "used": used,
    }


def report(label: str, k: dict[str, float], p: dict) -> None:
    print(
        f"{label}\n  n_threads=2 / n_threads=1 speed, {len(p['used'])} interleaved pairs: "
        f"{p['ratio']:.3f} (95% interval {p['low']:.3f}-{p['high']:.3f}; range "
        f"{p['min']:.3f}-{p['max']:.3f}); chooser used "
        f"{', '.join(str(u) for u in p['used'])} thread(s)\n"
        f"  kernels: serial {k['serial']:.3f}, forced 2 threads {k['forced']:.3f} upd/ns "
        f"(forced/serial {k['forced'] / k['serial']:.2f})",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 256, fewer repeats")
    args = parser.parse_args()
    L, sweeps, calls, repeats = (256, 5, 100, 6) if args.quick else (512, 5, 100, 10)
    print(f"2D Metropolis L = {L}, runs of {calls} calls of {sweeps} sweeps; "
          f"{available_cores()} cores available; load average (1 min) "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    report(
        "as the machine is:",
        kernel_rates(L, sweeps, calls),
        paired_ratios(L, sweeps, calls, repeats),
    )
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        report(
            "with a busy-loop process on one core:",
            kernel_rates(L, sweeps, calls),
            paired_ratios(L, sweeps, calls, repeats),
        )
    finally:
        busy.kill()
        busy.wait()


if __name__ == "__main__":
    main()
