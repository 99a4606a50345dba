"""Momentum-space RG on the shipped data (slow: run with `make test-slow`)."""

import numpy as np
import pytest

import rgdata
from rgdata.coarse import momentum
from rgdata.report.sections.momentum import add_momentum_section

from .test_momentum_report import _Collect


@pytest.mark.slow
@pytest.mark.parametrize("loader", ["load_retina", "load_stocks"])
def test_section_on_shipped_data(loader):
    act = getattr(rgdata.datasets, loader)()
    rep = _Collect()
    out = add_momentum_section(rep, act, random_state=0)
    assert all(np.isfinite(v) for v in out.values()), out
    res = rep.results["momentum"]
    null = rep.results["momentum_null_shuffle"]
    # the shuffle keeps each unit's distribution: same fourth moments with all modes
    np.testing.assert_allclose(
        null.fourth_moment.isel(level=0), res.fourth_moment.isel(direction=0, level=0)
    )
    # heavy tails (sparse spikes, fat-tailed returns) are far from Gaussian with all modes
    se = out["gaussian_fourth_moment_se"]
    assert out["fourth_moment_full"] > 3 + 20 * se
    # correlations keep the coarse variables further from Gaussian than the null
    assert out["fourth_moment_smallest_remove_low"] > out["null_fourth_moment_smallest"]
    assert set(rep.captions) == {
        "momentum_fourth_moment_flow",
        "momentum_distributions",
        "momentum_self_similarity",
    }


@pytest.mark.slow
def test_float32_default_for_many_units_is_accurate():
    """2048 Gaussian units with a planted covariance: the default (auto) precision is float32;
    every filtered variable stays at 3 within sampling error, and float32 moves the fourth
    moments by a small fraction of their sampling error se = sqrt(24/T) compared with
    float64: at most 0.25 se for any variable and 0.02 se for the medians. The largest
    differences are at cuts inside the noise bulk, where neighbouring eigenvalues are a few
    float32 eps of lambda_max apart and float32 mixes the two modes at the cut (0.12 se
    measured; sampling moves those modes far more)."""
    rng = np.random.default_rng(11)
    n, t = 2048, 6000
    load = rng.standard_normal((n, 20)) * np.arange(1, 21) ** -0.5
    x = load @ rng.standard_normal((20, t)) + rng.standard_normal((n, t))
    act = rgdata.as_activity(x)
    auto = momentum(act)
    assert auto.attrs["dtype"] == "float32"
    se = auto.attrs["gaussian_fourth_moment_se"]
    # 2048 x 11 variables: 5.5 sigma per variable keeps the family-wise error below 1e-3
    assert np.all(np.abs(auto.fourth_moment - 3) < 5.5 * se)
    assert np.all(np.abs(auto.fourth_moment_median - 3) < 4 * se)
    exact = momentum(act, dtype="float64")
    np.testing.assert_array_equal(auto.n_modes, exact.n_modes)
    assert np.max(np.abs(auto.fourth_moment - exact.fourth_moment)) < 0.25 * se
    assert np.max(np.abs(auto.fourth_moment_median - exact.fourth_moment_median)) < 0.02 * se
    np.testing.assert_allclose(auto.eigenvalues, exact.eigenvalues, rtol=1e-4, atol=1e-5)
