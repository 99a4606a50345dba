"""Benchmark hierarchical maximum-entropy fits to data (HierarchicalMaxEntFit).

Each line prints the rgdata time, a baseline run in the same process and
their ratio. Machines are noisy: compare ratios, not absolute times.

1. Gaussian fit on a PRG tree (``prg_tree(result, max_level="auto")``),
   N = 1,000 units, T = 20,000 (closed form plus a 20-block jackknife).
   Baseline: the bare linear algebra of a flat (ordinary) Gaussian
   maximum-entropy fit with the same jackknife, i.e. the covariance, its
   inverse and 20 leave-one-block-out inverses.
2. Binary fit on the shipped retina (160 units, 283,041 bins), PRG tree to
   clusters of 32 (statistics="tree", exact per cluster, 20-block jackknife).
   Baseline: the same statistics fitted flat, weights (1, 0, ..., 0)
   (ordinary maximum entropy on the same engine); with ``--pairwise`` also
   the flat pairwise fit of all 160 units (``PairwiseMaxEnt``, 3-4 minutes).

3. Binary fit with all pairs (statistics="pairwise", engine="monte_carlo"),
   weights (1, ..., 1), on the 32 retina units of the first top-level
   cluster of the same PRG tree (5 levels: 32 -> 16 -> 8 -> 4 -> 2).
   Baseline: PairwiseMaxEnt's default fit of the same units (the flat
   all-pairs fit). ``--quick``: 32 synthetic units. ``--units 160``: all
   160 retina units on the 6-level tree (12,880 statistics; issue #17's
   5-minute target), without the baseline (the flat fit takes 3-4 minutes,
   ``--pairwise``); the line also gives the learner's history.

    python benchmarks/bench_hierarchical.py           # full sizes
    python benchmarks/bench_hierarchical.py --quick   # a few seconds
    python benchmarks/bench_hierarchical.py --only-all-pairs --units 160

4. ``--only-errors``: the errors of the 160-unit all-pairs fit alone, its
   response matrix ``M = dE f / d beta`` (12,880 x 12,880) from 644,000
   configurations (50 per statistic) with the data's activity (the data's
   own bins, cycled: a converged model's samples look like them) and the
   LU solve of the 20 jackknife replicates. Baseline: the dense product
   ``f^T f`` of the same statistics (what the errors used before, refused
   above 64 units), timed on 1 % of the configurations and scaled by 100.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import rgdata
from rgdata.maxent import HierarchicalMaxEntFit, PairwiseMaxEnt, check_tree, prg_tree

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import ratio_line  # noqa: E402


def timed(func):
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def flat_gaussian_jackknife(x: np.ndarray, n_blocks: int = 20) -> np.ndarray:
    """Baseline: K = C^-1 and its 20 leave-one-block-out replicates."""
    n, t = x.shape
    xc = x - x.mean(axis=1, keepdims=True)
    c = xc @ xc.T / t
    k = np.linalg.inv(c)
    edges = np.linspace(0, t, n_blocks + 1).astype(int)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        cb = xc[:, lo:hi] @ xc[:, lo:hi].T
        np.linalg.inv((c * t - cb) / (t - (hi - lo)))
    return k


def gaussian(quick: bool) -> None:
    n, t = (200, 5_000) if quick else (1_000, 20_000)
    rng = np.random.default_rng(0)
    # correlated data: 20 latent factors plus independent noise
    load = rng.normal(size=(n, 20)) * 0.5
    x = load @ rng.normal(size=(20, t)) + rng.normal(size=(n, t))
    act = rgdata.as_activity(x, kind="continuous")
    t_prg, res = timed(lambda: rgdata.coarse.prg(act, random_state=0))
    tree = prg_tree(res, max_level="auto")
    w = np.ones(len(tree.maps) + 1)
    ours, fit = timed(lambda: HierarchicalMaxEntFit(w).fit(act, tree=tree))
    # the baseline under the same BLAS thread rule as the fit (one thread below 1,024 units)
    with threadpool_limits(limits=1 if n < 1024 else None, user_api="blas"):
        base, _ = timed(lambda: flat_gaussian_jackknife(x))
    ratio_line(
        f"gaussian N={n} T={t} ({len(w)} lv)", ours, base, "flat C^-1 + 20 jackknife inverses"
    )
    print(
        f"    levels {tree.sizes} ({tree.dropped.size} units left out); prg itself "
        f"{t_prg:.1f} s; residual {fit.residual_:.2g} SE"
    )


def retina():
    """The shipped retina recording, trials stacked into one time axis."""
    act = rgdata.datasets.load_retina()
    return rgdata.stack_trials(act) if "trial" in act.dims else act


def binary(quick: bool, pairwise: bool) -> None:
    if quick:
        rng = np.random.default_rng(0)
        x = (rng.random((64, 20_000)) < 0.05).astype(np.int8)
        x[1::2] = np.where(rng.random((32, 20_000)) < 0.3, x[::2], x[1::2])
        act = rgdata.as_activity(x, kind="spikes")
        max_level = 4
    else:
        act = retina()
        max_level = 5
    res = rgdata.coarse.prg(act, random_state=0)
    tree = prg_tree(res, max_level=max_level)
    w = np.ones(max_level + 1)
    flat_w = np.r_[1.0, np.zeros(max_level)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours, fit = timed(lambda: HierarchicalMaxEntFit(w, statistics="tree").fit(act, tree=tree))
        base, _ = timed(
            lambda: HierarchicalMaxEntFit(flat_w, statistics="tree").fit(act, tree=tree)
        )
    n = act.sizes["unit"]
    ratio_line(
        f"binary tree N={n} ({len(w)} lv)", ours, base, "same statistics, weights (1, 0, ...)"
    )
    print(
        f"    {len(fit.beta_)} statistics; residual {fit.residual_:.2g} SE; "
        f"converged {fit.converged_}; at bound {fit.n_at_bound_}"
    )
    if pairwise:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            flat, _ = timed(lambda: PairwiseMaxEnt(random_state=0).fit(act))
        ratio_line(f"binary tree N={n} vs pairwise", ours, flat, "flat PairwiseMaxEnt, all pairs")


def first_top_cluster(act, tree):
    """The units of the first top-level cluster and their sub-tree (cluster-sum matrices)."""
    anc, labels = np.arange(tree.units.size), []
    for t in tree.maps:
        anc = np.argmax(t, axis=0)[anc]
        labels.append(anc.copy())
    sel = np.flatnonzero(labels[-1] == 0)
    rows = [sel] + [np.unique(lab[sel]) for lab in labels[:-1]]
    maps = [tree.maps[j][np.ix_(rows[j + 1], rows[j])] for j in range(len(rows) - 1)]
    return act.isel(unit=tree.units[sel]), check_tree(maps, sel.size)


def all_pairs(quick: bool, units: int = 32) -> None:
    if quick:
        rng = np.random.default_rng(0)
        drive = rng.random((8, 20_000)) < 0.3
        x = rng.random((32, 20_000)) < 0.05
        x |= drive[np.arange(32) // 4] & (rng.random((32, 20_000)) < 0.3)
        act = rgdata.as_activity(x.astype(np.int8), kind="spikes")
        max_level = 3
    else:
        act = retina()
        max_level = 5
    res = rgdata.coarse.prg(act, random_state=0)
    tree = prg_tree(res, max_level=max_level)
    if not quick and units != act.sizes["unit"]:
        act, tree = first_top_cluster(act, tree)
    w = np.ones(len(tree.maps) + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours, fit = timed(
            lambda: HierarchicalMaxEntFit(w, engine="monte_carlo", random_state=0).fit(
                act, tree=tree
            )
        )
    n = act.sizes["unit"]
    summary = (
        f"    {len(fit.beta_)} statistics; converged {fit.converged_}, residual "
        f"{fit.residual_:.3g} (allowance {fit.mc_allowance_:.2g}), rms {fit.residual_rms_:.2g}; "
        f"{fit.n_iter_} iterations, {fit.n_mc_samples_:.3g} samples"
    )
    finite = np.isfinite(fit.beta_err_)
    errors = (
        f"    errors: {fit.error_method_}; median beta_err "
        f"{np.median(fit.beta_err_[finite]) if finite.any() else np.nan:.3g}, "
        f"{int(np.sum(~finite))} not finite"
    )
    if n > 32 and not quick:
        print(f"binary all pairs N={n} ({len(w)} lv)     {ours:10.1f} s")
        print(summary)
        print("    history " + " ".join(f"{z:.3g}" for z in fit.history_))
        print(errors)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        base, flat = timed(lambda: PairwiseMaxEnt(random_state=0).fit(act))
    ratio_line(f"binary all pairs N={n} ({len(w)} lv)", ours, base, "flat PairwiseMaxEnt")
    print(f"{summary}; flat fit converged {flat.converged_}, residual {flat.residual_:.3g}")
    print(errors)


def errors_only() -> None:
    from rgdata.maxent import _hierarchy_mc_errors as me
    from rgdata.maxent._hierarchy_mc import PairTree
    from rgdata.maxent._hierarchy_mc_fit import error_samples

    act = retina()
    tree = prg_tree(rgdata.coarse.prg(act, random_state=0), max_level=5)
    x = (np.asarray(act.values) != 0).astype(np.int8)
    n = x.shape[0]
    p = n + n * (n - 1) // 2
    pt = PairTree(tree.maps)
    cum = np.cumsum(np.ones(len(tree.maps) + 1))
    samples = np.ascontiguousarray(x.T[np.arange(error_samples(p)) % x.shape[1]])
    beta = np.zeros(p)
    t_m, m = timed(lambda: me.response_matrix(pt, beta, cum, samples))
    sums, sizes = me.block_statistics(x, 20)
    c = sums.sum(0) / x.shape[1]
    loo = (c * x.shape[1] - sums) / (x.shape[1] - sizes)[:, None]
    free = me.interior(c, n)
    t_solve, _ = timed(lambda: me.linear_jackknife(m, beta, c, loo, free, overwrite=True))
    m = None  # free the 1.3 GB matrix before the baseline
    part = samples[: samples.shape[0] // 100]
    iu = np.triu_indices(n, 1)

    def dense():
        f = np.concatenate([part, part[:, iu[0]] * part[:, iu[1]]], axis=1).astype(float)
        return f.T @ f

    base, _ = timed(dense)
    ratio_line(
        f"errors N={n}: response matrix", t_m, 100 * base, "dense f^T f, 1 % of samples x 100"
    )
    ops = me.response_operations(samples, len(pt.count_tree.labels))
    print(
        f"    {samples.shape[0]} samples, {p} statistics, {ops:.2g} multiply-adds; "
        f"LU solve of {int(free.sum())} free multipliers {t_solve:.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    parser.add_argument("--pairwise", action="store_true", help="also the flat pairwise fit")
    parser.add_argument("--only-all-pairs", action="store_true", help="only row 3")
    parser.add_argument(
        "--units",
        type=int,
        choices=(32, 160),
        default=32,
        help="row 3 on the first top-level cluster (32) or on all 160 retina units",
    )
    parser.add_argument(
        "--only-errors", action="store_true", help="only the 160-unit errors (row 4)"
    )
    args = parser.parse_args()
    if args.only_errors:
        errors_only()
        return
    if not args.only_all_pairs:
        gaussian(args.quick)
        binary(args.quick, args.pairwise)
    all_pairs(args.quick, args.units)


if __name__ == "__main__":
    main()
