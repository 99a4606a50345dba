"""The learned dynamics model across levels against the OU path, timed side by side.

Row (ratio = ours / baseline, same levels, same run):

* ``learned vs OU dynamics``: :func:`rgdata.diagnostics.learned_dynamic_scaling`
  (drift networks on every level, the shared law's ``z``, refits for its
  error, the parametric bootstrap of its bias (10 simulated reruns, 5 with
  ``--quick``), 5 null draws each refitting the finest network) against
  :func:`rgdata.diagnostics.dynamic_scaling` (e-folding times, 200 bootstrap
  replicates, 5 skill-null draws) on planted double-well Langevin levels
  (``tau_l = 2 s_l``); both ``z`` are printed. Timed after one warm-up call
  (JAX compilation excluded).

Usage: python benchmarks/bench_dynamics_learned.py [--quick]
"""

from __future__ import annotations

import argparse
import warnings

from _timing import best_of, ratio_line

from rgdata.diagnostics import dynamic_scaling, learned_dynamic_scaling
from rgdata.diagnostics._dynamics_kernels import planted_langevin_levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.quick:
        scales, n_units, n_time = [1, 2, 4], 4, 2000
        options = dict(n_steps=200, max_pairs=1000, n_refit=3, n_bias=5)
    else:
        scales, n_units, n_time = [1, 2, 4, 8], 8, 8000
        options = {}
    levels = planted_langevin_levels(scales, 1.0, 2.0, n_units, n_time, random_state=0)
    learned = learned_dynamic_scaling(levels, scales, random_state=0, **options)
    ou = dynamic_scaling(levels, scales, n_null=5, random_state=0)
    ratio_line(
        "learned vs OU dynamics",
        best_of(lambda: learned_dynamic_scaling(levels, scales, random_state=0, **options), 1),
        best_of(lambda: dynamic_scaling(levels, scales, n_null=5, random_state=0), 3),
        f"{len(scales)} levels x {n_units} double wells x {n_time} steps, planted z = 1: "
        f"learned z = {float(learned['z']):.3f} +- {float(learned['z_se']):.3f}, "
        f"OU z = {float(ou['z']):.3f} +- {float(ou['z_se']):.3f}",
    )


if __name__ == "__main__":
    main()
