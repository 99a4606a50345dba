"""sample_ising against exact enumeration, reproducibility and input checks."""

import numpy as np
import pytest
import xarray as xr
from scipy.signal import lfilter

from rgdata.lattice import _schedule
from rgdata.lattice._autocorr import integrated_autocorrelation_time
from rgdata.lattice.sampling import (
    ALGORITHMS,
    ising_energy_magnetization,
    sample_ising,
    sample_ising_replicas,
)

TC2D = 2.0 / np.log(1.0 + np.sqrt(2.0))


def enumerate_states(shape):
    """All 2**N spin configurations of a lattice, shape (2**N, *shape), int8."""
    n = int(np.prod(shape))
    bits = (np.arange(2**n)[:, None] >> np.arange(n)[None, :]) & 1
    return (2 * bits - 1).astype(np.int8).reshape(-1, *shape)


def exact_averages(shape, T, J=1.0, h=0.0, couplings=None):
    """Exact <e>, <|m|>, <m^2> per site by brute force (numpy rolls, not the kernels)."""
    states = enumerate_states(shape).astype(float)
    dim = len(shape)
    n = int(np.prod(shape))
    if couplings is None:
        couplings = np.full((dim, *shape), J)
    energy = -h * states.sum(axis=tuple(range(1, dim + 1)))
    for a in range(dim):
        nb = np.roll(states, -1, axis=a + 1)  # the +1 neighbour along axis a
        energy -= (couplings[a][None] * states * nb).sum(axis=tuple(range(1, dim + 1)))
    m = states.sum(axis=tuple(range(1, dim + 1))) / n
    e = energy / n
    w = np.exp(-(energy - energy.min()) / T)
    w /= w.sum()
    return {
        "e": float(w @ e),
        "absm": float(w @ np.abs(m)),
        "m2": float(w @ m**2),
        "m": float(w @ m),
    }


def check_against(cfg, exact, *, J=1.0, h=0.0, couplings=None, keys=("e", "absm", "m2")):
    e, m = ising_energy_magnetization(cfg, J=J, h=h, couplings=couplings)
    series = {"e": e, "absm": np.abs(m), "m2": m**2, "m": m}
    for name in keys:
        x = series[name]
        tau, _, _ = integrated_autocorrelation_time(x)
        se = x.std() * np.sqrt(2 * tau / x.size)
        assert abs(x.mean() - exact[name]) < 4 * se + 1e-12, (
            name,
            x.mean(),
            exact[name],
            se,
            cfg.attrs["algorithm"],
        )


def test_enumeration_helper_limits():
    # T -> infinity: <e> = 0 and <m^2> = 1/N; T -> 0: ground state e = -dim * J
    hot = exact_averages((4, 4), 1e6)
    assert abs(hot["e"]) < 1e-4 and abs(hot["m2"] - 1 / 16) < 1e-4
    cold = exact_averages((4, 4), 0.05)
    assert abs(cold["e"] + 2.0) < 1e-6 and abs(cold["absm"] - 1.0) < 1e-6


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("T", [1.8, TC2D, 3.5])
def test_2d_matches_enumeration(algorithm, T):
    exact = exact_averages((4, 4), T)
    cfg = sample_ising(4, T, 3000, algorithm=algorithm, random_state=7)
    check_against(cfg, exact)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_3d_l2_matches_enumeration(algorithm):
    # L = 2 periodic: two distinct bonds between each neighbouring pair
    T = 4.0
    exact = exact_averages((2, 2, 2), T)
    cfg = sample_ising(2, T, 3000, dim=3, algorithm=algorithm, random_state=3)
    assert cfg.dims == ("sample", "z", "y", "x")
    check_against(cfg, exact)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_field_matches_enumeration(algorithm):
    # clusters: Metropolis-corrected Wolff flips, ghost-spin Swendsen-Wang
    T, h = 2.5, 0.3
    exact = exact_averages((4, 4), T, h=h)
    cfg = sample_ising(4, T, 3000, h=h, algorithm=algorithm, random_state=11)
    check_against(cfg, exact, h=h, keys=("e", "m", "m2"))


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_random_bonds_match_enumeration(algorithm):
    rng = np.random.default_rng(5)
    couplings = rng.choice([-1.0, 1.0], size=(2, 4, 4)) * rng.uniform(0.5, 1.5, size=(2, 4, 4))
    T = 1.5
    exact = exact_averages((4, 4), T, couplings=couplings)
    cfg = sample_ising(4, T, 3000, couplings=couplings, algorithm=algorithm, random_state=2)
    assert cfg.attrs["model"] == "random_bond"
    check_against(cfg, exact, couplings=couplings)


