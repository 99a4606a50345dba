"""Benchmark the exact sparse pairing (top-k + lazy refill) against the dense path.

Both paths run in the same process on the same binary-spike data and give the
same pairs (checked here); each line prints the wall time, the ratio to the
dense path and the peak traced memory (tracemalloc: numpy buffers). Machines
are noisy: compare ratios, not absolute times.

    python benchmarks/bench_scale.py --quick   # N = 4,096 x T = 1,000, ~a minute
    python benchmarks/bench_scale.py           # N = 16,384 x T = 2,000
    python benchmarks/bench_scale.py --quick --approximate-only   # item 4's rows only

(from the repository root with ``PYTHONPATH=.`` so the checkout's rgdata is measured).

The approximate mode (item 4: pynndescent candidates) is compared with the
exact sparse path (k = 32), each in a fresh process (peak resident memory
above the process's resident size before the call: pynndescent's numba
arrays are invisible to tracemalloc), after a warm-up that compiles
pynndescent's kernels (not counted); the
fraction of identical pairs and the summed-correlation loss are measured on
all N units against the exact pairs, next to the check prg records
(``pairing_quality``: 1,000 of the approximate pairs checked exactly against
all N units, timed in this process).

Not yet here (issue #21): the N = 50,000 x T = 10,000 all-levels run, the
comparison with random-renormalization-group, the 1 vs 2 workers curve.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import time

import numpy as np
from _timing import timed_peak

from rgdata.coarse._memory import PeakProbe
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--approximate-only", action="store_true", help="only the approximate-mode rows"
    )
    args = parser.parse_args()
    n, t = (4096, 1000) if args.quick else (16_384, 2000)
    y = _spikes(n, t)
    if args.approximate_only:
        print(f"N = {n}, T = {t}: approximate mode (item 4) against the exact sparse path")
        approximate_rows(y)
        return
    dense, t_dense, m_dense = timed_peak(lambda: choose_pairs(y, _Opts))
    print(f"N = {n}, T = {t}: one greedy pairing step")
    print(f"{'dense':<24s} {t_dense:8.2f} s  ratio 1.00   peak {m_dense / 2**20:9.1f} MiB")
    for k in (8, 32):
        sparse, t_s, m_s = timed_peak(lambda k=k: sparse_choose_pairs_k(y, k))
        same = np.array_equal(sparse, dense)
        print(
            f"{'sparse k=' + str(k):<24s} {t_s:8.2f} s  ratio {t_s / t_dense:5.2f}   "
            f"peak {m_s / 2**20:9.1f} MiB  ({m_s / m_dense:.2f} x dense)  identical pairs: {same}"
        )
    print("approximate mode (item 4) against the exact sparse path:")
    approximate_rows(y)


def sparse_choose_pairs_k(y: np.ndarray, k: int) -> np.ndarray:
    from rgdata.coarse import _prg_sparse

    old = dict(_prg_sparse.SPARSE_OPTIONS)
    _prg_sparse.SPARSE_OPTIONS["k"] = k
    try:
        return sparse_choose_pairs(pairing_rows(y))
    finally:
        _prg_sparse.SPARSE_OPTIONS.update(old)


def _child(what: str, y: np.ndarray, conn) -> None:
    from rgdata.coarse._ann import ann_pairs  # noqa: PLC0415

    if what != "exact":  # compile pynndescent's kernels first (not counted)
        ann_pairs(pairing_rows(y[:300, :50]), 8, random_state=0)
    rows = pairing_rows(y)
    probe = PeakProbe()  # not ru_maxrss: a spawned child starts with its parent's peak
    t0 = time.perf_counter()
    if what == "exact":
        out = sparse_choose_pairs_k(y, 32)
    else:
        out = ann_pairs(rows, 32, random_state=0)
    wall = time.perf_counter() - t0
    conn.send((out, wall, probe.grown()))
    conn.close()


def _in_child(what: str, y: np.ndarray):
    """Run one method in a fresh (spawned) process: (result, wall s, peak RSS growth in bytes).

    Not forked: the BLAS here uses GNU OpenMP, which does not survive a fork.
    """
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(what, y, send))
    proc.start()
    send.close()
    out = recv.recv()
    proc.join()
    return out


def approximate_rows(y: np.ndarray) -> None:
    """The approximate mode against the exact sparse path on the same rows (one level)."""
    from rgdata.coarse._ann import edge_similarity, pairing_quality  # noqa: PLC0415

    rows = pairing_rows(y)
    exact, t_e, m_e = _in_child("exact", y)
    approx, t_a, m_a = _in_child("approximate", y)
    t0 = time.perf_counter()
    quality = pairing_quality(rows, approx, random_state=0)
    t_q = time.perf_counter() - t0
    same = len({tuple(p) for p in exact.tolist()} & {tuple(p) for p in approx.tolist()})
    s_e = math.fsum(edge_similarity(rows, exact[:, 0], exact[:, 1]).tolist())
    s_a = math.fsum(edge_similarity(rows, approx[:, 0], approx[:, 1]).tolist())
    print(f"{'sparse exact k=32':<24s} {t_e:8.2f} s  ratio 1.00   peak RSS {m_e / 2**20:7.1f} MiB")
    print(
        f"{'approximate k=32':<24s} {t_a:8.2f} s  ratio {t_a / t_e:5.2f}   "
        f"peak RSS {m_a / 2**20:7.1f} MiB ({m_a / m_e:.2f} x exact)"
    )
    print(
        f"  all {y.shape[0]} units: identical pairs {same / len(exact):.4f}, summed correlation "
        f"loss {1 - s_a / s_e:+.2e}"
    )
    print(
        f"  recorded check ({int(quality['n_sample'])} units against all, {t_q:.2f} s = "
        f"{t_q / t_e:.2f} x exact): greedy choices {quality['identical_fraction']:.4f}, "
        f"loss {quality['correlation_loss']:+.2e}"
    )


if __name__ == "__main__":
    main()
