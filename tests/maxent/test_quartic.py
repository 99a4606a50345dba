"""Tests of the phi^4 model: planted recovery, Gaussian null, moment relations."""

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.integrate import quad
from sklearn.exceptions import NotFittedError

import rgdata
from rgdata.maxent.quartic import (
    QuarticModel,
    fit_quartic_flow,
    fit_quartic_moments,
    quartic_moments,
)


def rejection_sample(a, g, n, rng):
    """Independent sampler: rejection from a Gaussian envelope (not the package's CDF sampler)."""
    # exp(-a x^2 - g x^4) <= exp(-x^2 / (2 s^2)) * M with a proposal of width s
    s = 1.5 * max(np.sqrt(1 / (2 * a)) if a > 0 else 0.0, (1 / g) ** 0.25 if g > 0 else 0.0)
    grid = np.linspace(-20 * s, 20 * s, 200_001)
    log_ratio = -(a * grid**2 + g * grid**4) + grid**2 / (2 * s**2)
    log_m = log_ratio.max() + 1e-9
    out = []
    while sum(len(o) for o in out) < n:
        x = rng.normal(scale=s, size=4 * n)
        keep = np.log(rng.random(x.size)) < -(a * x**2 + g * x**4) + x**2 / (2 * s**2) - log_m
        out.append(x[keep])
    return np.concatenate(out)[:n]


def quad_moment(a, g, k):
    z = quad(lambda x: np.exp(-a * x * x - g * x**4), -np.inf, np.inf)[0]
    return quad(lambda x: x**k * np.exp(-a * x * x - g * x**4), -np.inf, np.inf)[0] / z


@pytest.mark.parametrize("a,g", [(0.5, 0.1), (-0.5, 0.4), (1.0, 0.02)])
def test_moments_match_adaptive_quadrature(a, g):
    ours = quartic_moments(a, g, (2, 4, 6))
    ref = [quad_moment(a, g, k) for k in (2, 4, 6)]
    np.testing.assert_allclose(ours, ref, rtol=1e-8)


@pytest.mark.parametrize("a,g", [(0.5, 0.1), (-0.5, 0.4)])
def test_planted_quartic_recovered_within_error(a, g):
    rng = np.random.default_rng(1)
    x = rejection_sample(a, g, 40_000, rng)
    m = QuarticModel(center=False).fit(x)
    assert abs(m.g_ - g) < 4 * m.g_err_
    assert abs(m.a_ - a) < 4 * m.a_err_
    assert not m.at_boundary_


def test_fisher_errors_are_calibrated():
    rng = np.random.default_rng(2)
    fits = [
        QuarticModel(center=False).fit(rejection_sample(0.5, 0.1, 4000, rng)) for _ in range(60)
    ]
    g = np.array([f.g_ for f in fits])
    err = np.mean([f.g_err_ for f in fits])
    # the spread of the estimates matches the Fisher error (60 repeats: ~10% precision)
    assert 0.7 < g.std(ddof=1) / err < 1.4
    assert abs(g.mean() - 0.1) < 4 * err / np.sqrt(60)


def test_gaussian_data_gives_zero_coupling():
    rng = np.random.default_rng(3)
    for seed in range(5):
        x = np.random.default_rng(seed).normal(scale=2.0, size=20_000)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            m = QuarticModel().fit(x)
        assert 0 <= m.g_ < 4 * m.g_err_
        assert abs(m.a_ - 1 / (2 * 4.0)) < 4 * m.a_err_
    del rng


def test_fitted_model_reproduces_sample_moments_and_kurtosis():
    x = rejection_sample(-0.2, 0.3, 20_000, np.random.default_rng(4))
    m = QuarticModel(center=False).fit(x)
    m2, m4 = quad_moment(m.a_, m.g_, 2), quad_moment(m.a_, m.g_, 4)
    np.testing.assert_allclose([m2, m4], [np.mean(x**2), np.mean(x**4)], rtol=1e-7)
    np.testing.assert_allclose(m4 / m2**2, m.kurtosis_, rtol=1e-7)


