"""Benchmark the flow area (quartic fits, quartic flow, hierarchical maxent, flow maps).

Each line prints the rgdata time, a baseline run in the same process and
their ratio. Machines are noisy: compare ratios, not absolute times.

    python benchmarks/bench_flow.py           # full size (retina-sized quartic flow)
    python benchmarks/bench_flow.py --quick   # a few seconds
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

import numpy as np
from scipy.integrate import quad
from scipy.optimize import minimize
from scipy.special import softmax

import rgdata
from rgdata.flow import estimate_flow
from rgdata.maxent import HierarchicalMaxEnt, fit_quartic_flow, fit_quartic_moments

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _timing import best_of, ratio_line  # noqa: E402


def quad_mle(m2, m4):
    """Baseline MLE: the same moment equations with scipy.integrate.quad normalisations."""

    def nll(t):
        a, g = t[0], np.exp(t[1])
        z = quad(lambda x: np.exp(-a * x * x - g * x**4), -np.inf, np.inf)[0]
        return a * m2 + g * m4 + np.log(z)

    return minimize(nll, [0.5 / m2, np.log(0.01)], method="Nelder-Mead").x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, a few seconds")
    args = parser.parse_args()
    quick = args.quick
    repeat = 2 if quick else 3

    # 1. one quartic MLE: fixed-grid Newton vs scipy.quad + Nelder-Mead
    ours = best_of(lambda: fit_quartic_moments(1.0, 2.2), 5 * repeat)
    base = best_of(lambda: quad_mle(1.0, 2.2), repeat)
    ratio_line("quartic MLE (one fit)", ours, base, "grid Newton vs quad + Nelder-Mead")

    # 2. quartic flow on retina-shaped data vs the bare linear algebra it needs
    n_unit, n_time = (40, 20_000) if quick else (160, 283_041)
    rng = np.random.default_rng(0)
    x = (rng.random((n_unit, n_time)) < 0.03).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes")

    def bare():
        z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
        c = z @ z.T / n_time
        _, v = np.linalg.eigh(c)
        return np.sum((v @ (v.T @ z)) ** 4)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ours = best_of(lambda: fit_quartic_flow(act, n_blocks=20), 1)
    base = best_of(bare, 1)
    ratio_line(
        f"quartic flow {n_unit}x{n_time}",
        ours,
        base,
        "all fractions + jackknife vs one z-score/eigh/projection",
    )

    # 3. hierarchical maxent: exact recursion vs brute-force optimisation over the simplex
    n_bits = 6 if quick else 8
    n = 2**n_bits
    f = rng.normal(size=n)
    maps = [np.arange(n) // 4, np.arange(n // 4) // 4]
    w = np.array([0.5, 1.0, 0.7])

    def brute():
        def neg(z):
            p = softmax(z)
            lv = [p, np.bincount(maps[0], p), None]
            lv[2] = np.bincount(maps[1], lv[1])
            img = [np.arange(n), maps[0], maps[1][maps[0]]]
            val = sum(wj * -np.sum(q * np.log(q)) for wj, q in zip(w, lv, strict=True)) - p @ f
            dp = sum(wj * (-np.log(q[i]) - 1) for wj, q, i in zip(w, lv, img, strict=True)) - f
            return -val, -p * (dp - p @ dp)

        return minimize(neg, np.zeros(n), jac=True, method="L-BFGS-B").x

    ours = best_of(lambda: HierarchicalMaxEnt(w, 1.0, maps).fit(f), 5 * repeat)
    base = best_of(brute, repeat)
    ratio_line(
        f"hierarchical maxent 2^{n_bits}", ours, base, "RG recursion vs L-BFGS on the simplex"
    )

    # 4. flow estimation with resampled errors vs one least-squares fit
    traj = np.empty((20, 8))
    traj[:, 0] = np.linspace(0.05, 0.95, 20)
    for k in range(1, 8):
        traj[:, k] = 1.5 * traj[:, k - 1] - traj[:, k - 1] ** 2
    obs = traj[..., None] + 1e-3 * rng.standard_normal(traj.shape + (1,))
    n_res = 100 if quick else 300
    ours = best_of(
        lambda: estimate_flow(obs, np.full(obs.shape, 1e-3), model="quadratic", n_resamples=n_res),
        repeat,
    )
    xs, ys = obs[:, :-1].ravel(), obs[:, 1:].ravel()

    def naive():  # the same resampling with np.polyfit + np.roots, no bookkeeping
        for _ in range(n_res):
            c = np.polyfit(
                xs + 1e-3 * rng.standard_normal(xs.size),
                ys + 1e-3 * rng.standard_normal(ys.size),
                2,
            )
            np.roots(c - np.array([0.0, 1.0, 0.0]))

    base = best_of(naive, repeat)
    ratio_line(
        f"estimate_flow ({n_res} resamples)",
        ours,
        base,
        "full result vs bare polyfit+roots resampling",
    )


if __name__ == "__main__":
    main()