def test_3d_random_bonds_heat_bath_vs_enumeration():
    rng = np.random.default_rng(8)
    couplings = rng.normal(size=(3, 2, 2, 2))
    exact = exact_averages((2, 2, 2), 2.0, couplings=couplings)
    cfg = sample_ising(2, 2.0, 3000, dim=3, couplings=couplings, algorithm="heat_bath",
                       random_state=4)  # fmt: skip
    check_against(cfg, exact, couplings=couplings)


def test_energy_helper_independent_of_enumeration_code():
    s = np.ones((1, 4, 4), np.int8)
    s[0, 0, 0] = -1
    e, m = ising_energy_magnetization(s)
    assert e[0] == pytest.approx(-2.0 + 8 / 16) and m[0] == pytest.approx(14 / 16)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_same_seed_same_configurations(algorithm):
    a = sample_ising(6, 2.3, 20, algorithm=algorithm, random_state=42)
    b = sample_ising(6, 2.3, 20, algorithm=algorithm, random_state=42)
    c = sample_ising(6, 2.3, 20, algorithm=algorithm, random_state=43)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.attrs == b.attrs or all(
        np.array_equal(a.attrs[k], b.attrs[k], equal_nan=True) for k in a.attrs
    )
    assert not np.array_equal(a.values, c.values)


def test_generator_seed_is_recorded_and_replays():
    a = sample_ising(6, 2.3, 10, random_state=np.random.default_rng(1))
    b = sample_ising(6, 2.3, 10, random_state=a.attrs["seed"])
    np.testing.assert_array_equal(a.values, b.values)


@pytest.mark.parametrize("dim", [2, 3])
def test_threads_do_not_change_result(dim):
    kw = dict(dim=dim, algorithm="metropolis", burn_in=5, spacing=2, random_state=9)
    one = sample_ising(8, 4.0, 5, n_threads=1, **kw)
    two = sample_ising(8, 4.0, 5, n_threads=2, **kw)
    np.testing.assert_array_equal(one.values, two.values)


def test_attrs_and_netcdf_roundtrip(tmp_path):
    cfg = sample_ising(8, 2.5, 10, algorithm="wolff", random_state=0)
    for key in ("model", "temperature", "J", "h", "algorithm", "seed", "burn_in", "spacing",
                "tau_int", "version"):  # fmt: skip
        assert key in cfg.attrs
    assert cfg.attrs["model"] == "ising2d" and cfg.dtype == np.int8
    assert cfg.attrs["burn_in"] >= 20 * cfg.attrs["tau_int"] - 1
    path = tmp_path / "c.nc"
    cfg.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataarray(path, engine="h5netcdf")
    np.testing.assert_array_equal(back.values, cfg.values)
    assert back.attrs["seed"] == cfg.attrs["seed"]


def test_initial_state_and_fixed_schedule():
    cold = sample_ising(8, 0.5, 3, algorithm="metropolis", burn_in=0, spacing=1, initial="up",
                        random_state=0)  # fmt: skip
    assert cold.values.mean() > 0.95
    cont = sample_ising(8, 0.5, 2, algorithm="metropolis", burn_in=0, spacing=1, initial=cold,
                        random_state=1)  # fmt: skip
    assert cont.values.mean() > 0.95


