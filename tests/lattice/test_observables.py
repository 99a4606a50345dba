"""Observables and finite-size scaling, checked against analytic and exact results."""

import numpy as np
import pytest
import xarray as xr
from scipy import signal

import rgdata
from rgdata.lattice import (
    binder_crossings,
    blocking_error,
    energy_magnetization,
    exact,
    fss_exponent,
    ising_observables,
    jackknife,
    scaling_collapse,
    scan_observables,
)


def _ar1(rng, phi, n_series, n):
    noise = rng.standard_normal((n_series, n + 2000))
    x = signal.lfilter([1.0], [1.0, -phi], noise, axis=1)[:, 2000:]
    return x


def _var_mean_ar1(phi, n):
    # exact variance of the mean of a stationary AR(1) with unit innovations
    var = 1 / (1 - phi**2)
    k = np.arange(1, n)
    return var / n * (1 + 2 * np.sum((1 - k / n) * phi**k))


@pytest.mark.parametrize("phi", [0.0, 0.8])
def test_blocking_error_ar1(phi):
    rng = np.random.default_rng(3)
    n, n_series = 2**14, 200
    xs = _ar1(rng, phi, n_series, n)
    res = [blocking_error(x) for x in xs]
    est_var = np.array([r[1] ** 2 for r in res])
    block = np.array([r[2] for r in res])
    truth = _var_mean_ar1(phi, n)
    ratio = est_var.mean() / truth
    # statistical error of the averaged estimate, plus the known downward bias of
    # block length B for an AR(1): about 2 phi / ((1 - phi^2) B) (zero when phi=0)
    stat = est_var.std(ddof=1) / np.sqrt(n_series) / truth
    bias = 2 * phi / ((1 - phi**2) * block.min())
    assert abs(ratio - 1) < 4 * stat + bias
    # and the estimates agree with the actual spread of the means across series
    emp = xs.mean(axis=1).var(ddof=1)
    assert abs(emp / truth - 1) < 4 * np.sqrt(2 / (n_series - 1))
    if phi > 0:
        assert block.min() >= 8  # it did block (tau_int = 4.5 sweeps)
    assert all(r[3] for r in res)


def test_blocking_error_short_series_is_flagged():
    rng = np.random.default_rng(0)
    x = _ar1(rng, 0.99, 1, 256)[0]
    *_, reliable = blocking_error(x)
    assert not reliable
    with pytest.raises(ValueError, match="at least 16"):
        blocking_error(np.ones(5))


def test_jackknife_of_a_ratio_matches_delta_method():
    rng = np.random.default_rng(1)
    x = rng.normal(2.0, 1.0, size=4000)
    est, err = jackknife(lambda s: np.array([s.mean() ** 2]), x, 40)
    # delta method: var(mean^2) = (2 mu)^2 sigma^2 / n
    assert err[0] == pytest.approx(2 * 2.0 * 1.0 / np.sqrt(4000), rel=0.25)
    assert abs(est[0] - 4.0) < 4 * err[0]


def _exact_samples(L, T, n, rng):
    """Independent draws from the exact Boltzmann distribution of an L x L torus."""
    N = L * L
    codes = np.arange(2**N)
    s = (2 * ((codes[:, None] >> np.arange(N)) & 1) - 1).reshape(-1, L, L)
    energy = -(s * np.roll(s, 1, 1)).sum((1, 2)) - (s * np.roll(s, 1, 2)).sum((1, 2))
    w = np.exp(-(energy - energy.min()) / T)
    idx = rng.choice(s.shape[0], size=n, p=w / w.sum())
    return rgdata.as_configurations(s[idx].astype(np.int8), temperature=T)


@pytest.mark.parametrize("T", [1.8, exact.TC_2D, 3.0])
def test_observables_match_enumeration(T):
    rng = np.random.default_rng(11)
    cfg = _exact_samples(4, T, 20000, rng)
    obs = ising_observables(cfg)
    ref = exact.enumerate_ising(4, T).isel(temperature=0)
    chi = 16 * (ref.m2 - ref.abs_magnetization**2) / T
    for name, truth in [
        ("energy", ref.energy),
        ("abs_magnetization", ref.abs_magnetization),
        ("m2", ref.m2),
        ("specific_heat", ref.specific_heat),
        ("susceptibility", chi),
        ("susceptibility_m2", 16 * ref.m2 / T),
        ("binder", ref.binder),
    ]:
        value, err = float(obs[name]), float(obs[f"{name}_err"])
        assert err > 0
        assert abs(value - float(truth)) < 4 * err, name
    assert obs.attrs["errors_reliable"] == 1 and obs.attrs["size"] == 4


def test_energy_magnetization_hand_built():
    up = rgdata.as_configurations(np.ones((2, 4, 4), dtype=np.int8), temperature=1.0)
    e, m = energy_magnetization(up)
    np.testing.assert_allclose(e, -2.0)
    np.testing.assert_allclose(m, 1.0)
    board = (np.indices((4, 4)).sum(0) % 2 * 2 - 1).astype(np.int8)
    e, m = energy_magnetization(rgdata.as_configurations(board[None]), h=0.5)
    np.testing.assert_allclose(e, 2.0)
    np.testing.assert_allclose(m, 0.0)
    cube = rgdata.as_configurations(np.ones((1, 4, 4, 4), dtype=np.int8))
    np.testing.assert_allclose(energy_magnetization(cube)[0], -3.0)


