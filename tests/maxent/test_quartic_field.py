"""Non-perturbative fit of the multivariate phi^4 model (fit_quartic_field) against a planted
field sampled by the test's own Metropolis sampler (tests/maxent/test_quartic_multi.py)."""

import warnings

import numpy as np
import pytest

import rgdata
from rgdata.maxent.quartic import fit_quartic_field

from .test_quartic_multi import planted_ring


@pytest.mark.slow
@pytest.mark.parametrize("g0,seed", [(0.005, 12), (0.05, 10), (0.2, 13)])
def test_exact_fit_recovers_planted_coupling_where_first_order_fails(g0, seed):
    act, g_true = planted_ring(g0=g0, seed=seed)
    res = fit_quartic_field(act, 5, random_state=0)
    err = np.hypot(res["g_err"], res["g_mc_err"])
    assert abs(res["g"] - g_true) < 4 * err
    assert res["at_boundary"] == 0 and res["fraction"] == pytest.approx(5 / 12)
    if g0 >= 0.05:  # unit-variance g = 0.007 and 0.016: first order is 20-30 errors low
        assert g_true - res["g_first_order"] > 4 * err
    else:  # g = 0.001: both agree
        assert abs(res["g_first_order"] - g_true) < 4 * err


def test_exact_fit_gaussian_and_reproducible():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 6)) @ rng.normal(size=(6, 20_000))
    act = rgdata.as_activity(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        r1 = fit_quartic_field(act, 3, n_chains=200, n_sweeps=50, n_iter=4, random_state=1)
        r2 = fit_quartic_field(act, 3, n_chains=200, n_sweeps=50, n_iter=4, random_state=1)
    assert r1["g"] == r2["g"]
    assert r1["g"] < 4 * np.hypot(r1["g_err"], r1["g_mc_err"])
    # Gaussian quadratic couplings: alpha_mu = 1 / (2 lambda_mu) within a few per cent
    lam = np.sort(np.linalg.eigvalsh(np.corrcoef(x)))[::-1][:3]
    np.testing.assert_allclose(r1["alpha"], 1 / (2 * lam), rtol=0.05)


def test_exact_fit_bad_input():
    act = rgdata.as_activity(np.random.default_rng(0).normal(size=(40, 200)))
    with pytest.raises(ValueError, match="n_modes must be <= 30"):
        fit_quartic_field(act, 31)
    with pytest.raises(ValueError, match="n_modes must be >= 1"):
        fit_quartic_field(act, 0)
