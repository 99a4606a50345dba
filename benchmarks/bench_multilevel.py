"""Multilevel sampler: generation cost, and effective samples per second against Wolff/Metropolis.

1. The heat-bath MultilevelSampler generating N configurations of L = 64 with
   their exact log q (issue #18 target: 10^4 in under a minute on 2 cores).
2. At beta = 0.44 and L = 16, 32, 64: effective samples per second of the
   multilevel sampler (ESS of the importance weights / wall time) against
   Wolff's and Metropolis' independent samples per second
   (``n_effective = n / (2 tau_int)`` of ``sample_ising`` / its wall time,
   pilot and burn-in included), measured in the same run; ratios printed.
   The ESS of a few samples with heavy-tailed weights is itself noisy (and
   biased high when it is of order 1), so small ESS are only orders of
   magnitude.
3. With ``--learned``: the LearnedMultilevelSampler trained at L = 16 and 32
   (training time printed separately), its ESS per second the same way.

Usage: python benchmarks/bench_multilevel.py [--quick] [--learned]
(run it on an otherwise idle machine).
"""

from __future__ import annotations

import argparse
import time
import warnings

from rgdata.lattice import sample_ising
from rgdata.models import MultilevelSampler, importance_estimates

BETA = 0.44


def timed(func):
    t0 = time.perf_counter()
    out = func()
    return out, time.perf_counter() - t0


def mcmc_rate(L: int, n: int, algorithm: str, seed: int) -> tuple[float, float, float]:
    """(independent samples per second, n_effective, seconds) of sample_ising."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg, dt = timed(
            lambda: sample_ising(L, 1 / BETA, n, algorithm=algorithm, random_state=seed)
        )
    n_eff = float(cfg.attrs["n_effective"])
    return n_eff / dt, n_eff, dt


def multilevel_rate(sampler, n: int, seed: int) -> tuple[float, float, float, float]:
    """(ESS per second, ESS, ESS fraction, seconds) of n samples."""
    cfg, dt = timed(lambda: sampler.sample(n, random_state=seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = importance_estimates(cfg)
    return float(est.ess) / dt, float(est.ess), float(est.ess_fraction), dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sample counts")
    parser.add_argument("--learned", action="store_true", help="also the learned sampler")
    args = parser.parse_args()
    n_gen = 2000 if args.quick else 10_000
    n_ml = {16: 4000, 32: 4000, 64: 2000} if args.quick else {16: 20000, 32: 20000, 64: 10000}
    n_mc = {16: 400, 32: 300, 64: 200} if args.quick else {16: 2000, 32: 1500, 64: 1000}

    warm = MultilevelSampler(beta=BETA, L=8).fit()
    warm.sample(10, random_state=0)  # numba compilation, outside every timing
    for algorithm in ("wolff", "metropolis"):
        mcmc_rate(8, 20, algorithm, seed=0)
    sampler = MultilevelSampler(beta=BETA, L=64).fit()
    _, dt = timed(lambda: sampler.sample(n_gen, random_state=1))
    print(f"MultilevelSampler: {n_gen} L=64 samples with log q in {dt:.2f} s "
          f"({n_gen / dt:.0f} samples/s; 10^4 would take {1e4 * dt / n_gen:.1f} s)")  # fmt: skip

    print(f"\nbeta = {BETA}: effective samples per second (ESS / wall time)")
    header = f"{'L':>3} {'sampler':<22} {'n':>6} {'seconds':>8} {'ESS or n_eff':>13} {'per s':>10}"
    print(header + "   ratio vs Wolff")
    for L in (16, 32, 64):
        wolff_rate, wolff_eff, wolff_dt = mcmc_rate(L, n_mc[L], "wolff", seed=L)
        metro_rate, metro_eff, metro_dt = mcmc_rate(L, n_mc[L], "metropolis", seed=L)
        ml = MultilevelSampler(beta=BETA, L=L).fit()
        ml_rate, ml_ess, ml_frac, ml_dt = multilevel_rate(ml, n_ml[L], seed=L)
        rows = [
            ("Wolff", n_mc[L], wolff_dt, wolff_eff, wolff_rate),
            ("Metropolis", n_mc[L], metro_dt, metro_eff, metro_rate),
            (f"multilevel (ESS {ml_frac:.2g})", n_ml[L], ml_dt, ml_ess, ml_rate),
        ]
        if args.learned and L <= 32:
            from rgdata.models import LearnedMultilevelSampler

            model, train_dt = timed(
                lambda L=L: LearnedMultilevelSampler(beta=BETA, L=L, random_state=0).fit()
            )
            model.sample(10, random_state=0)  # compile the sampler outside the timing
            rate, ess, frac, dt = multilevel_rate(model, n_ml[L], seed=L)
            rows.append((f"learned (ESS {frac:.2g})", n_ml[L], dt, ess, rate))
            print(f"    learned sampler at L={L}: training {train_dt:.0f} s")
        for name, n, dt, eff, rate in rows:
            print(f"{L:>3} {name:<22} {n:>6} {dt:8.2f} {eff:13.1f} {rate:10.1f}   "
                  f"{rate / wolff_rate:9.3g}")  # fmt: skip


if __name__ == "__main__":
    main()