def test_correlated_series_warns_and_records():
    # 20 copies of each of 4 configurations: strongly correlated
    rng = np.random.default_rng(0)
    base = rng.choice(np.array([-1, 1], np.int8), size=(4, 4, 4))
    cfg = rgdata.as_configurations(np.repeat(base, 20, axis=0), temperature=2.0)
    with pytest.warns(UserWarning, match="error bars are lower bounds"):
        obs = ising_observables(cfg)
    assert obs.attrs["errors_reliable"] == 0


def _planted_scan(rng, tc=2.0, nu=1.0, a=1.75, noise=0.01):
    sizes = np.array([8, 16, 32])
    temps = np.linspace(1.9, 2.1, 21)
    data = {}
    x = (temps[None] - tc) * sizes[:, None] ** (1 / nu)
    binder = 0.6 - 0.3 * np.tanh(x)
    chi = sizes[:, None] ** a * np.exp(-(x**2) / 20)
    for name, val, rel in (("binder", binder, False), ("susceptibility", chi, True)):
        err = noise * (val if rel else np.ones_like(val))
        data[name] = (("size", "temperature"), val + err * rng.standard_normal(val.shape))
        data[f"{name}_err"] = (("size", "temperature"), err)
    return xr.Dataset(data, coords={"size": sizes, "temperature": temps})


def test_binder_crossing_planted():
    rng = np.random.default_rng(5)
    ds = _planted_scan(rng, noise=0.002)
    res = binder_crossings(ds, random_state=0, n_boot=200)
    assert res.sizes["pair"] == 2
    for t, e in zip(
        res.crossing_temperature.values, res.crossing_temperature_err.values, strict=True
    ):
        assert e > 0 and abs(t - 2.0) < 4 * e
    assert abs(res.attrs["estimate_value"] - 0.6) < 4 * res.attrs["estimate_value_err"]
    again = binder_crossings(ds, random_state=0, n_boot=200)
    assert again.attrs["estimate_err"] == res.attrs["estimate_err"]


def test_binder_no_crossing_warns():
    ds = _planted_scan(np.random.default_rng(0), noise=0.001)
    # shift the larger sizes up: the curves no longer meet in the window
    ds["binder"] = ds.binder + 0.5 * np.arange(3)[:, None]
    with pytest.warns(UserWarning, match="do not cross"):
        res = binder_crossings(ds, n_boot=20)
    assert np.isnan(res.attrs["estimate"])


def test_fss_exponent_planted_power_law():
    rng = np.random.default_rng(2)
    ds = _planted_scan(rng, noise=0.02)
    res = fss_exponent(ds, "susceptibility", 2.0)
    assert res.attrs["ci_low"] < 1.75 < res.attrs["ci_high"]
    assert res.attrs["exponent_err"] < 0.05
    gap = ds.copy(deep=True)
    gap["susceptibility"][0, :] = np.nan
    with pytest.warns(UserWarning, match=r"sizes \[8\] have no positive finite"):
        part = fss_exponent(gap, "susceptibility", 2.0)
    assert part.attrs["dropped_sizes"].tolist() == [8]
    with pytest.raises(ValueError, match="temperature 2.015 is not in ds.temperature"):
        fss_exponent(ds, "susceptibility", 2.015)
    with pytest.raises(ValueError, match="unknown observable 'chi'"):
        fss_exponent(ds, "chi", 2.0)


def test_scaling_collapse_quality():
    rng = np.random.default_rng(4)
    ds = _planted_scan(rng, noise=0.01)
    good = scaling_collapse(ds, "susceptibility", 2.0, 1.0, 1.75)
    bad = scaling_collapse(ds, "susceptibility", 2.0, 1.0, 1.5)
    wrong_tc = scaling_collapse(ds, "susceptibility", 2.03, 1.0, 1.75)
    # chi-square-like: mean near 1 for the true parameters (4 sigma of a mean of
    # n_pairs / 2 independent chi-square(1) terms: each pair is compared both ways)
    n = good.attrs["n_pairs"]
    assert abs(good.attrs["quality"] - 1) < 4 * np.sqrt(2 / (n / 2))
    assert bad.attrs["quality"] > 20 * good.attrs["quality"]
    assert wrong_tc.attrs["quality"] > 5 * good.attrs["quality"]


def test_scan_grid_and_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    cfgs = [
        rgdata.as_configurations(
            rng.choice(np.array([-1, 1], np.int8), size=(64, L, L)), temperature=T
        )
        for L in (4, 8)
        for T in (5.0, 10.0)
    ][:3]
    ds = scan_observables(cfgs)
    assert ds.energy.dims == ("size", "temperature") and ds.energy.shape == (2, 2)
    assert np.isnan(ds.energy.sel(size=8, temperature=10.0))
    assert ds.n_samples.sel(size=8, temperature=10.0) == -1
    ds.to_netcdf(tmp_path / "scan.nc", engine="h5netcdf")
    back = xr.load_dataset(tmp_path / "scan.nc", engine="h5netcdf")
    np.testing.assert_allclose(back.binder, ds.binder)


def test_bad_input():
    spins = rgdata.as_configurations(np.ones((8, 4, 4), dtype=np.int8))
    with pytest.raises(ValueError, match="no 'temperature' attr"):
        ising_observables(spins)
    with pytest.raises(ValueError, match="8 samples; at least 16"):
        ising_observables(spins, temperature=1.0)
    with pytest.raises(TypeError, match="config must be an xarray.DataArray"):
        ising_observables(np.ones((20, 4, 4)), temperature=1.0)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        ising_observables(spins, temperature=-1.0)
    with pytest.raises(ValueError, match="configs is empty"):
        scan_observables([])
