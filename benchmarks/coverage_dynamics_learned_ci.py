"""Coverage of learned_dynamic_scaling's 95% interval for z on planted data.

Planted truth ``z = 1``:

* ``double_well`` (default): ``planted_langevin_levels([1, 2, 4, 8], 1.0, 2.0,
  8, 8000, random_state=1000 + seed)``: 4 levels x 8 double-well Langevin
  variables x 8000 steps, ``tau_l = 2 s_l``, so every level is level 1 with
  its time stretched by ``s_l`` (the slow test's configuration);
* ``ou_tree``: ``planted_ou_tree(4, 1.0, 1.0, 8000, random_state=1000 +
  seed)`` (linear dynamics, 16 .. 2 cluster sums per level).

Each data set is analysed at the defaults with ``random_state=seed``. Per
seed it prints one JSON line; then, for the bias-corrected interval (``z``,
``z_ci_low/high``) and for the uncorrected one (``z_raw +- 1.96 z_raw_se``,
the interval before the parametric bootstrap), the coverage of 1 with its
95% Clopper-Pearson interval, the mean and SD of the estimate and the mean
interval width.

Run from the repository root (timings through the shared lock)::

    PYTHONPATH=. python benchmarks/coverage_dynamics_learned_ci.py            # seeds 0..19
    PYTHONPATH=. python benchmarks/coverage_dynamics_learned_ci.py --seeds 0 5 --case ou_tree
    PYTHONPATH=. python benchmarks/coverage_dynamics_learned_ci.py --optimizer adam  # the old fit
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import scipy.stats

from rgdata.diagnostics import learned_dynamic_scaling
from rgdata.diagnostics._dynamics_kernels import planted_langevin_levels, planted_ou_tree

Z_TRUE = 1.0
_Z95 = 1.959963984540054


def planted(case: str, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    if case == "ou_tree":
        levels, sizes, _ = planted_ou_tree(4, Z_TRUE, 1.0, 8000, random_state=1000 + seed)
        return levels, sizes
    scales = np.array([1, 2, 4, 8])
    return planted_langevin_levels(scales, Z_TRUE, 2.0, 8, 8000, random_state=1000 + seed), scales


def summary(name: str, z: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
    hits = (lo < Z_TRUE) & (Z_TRUE < hi)
    n, k = hits.size, int(hits.sum())
    ci = scipy.stats.binomtest(k, n).proportion_ci(0.95)
    below = int((hi <= Z_TRUE).sum())
    print(
        f"{name:<16s} coverage {k}/{n} = {k / n:.2f} [95% CI {ci.low:.2f}, {ci.high:.2f}], "
        f"misses below/above {below}/{n - k - below}; z mean {np.mean(z):.3f} "
        f"(SD {np.std(z, ddof=1):.3f}); mean width {np.mean(hi - lo):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs=2, type=int, default=(0, 20), metavar=("FIRST", "STOP"))
    parser.add_argument("--case", choices=("double_well", "ou_tree"), default="double_well")
    parser.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs")
    args = parser.parse_args()
    rows = []
    for seed in range(*args.seeds):
        levels, scales = planted(args.case, seed)
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = learned_dynamic_scaling(
                levels, scales, optimizer=args.optimizer, random_state=seed
            )
        keys = ("z", "z_ci_low", "z_ci_high", "z_se", "z_raw", "z_raw_se", "z_bias")
        row = {"seed": seed} | {k: round(float(res[k]), 4) for k in keys}
        row["seconds"] = round(time.perf_counter() - start, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    col = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    print(f"{args.case}, {len(rows)} seeds, optimizer={args.optimizer}, planted z = {Z_TRUE}")
    summary("bias-corrected", col["z"], col["z_ci_low"], col["z_ci_high"])
    raw_lo = col["z_raw"] - _Z95 * col["z_raw_se"]
    raw_hi = col["z_raw"] + _Z95 * col["z_raw_se"]
    summary("uncorrected", col["z_raw"], raw_lo, raw_hi)
    print(f"seconds per data set: median {np.median(col['seconds']):.1f}")


if __name__ == "__main__":
    main()
