"""The band of a null is a 95% prediction band for one more draw (issue #14).

The 2.5-97.5 percentiles of n = 10 draws hold one more draw only
0.95 (n - 1) / (n + 1) = 78% of the time; the band is the Student-t prediction
interval mean +- t_{n-1, 0.975} sd sqrt(1 + 1/n) instead.
"""

import warnings

import numpy as np
import pytest
import scipy.signal
import scipy.stats

import rgdata
from rgdata.coarse import prg
from rgdata.diagnostics import (
    NULL_BAND_LEVEL,
    fit_exponents,
    prediction_band,
    run_with_nulls,
    surrogate,
)
from rgdata.diagnostics._null_bands import _null_summary


def test_band_equals_the_t_prediction_interval_on_known_draws():
    draws = np.array([1.0, 2.0, 4.0, 7.0, 11.0])  # mean 5, sd sqrt(66 / 4)
    low, high = prediction_band(draws)
    half = scipy.stats.t.ppf(0.975, 4) * np.sqrt(16.5) * np.sqrt(1 + 1 / 5)
    assert half == pytest.approx(2.776445 * 4.062019 * 1.095445, rel=1e-6)
    assert float(low) == pytest.approx(5.0 - half, rel=1e-12)
    assert float(high) == pytest.approx(5.0 + half, rel=1e-12)
    # wider than the 2.5-97.5 percentiles of the same draws, which lie inside the range
    assert low < draws.min() and high > draws.max()
    lo90, hi90 = prediction_band(draws, level=0.9)
    assert lo90 > low and hi90 < high


def test_band_skips_unfitted_draws_and_needs_two():
    # columns: 4 fitted draws; 2 fitted draws and 2 NaN; 1 fitted draw; none
    x = np.array([[1.0, 1.0, 3.0, np.nan], [2.0, 3.0, np.nan, np.nan]])
    x = np.vstack([x, [[3.0, np.nan, np.nan, np.nan], [6.0, np.nan, np.nan, np.nan]]])
    low, high = prediction_band(x, axis=0)
    ref = prediction_band(np.array([1.0, 3.0]))
    assert low[1] == pytest.approx(float(ref[0])) and high[1] == pytest.approx(float(ref[1]))
    # n = 2: t_{1, 0.975} = 12.706, sd = sqrt(2), sqrt(1 + 1/2)
    assert high[1] - 2.0 == pytest.approx(12.706205 * np.sqrt(2) * np.sqrt(1.5), rel=1e-6)
    assert np.isnan(low[2:]).all() and np.isnan(high[2:]).all()
    assert np.isfinite(low[0])


@pytest.mark.parametrize("level", [0.0, 1.0, 95, "0.95", True])
def test_band_level_must_be_a_probability(level):
    with pytest.raises(ValueError, match="level must be a probability in \\(0, 1\\), got"):
        prediction_band(np.arange(4.0), level=level)


def test_null_summary_stores_the_prediction_band_of_each_null():
    # tables: (symbols, columns exponent, ci_low, ci_high, block_sd, se) per run
    rng = np.random.default_rng(0)
    data = np.array([[1.3, 1.2, 1.4, 0.05, 0.05]] * 4)
    draws = rng.normal(1.0, 0.02, size=(10, 4))
    draws[3, 2] = np.nan  # one draw without a mu fit
    tables = {
        "data": [data],
        "shuffle": [np.column_stack([d, d, d, np.zeros(4), np.zeros(4)]) for d in draws],
    }
    out = _null_summary(tables, ("data", "shuffle"), 10)
    low, high = prediction_band(draws, axis=0)
    np.testing.assert_allclose(out["exponent_ci_low"][1][1], low, rtol=1e-12)
    np.testing.assert_allclose(out["exponent_ci_high"][1][1], high, rtol=1e-12)
    # mu has 9 fitted draws: t on 8 degrees of freedom, sqrt(1 + 1/9)
    mu = draws[:, 2][np.isfinite(draws[:, 2])]
    half = scipy.stats.t.ppf(0.975, 8) * mu.std(ddof=1) * np.sqrt(1 + 1 / 9)
    assert out["exponent_ci_high"][1][1][2] == pytest.approx(mu.mean() + half, rel=1e-12)
    # the data row keeps its block CI; the mean and per-draw exponents are kept
    np.testing.assert_array_equal(out["exponent_ci_low"][1][0], data[:, 1])
    np.testing.assert_allclose(out["exponent"][1][1], np.nanmean(draws, axis=0))
    np.testing.assert_array_equal(out["null_exponent"][1][1], draws)
    assert list(out["interval_kind"][1]) == [
        "95% CI (time blocks)",
        "95% prediction band of 10 draws",
    ]
    assert NULL_BAND_LEVEL == 0.95


def _ar1(rng, n, t, tau):
    a = np.exp(-1.0 / tau)
    e = rng.normal(size=(n, t)) * np.sqrt(1 - a * a)
    e[:, 0] = rng.normal(size=n)
    return scipy.signal.lfilter([1.0], [1.0, -a], e, axis=1)


@pytest.mark.slow
def test_band_of_ten_draws_holds_an_eleventh_draw_95_percent_of_the_time():
    """60 replicates of benchmarks/coverage_null_bands.py (shuffle null only).

    Independent Gaussian AR(1) units; run_with_nulls stores the band of 10
    shuffle draws; one more shuffle draw, run through the same PRG and alpha
    fit with its own seed, must fall inside it. Coverage 0.95 over 60
    replicates has binomial SD 2.8%: the bound 0.95 - 3 SD = 86.6% keeps a
    false failure below 0.2%, and the old percentile band (expected
    0.95 * 9 / 11 = 77.7%, SD 5.4%) fails it.
    """
    rng = np.random.default_rng(11)
    n_rep = 60
    hits = []
    for rep in range(n_rep):
        act = rgdata.as_activity(_ar1(rng, 32, 2000, 5.0), kind="calcium")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = run_with_nulls(
                act, ("shuffle",), n_surrogates=10, quantities=("variance",), random_state=rep
            )
            seed = 10**6 + rep  # not one of run_with_nulls' child seeds
            res = prg(surrogate(act, "shuffle", seed), random_state=seed)
            new = fit_exponents(res, ("variance",))["exponent"].sel(exponent_name="alpha")
        row = out.sel(null="shuffle", exponent_name="alpha")
        low, high = float(row["exponent_ci_low"]), float(row["exponent_ci_high"])
        assert np.isfinite(float(new)) and np.isfinite(low)
        hits.append(low <= float(new) <= high)
    cover = float(np.mean(hits))
    sd = np.sqrt(0.95 * 0.05 / n_rep)
    assert cover >= 0.95 - 3 * sd
