"""Multi-spin-coded replicas: exactness, independence between replicas, determinism."""

import numpy as np
import pytest

from rgdata.lattice.sampling import (
    ising_energy_magnetization,
    sample_ising,
    sample_ising_replicas,
)

from .test_sampling import TC2D, enumerate_states, exact_averages


def replica_means(cfg, **kw):
    """Per-replica averages of e, |m|, m^2, m (replicas are independent chains)."""
    n_rep, n_s = cfg.sizes["replica"], cfg.sizes["sample"]
    e, m = ising_energy_magnetization(cfg.values.reshape(n_rep * n_s, *cfg.shape[2:]), **kw)
    e, m = e.reshape(n_rep, n_s), m.reshape(n_rep, n_s)
    return {
        "e": e.mean(axis=1),
        "absm": np.abs(m).mean(axis=1),
        "m2": (m**2).mean(axis=1),
        "m": m.mean(axis=1),
    }


def assert_close(per_replica, exact, keys):
    for key in keys:
        x = per_replica[key]
        se = x.std(ddof=1) / np.sqrt(x.size)  # independent replicas: honest error bar
        assert abs(x.mean() - exact[key]) < 4 * se + 1e-12, (key, x.mean(), exact[key], se)


@pytest.mark.parametrize("T", [1.8, TC2D, 3.5])
def test_replicas_match_enumeration(T):
    cfg = sample_ising_replicas(4, T, 300, random_state=1)
    assert cfg.dims == ("replica", "sample", "y", "x") and cfg.sizes["replica"] == 64
    assert_close(replica_means(cfg), exact_averages((4, 4), T), ("e", "absm", "m2"))


@pytest.mark.parametrize(("J", "h"), [(1.0, 0.4), (-1.0, 0.0), (-0.7, 0.5)])
def test_general_kernel_matches_enumeration(J, h):
    # field and antiferromagnetic couplings use the 10-class kernel
    T = 2.0
    cfg = sample_ising_replicas(4, T, 300, J=J, h=h, random_state=2)
    exact = exact_averages((4, 4), T, J=J, h=h)
    assert_close(replica_means(cfg, J=J, h=h), exact, ("e", "m", "m2"))


def exact_overlap_second_moment(shape, T):
    """E[q^2] for two independent replicas: sum_ij <s_i s_j>^2 / N^2 (enumeration)."""
    states = enumerate_states(shape).astype(float).reshape(2 ** int(np.prod(shape)), -1)
    n = states.shape[1]
    grid = states.reshape(-1, *shape)
    energy = np.zeros(len(states))
    for a in range(len(shape)):
        energy -= (grid * np.roll(grid, -1, axis=a + 1)).sum(axis=tuple(range(1, len(shape) + 1)))
    w = np.exp(-(energy - energy.min()) / T)
    w /= w.sum()
    corr = states.T @ (w[:, None] * states)  # <s_i s_j>
    return float((corr**2).sum() / n**2)


def test_replicas_started_identical_become_independent():
    # All 64 replicas start in the same state. If they shared random numbers they
    # would stay locked together (q = 1); independent replicas have
    # E[q^2] = sum_ij <s_i s_j>^2 / N^2, computed here by enumeration.
    T = 3.0
    cfg = sample_ising_replicas(4, T, 200, initial="up", burn_in=100, spacing=2, random_state=3)
    s = cfg.values.reshape(64, 200, 16).astype(float)
    a, b = np.triu_indices(64, k=1)
    q = np.einsum("psn,psn->ps", s[a], s[b]) / 16  # (pair, sample)
    # 32 disjoint pairs give independent estimates of E[q^2]
    disjoint = q[[np.flatnonzero((a == 2 * k) & (b == 2 * k + 1))[0] for k in range(32)]]
    per_pair = (disjoint**2).mean(axis=1)
    se = per_pair.std(ddof=1) / np.sqrt(per_pair.size)
    exact = exact_overlap_second_moment((4, 4), T)
    assert abs(per_pair.mean() - exact) < 4 * se
    assert per_pair.mean() < 0.5  # locked replicas would give 1


