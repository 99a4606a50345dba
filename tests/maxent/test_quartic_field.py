"""Non-perturbative fit of the multivariate phi^4 model (fit_quartic_field) against a planted
field sampled by the test's own Metropolis sampler (tests/maxent/test_quartic_multi.py)."""

import warnings

import numpy as np
import pytest
from scipy.stats import norm

import rgdata
from rgdata.maxent import MaxEntConvergenceWarning
from rgdata.maxent.quartic import _field_newton_step, fit_quartic_field

from .test_quartic_multi import planted_ring


@pytest.mark.slow
@pytest.mark.parametrize("g0,seed", [(0.005, 12), (0.05, 10), (0.2, 13)])
def test_exact_fit_recovers_planted_coupling_where_first_order_fails(g0, seed):
    act, g_true = planted_ring(g0=g0, seed=seed)
    res = fit_quartic_field(act, 5, random_state=0)
    err = np.hypot(res["g_err"], res["g_mc_err"])
    assert abs(res["g"] - g_true) < 4 * err
    assert res["converged"] and res["max_moment_z"] <= res["moment_z_limit"]
    assert res["at_boundary"] == 0 and res["fraction"] == pytest.approx(5 / 12)
    if g0 >= 0.05:  # unit-variance g = 0.007 and 0.016: first order is 20-30 errors low
        assert g_true - res["g_first_order"] > 4 * err
    else:  # g = 0.001: both agree
        assert abs(res["g_first_order"] - g_true) < 4 * err


def test_exact_fit_gaussian_and_reproducible():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 6)) @ rng.normal(size=(6, 20_000))
    act = rgdata.as_activity(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r1 = fit_quartic_field(act, 3, n_chains=200, n_sweeps=50, n_iter=4, random_state=1)
        r2 = fit_quartic_field(act, 3, n_chains=200, n_sweeps=50, n_iter=4, random_state=1)
    assert r1["g"] == r2["g"]
    np.testing.assert_array_equal(r1["alpha"], r2["alpha"])
    assert r1["converged"] and r1["max_moment_z"] <= r1["moment_z_limit"]
    assert not any(issubclass(w.category, MaxEntConvergenceWarning) for w in caught)
    # g >= 0 by construction: either it sits on the boundary, says so and is exactly 0, or
    # it is a positive estimate within 4 errors of the true 0
    boundary_warned = any("g is held at 0" in str(w.message) for w in caught)
    if r1["at_boundary"]:
        assert r1["g"] == 0.0 and boundary_warned
    else:
        assert not boundary_warned
        assert 0 < r1["g"] < 4 * np.hypot(r1["g_err"], r1["g_mc_err"])
    # the signed first-order coupling is 0 within its Gaussian-null sampling error
    # 1 / sqrt(24 T sum_ij G_ij^4), G the correlation of the projected variables
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    lam, u = np.linalg.eigh(np.corrcoef(x))
    u = u[:, np.argsort(lam)[::-1][:3]]
    cov_k = u.T @ z @ z.T @ u / z.shape[1]
    prop = u @ cov_k @ u.T
    prop = prop / np.sqrt(np.outer(np.diag(prop), np.diag(prop)))
    first_err = 1 / np.sqrt(24 * z.shape[1] * np.sum(prop**4))
    assert abs(r1["g_first_order"]) < 4 * first_err
    # Gaussian quadratic couplings alpha_mu = 1 / (2 lambda_mu) within 4 of the returned
    # (data and Monte Carlo) errors
    lam = np.sort(np.linalg.eigvalsh(np.corrcoef(x)))[::-1][:3]
    tol = 4 * np.hypot(r1["alpha_err"], r1["alpha_mc_err"])
    assert np.all(tol < 0.1 / (2 * lam))  # ~2 % errors: a wrong factor would show
    assert np.all(np.abs(r1["alpha"] - 1 / (2 * lam)) < tol)


def test_exact_fit_at_boundary_has_gaussian_alphas():
    # heavier-tailed than Gaussian (t with 4 degrees of freedom): g is held at 0, where the
    # maximum-likelihood alphas are exactly the Gaussian 1 / (2 lambda_mu) of the sample
    # (the model matches E[a_mu^2] = lambda_mu); they differ only by the Monte Carlo error.
    # Keeping the alphas of the joint Newton step taken towards g < 0 misses by 6e5-8e5 errors.
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 6)) @ rng.standard_t(4, size=(6, 20_000))
    with pytest.warns(UserWarning, match="g is held at 0"):
        res = fit_quartic_field(
            rgdata.as_activity(x), 3, n_chains=200, n_sweeps=50, n_iter=4, random_state=1
        )
    assert res["at_boundary"] == 1 and res["g"] == 0.0 and res["g_first_order"] < 0
    lam = np.sort(np.linalg.eigvalsh(np.corrcoef(x)))[::-1][:3]
    assert np.all(np.abs(res["alpha"] - 1 / (2 * lam)) < 4 * res["alpha_mc_err"])
    # the data's fourth-moment statistic is far above the model's (that is why g = 0) and
    # does not count against convergence; the alphas' moments do, and match
    assert res["moment_z"][-1] < -res["moment_z_limit"]
    assert np.all(np.abs(res["moment_z"][:3]) <= res["moment_z_limit"])
    assert res["converged"] and res["max_moment_z"] == np.abs(res["moment_z"][:3]).max()


