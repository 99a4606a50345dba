"""Data-driven time blocks, tau_c lower bounds and honest CIs on autocorrelated data."""

import warnings

import numpy as np
import pytest
import scipy.signal

import rgdata
from rgdata.coarse import prg
from rgdata.coarse._blocks import (
    BLOCK_TAUS,
    MIN_BLOCKS,
    choose_n_blocks,
    integrated_time,
)
from rgdata.diagnostics import fit_exponent


def ar1_units(rng, n, t, tau):
    """Independent stationary AR(1) units with C(lag) = exp(-lag / tau): alpha = 1 exactly."""
    a = np.exp(-1.0 / tau)
    e = rng.normal(size=(n, t)) * np.sqrt(1 - a * a)
    e[:, 0] = rng.normal(size=n)
    return scipy.signal.lfilter([1.0], [1.0, -a], e, axis=1)


def test_integrated_time_of_exponential_acf():
    # C(t) = a**t: tau_int = (1 + a) / (1 - a) minus the tail beyond Sokal's window M,
    # 2 a**(M+1) / (1 - a), which at M >= 5 tau_int is below 1e-3 of it
    a = np.exp(-1 / 20)
    tau_int, lower = integrated_time(a ** np.arange(2000))
    assert not lower
    assert tau_int == pytest.approx((1 + a) / (1 - a), rel=1e-3)
    assert integrated_time(np.r_[1.0, np.zeros(50)]) == (1.0, False)
    # the window cannot close within 30 lags of a slow decay: a lower bound
    tau_short, lower = integrated_time(a ** np.arange(30))
    assert lower and tau_short < (1 + a) / (1 - a)


def test_choose_n_blocks():
    assert choose_n_blocks(10_000, 10.0) == 10  # capped
    assert choose_n_blocks(800, 100.0) == 2  # 800 / 300 samples: below MIN_BLOCKS
    assert choose_n_blocks(1500, 100.0) == MIN_BLOCKS


def test_short_autocorrelated_recording_gives_nan_ci_not_a_narrow_one(rng):
    # 800 samples, tau = 50 (tau_int ~ 100): four blocks of 2 tau each were used to give
    # a finite interval; now the bounds are NaN, with a warning that says why
    act = rgdata.as_activity(ar1_units(rng, 64, 800, 50.0))
    with pytest.warns(UserWarning, match="fewer than the 5 needed"):
        res = prg(act, pairing="random", random_state=0)
    assert res.attrs["n_blocks"] < MIN_BLOCKS
    assert "fit_exponent will return NaN" in res.attrs["block_note"]
    with pytest.warns(UserWarning, match="no CI"):
        fit = fit_exponent(res, "variance")
    assert np.isfinite(fit["exponent"])
    assert np.isnan(fit["ci_low"]) and np.isnan(fit["ci_high"])
    assert "no CI" in fit.attrs["status"] and fit.attrs["ci_note"]
    # forcing the old 4 blocks: NaN (fewer than 5 blocks); forcing 8: NaN, because
    # blocks of 100 samples are shorter than 3 tau_int
    forced = prg(act, pairing="random", random_state=0, n_blocks=4)
    with pytest.warns(UserWarning, match="only 4 time block"):
        fit4 = fit_exponent(forced, "variance")
    assert np.isnan(fit4["ci_low"])
    assert fit4["exponent_blocks"].notnull().sum() == 4  # the blocks are still there to look at
    forced = prg(act, pairing="random", random_state=0, n_blocks=8)
    with pytest.warns(UserWarning, match="not independent"):
        fit8 = fit_exponent(forced, "variance")
    assert np.isnan(fit8["ci_low"]) and np.isnan(fit8["curvature_ci_low"])


def test_long_recording_gets_blocks_of_several_tau_int_and_covers_one(rng):
    act = rgdata.as_activity(ar1_units(rng, 64, 12000, 10.0))
    res = prg(act, pairing="random", random_state=1)
    block_len = res.attrs["block_length"]
    assert block_len >= BLOCK_TAUS * res["tau_int"].values[:4].max()
    assert res.attrs["n_blocks"] >= MIN_BLOCKS and res.attrs["block_note"] == ""
    # tau_int of the sums of independent AR(1) units is the unit's (1 + a) / (1 - a) ~ 20
    a = np.exp(-1 / 10)
    np.testing.assert_allclose(res["tau_int"].values[:4], (1 + a) / (1 - a), rtol=0.25)
    fit = fit_exponent(res, "variance")
    assert fit.attrs["status"] == "ok"
    assert fit["ci_low"] <= 1.0 <= fit["ci_high"]


def test_tau_c_beyond_max_lag_is_a_lower_bound(rng):
    act = rgdata.as_activity(ar1_units(rng, 16, 6000, 40.0))
    with pytest.warns(UserWarning, match="lower bound"):
        res = prg(act, max_lag=20, n_levels=3)
    assert res["tau_c_lower_bound"].values.all()
    np.testing.assert_array_equal(res["tau_c"].values, 20.0)
    # with the automatic max_lag the decay is seen: finite tau_c near 40, no lower bound
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        auto = prg(act, n_levels=3)
    assert not auto["tau_c_lower_bound"].values.any()
    np.testing.assert_allclose(auto["tau_c"].values, 40.0, rtol=0.25)
    assert auto.attrs["max_lag"] >= 3 * auto["tau_c"].values.max() - 1
    # the z fit leaves lower-bound levels out, with a warning
    with pytest.warns(UserWarning, match="only a lower bound"):
        fit = fit_exponent(res, "tau_c", k_range=(1, 8))
    assert np.flatnonzero(fit["level_lower_bound"]).tolist() == [0, 1, 2, 3]


def test_auto_max_lag_caps_at_quarter_of_recording(rng):
    # slow ramps (plus a little noise): the sample autocorrelation stays near
    # 1 - 1.5 lag / T, above 1/e at lag T/4, so tau_c can only be a lower bound
    ramp = np.linspace(-1, 1, 1000)
    x = rng.uniform(0.5, 1.5, size=(8, 1)) * ramp + 0.05 * rng.normal(size=(8, 1000))
    act = rgdata.as_activity(x)
    with pytest.warns(UserWarning, match="lower bound"):
        res = prg(act, n_levels=2)
    assert res.attrs["max_lag"] == 250
    assert res["tau_c_lower_bound"].values.any()
    assert res["tau_int_lower_bound"].values.any()


@pytest.mark.slow
def test_ci_coverage_on_autocorrelated_independent_units():
    """200 seeded replicates, 64 AR(1) units (tau = 20), T = 4000: 95% CIs cover alpha = 1.

    Coverage of 200 draws at 95% is Binomial(200, 0.95): SD 1.5%, so 90-98% is
    about -3.3 to +2 SD. The old rule (4 blocks of 1000 samples) is not tested here;
    benchmarks/coverage_prg_ci.py prints the full table.
    """
    rng = np.random.default_rng(2024)
    hits, with_ci = 0, 0
    for rep in range(200):
        act = rgdata.as_activity(ar1_units(rng, 64, 4000, 20.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_exponent(prg(act, pairing="random", random_state=rep), "variance")
        if np.isfinite(fit["ci_low"]):
            with_ci += 1
            hits += fit["ci_low"] <= 1.0 <= fit["ci_high"]
    assert with_ci >= 190
    assert 0.90 <= hits / with_ci <= 0.98