def test_replica_magnetisations_uncorrelated_at_high_t():
    n = 400
    cfg = sample_ising_replicas(8, 5.0, n, burn_in=50, spacing=1, random_state=4)
    m = cfg.values.reshape(64, n, -1).mean(axis=2)
    c = np.corrcoef(m)
    off = c[np.triu_indices(64, k=1)]
    # m is nearly uncorrelated in time at T = 5 (tau ~ 0.5-1), so each pair's
    # correlation has SE ~ sqrt(2 tau / n); 2016 pairs -> max within ~4 SE
    tau = max(cfg.attrs["tau_int_samples"], 0.5)
    se = np.sqrt(2 * tau / n)
    assert abs(off.mean()) < 4 * se / np.sqrt(32)  # >= 32 independent pairs
    assert np.abs(off).max() < 5.5 * se


def test_replica_energy_matches_single_lattice_sampler():
    L, T = 16, 2.5
    reps = sample_ising_replicas(L, T, 100, random_state=5)
    e_rep = replica_means(reps)["e"]
    single = sample_ising(L, T, 2000, algorithm="wolff", random_state=6)
    e_one, _ = ising_energy_magnetization(single)
    tau = max(single.attrs["tau_int_samples"], 0.5)
    se_one = e_one.std() * np.sqrt(2 * tau / e_one.size)
    se_rep = e_rep.std(ddof=1) / np.sqrt(e_rep.size)
    assert abs(e_rep.mean() - e_one.mean()) < 4 * np.hypot(se_one, se_rep)


def test_replicas_reproducible_and_thread_independent():
    kw = dict(burn_in=3, spacing=2, random_state=7)
    a = sample_ising_replicas(8, 2.3, 4, **kw)
    b = sample_ising_replicas(8, 2.3, 4, **kw)
    c = sample_ising_replicas(8, 2.3, 4, n_threads=2, **kw)
    d = sample_ising_replicas(8, 2.3, 4, burn_in=3, spacing=2, random_state=8)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.values, c.values)
    assert not np.array_equal(a.values, d.values)
    g = sample_ising_replicas(8, 2.3, 4, h=0.2, n_threads=2, **kw)
    np.testing.assert_array_equal(g.values, sample_ising_replicas(8, 2.3, 4, h=0.2, **kw).values)


def test_fewer_replicas_are_the_first_ones():
    full = sample_ising_replicas(6, 2.3, 3, burn_in=2, spacing=1, random_state=9)
    few = sample_ising_replicas(6, 2.3, 3, n_replicas=5, burn_in=2, spacing=1, random_state=9)
    np.testing.assert_array_equal(few.values, full.values[:5])


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(n_replicas=65), ValueError, "n_replicas must be <= 64"),
        (dict(n_replicas=0), ValueError, "n_replicas must be >= 1"),
        (dict(L=1), ValueError, "L must be >= 2"),
        (dict(T=-2.0), ValueError, "T must be > 0"),
        (dict(initial="sideways"), ValueError, "unknown initial 'sideways'"),
        (dict(L=5, n_threads=2), ValueError, "needs an even L"),
    ],
)
def test_replicas_bad_input(kwargs, err, match):
    args = dict(L=4, T=2.0, n_samples=2)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        sample_ising_replicas(args.pop("L"), args.pop("T"), args.pop("n_samples"), **args)


@pytest.mark.parametrize("L", [3])
def test_small_and_odd_replica_lattices_match_enumeration(L):
    T = 2.5
    cfg = sample_ising_replicas(L, T, 300, random_state=14)
    assert_close(replica_means(cfg), exact_averages((L, L), T), ("e", "absm", "m2"))


def test_replicas_netcdf_roundtrip(tmp_path):
    import xarray as xr

    cfg = sample_ising_replicas(4, 2.5, 3, n_replicas=4, burn_in=2, spacing=1, random_state=0)
    path = tmp_path / "r.nc"
    cfg.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataarray(path, engine="h5netcdf")
    np.testing.assert_array_equal(back.values, cfg.values)
    assert back.attrs["algorithm"] == "metropolis_msc" and back.attrs["n_replicas"] == 4