def test_small_coupling_kurtosis_relation():
    # first-order perturbation theory: excess kurtosis = -24 g s^2 for unit variance
    for g in (1e-4, 1e-3, 3e-3):
        m2, m4 = quartic_moments(0.5, g)
        fit = fit_quartic_moments(m2, m4)
        excess = m4 / m2**2 - 3
        g_unit = fit["g"] * m2**2
        np.testing.assert_allclose(g_unit, -excess / 24, rtol=60 * g)  # second-order term ~ 36 g


def test_heavy_tails_sit_on_boundary_with_warning():
    x = np.random.default_rng(5).standard_t(5, size=10_000)
    with pytest.warns(UserWarning, match="heavier tails than a Gaussian"):
        m = QuarticModel().fit(x)
    assert m.g_ == 0 and m.at_boundary_


def test_sample_reproducible_and_distributed_right():
    m = QuarticModel(center=False).fit(rejection_sample(0.5, 0.1, 5000, np.random.default_rng(6)))
    s1, s2 = m.sample(50_000, random_state=7), m.sample(50_000, random_state=7)
    np.testing.assert_array_equal(s1, s2)
    m4 = quartic_moments(m.a_, m.g_, (4,))[0]
    se = np.std(s1**4) / np.sqrt(s1.size)
    assert abs(np.mean(s1**4) - m4) < 4 * se


def test_bad_inputs():
    with pytest.raises(ValueError, match="two-point distribution"):
        QuarticModel().fit(np.tile([-1.0, 1.0], 50))
    with pytest.raises(ValueError, match="x must have 1 dimensions"):
        QuarticModel().fit(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        QuarticModel().fit(np.r_[np.arange(20.0), np.nan])
    with pytest.raises(ValueError, match="x is constant"):
        QuarticModel().fit(np.ones(20))
    with pytest.raises(NotFittedError, match="QuarticModel is not fitted"):
        QuarticModel().moments()
    with pytest.raises(ValueError, match="g must be >= 0"):
        quartic_moments(0.5, -0.1)


def planted_activity(n_unit=16, n_time=20_000, a=-0.3, g=0.3, seed=8):
    rng = np.random.default_rng(seed)
    x = rejection_sample(a, g, n_unit * n_time, rng).reshape(n_unit, n_time)
    return rgdata.as_activity(x)


def test_quartic_flow_independent_planted_units():
    act = planted_activity()
    ds = fit_quartic_flow(act, n_blocks=10)
    # fraction 1: the variables themselves; g is planted g in unit-variance scale
    m2 = quad_moment(-0.3, 0.3, 2)
    a_unit, g_unit = -0.3 * m2, 0.3 * m2**2
    assert ds.fraction.values[0] == 1.0
    assert abs(ds.g.values[0] - g_unit) < 4 * ds.g_err.values[0]
    assert abs(ds.a.values[0] - a_unit) < 4 * ds.a_err.values[0]
    # independent units: mixing modes drives the coarse variables towards a Gaussian (CLT)
    assert ds.g.values[-1] < ds.g.values[0] / 2
    assert list(ds.n_modes.values) == [16, 8, 4, 2]
    # the jackknife covariance between fractions has the error bars on its diagonal
    np.testing.assert_allclose(np.sqrt(np.diag(ds.g_cumulant_cov)), ds.g_cumulant_err, rtol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(ds.g_cov)), ds.g_err, rtol=1e-10)
    # jackknife errors of independent data agree with the Fisher errors
    fisher = QuarticModel().fit(
        np.ravel(
            (act.values - act.values.mean(1, keepdims=True)) / act.values.std(1, keepdims=True)
        )
    )
    assert 0.5 < ds.g_err.values[0] / fisher.g_err_ < 2.0


