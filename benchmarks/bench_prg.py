"""Benchmark real-space PRG.

1. Pairing and clustering against the straightforward reference
   (``reference_prg.py``: a full argmax per pair) at N = 2,000 units, same
   process, same data; the clusters must agree.
2. Time and peak memory of every PRG level (all quantities) at N = 10,000
   units x T = 20,000 samples of binary spikes.
3. ``--acf``: the three ways to the autocorrelation (sparse non-zeros,
   direct lagged products, FFT) on every level of the retina's sums (160 x
   283,041 spikes; planted spikes of the same size when the data are
   absent), 128 lags, with the one ``acf_method`` picks and the largest
   difference from the direct products.

Run ``python benchmarks/bench_prg.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from reference_prg import reference_pairs, reference_prg_clusters  # noqa: E402

import rgdata  # noqa: E402
from rgdata.coarse import prg  # noqa: E402
from rgdata.coarse._prg_pairing import greedy_pairs  # noqa: E402
from rgdata.coarse._prg_stats import (  # noqa: E402
    acf_method,
    autocorrelation_rows,
    normalize_rows,
    standardize_rows,
)


def structured_spikes(rng, n, t, n_groups=50, p=0.05):
    """Spikes driven by group inputs (so correlations have structure)."""
    drive = rng.normal(size=(n_groups, t)).astype(np.float32)
    group = rng.integers(0, n_groups, n)
    x = np.empty((n, t), dtype=np.int8)
    for r0 in range(0, n, 500):
        g = drive[group[r0 : r0 + 500]]
        prob = p * np.exp(0.5 * g - 0.125)
        x[r0 : r0 + 500] = rng.random(g.shape, dtype=np.float32) < prob
    return x


def peak_rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def timed(fn, *args, **kw):
    t0, c0 = time.perf_counter(), cpu_seconds()
    out = fn(*args, **kw)
    timed.cpu = cpu_seconds() - c0
    return out, time.perf_counter() - t0


def fast_clusters(x, n_levels):
    """The reference's clustering loop with rgdata's kernels (one sort per level)."""
    y = np.empty(x.shape)
    normalize_rows(x, "nonzero_mean", y)
    clusters = [np.arange(x.shape[0])[:, None]]
    for _ in range(n_levels):
        z = standardize_rows(y, np.float64)
        corr = np.round(z @ z.T / x.shape[1], 12)
        pairs = greedy_pairs(corr)
        a, b = pairs[:, 0], pairs[:, 1]
        clusters.append(np.concatenate([clusters[-1][a], clusters[-1][b]], axis=1))
        y_new = np.empty((a.size, x.shape[1]))
        normalize_rows(y[a] + y[b], "nonzero_mean", y_new)
        y = y_new
    return clusters


def compare_reference(n, t, n_levels, rng):
    x = structured_spikes(rng, n, t)
    act = rgdata.as_activity(x, kind="spikes")
    # pairing step alone, on the same float64 correlation matrix
    z = standardize_rows(x / x.sum(1, keepdims=True), np.float64)
    corr = z @ z.T
    greedy_pairs(corr[:10, :10])  # compile the numba kernel outside the timing
    prg(act.isel(unit=slice(0, 8)), 1)
    ref_p, t_ref = timed(reference_pairs, corr)
    new_p, t_new = timed(greedy_pairs, corr)
    same = np.array_equal(np.sort(ref_p, axis=1), new_p)
    print(
        f"[pairing, N={n}] reference {t_ref:.3f} s, greedy_pairs {t_new:.4f} s, "
        f"ratio {t_ref / t_new:.1f}x, identical pairs: {same}"
    )
    # whole clustering vs whole prg (prg also computes every quantity)
    ref_c, t_ref_all = timed(reference_prg_clusters, x, n_levels)
    fast_c, t_fast = timed(fast_clusters, x, n_levels)
    same_fast = all(
        {frozenset(r) for r in ref_c[lv].tolist()} == {frozenset(r) for r in fast_c[lv].tolist()}
        for lv in range(n_levels + 1)
    )
    print(
        f"[clustering only, {n_levels} levels, N={n}, T={t}] reference {t_ref_all:.2f} s, "
        f"one sort per level {t_fast:.2f} s, ratio {t_ref_all / t_fast:.1f}x, "
        f"same clusters: {same_fast}"
    )
    res, t_new_all = timed(prg, act, n_levels, corr_dtype="float64")
    mem = res["membership"].values
    agree = []
    for lv in range(n_levels + 1):
        ref_sets = {frozenset(r) for r in ref_c[lv].tolist()}
        new_sets = {frozenset(np.flatnonzero(mem[lv] == c)) for c in range(ref_c[lv].shape[0])}
        agree.append(len(ref_sets & new_sets) / len(ref_sets))
    print(
        f"[full prg, {n_levels} levels, N={n}, T={t}] reference clustering {t_ref_all:.2f} s, "
        f"prg (clustering + all quantities) {t_new_all:.2f} s, ratio "
        f"{t_ref_all / t_new_all:.1f}x"
    )
    print(
        "  fraction of reference clusters found by prg per level: "
        + ", ".join(f"{a:.3f}" for a in agree)
    )


def big_run(n, t, rng):
    x = structured_spikes(rng, n, t)
    act = rgdata.as_activity(x, kind="spikes")
    base = peak_rss_gib()
    print(f"[big] input {x.nbytes / 2**30:.2f} GiB int8; peak RSS before prg {base:.2f} GiB")
    res, dt = timed(prg, act, None, progress=True)
    print(
        f"[big] prg N={n} T={t}: {res.sizes['level']} levels (K up to "
        f"{int(res['cluster_size'][-1])}) in {dt:.1f} s wall, {timed.cpu:.1f} s CPU (all "
        f"threads); peak RSS {peak_rss_gib():.2f} GiB (float32 correlation; "
        f"{os.cpu_count()} CPUs visible, load average {os.getloadavg()[0]:.1f})"
    )


def acf_methods(rng, max_lag=128):
    """Seconds of each autocorrelation method on every level of pair sums of the retina."""
    try:
        x = rgdata.stack_trials(rgdata.datasets.load_retina()).values.astype(np.int16)
        what = "retina"
    except (OSError, ValueError) as err:
        x = structured_spikes(rng, 160, 283_041).astype(np.int16)
        what = f"planted spikes (retina unavailable: {err})"
    print(f"autocorrelation, {max_lag} lags, sums of adjacent rows of the {what}:")
    for method in ("sparse", "direct", "fft"):  # compile outside the timing
        autocorrelation_rows(x[:2, :1000], 4, method=method)
    level = 0
    while True:
        seconds = {}
        acf = {}
        for method in ("sparse", "direct", "fft"):
            t0 = time.perf_counter()
            acf[method] = autocorrelation_rows(x, max_lag, method=method)[0]
            seconds[method] = time.perf_counter() - t0
        chosen = acf_method(x, max_lag)
        fastest = min(seconds, key=seconds.get)
        diff = max(np.nanmax(np.abs(acf[m] - acf["direct"])) for m in ("sparse", "fft"))
        density = np.count_nonzero(x) / x.size
        print(
            f"  level {level}: {x.shape[0]:3d} rows, {100 * density:4.1f} % non-zero: "
            + ", ".join(f"{m} {s:.3f} s" for m, s in seconds.items())
            + f"; picked {chosen} ({seconds[chosen] / seconds[fastest]:.2f}x the fastest); "
            f"max |diff| {diff:.1e}"
        )
        if x.shape[0] < 2:
            break
        n = x.shape[0] // 2 * 2
        x = x[0:n:2] + x[1:n:2]
        level += 1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes")
    ap.add_argument("--skip-big", action="store_true", help="only the reference comparison")
    ap.add_argument("--skip-reference", action="store_true", help="only the big run")
    ap.add_argument("--acf", action="store_true", help="only the autocorrelation methods")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    if args.acf:
        acf_methods(rng)
        return
    if args.quick:
        if not args.skip_reference:
            compare_reference(500, 2000, 4, rng)
        if not args.skip_big:
            big_run(2000, 4000, rng)
    else:
        if not args.skip_reference:
            compare_reference(2000, 5000, 4, rng)
        if not args.skip_big:
            big_run(10_000, 20_000, rng)


if __name__ == "__main__":
    main()
