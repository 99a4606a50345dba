"""Exponent fits on planted power laws (built by hand, not by prg) and on prg output."""

import warnings

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.coarse import prg
from rgdata.diagnostics import exponent_fit, fit_exponent, fit_exponents


def planted(rng, exponent=1.4, n_levels=7, n_blocks=8, noise=0.02, curvature=0.0):
    """A fake prg result whose variance follows c K**exponent with log-normal block noise."""
    k = 2 ** np.arange(n_levels)
    logk = np.log(k)
    true = np.log(0.3) + exponent * logk + curvature * logk**2
    blocks = true[:, None] + noise * rng.normal(size=(n_levels, n_blocks))
    full = blocks.mean(axis=1)
    ds = xr.Dataset(
        {
            "variance": ("level", np.exp(full)),
            "variance_blocks": (("level", "block"), np.exp(blocks)),
        },
        coords={"level": np.arange(n_levels), "cluster_size": ("level", k)},
    )
    return ds


def test_planted_power_law_recovered_within_ci(rng):
    hits = 0
    for _ in range(40):
        fit = fit_exponent(planted(rng), "variance", ci=0.9)
        hits += fit["ci_low"] <= 1.4 <= fit["ci_high"]
        assert fit["r2"] > 0.99
        assert fit.attrs["status"] == "ok"
    # 90% intervals: coverage of 40 draws is Binomial(40, 0.9); 4 sigma below is ~28
    assert hits >= 28


def test_exact_power_law_exact_exponent(rng):
    ds = planted(rng, exponent=1.7, noise=0.0)
    fit = fit_exponent(ds, "variance")
    assert float(fit["exponent"]) == pytest.approx(1.7, abs=1e-10)
    assert float(fit["ci_high"] - fit["ci_low"]) == pytest.approx(0.0, abs=1e-10)
    assert float(fit["r2"]) == pytest.approx(1.0)
    assert float(fit["intercept"]) == pytest.approx(np.log(0.3))


def test_k_range_restricts_the_fit(rng):
    ds = planted(rng, noise=0.0)
    ds["variance"][-1] = 1e6  # a wild last level
    ds["variance_blocks"][-1] = 1e6
    fit = fit_exponent(ds, "variance", k_range=(1, 32))
    assert float(fit["exponent"]) == pytest.approx(1.4)
    assert (fit["k_min"], fit["k_max"]) == (1.0, 32.0)
    assert fit_exponent(ds, "variance")["exponent"] > 1.6


def test_curvature_detected_and_not_for_straight_lines(rng):
    bent = fit_exponent(planted(rng, curvature=0.08, noise=0.01), "variance")
    assert bent["curvature_significant"] == 1
    assert bent["slope_upper_half"] > bent["slope_lower_half"]
    straight = fit_exponent(planted(rng, noise=0.01), "variance", ci=0.99)
    assert straight["curvature_ci_low"] <= 0 <= straight["curvature_ci_high"]


def test_spread_ci_is_one_block_sd(rng):
    fit = fit_exponent(planted(rng), "variance", ci_method="spread")
    sd = np.std(fit["exponent_blocks"].values, ddof=1)
    assert float(fit["ci_high"] - fit["exponent"]) == pytest.approx(sd)
    t = fit_exponent(planted(rng), "variance", ci_method="t")
    assert t.attrs["ci_method"] == "t"


def test_wls_equals_ols_for_equal_block_variances(rng):
    ds = planted(rng, noise=0.0)
    # identical block scatter at every level: weights are all equal
    offs = np.tile([-0.01, 0.01, 0.02, -0.02], 2)
    ds["variance_blocks"] = ds["variance_blocks"] * np.exp(offs)[None, :]
    a = fit_exponent(ds, "variance", method="ols")
    b = fit_exponent(ds, "variance", method="wls")
    assert float(a["exponent"]) == pytest.approx(float(b["exponent"]))


def test_too_few_levels_warns_and_returns_nan(rng):
    ds = planted(rng, n_levels=2)
    with pytest.warns(UserWarning, match="at least 3 needed"):
        fit = fit_exponent(ds, "variance")
    assert np.isnan(fit["exponent"])
    assert fit.attrs["status"].startswith("failed")
    assert fit["exponent_blocks"].isnull().all() and not fit["level_in_fit"].any()


def test_mu_from_planted_spectra():
    # eigenvalue(rank, K) = (rank / K) ** -0.7 exactly at every level
    k = 2 ** np.arange(6)
    ranks = np.arange(1, 33)
    ev = np.full((6, 32), np.nan)
    for i, kk in enumerate(k):
        ev[i, :kk] = (ranks[:kk] / kk) ** -0.7
    ds = xr.Dataset(
        {
            "eigenvalues": (("level", "rank"), ev),
            "eigenvalues_blocks": (("level", "rank", "block"), np.repeat(ev[..., None], 4, -1)),
        },
        coords={"level": np.arange(6), "cluster_size": ("level", k), "rank": ranks},
    )
    fit = fit_exponent(ds, "eigenvalues")
    assert float(fit["exponent"]) == pytest.approx(0.7)
    assert fit["k_min"] == 4
    assert fit.attrs["exponent_name"] == "mu"


