"""Benchmark the exact sparse pairing (top-k + lazy refill) against the dense path.

Both paths run in the same process on the same binary-spike data and give the
same pairs (checked here); each line prints the wall time, the ratio to the
dense path and the peak traced memory (tracemalloc: numpy buffers). Machines
are noisy: compare ratios, not absolute times.

    python benchmarks/bench_scale.py --quick   # N = 4,096 x T = 1,000, ~a minute
    python benchmarks/bench_scale.py           # N = 16,384 x T = 2,000

Not yet here (issue #21): the N = 50,000 x T = 10,000 all-levels run, the
comparison with random-renormalization-group, the 1 vs 2 workers curve.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from rgdata.coarse._prg_levels import choose_pairs
from rgdata.coarse._prg_similarity import pairing_rows
from rgdata.coarse._prg_sparse import sparse_choose_pairs


class _Opts:
    pairing = "correlation"
    corr_dtype = "float32"


def _spikes(n: int, t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    drive = rng.random((n // 8, t)) < 0.05
    x = (rng.random((n, t)) < 0.02) | drive[np.arange(n) % (n // 8)] & (rng.random((n, t)) < 0.5)
    return x.astype(np.float32)  # prg's first step pairs the raw spikes (exact co-occurrences)


def _measure(func):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = func()
    wall = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, wall, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, t = (4096, 1000) if args.quick else (16_384, 2000)
    y = _spikes(n, t)
    dense, t_dense, m_dense = _measure(lambda: choose_pairs(y, _Opts))
    print(f"N = {n}, T = {t}: one greedy pairing step")
    print(f"{'dense':<24s} {t_dense:8.2f} s  ratio 1.00   peak {m_dense / 2**20:9.1f} MiB")
    for k in (8, 32):
        sparse, t_s, m_s = _measure(lambda k=k: sparse_choose_pairs_k(y, k))
        same = np.array_equal(sparse, dense)
        print(
            f"{'sparse k=' + str(k):<24s} {t_s:8.2f} s  ratio {t_s / t_dense:5.2f}   "
            f"peak {m_s / 2**20:9.1f} MiB  ({m_s / m_dense:.2f} x dense)  identical pairs: {same}"
        )


def sparse_choose_pairs_k(y: np.ndarray, k: int) -> np.ndarray:
    from rgdata.coarse import _prg_sparse

    old = dict(_prg_sparse.SPARSE_OPTIONS)
    _prg_sparse.SPARSE_OPTIONS["k"] = k
    try:
        return sparse_choose_pairs(pairing_rows(y))
    finally:
        _prg_sparse.SPARSE_OPTIONS.update(old)


if __name__ == "__main__":
    main()