def test_exact_fit_reports_non_convergence():
    # light-tailed data (uniform sources): one Newton step from the first-order g leaves the
    # moments ~20 Monte Carlo errors off; the fit says so and warns. Four steps converge (over
    # 40 seeds the mismatches z had standard deviation 0.9-1.0: the errors are calibrated).
    rng = np.random.default_rng(0)
    act = rgdata.as_activity(rng.normal(size=(6, 6)) @ rng.uniform(-1, 1, size=(6, 20_000)))
    kw = dict(n_chains=200, n_sweeps=50, random_state=1)
    with pytest.warns(MaxEntConvergenceWarning, match="did not converge in n_iter=1"):
        one = fit_quartic_field(act, 3, n_iter=1, **kw)
    assert not one["converged"] and one["max_moment_z"] > 3 * one["moment_z_limit"]
    assert one["max_moment_z"] == pytest.approx(np.abs(one["moment_z"]).max())
    # the limit: two-sided 1 % family-wise over the k + 1 = 4 moments
    assert one["moment_z_limit"] == pytest.approx(norm.isf(0.01 / 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaxEntConvergenceWarning)
        four = fit_quartic_field(act, 3, n_iter=4, **kw)
    assert four["converged"] and four["at_boundary"] == 0
    assert np.all(np.abs(four["moment_z"]) <= four["moment_z_limit"])


# ----------------------------------------------------------------------------- Newton step


def _spd(k, seed):
    m = np.random.default_rng(seed).normal(size=(k + 1, k + 1))
    cov = m @ m.T + (k + 1) * np.eye(k + 1)
    cov[:k, k] = cov[k, :k] = np.abs(cov[:k, k])  # a^2 and sum psi^4 positively correlated
    return cov


def test_newton_step_clamped_g_resolves_alphas():
    cov = _spd(2, 0)
    theta = np.array([0.5, 0.6, 0.01])
    target = np.array([1.0, 0.8, 3.0])
    joint = np.array([0.01, -0.02, -0.05])  # the unconstrained step: g -> -0.04
    model = target + cov @ joint
    new, boundary, halvings = _field_newton_step(theta, model, target, cov)
    assert boundary == 1 and halvings == 0 and new[2] == 0.0
    # with g fixed at 0 the linearised model moments of the alphas, model - cov (new - theta),
    # equal the data's
    np.testing.assert_allclose((model - cov @ (new - theta))[:2], target[:2], atol=1e-12)
    # ... which the alphas of the joint step do not
    assert np.max(np.abs(new[:2] - (theta[:2] + joint[:2]))) > 1e-3


def test_newton_step_halved_until_normalisable():
    # g = 0 and a step that would take alpha_1 to -0.7: halved twice (to +0.2)
    cov = np.diag([2.0, 2.0, 50.0])
    cov[0, 2] = cov[2, 0] = 1.0
    theta = np.array([0.5, 0.5, 0.0])
    target = np.array([1.0, 1.0, 3.0])
    resid = np.array([-2.4, 0.2, -5.0])  # asks for g < 0 and a large alpha_1 decrease
    new, boundary, halvings = _field_newton_step(theta, target + resid, target, cov)
    full = np.linalg.solve(cov[:2, :2], resid[:2])  # g held at 0 (it already is)
    assert full[0] + theta[0] < 0  # the undamped step is not normalisable
    assert boundary == 1 and halvings == 2
    np.testing.assert_allclose(new, np.append(theta[:2] + full / 4, 0.0), rtol=1e-12)
    assert np.all(new[:2] > 0) and np.any(theta[:2] + full / 2 <= 0)
    # with g > 0 a negative alpha is a normalisable double well: no halving
    theta_g = np.array([0.5, 0.5, 0.1])
    resid_g = cov @ np.array([-0.8, 0.0, 0.05])
    new_g, boundary_g, halvings_g = _field_newton_step(theta_g, target + resid_g, target, cov)
    assert halvings_g == 0 and boundary_g == 0
    np.testing.assert_allclose(new_g, [-0.3, 0.5, 0.15], rtol=1e-12)


def test_exact_fit_bad_input():
    act = rgdata.as_activity(np.random.default_rng(0).normal(size=(40, 200)))
    with pytest.raises(ValueError, match="n_modes must be <= 30"):
        fit_quartic_field(act, 31)
    with pytest.raises(ValueError, match="n_modes must be >= 1"):
        fit_quartic_field(act, 0)
