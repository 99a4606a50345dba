"""Pilot tau_int of sample_ising's schedule against a long run's batch-means tau_int.

For each (algorithm, L, T) the pilot (``sampling._pilot``, Sokal's windowed
estimate on E, |m|, m^2) runs on several seeds; an independent long chain of
at least ``LONG_TAUS`` tau (default 1000) gives tau_int of each observable by
batch means (``tau_int_batch_means``: a different estimator). Prints one row
per point: mean pilot tau, its seed spread, the long-run tau with its error,
and their ratio.

Usage: python benchmarks/bench_pilot_tau.py [--quick] [--seeds N]
[--sizes 16 64] [--algorithms wolff] [--temperatures 2.269 2.6]
(the filters keep the points of the default list that match).
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from rgdata.lattice import sampling
from rgdata.lattice._autocorr import tau_int_batch_means

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))
LONG_TAUS = 2000
#: Batches of BATCH_TAUS pilot tau (at least 32 batches): bias ~ tau_exp / batch length.
BATCH_TAUS = 50
N_LONG_RUNS = 2


def make_chain(L: int, T: float, algorithm: str, seed: int):
    key, init_rng = sampling._streams(seed)
    spins = sampling._initial_spins(None, (L, L), init_rng)
    chain = sampling._Chain(spins, algorithm, 1.0 / T, 1.0, 0.0, None, key, 1)
    if algorithm == "wolff":
        chain.calibrate_wolff()
    return chain


def _clusters_per_sweep(chain) -> int:
    """Wolff: clusters in one sweep-equivalent of this chain (its own calibration); else 1."""
    return int(getattr(chain, "clusters_per_sweep", 1) or 1)


def pilot_taus(L, T, algorithm, seeds):
    """(pilot tau in sweeps, reliable, clusters per sweep) per seed."""
    out = []
    for seed in seeds:
        chain = make_chain(L, T, algorithm, seed)
        tau, ok, _ = sampling._pilot(chain)
        out.append((tau, ok, _clusters_per_sweep(chain)))
    return out


def long_tau(L, T, algorithm, n_sweeps, n_batches, seed):
    """max over E, |m|, m^2 of the batch-means tau (with se) on one long chain, and its
    clusters per sweep."""
    chain = make_chain(L, T, algorithm, seed)
    chain.run(max(1000, n_sweeps // 20))
    e = np.empty(n_sweeps)
    m = np.empty(n_sweeps)
    for k in range(n_sweeps):
        chain.run(1)
        e[k], m[k] = chain.measure()
    res = [tau_int_batch_means(x, n_batches) for x in (e, m, m * m)]
    tau, se = max(res, key=lambda r: r[0])
    return tau, se, _clusters_per_sweep(chain)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--sizes", type=int, nargs="+", help="keep only these L")
    parser.add_argument("--algorithms", nargs="+", help="keep only these algorithms")
    parser.add_argument(
        "--temperatures", type=float, nargs="+", help="keep only these T (to 3 decimals)"
    )
    args = parser.parse_args()
    points = [("metropolis", L, T) for L in (8, 16, 32) for T in (2.0, TC, 2.6)]
    points += [("metropolis", 64, T) for T in (2.0, TC, 2.6)]
    points += [("wolff", L, T) for L in (16, 64) for T in (2.0, TC, 2.6)]
    if args.quick:
        points = [p for p in points if p[1] <= 16]
    if args.sizes:
        points = [p for p in points if p[1] in args.sizes]
    if args.algorithms:
        points = [p for p in points if p[0] in args.algorithms]
    if args.temperatures:
        wanted = {round(t, 3) for t in args.temperatures}
        points = [p for p in points if round(p[2], 3) in wanted]
    print("algorithm   L     T    pilot tau (sd, n unreliable)   long tau +- se   ratio +- se")
    for algorithm, L, T in points:
        seeds = range(args.seeds)
        pil = pilot_taus(L, T, algorithm, seeds)
        taus = np.array([t for t, _, _ in pil])
        bad = sum(not ok for _, ok, _ in pil)
        n_long = int(max(20000, LONG_TAUS * taus.max()))
        n_batches = max(32, int(n_long // (BATCH_TAUS * taus.max())))
        runs = [
            long_tau(L, T, algorithm, n_long, n_batches, 10_000 * (r + 1) + L)
            for r in range(N_LONG_RUNS)
        ]
        tl = float(np.mean([t for t, _, _ in runs]))
        tl_se = float(np.sqrt(np.sum([se**2 for _, se, _ in runs]))) / N_LONG_RUNS
        ratio = taus.mean() / tl
        ratio_se = ratio * math.hypot(
            tl_se / tl, taus.std(ddof=1) / math.sqrt(len(taus)) / taus.mean()
        )
        # Wolff: each chain calibrates its own sweep-equivalent (clusters per sweep,
        # an integer from a noisy mean cluster size), so compare also in clusters
        cps_p = np.array([c for _, _, c in pil], dtype=float)
        cps_l = np.array([c for _, _, c in runs], dtype=float)
        taus_c = taus * cps_p
        tl_c = float(np.mean([t * c for (t, _, _), c in zip(runs, cps_l, strict=True)]))
        ratio_c = taus_c.mean() / tl_c
        ratio_c_se = ratio_c * math.hypot(
            tl_se / tl, taus_c.std(ddof=1) / math.sqrt(len(taus_c)) / taus_c.mean()
        )
        print(
            f"{algorithm:10s} {L:3d} {T:6.3f}  {taus.mean():8.2f} ({taus.std(ddof=1):6.2f}, {bad})"
            f"   {tl:8.2f} +- {tl_se:6.2f}   {ratio:5.2f} +- {ratio_se:4.2f}  min={taus.min():.2f}"
            f"  clusters/sweep pilot {cps_p.min():.0f}-{cps_p.max():.0f} long "
            f"{cps_l.min():.0f}-{cps_l.max():.0f}  ratio in clusters {ratio_c:5.2f} +- "
            f"{ratio_c_se:4.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
