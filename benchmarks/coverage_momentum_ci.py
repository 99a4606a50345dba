"""Coverage of the 95% interval of the momentum-space median fourth moment.

Planted truth: ``N`` Gaussian units ``x_i = u_i + c_i d``, each ``u_i`` its
own stationary AR(1) process and ``d`` one shared AR(1) drive, all with
autocorrelation time ``tau`` bins (``c_i`` uniform in [0.5, 1.5]). Every
filtered variable is a linear combination of jointly Gaussian series, so it
is Gaussian: its fourth moment is 3 exactly, at every fraction and in every
time block, whatever the modes the data pick.

The estimator (median over units of the sample ``<phi^4>/<phi^2>^2``) is
biased low at finite ``T``: the sample kurtosis of ``T_eff`` independent
Gaussian samples has mean ``3 - 6 / (T_eff + 1)`` and a right-skewed
distribution (median below mean), and autocorrelation makes ``T_eff`` smaller
than ``T``. The library's interval reaches from ``min(m, m - b) - h`` to
``max(m, m - b) + h``, ``m`` the estimate, ``b`` the delete-one-block
jackknife bias estimate, ``h = t_{B-1} se + |b|``. The script reports its
coverage of the truth (3) and of the estimator's expected value (the mean of
the estimates over the replicates of the row, a Monte Carlo value) side by
side, with the mean bias in units of the median half-width.

For each row: the share of replicates that got an interval (the rest are NaN
by design: fewer than 5 blocks of 3 tau_int), the coverage pooled over the
fractions with its binomial standard error, the lowest and highest
per-fraction coverage, and the median half-width. ``--compare-rules`` adds a
second table: coverage of 3 by other intervals rebuilt from the same stored
jackknife error and bias (``m +- t se``, the shifted ``m - b +- t se``, the
widened ``m +- (t se + |b|)``), on the same replicates.

Run from the repository root: ``PYTHONPATH=. python benchmarks/coverage_momentum_ci.py
[--reps 200] [--rows T:tau ...] [--seed 2025] [--compare-rules]``.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import scipy.signal
import scipy.stats

import rgdata
from rgdata.coarse import momentum

N_UNITS = 32


def ar1(rng: np.random.Generator, n: int, t: int, tau: float) -> np.ndarray:
    """``n`` independent stationary AR(1) series with ``C(lag) = exp(-lag / tau)``."""
    a = np.exp(-1.0 / tau)
    e = rng.normal(size=(n, t)) * np.sqrt(1 - a * a)
    e[:, 0] = rng.normal(size=n)
    return scipy.signal.lfilter([1.0], [1.0, -a], e, axis=1)


def planted(rng: np.random.Generator, t: int, tau: float, n: int = N_UNITS) -> np.ndarray:
    """Gaussian units with their own AR(1) noise and a shared AR(1) drive."""
    c = rng.uniform(0.5, 1.5, size=(n, 1))
    return ar1(rng, n, t, tau) + c * ar1(rng, 1, t, tau)


def one_row(t: int, tau: float, reps: int, seed: int) -> dict:
    """Estimates and bounds over ``reps`` replicates: arrays (rep, fraction)."""
    rng = np.random.default_rng(seed)
    keys = {
        "est": "fourth_moment_median",
        "lo": "fourth_moment_median_ci_low",
        "hi": "fourth_moment_median_ci_high",
        "se": "fourth_moment_median_se",
        "bias": "fourth_moment_median_jackknife_bias",
    }
    out = {k: [] for k in (*keys, "n_blocks")}
    for _ in range(reps):
        x = planted(rng, t, tau)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = momentum(rgdata.as_activity(x, kind="calcium"))
        for k, v in keys.items():
            out[k].append(res[v].values)
        out["n_blocks"].append(res.attrs["n_blocks"])
    return {k: np.array(v) for k, v in out.items()}


def other_rules(r: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Intervals rebuilt from the stored jackknife error and bias (NaN where no library CI)."""
    t = scipy.stats.t.ppf(0.975, r["n_blocks"][:, None] - 1) * r["se"]
    m, b = r["est"], r["bias"]
    nan = np.where(np.isfinite(r["lo"]), 0.0, np.nan)
    rules = {
        "m +- t se": (m - t, m + t),
        "m - b +- t se (shift)": (m - b - t, m - b + t),
        "m +- (t se + |b|) (widen)": (m - t - np.abs(b), m + t + np.abs(b)),
        "library": (r["lo"], r["hi"]),
    }
    return {k: (lo + nan, hi + nan) for k, (lo, hi) in rules.items()}