def test_infinite_temperature_spins_are_independent():
    # heat bath at beta = tiny: every spin is a fair coin -> <m^2> = 1/N, <e> = 0
    cfg = sample_ising(8, 1e9, 2000, algorithm="heat_bath", burn_in=1, spacing=1, random_state=0)
    _, m = ising_energy_magnetization(cfg)
    n = 64
    se = np.sqrt(2.0 / n**2 / cfg.sizes["sample"])  # var(m^2) = 2/N^2 for Gaussian m
    assert abs((m**2).mean() - 1 / n) < 4 * se


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(T=0.0), ValueError, "T must be > 0"),
        (dict(T=-1.0), ValueError, "T must be > 0"),
        (dict(T=float("nan")), ValueError, "T must be finite"),
        (dict(T=float("inf")), ValueError, "T must be finite"),
        (dict(L=1), ValueError, "L must be >= 2"),
        (dict(L=4.0), TypeError, "L must be an int"),
        (dict(algorithm="glauber"), ValueError, "unknown algorithm 'glauber'; accepted: 'wolff'"),
        (dict(dim=4), ValueError, "unknown dim 4; accepted: 2, 3"),
        (dict(couplings=np.ones((2, 4, 5))), ValueError, r"couplings has shape \(2, 4, 5\)"),
        (dict(couplings=np.ones((3, 4, 4))), ValueError, r"expected .* = \(2, 4, 4\)"),
        (dict(n_samples=0), ValueError, "n_samples must be >= 1"),
        (dict(spacing=0), ValueError, "spacing must be >= 1"),
        (dict(burn_in=-1), ValueError, "burn_in must be >= 0"),
        (dict(initial=np.ones((3, 3))), ValueError, r"initial has shape \(3, 3\)"),
        (dict(initial="left"), ValueError, "unknown initial 'left'"),
        (dict(random_state="x"), TypeError, "random_state must be"),
        (dict(L=5, n_threads=2, algorithm="metropolis"), ValueError, "needs an even L"),
        (dict(n_threads=2), ValueError, "only supported for 'metropolis' and 'heat_bath'"),
    ],
)
def test_bad_input(kwargs, err, match):
    args = dict(L=4, T=2.0, n_samples=2)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        sample_ising(args.pop("L"), args.pop("T"), args.pop("n_samples"), **args)


def test_couplings_with_nan_rejected():
    c = np.ones((2, 4, 4))
    c[0, 1, 1] = np.nan
    with pytest.raises(ValueError, match="couplings contains 1 NaN"):
        sample_ising(4, 2.0, 2, couplings=c)


def test_unreliable_tau_warns_and_is_recorded(monkeypatch):
    # Metropolis at T_c on a 64^2 lattice: tau_int(|m|) is hundreds of sweeps,
    # beyond what a 256-sweep pilot can resolve -> warning + attrs
    monkeypatch.setattr(_schedule, "_PILOT_MAX", 256)
    monkeypatch.setattr(_schedule, "_PILOT_WORK", 0)
    with pytest.warns(UserWarning, match="could not be measured reliably"):
        cfg = sample_ising(64, TC2D, 2, algorithm="metropolis", random_state=0)
    assert cfg.attrs["tau_int_reliable"] == 0


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_uniform_antiferromagnet_matches_enumeration(algorithm):
    # J < 0 takes the general cluster kernels (not the ferromagnetic fast path)
    J, T = -1.0, 2.0
    exact = exact_averages((4, 4), T, J=J)
    cfg = sample_ising(4, T, 3000, J=J, algorithm=algorithm, random_state=12)
    check_against(cfg, exact, J=J)


def test_energy_helper_reads_model_from_attrs():
    rng = np.random.default_rng(0)
    couplings = rng.normal(size=(2, 4, 4))
    cfg = sample_ising(4, 2.0, 5, couplings=couplings, algorithm="metropolis", random_state=0)
    e_attr, _ = ising_energy_magnetization(cfg)
    e_given, _ = ising_energy_magnetization(cfg, couplings=couplings)
    np.testing.assert_array_equal(e_attr, e_given)
    field = sample_ising(4, 2.0, 5, J=0.5, h=0.3, algorithm="metropolis", random_state=0)
    np.testing.assert_array_equal(
        ising_energy_magnetization(field)[0],
        ising_energy_magnetization(field.values, J=0.5, h=0.3)[0],
    )
    assert cfg.attrs["tau_int_source"] == "pilot"
    fixed = sample_ising(4, 2.0, 5, burn_in=2, spacing=1, random_state=0)
    assert fixed.attrs["tau_int_source"] == "samples_times_spacing"