def test_fit_is_a_dataset_that_round_trips_through_netcdf(tmp_path, rng):
    ds = planted(rng, n_blocks=6)
    fit = fit_exponent(ds, "variance")
    assert isinstance(fit, xr.Dataset)
    assert float(fit["exponent"]) == pytest.approx(1.4, abs=0.05)
    # per-block exponents on the result's block dim; their spread is block_sd
    assert fit["exponent_blocks"].dims == ("block",) and fit.sizes["block"] == 6
    assert float(fit["block_sd"]) == pytest.approx(np.std(fit["exponent_blocks"].values, ddof=1))
    assert fit["level_in_fit"].values.all() and fit["k_range_requested"].dims == ("bound",)
    assert all(isinstance(v, str) for v in fit.attrs.values())
    path = tmp_path / "fit.nc"
    fit.to_netcdf(path, engine="h5netcdf")
    xr.testing.assert_identical(xr.load_dataset(path, engine="h5netcdf"), fit)


def test_fit_exponents_variables_roundtrip(tmp_path, rng):
    act = rgdata.as_activity((rng.random((32, 4000)) < 0.2).astype(np.int8), kind="spikes")
    plain = prg(act)
    res = fit_exponents(plain)
    assert list(res["exponent_name"].values) == ["alpha", "beta", "mu", "z"]
    assert res["exponent_blocks"].dims == ("exponent_name", "block")
    assert res["exponent_level_in_fit"].dims == ("exponent_name", "level")
    assert res.attrs == plain.attrs  # nothing added to attrs
    path = tmp_path / "fit.nc"
    res.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    for q, s in (("variance", "alpha"), ("eigenvalues", "mu"), ("tau_c", "z")):
        direct = fit_exponent(plain, q)
        stored = exponent_fit(back, s)
        assert stored.attrs == direct.attrs
        for v in direct.data_vars:
            np.testing.assert_array_equal(stored[v].values, direct[v].values, err_msg=v)
    # continuous data: beta is not fitted by default
    cont = fit_exponents(prg(rgdata.as_activity(rng.normal(size=(16, 2000)))))
    assert "beta" not in cont["exponent_name"].values
    with pytest.raises(ValueError, match="not fitted|one of"):
        exponent_fit(cont, "beta")
    with pytest.raises(ValueError, match="already holds exponent fits"):
        fit_exponents(res)
    with pytest.raises(ValueError, match="distinct"):
        fit_exponents(plain, ("variance", "variance"))
    with pytest.raises(ValueError, match="holds no exponent fits"):
        exponent_fit(plain, "alpha")
    with pytest.raises(TypeError, match="xarray.Dataset"):
        exponent_fit({"exponent": 1.0}, "alpha")


def test_bad_input(rng):
    ds = planted(rng)
    with pytest.raises(TypeError, match="xarray.Dataset"):
        fit_exponent(ds["variance"], "variance")
    with pytest.raises(ValueError, match="unknown quantity 'var'"):
        fit_exponent(ds, "var")
    with pytest.raises(ValueError, match="lacks"):
        fit_exponent(ds, "tau_c")
    with pytest.raises(ValueError, match="unknown method"):
        fit_exponent(ds, "variance", method="huber")
    with pytest.raises(ValueError, match="ci must be"):
        fit_exponent(ds, "variance", ci=1.5)
    nulls = xr.concat([ds, ds], dim="null")
    with pytest.raises(ValueError, match="select one first"):
        fit_exponent(nulls, "variance")


def test_no_warning_on_good_fit(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_exponent(planted(rng), "variance")


def test_default_fit_range_needs_eight_clusters(rng):
    # 64 units: levels K = 1..32 hold 64, 32, 16, 8, 4, 2 clusters; the default range
    # stops at K = 8 (8 clusters) and says so; asking for more warns
    x = (rng.random((64, 6000)) < 0.2).astype(np.int8)
    res = prg(rgdata.as_activity(x, kind="spikes"), pairing="random", random_state=0)
    fit = fit_exponent(res, "variance")
    assert (fit["k_min"], fit["k_max"]) == (1.0, 8.0)
    assert "8 clusters" in fit.attrs["k_range_rule"] and fit["min_clusters"] == 8
    with pytest.warns(UserWarning, match="fewer than 8 clusters"):
        wide = fit_exponent(res, "variance", k_range=(1, 32))
    assert wide["k_max"] == 32.0
    # a result with too few clusters anywhere: a stated failure, not a fit on 2 clusters
    small = prg(rgdata.as_activity(x[:16], kind="spikes"), pairing="random", random_state=0)
    with pytest.warns(UserWarning, match="at least 3 needed"):
        bad = fit_exponent(small, "variance")
    assert np.isnan(bad["exponent"]) and "8 clusters" in bad.attrs["status"]


def test_significant_curvature_warns_with_both_half_slopes(rng):
    ds = planted(rng, curvature=0.05, noise=0.005)
    with pytest.warns(UserWarning, match=r"slope is \d\.\d{3} over the lower half and \d"):
        fit = fit_exponent(ds, "variance")
    assert fit["curvature_significant"] == 1
    assert fit["slope_upper_half"] > fit["slope_lower_half"]
