"""Scaling collapse on lattice scans and PRG results: planted exponents recovered."""

import numpy as np
import pytest
import xarray as xr

from rgdata.diagnostics.collapse_data import fss_collapse, prg_collapse

TC = 2.269185314213022


def _scan(seed, nu=1.0, gamma_nu=1.75, noise=0.01):
    """A scan_observables-like grid with size-dependent windows (NaN elsewhere)."""
    rng = np.random.default_rng(seed)
    sizes = np.array([8, 12, 16, 24])
    temps = np.unique(
        np.round(np.concatenate([TC + np.linspace(-0.6, 0.6, 13) / L for L in sizes]), 9)
    )
    shape = (sizes.size, temps.size)
    data = {k: np.full(shape, np.nan) for k in ("binder", "binder_err", "chi", "chi_err")}
    n = np.full(shape, -1)
    for i, L in enumerate(sizes):
        window = np.abs(temps - TC) <= 0.6 / L + 1e-9
        u = (temps[window] - TC) * L ** (1 / nu)
        binder = 0.61 - 0.4 * np.tanh(u)
        chi = L**gamma_nu * np.exp(-(u**2))
        for k, v in (("binder", binder), ("chi", chi)):
            err = noise * np.abs(v) + 1e-4
            data[k][i, window] = v + err * rng.standard_normal(v.size)
            data[f"{k}_err"][i, window] = err
        n[i, window] = 1000
    dims = ("size", "temperature")
    ds = xr.Dataset(
        {k: (dims, v) for k, v in data.items()}, coords={"size": sizes, "temperature": temps}
    )
    ds["n_samples"] = (dims, n)
    return ds


def test_fss_collapse_recovers_planted_nu_and_gamma_over_nu():
    scan = _scan(0)
    binder = fss_collapse(
        scan,
        "binder",
        critical_temperature=2.25,
        nu=0.8,
        fixed=("exponent",),
        n_boot=60,
        step=[0.01, 0.1, 0.1],
    )
    chi = fss_collapse(
        scan,
        "chi",
        critical_temperature=2.25,
        nu=0.8,
        exponent=1.5,
        n_boot=60,
        step=[0.01, 0.1, 0.1],
    )
    for res, truth in (
        (binder, {"critical_temperature": TC, "nu": 1.0}),
        (chi, {"critical_temperature": TC, "nu": 1.0, "exponent": 1.75}),
    ):
        for name, value in truth.items():
            # within 3 bootstrap sd (the 95% interval's coverage is measured in
            # tests/slow/test_collapse_coverage.py; several 95% checks at once would
            # fail by chance)
            row = res.sel(parameter=name)
            assert abs(float(row["value"]) - value) < 3 * float(row["boot_sd"]), (name, row)
    # the missing (size, temperature) pairs are not data: nothing dropped, nothing warned
    assert int(chi["n_dropped"]) == 0
    assert int(chi["n_points"]) == int((scan["n_samples"] > 0).sum())


def test_fss_collapse_bad_input():
    scan = _scan(1)
    with pytest.raises(ValueError, match="unknown observable 'energy'"):
        fss_collapse(scan, "energy", critical_temperature=TC)
    with pytest.raises(TypeError, match="scan must be"):
        fss_collapse(scan["chi"], "chi", critical_temperature=TC)
    with pytest.raises(ValueError, match="at least 3 scales"):
        fss_collapse(scan.isel(size=[0, 1]), "chi", critical_temperature=TC, n_boot=0)


def _fake_prg(mu=0.6, z=0.8, seed=0, n_blocks=10, tau0=2.0):
    """A prg-like result with planted spectra (K/r)^mu and autocorrelations exp(-t / (tau0 K^z))."""
    rng = np.random.default_rng(seed)
    sizes = 2 ** np.arange(8)  # 1 .. 128; 1024 units: at least 8 clusters everywhere
    ranks = np.arange(1, sizes[-1] + 1)
    lags = np.arange(0, 121)
    ev = np.full((sizes.size, ranks.size, n_blocks), np.nan)
    ac = np.zeros((sizes.size, lags.size, n_blocks))
    for i, k in enumerate(sizes):
        lam = (k / ranks[:k]) ** mu
        ev[i, :k] = lam[:, None] * np.exp(0.03 * rng.standard_normal((k, n_blocks)))
        ac[i] = np.exp(-lags / (tau0 * k**z))[:, None] + 0.01 * rng.standard_normal(
            (lags.size, n_blocks)
        )
    ac[:, 0] = 1.0
    coords = {
        "level": np.arange(sizes.size),
        "rank": ranks,
        "lag": lags,
        "block": np.arange(n_blocks),
    }
    ds = xr.Dataset(
        {
            "eigenvalues": (("level", "rank"), np.mean(ev, axis=-1)),
            "eigenvalues_blocks": (("level", "rank", "block"), ev),
            "autocorrelation": (("level", "lag"), ac.mean(axis=-1)),
            "autocorrelation_blocks": (("level", "lag", "block"), ac),
            "n_clusters": ("level", 1024 // sizes),
            "tau_c_lower_bound": ("level", np.zeros(sizes.size, bool)),
        },
        coords=coords,
    )
    return ds.assign_coords(cluster_size=("level", sizes))


def test_prg_collapse_recovers_planted_mu_and_z():
    res = _fake_prg()
    mu = prg_collapse(res, "eigenvalues", n_boot=60)
    z = prg_collapse(res, "autocorrelation", n_boot=60)
    for fit, truth in ((mu, 0.6), (z, 0.8)):
        lo, hi = float(fit["ci_low"][0]), float(fit["ci_high"][0])
        assert lo <= truth <= hi, (fit.attrs["exponent_name"], lo, hi)
        assert hi - lo < 0.05
        assert float(fit["quality"]) < 2
    assert float(mu["k_min"]) == 4 and float(mu["k_max"]) == 128
    assert str(mu["parameter"].values[0]) == "mu" and str(z["parameter"].values[0]) == "z"


def test_prg_collapse_refuses_a_momentum_result_and_too_few_levels():
    res = _fake_prg()
    with pytest.raises(ValueError, match="a momentum result has no per-cluster-size curves"):
        prg_collapse(xr.Dataset({"fourth_moment": ("level", [1.0, 2.0])}), "eigenvalues")
    with pytest.raises(ValueError, match=r"in k_range \(4, 8\).*at least 3 cluster sizes"):
        prg_collapse(res, "eigenvalues", k_range=(4, 8))
    with pytest.raises(ValueError, match="unknown quantity 'tau_c'"):
        prg_collapse(res, "tau_c")
    with pytest.raises(TypeError, match="result must be"):
        prg_collapse(res["eigenvalues"], "eigenvalues")


def test_prg_collapse_on_a_real_prg_result_runs_beside_the_slope():
    import rgdata

    x = (np.random.default_rng(1).random((256, 3000)) < 0.2).astype(np.int8)
    res = rgdata.coarse.prg(rgdata.as_activity(x), random_state=0)
    fit = prg_collapse(res, "eigenvalues", n_boot=20)
    # independent units: the spectra are Marchenko-Pastur-like and flat at fixed rank,
    # so the collapse exponent is near 0 (the slope fit says the same)
    slope = rgdata.diagnostics.fit_exponent(res, "eigenvalues")
    assert abs(float(fit["value"][0])) < 0.2 and abs(float(slope["exponent"])) < 0.5
