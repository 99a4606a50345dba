"""Cost of one heat-bath sweep of the hierarchical Monte Carlo model (issue #17).

The sampled model of ``engine="monte_carlo"`` on 160 units with the shape of
the retina benchmark's PRG tree (160 -> 80 -> 40 -> 20 -> 10 -> 5, here a
block tree of neighbouring units), at the retina's unit means: the
pair-free start of the fit (``_means_start``) plus small random couplings.
Prints microseconds per sweep of all units (wall time of 8 chains over the
number of sweeps of all chains) with one thread and with all of numba's,
for ``tree_gibbs_stats`` (sweeps recorded) and ``tree_gibbs_samples``
(configurations stored).

    python benchmarks/bench_tree_gibbs.py [--sweeps 20000]
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

import rgdata
from rgdata.maxent import block_tree
from rgdata.maxent._hierarchy_mc import PairTree, tree_gibbs_samples, tree_gibbs_stats
from rgdata.maxent._hierarchy_mc_fit import _means_start
from rgdata.maxent._sampler import seed_states


def retina_model(coupling: float = 0.05):
    """PairTree, beta and cum of a 160-unit model at the retina's unit means."""
    act = rgdata.datasets.load_retina()
    if "trial" in act.dims:
        act = rgdata.stack_trials(act)
    x = np.asarray(act.transpose("unit", ...).values) > 0
    x = x.reshape(x.shape[0], -1)
    n = x.shape[0]
    tree = block_tree((n,), 2, 6)
    pt = PairTree(tree.maps)
    cum = np.cumsum(np.ones(len(tree.maps) + 1))
    c = np.r_[x.mean(1), np.zeros(n * (n - 1) // 2)]
    beta = _means_start(pt, c, np.full(c.size, 1e-3), cum)
    beta[n:] = np.random.default_rng(0).normal(0.0, coupling, n * (n - 1) // 2)
    return pt, beta, cum, x


def per_sweep(kernel, args, n_chains, sweeps, threads):
    """Microseconds per sweep (of all units) and the mean number of active units."""
    numba.set_num_threads(threads)
    start = time.perf_counter()
    out = kernel(*args, sweeps, 0)
    elapsed = time.perf_counter() - start
    return 1e6 * elapsed / (sweeps * n_chains), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sweeps", type=int, default=20_000, help="sweeps per chain")
    args = parser.parse_args()
    pt, beta, cum, x = retina_model()
    h, J, U = pt.model(beta, cum)
    n_chains = 8
    rng = np.random.default_rng(0)
    states = (x.T[rng.integers(0, x.shape[1], n_chains)]).astype(np.int8)
    seeds = seed_states(rng, n_chains)
    warm = (h, J, pt.ancestors, U, states.copy(), seeds.copy())
    tree_gibbs_stats(*warm, 10, 0)  # compile
    tree_gibbs_samples(*warm, 10, 0)
    top = numba.config.NUMBA_NUM_THREADS
    print(f"N = {pt.n}, {pt.ancestors.shape[0]} count levels, {n_chains} chains")
    for name, kernel, sweeps in (
        ("tree_gibbs_stats", tree_gibbs_stats, args.sweeps),
        ("tree_gibbs_samples", tree_gibbs_samples, args.sweeps // 2),
    ):
        for threads in sorted({1, top}):
            run = (h, J, pt.ancestors, U, states.copy(), seeds.copy())
            us, out = per_sweep(kernel, run, n_chains, sweeps, threads)
            print(f"{name:20s} {threads} thread(s): {us:6.2f} us per sweep")
    print(f"    data mean activity {x.mean():.4f} per unit and bin")


if __name__ == "__main__":
    main()
