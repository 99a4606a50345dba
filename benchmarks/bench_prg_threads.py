"""PRG with numba's threads against one thread, as the machine is and with a busy core.

PRG's large per-level kernels (bit counts, lagged products, normalizations,
pair sums, moments, the correlations' finish) are cut into row chunks that
Python threads take one after the other (``rgdata.coarse._prg_parallel``).
This script times ``prg`` in-process on planted binary spikes
(``observables=("variance", "silence")``, all levels), with
``numba.set_num_threads(1)`` against the default thread count, in
interleaved pairs (the order alternates), first as the machine is, then with
a busy-loop process (started and stopped here) occupying one core. Printed
per setting: the medians and the ratio ``time(1 thread) / time(threads)``
(above 1: the threads are faster), and whether the results were identical.

    python benchmarks/bench_prg_threads.py            # N = 4096, T = 20,000, 3 pairs
    python benchmarks/bench_prg_threads.py --quick    # N = 1024, T = 5,000, 2 pairs
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numba
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's rgdata
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_peers_prg import binary_spikes  # noqa: E402

import rgdata  # noqa: E402
from rgdata.coarse import prg  # noqa: E402


def _time(act, n_levels: int, n_threads: int):
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        start = time.perf_counter()
        res = prg(act, n_levels, observables=("variance", "silence"))
        return time.perf_counter() - start, res
    finally:
        numba.set_num_threads(previous)


def paired(act, n_levels: int, pairs: int, threads: int) -> tuple[float, float, bool]:
    """Median seconds with one thread and with *threads*, and whether the results agree."""
    one, many, same = [], [], True
    for i in range(pairs):
        order = (1, threads) if i % 2 == 0 else (threads, 1)
        out = {}
        for n in order:
            seconds, out[n] = _time(act, n_levels, n)
            (one if n == 1 else many).append(seconds)
        same = same and out[1].identical(out[threads])
    return statistics.median(one), statistics.median(many), same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 1024, T = 5,000, 2 pairs")
    parser.add_argument("--pairs", type=int, default=None)
    args = parser.parse_args()
    n, t = (1024, 5_000) if args.quick else (4096, 20_000)
    pairs = args.pairs or (2 if args.quick else 3)
    threads = numba.get_num_threads()
    warnings.simplefilter("ignore")
    act = rgdata.as_activity(binary_spikes(n, t, seed=n), kind="spikes")
    n_levels = int(np.log2(n)) - 1
    _time(rgdata.as_activity(binary_spikes(64, 1000, seed=1), kind="spikes"), 2, threads)
    print(f"prg N = {n}, T = {t}, alpha~/beta~ only; 1 thread vs {threads}, {pairs} pairs")
    if threads == 1:
        print("numba allows one thread here: nothing to compare")
        return
    for label, busy in (("as the machine is", False), ("with a busy-loop on one core", True)):
        loop = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            a, b, same = paired(act, n_levels, pairs, threads)
        finally:
            if loop is not None:
                loop.kill()
                loop.wait()
        print(
            f"{label:<30s} 1 thread {a:6.2f} s  {threads} threads {b:6.2f} s  "
            f"speed-up {a / b:4.2f}  identical results: {same}",
            flush=True,
        )


if __name__ == "__main__":
    main()
