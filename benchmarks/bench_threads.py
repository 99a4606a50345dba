"""n_threads > 1 on a busy machine: never slower than one thread.

Run ``python benchmarks/bench_threads.py`` (2D checkerboard Metropolis at
L = 512, T_c) or ``--quick`` (L = 256). Four ways to run the same sweeps,
wall time, in the same process, one block of calls per way:

* ``serial``: the one-thread kernel;
* ``forced``: the parallel kernel with 2 threads every call (the previous
  behaviour of ``n_threads=2``);
* ``chooser``: ``_Chain(..., n_threads=2)``, which times both kernels and runs
  the faster (``rgdata._threads.ThreadChooser``);
* ``chain1``: the same sampler with ``n_threads=1`` (the user's alternative:
  the same state, bookkeeping and random stream as ``chooser``).

each first as the machine is, then with a busy-loop process (started and
stopped here) occupying one core. The figure to read is the ratio chooser /
serial in updates per ns (1 = as fast as one thread; the target is >= ~0.95:
the chooser spends up to 2% of the time re-timing the slower mode).
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's rgdata

from rgdata._threads import available_cores, run_with_threads  # noqa: E402
from rgdata.lattice._chains import _Chain, _flip_table  # noqa: E402
from rgdata.lattice._kernels_local import sweeps_table_2d, sweeps_table_2d_parallel  # noqa: E402

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))
KEY = np.uint64(0x7EAD)


def rates(L: int, sweeps: int, calls: int) -> dict[str, float]:
    """Updates per ns (wall) of the three ways, each over *calls* calls of *sweeps* sweeps."""
    beta = 1.0 / TC
    table = _flip_table("metropolis", 2, beta, 1.0, 0.0)
    s = np.ones((L, L), np.int8)
    chain = _Chain(s.copy(), "metropolis", beta, 1.0, 0.0, None, KEY, 2)
    chain1 = _Chain(s.copy(), "metropolis", beta, 1.0, 0.0, None, KEY, 1)
    ways = {
        "serial": lambda: sweeps_table_2d(s, sweeps, table, KEY, np.uint64(0)),
        "forced": lambda: run_with_threads(
            2, sweeps_table_2d_parallel, s, sweeps, table, KEY, np.uint64(0)
        ),
        "chooser": lambda: chain.run(sweeps),
        "chain1": lambda: chain1.run(sweeps),
    }
    for way in ways.values():  # compile / load the cache, start the threads
        way()
    # blocks of calls per way, not interleaved rounds: the forced parallel kernel leaves
    # OpenMP threads spinning after each call, which would slow whichever way runs next
    out = {}
    for name, way in ways.items():
        start = time.perf_counter()
        for _ in range(calls):
            way()
        out[name] = calls * sweeps * L * L / (time.perf_counter() - start) / 1e9
    out["used"] = chain.threads.summary()["n_threads_used"]
    return out


def report(label: str, r: dict[str, float]) -> None:
    print(
        f"{label:28s} serial {r['serial']:.3f}  forced 2 threads {r['forced']:.3f}  "
        f"chooser {r['chooser']:.3f} upd/ns (uses {r['used']} thread(s)), sampler with "
        f"n_threads=1 {r['chain1']:.3f} | forced/serial {r['forced'] / r['serial']:.2f}, "
        f"chooser/serial {r['chooser'] / r['serial']:.2f}, chooser/(n_threads=1) "
        f"{r['chooser'] / r['chain1']:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 256, shorter")
    args = parser.parse_args()
    L, sweeps, calls = (256, 5, 40) if args.quick else (512, 5, 80)
    print(f"2D Metropolis L = {L}, {calls} calls of {sweeps} sweeps per way; "
          f"{available_cores()} cores available; load average (1 min) "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    report("as the machine is:", rates(L, sweeps, calls))
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        report("with a busy-loop process:", rates(L, sweeps, calls))
    finally:
        busy.kill()
        busy.wait()


if __name__ == "__main__":
    main()
