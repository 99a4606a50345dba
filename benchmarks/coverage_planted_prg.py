"""Coverage of PRG's alpha~ CI on planted trees (greedy pairing, autocorrelated time).

Planted truth (:func:`rgdata.coarse.planted_tree`): continuous units on
binary trees whose planted clusters have ``Var(sum) = K**1.4`` exactly, every
node an AR(1) process of lag-1 correlation *phi*. Unlike
``coverage_prg_ci.py`` (independent units, random pairing, alpha = 1) the
clusters are found by the exact greedy pairing and the exponent is not 1. For
each seed: ``prg`` (variance only) and ``fit_exponent``'s 95 % CI; prints
the coverage of alpha = 1.4 with its binomial standard error and the mean and
SD of ``(alpha - 1.4) / se``.

    PYTHONPATH=. python benchmarks/coverage_planted_prg.py [--depth 9] [--time 4000]
        [--phi 0.5] [--trees 1] [--seeds 40]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from rgdata.coarse import planted_tree, prg
from rgdata.diagnostics import fit_exponent

ALPHA = 1.4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=9)
    parser.add_argument("--time", type=int, default=4000)
    parser.add_argument("--phi", type=float, default=0.5)
    parser.add_argument("--trees", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=40)
    args = parser.parse_args()
    hits, z = 0, []
    for seed in range(args.seeds):
        act, _ = planted_tree(
            args.depth, args.time, n_trees=args.trees, alpha=ALPHA,
            autocorrelation=args.phi, random_state=seed,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_exponent(prg(act, args.depth, observables=("variance",)), "variance")
        hits += float(fit["ci_low"]) < ALPHA < float(fit["ci_high"])
        z.append((float(fit["exponent"]) - ALPHA) / float(fit["se"]))
    p = hits / args.seeds
    print(
        f"{args.trees} x 2^{args.depth} units, T = {args.time}, phi = {args.phi}: "
        f"coverage {hits}/{args.seeds} = {p:.3f} +- {np.sqrt(p * (1 - p) / args.seeds):.3f}; "
        f"(alpha - 1.4) / se: mean {np.mean(z):+.2f}, SD {np.std(z, ddof=1):.2f}"
    )


if __name__ == "__main__":
    main()