def test_quartic_flow_gaussian_is_at_gaussian_fixed_point(tmp_path):
    rng = np.random.default_rng(9)
    mix = rng.normal(size=(20, 20))
    act = rgdata.as_activity(mix @ rng.normal(size=(20, 20_000)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ds = fit_quartic_flow(act, fractions=[1.0, 0.5, 0.25], n_blocks=10)
    assert np.all(np.abs(ds.g_cumulant) < 4 * ds.g_cumulant_err)
    assert np.all(ds.g <= 4 * np.maximum(ds.g_err, 1e-3))
    path = tmp_path / "q.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_allclose(back, ds)
    assert back.attrs["n_blocks"] == 10


def test_quartic_flow_bad_input():
    act = planted_activity(n_unit=4, n_time=200)
    with pytest.raises(ValueError, match="fractions must be"):
        fit_quartic_flow(act, fractions=[1.5])
    with pytest.raises(ValueError, match="repeated numbers of modes"):
        fit_quartic_flow(act, fractions=[0.5, 0.51])
    with pytest.raises(TypeError, match="activity must be an xarray.DataArray"):
        fit_quartic_flow(np.zeros((4, 100)))
    trials = rgdata.as_activity(np.random.default_rng(0).normal(size=(2, 4, 50)))
    with pytest.raises(ValueError, match="stack_trials"):
        fit_quartic_flow(trials)


def test_quartic_flow_on_the_levels_of_a_momentum_result():
    from rgdata.coarse import momentum

    act = planted_activity(n_unit=12, n_time=8000, seed=11)
    ours = fit_quartic_flow(act, n_blocks=8)
    mom = momentum(act)
    theirs = fit_quartic_flow(act, mom, n_blocks=8)
    # one projection (the momentum modes): the same levels, numbers and jackknife errors
    np.testing.assert_array_equal(theirs.n_modes, mom.n_modes)
    np.testing.assert_allclose(theirs.fraction, mom.fraction)
    for var in ("kurtosis", "g", "g_err", "g_multi", "g_multi_err", "kurtosis_unit"):
        np.testing.assert_allclose(theirs[var], ours[var], rtol=1e-9, atol=1e-12)
    # the per-unit kurtosis is momentum's fourth moment of the same filtered variables
    np.testing.assert_allclose(
        theirs.kurtosis_unit, mom.fourth_moment.transpose("level", "unit"), rtol=1e-9
    )
    # a "both" result is reduced to its remove_low levels
    both = fit_quartic_flow(act, momentum(act, direction="both"), n_blocks=8)
    np.testing.assert_allclose(both.g, ours.g, rtol=1e-9, atol=1e-12)


def test_quartic_flow_rejects_a_momentum_result_it_cannot_use():
    from rgdata.coarse import momentum

    act = planted_activity(n_unit=12, n_time=4000, seed=11)
    mom = momentum(act)
    with pytest.raises(TypeError, match="fit_quartic_flow\\(activity, momentum_result\\)"):
        fit_quartic_flow(mom)
    with pytest.raises(ValueError, match="remove_low"):
        fit_quartic_flow(act, momentum(act, direction="remove_high"))
    with pytest.raises(ValueError, match="correlation"):
        fit_quartic_flow(act, momentum(act, matrix="covariance"))
    other = planted_activity(n_unit=12, n_time=4000, seed=12)
    with pytest.raises(ValueError, match="other data.*eigenvalues"):
        fit_quartic_flow(other, mom)
    with pytest.raises(TypeError, match="n_modes and eigenvalues"):
        fit_quartic_flow(act, xr.Dataset({"x": ("fraction", [1.0])}))


def test_quartic_flow_with_fewer_time_points_than_units():
    # rank min(N, T - 1) < N: the projection completes the modes with zero-variance ones
    x = np.random.default_rng(5).uniform(-1, 1, (40, 30))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = fit_quartic_flow(rgdata.as_activity(x), [1.0, 0.5], n_blocks=2)
    lam = ds.eigenvalue.values
    assert lam.size == 40 and np.all(lam[29:] == 0) and np.all(lam[:29] > 0)
    np.testing.assert_allclose(lam.sum(), 40.0, rtol=1e-12)  # trace of the correlation matrix
    # fraction 1 is the data: uniform values have kurtosis near 1.8
    assert 1.5 < float(ds.kurtosis.isel(fraction=0)) < 2.1
    assert np.all(np.isfinite(ds.kurtosis.values))