@pytest.mark.parametrize(
    ("L", "algorithm"),
    # Metropolis at L = 2 is refused (test_metropolis_2x2_refused)
    [(L, a) for L in (2, 3) for a in ALGORITHMS if (L, a) != (2, "metropolis")],
)
def test_small_and_odd_lattices_match_enumeration(L, algorithm):
    # L = 2: double bonds; odd L: the serial checkerboard is still a valid sweep
    T = 2.5
    exact = exact_averages((L, L), T)
    cfg = sample_ising(L, T, 3000, algorithm=algorithm, random_state=13)
    check_against(cfg, exact)


def test_metropolis_2x2_refused():
    # Sequential checkerboard Metropolis on the 2 x 2 torus converges to the wrong
    # energy (-1.72 instead of -1.602 at T = 2.5, reproduced by a plain Python
    # implementation), so it is refused rather than silently biased.
    with pytest.raises(ValueError, match="not ergodic on the 2 x 2 torus"):
        sample_ising(2, 2.5, 10, algorithm="metropolis")
    with pytest.raises(ValueError, match="not ergodic on the 2 x 2 torus"):
        sample_ising_replicas(2, 2.5, 10)
    sample_ising(2, 2.5, 3, dim=3, algorithm="metropolis", random_state=0)  # 3D L=2 is fine


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_field_with_random_bonds_matches_enumeration(algorithm):
    rng = np.random.default_rng(15)
    couplings = rng.normal(size=(2, 4, 4))
    T, h = 1.5, -0.4
    exact = exact_averages((4, 4), T, h=h, couplings=couplings)
    cfg = sample_ising(4, T, 3000, h=h, couplings=couplings, algorithm=algorithm, random_state=16)
    check_against(cfg, exact, couplings=couplings, h=h, keys=("e", "m", "m2"))


@pytest.mark.parametrize("algorithm", ["wolff", "swendsen_wang"])
def test_field_3d_clusters_match_enumeration(algorithm):
    T, h = 3.0, 0.5
    exact = exact_averages((2, 2, 2), T, h=h)
    cfg = sample_ising(2, T, 3000, dim=3, h=h, algorithm=algorithm, random_state=17)
    check_against(cfg, exact, h=h, keys=("e", "m", "m2"))


def test_metropolis_without_interactions_warns_and_progress_bar_runs():
    with pytest.warns(UserWarning, match="flip deterministically"):
        sample_ising(4, 2.0, 2, J=0.0, algorithm="metropolis", burn_in=1, spacing=1)
    with pytest.raises(ValueError, match="flip deterministically"):
        sample_ising_replicas(4, 2.0, 2, J=0.0)
    cfg = sample_ising(4, 2.0, 3, burn_in=1, spacing=1, progress=True, random_state=0)
    assert cfg.sizes["sample"] == 3


def test_integrated_autocorrelation_time_of_ar1():
    # AR(1) x_t = rho x_{t-1} + noise has tau_int = (1 + rho) / (2 (1 - rho)) exactly
    rng = np.random.default_rng(0)
    for rho in (0.0, 0.5, 0.9):
        n = 200_000
        x = lfilter([1.0], [1.0, -rho], rng.normal(size=n))
        tau, window, reliable = integrated_autocorrelation_time(x)
        exact = (1 + rho) / (2 * (1 - rho))
        # Sokal: var(tau) ~ 2 (2M + 1) tau^2 / N; plus the truncation bias at window M
        se = np.sqrt(2 * (2 * window + 1) / n) * exact
        assert reliable and abs(tau - exact) < 4 * se + exact * np.exp(-window / exact), (rho, tau)
    assert integrated_autocorrelation_time(np.ones(10))[0] == 0.5
