"""Coverage of the collapse and similarity-exponent intervals on planted data.

1. scaling_collapse: curves L^a f((x - x_c) L^b) (L = 8..64, 30 points, 2%
   Gaussian errors, planted x_c = 2.269, b = 1, a = 1.75), bootstrap 95%
   interval (100 replicas); the fraction of data sets whose interval holds
   the planted value, per parameter, with its binomial standard error.
2. similarity_exponents: the mean-field magnetisation z(r, j) (u = 1,
   alpha = 1/3, beta = -2/3) with 1% Gaussian errors, 95% t interval.

    python benchmarks/coverage_collapse_ci.py           # 100 data sets each
    python benchmarks/coverage_collapse_ci.py --quick   # 20 each
"""

from __future__ import annotations

import argparse

import numpy as np
from bench_collapse import TRUE, mean_field, planted

from rgdata.diagnostics import scaling_collapse, similarity_exponents


def line(name: str, hits: np.ndarray, widths: np.ndarray) -> None:
    n = hits.size
    c = hits.mean()
    print(
        f"{name:<28s} coverage {c:.3f} +- {np.sqrt(max(c * (1 - c), 0.25 / n) / n):.3f} "
        f"({int(hits.sum())}/{n}), mean width {widths.mean():.4g}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    n_sets = 20 if parser.parse_args().quick else 100
    sizes = np.array([8.0, 16.0, 32.0, 64.0])
    hits, widths = np.zeros((n_sets, 3)), np.zeros((n_sets, 3))
    for s in range(n_sets):
        x, y, dy = planted(30, sizes, seed=1000 + s)
        res = scaling_collapse(
            x,
            y,
            dy,
            sizes,
            initial={"x_c": 2.26, "b": 0.9, "a": 1.7},
            step={"x_c": 0.01},
            n_boot=100,
            random_state=s,
        )
        lo, hi = res["ci_low"].values, res["ci_high"].values
        hits[s] = (lo <= TRUE) & (TRUE <= hi)
        widths[s] = hi - lo
    for i, name in enumerate(("x_c", "b", "a")):
        line(f"scaling_collapse {name}", hits[:, i], widths[:, i])
    hits, widths = np.zeros((n_sets, 2)), np.zeros((n_sets, 2))
    truth = np.array([1 / 3, -2 / 3])
    for s in range(n_sets):
        r, j, z = mean_field(400, seed=2000 + s)
        noisy = z * (1 + 0.01 * np.random.default_rng(s).standard_normal(z.size))
        fit = similarity_exponents({"r": r, "j": j}, noisy, lead="r", target_err=0.01 * z)
        lo, hi = fit["ci_low"].values, fit["ci_high"].values
        hits[s] = (lo <= truth) & (truth <= hi)
        widths[s] = hi - lo
    for i, name in enumerate(("alpha:j", "beta:j")):
        line(f"similarity {name}", hits[:, i], widths[:, i])


if __name__ == "__main__":
    main()
