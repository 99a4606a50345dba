"""Long checks: the quartic flow of the shipped retina, and a larger brute-force hierarchy."""

import warnings

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import softmax

import rgdata
from rgdata.maxent import HierarchicalMaxEnt, fit_quartic_flow, multilevel_objective

pytestmark = pytest.mark.slow


def test_retina_quartic_flow_heads_to_gaussian_but_stays_above_null():
    act = rgdata.stack_trials(rgdata.datasets.load_retina())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = fit_quartic_flow(act, n_blocks=20)
        rng = np.random.default_rng(0)
        v = act.values
        shifted = np.stack(
            [np.roll(r, s) for r, s in zip(v, rng.integers(0, v.shape[1], len(v)), strict=True)]
        )
        null = fit_quartic_flow(act.copy(data=shifted), res.fraction.values, n_blocks=20)
    g, e = res.g_cumulant.values, res.g_cumulant_err.values
    # sparse spikes: heavy tails at fraction 1 that shrink along the flow (toward g* = 0)
    assert g[0] < -1 and abs(g[-1]) < abs(g[0]) - 10 * (e[0] + e[-1])
    # correlated units keep the coarse variables further from Gaussian than the null does
    gn, en = null.g_cumulant.values, null.g_cumulant_err.values
    assert abs(g[-1]) - abs(gn[-1]) > 4 * np.hypot(e[-1], en[-1])


def test_larger_hierarchy_matches_brute_force():
    rng = np.random.default_rng(21)
    n = 64
    f = rng.normal(size=n)
    maps = [
        rng.permutation(np.arange(n) % 16),
        rng.permutation(np.arange(16) % 4),
        np.arange(4) % 2,
    ]
    w = rng.uniform(0.2, 1.5, size=4)
    m = HierarchicalMaxEnt(w, 0.8, maps).fit(f)

    def neg(z):
        p = softmax(z)
        return -multilevel_objective(p, f, maps, w, 0.8)

    res = minimize(
        neg,
        np.zeros(n),
        method="L-BFGS-B",
        options={"maxiter": 50_000, "ftol": 1e-15, "gtol": 1e-10},
    )
    np.testing.assert_allclose(-res.fun, m.objective_, rtol=1e-7)
    np.testing.assert_allclose(softmax(res.x), m.probability_, atol=1e-4)
