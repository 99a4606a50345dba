"""The schedule's pilot tau_int against a long run's batch-means tau_int (independent estimator)."""

import math

import numpy as np
import pytest

from rgdata.lattice import sampling
from rgdata.lattice._autocorr import tau_int_batch_means

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))


def _chain(L, T, algorithm, seed):
    key, init_rng = sampling._streams(seed)
    spins = sampling._initial_spins(None, (L, L), init_rng)
    chain = sampling._Chain(spins, algorithm, 1.0 / T, 1.0, 0.0, None, key, 1)
    if algorithm == "wolff":
        chain.calibrate_wolff()
    return chain


def _long_tau(L, T, algorithm, n_sweeps, n_batches, seed):
    chain = _chain(L, T, algorithm, seed)
    chain.run(2000)
    e, m = np.empty(n_sweeps), np.empty(n_sweeps)
    for k in range(n_sweeps):
        chain.run(1)
        e[k], m[k] = chain.measure()
    return max((tau_int_batch_means(x, n_batches) for x in (e, m, m * m)), key=lambda r: r[0])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("algorithm", "L", "T"),
    [("metropolis", 16, TC), ("metropolis", 16, 2.0), ("metropolis", 8, TC), ("wolff", 16, TC)],
)
def test_pilot_tau_matches_long_run(algorithm, L, T):
    pilots = np.array([sampling._pilot(_chain(L, T, algorithm, s))[0] for s in range(8)])
    n_long = int(max(40_000, 2000 * pilots.max()))  # >= 1000 tau
    n_batches = max(32, int(n_long // (50 * pilots.max())))  # batches of >= 50 tau
    runs = [_long_tau(L, T, algorithm, n_long, n_batches, 1000 + r) for r in range(2)]
    long_tau = np.mean([t for t, _ in runs])
    long_se = math.sqrt(sum(se**2 for _, se in runs)) / 2
    pilot_se = pilots.std(ddof=1) / math.sqrt(pilots.size)
    # batch means is biased low by ~ tau_exp / batch (< 3%) and the c = 6 window
    # by ~ 5% near T_c: allowed on top of 3 combined standard errors
    tol = 3 * math.hypot(long_se, pilot_se) + 0.08 * long_tau
    assert abs(pilots.mean() - long_tau) < tol, (pilots, long_tau, long_se)
