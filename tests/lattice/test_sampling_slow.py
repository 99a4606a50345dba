"""Long physics checks of the samplers against Kaufman's exact finite-torus results."""

import numpy as np
import pytest

from rgdata.lattice import exact
from rgdata.lattice.sampling import (
    ALGORITHMS,
    ising_energy_magnetization,
    sample_ising,
    sample_ising_replicas,
)

TC2D = 2.0 / np.log(1.0 + np.sqrt(2.0))

pytestmark = pytest.mark.slow


def block_estimate(x, stat, n_blocks=20):
    """Statistic of the whole series and its standard error from contiguous blocks."""
    blocks = np.array_split(x, n_blocks)
    values = np.array([stat(b) for b in blocks])
    return stat(x), values.std(ddof=1) / np.sqrt(n_blocks)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("T", [2.0, TC2D, 2.6])
def test_energy_and_specific_heat_vs_kaufman(algorithm, T):
    L = 16
    cfg = sample_ising(L, T, 20000, algorithm=algorithm, random_state=21)
    e, _ = ising_energy_magnetization(cfg)
    u, se_u = block_estimate(e, np.mean)
    c, se_c = block_estimate(e, lambda b: L * L * b.var() / T**2)
    assert abs(u - exact.energy_per_site(T, L)) < 4 * se_u
    # the block variance estimator is biased low by O(tau / block length): allow 5 SE
    assert abs(c - exact.specific_heat_per_site(T, L)) < 5 * se_c


def test_replicas_energy_vs_kaufman_at_tc():
    L = 32
    cfg = sample_ising_replicas(L, TC2D, 200, random_state=22)
    e, _ = ising_energy_magnetization(cfg.values.reshape(-1, L, L))
    per_replica = e.reshape(64, -1).mean(axis=1)
    se = per_replica.std(ddof=1) / 8
    assert abs(per_replica.mean() - exact.energy_per_site(TC2D, L)) < 4 * se


def test_3d_algorithms_agree():
    # no exact 3D solution: two unrelated update rules must agree
    L, T = 8, 4.6
    a = sample_ising(L, T, 6000, dim=3, algorithm="wolff", random_state=23)
    b = sample_ising(L, T, 6000, dim=3, algorithm="metropolis", random_state=24)
    (ea, ma), (eb, mb) = ising_energy_magnetization(a), ising_energy_magnetization(b)
    for xa, xb in ((ea, eb), (np.abs(ma), np.abs(mb))):
        (va, sa), (vb, sb) = block_estimate(xa, np.mean), block_estimate(xb, np.mean)
        assert abs(va - vb) < 4 * np.hypot(sa, sb)


def test_parallel_large_lattice_deterministic():
    kw = dict(algorithm="metropolis", burn_in=20, spacing=5, random_state=25)
    one = sample_ising(128, TC2D, 3, n_threads=1, **kw)
    two = sample_ising(128, TC2D, 3, n_threads=2, **kw)
    np.testing.assert_array_equal(one.values, two.values)