def summarize(r: dict, truth: float | np.ndarray) -> tuple[float, float, float, float, int]:
    """Pooled coverage, its SE, lowest and highest per-fraction coverage, number of CIs."""
    ok = np.isfinite(r["lo"])
    cover = (r["lo"] <= truth) & (truth <= r["hi"])
    n = int(ok.sum())
    if n == 0:
        return np.nan, np.nan, np.nan, np.nan, 0
    pooled = cover[ok].mean()
    per = [cover[ok[:, j], j].mean() for j in range(ok.shape[1]) if ok[:, j].any()]
    # replicates, not fraction-rows, are independent: SE over replicates
    n_rep = int(ok.any(axis=1).sum())
    se = np.sqrt(max(pooled * (1 - pooled), 1e-12) / max(n_rep, 1))
    return pooled, se, min(per), max(per), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--compare-rules", action="store_true")
    parser.add_argument(
        "--rows",
        nargs="*",
        default=None,
        help="T:tau pairs (default: T in 800, 4000, 20000 x tau in 20, 100)",
    )
    args = parser.parse_args()
    rows = (
        [tuple(int(v) for v in r.split(":")) for r in args.rows]
        if args.rows
        else [(t, tau) for tau in (20, 100) for t in (800, 4000, 20000)]
    )
    print(
        f"N = {N_UNITS} Gaussian AR(1) units + shared AR(1) drive, default fractions, "
        f"{args.reps} replicates per row, 95% CIs"
    )
    print(
        "| T | tau | with CI | coverage of 3 (pooled; min-max over fractions) | "
        "coverage of E[estimate] | mean bias / median half-width | median half-width |"
    )
    print("|---|---|---|---|---|---|---|")
    compared = []
    for i, (t, tau) in enumerate(rows):
        r = one_row(t, tau, args.reps, args.seed + i)
        if args.compare_rules:
            compared.append(((t, tau), other_rules(r)))
        frac_ci = np.isfinite(r["lo"]).any(axis=1).mean()
        mean_est = r["est"].mean(axis=0)
        half = np.nanmedian((r["hi"] - r["lo"]) / 2) if np.isfinite(r["lo"]).any() else np.nan
        cells = []
        for truth in (3.0, mean_est[None, :]):
            cov, se, cmin, cmax, n = summarize(r, truth)
            cells.append("-" if n == 0 else f"{cov:5.1%} +- {se:4.1%} ({cmin:.0%}-{cmax:.0%})")
        bias = float(np.mean(mean_est - 3.0))
        print(
            f"| {t} | {tau} | {frac_ci:4.0%} | {cells[0]} | {cells[1]} | "
            f"{bias / half if np.isfinite(half) else np.nan:+.2f} ({bias:+.3f}) | {half:.3f} |",
            flush=True,
        )
    if compared:
        names = list(compared[0][1])
        print("\ncoverage of 3, pooled over fractions (min-max over fractions), same replicates")
        print("| T | tau | " + " | ".join(names) + " |")
        print("|---|---|" + "---|" * len(names))
        for (t, tau), rules in compared:
            cells = []
            for lo, hi in rules.values():
                cov, se, cmin, cmax, n = summarize({"lo": lo, "hi": hi}, 3.0)
                cells.append("-" if n == 0 else f"{cov:5.1%} ({cmin:.0%}-{cmax:.0%})")
            print(f"| {t} | {tau} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
