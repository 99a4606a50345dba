"""Pairwise maximum entropy: checks against brute-force enumeration and planted models."""

import warnings

import numpy as np
import pytest
import xarray as xr
from sklearn.exceptions import NotFittedError

import rgdata
from rgdata.maxent import (
    IndependentMaxEnt,
    MaxEntConvergenceWarning,
    PairwiseMaxEnt,
    convert_pairwise_coding,
)

from . import test_pairwise_reference as ref

IU10 = np.triu_indices(10, 1)


def _activity(x, coding="01"):
    return rgdata.as_activity(
        np.asarray(x).T, kind="spikes" if coding == "01" else "spins", allow_constant=True
    )


@pytest.fixture(scope="module")
def planted10():
    h, J = ref.random_model(10, seed=3)
    return h, J, ref.exact_sample(20_000, h, J, seed=4), ref.exact_sample(80_000, h, J, seed=5)


@pytest.fixture(scope="module")
def exact_fits(planted10):
    h, J, x1, x4 = planted10
    return [PairwiseMaxEnt(method="exact").fit(_activity(x)) for x in (x1, x4)]


# ----------------------------------------------------------------------------- coding
def test_coding_conversion_preserves_distribution():
    h, J = ref.random_model(6, seed=0, h_mean=0.2)
    h01, J01 = convert_pairwise_coding(h, J, "pm1", "01")
    _, p_pm1 = ref.probabilities(6, h, J, coding="pm1")
    _, p_01 = ref.probabilities(6, h01, J01, coding="01")
    # itertools lists states in the same order in both codings (x01 = (xpm1 + 1) / 2)
    np.testing.assert_allclose(p_01, p_pm1, rtol=1e-12)
    back = convert_pairwise_coding(h01, J01, "01", "pm1")
    np.testing.assert_allclose(back[0], h, atol=1e-12)
    np.testing.assert_allclose(back[1], J, atol=1e-12)


def test_coding_conversion_bad_input():
    with pytest.raises(ValueError, match="unknown source 'ising'"):
        convert_pairwise_coding([0.0], [[0.0]], "ising", "01")
    with pytest.raises(ValueError, match="symmetric with a zero diagonal"):
        convert_pairwise_coding([0.0, 0.0], [[0.0, 1.0], [2.0, 0.0]], "01", "pm1")


def test_fits_in_both_codings_describe_the_same_distribution(planted10):
    _, _, x1, _ = planted10
    m01 = PairwiseMaxEnt(method="exact").fit(_activity(x1))
    mpm = PairwiseMaxEnt(method="exact", coding="pm1").fit(_activity(x1))  # 0/1 data recoded
    h01, J01 = convert_pairwise_coding(mpm.h_, mpm.J_, "pm1", "01")
    np.testing.assert_allclose(J01, m01.J_, atol=2e-4)
    np.testing.assert_allclose(h01, m01.h_, atol=2e-4)
    assert mpm.log_likelihood_ == pytest.approx(m01.log_likelihood_, abs=1e-7)


# ----------------------------------------------------------------------------- exact fits
def test_exact_fit_recovers_planted_couplings_within_fisher_errors(planted10, exact_fits):
    h, J, _, _ = planted10
    se = ref.parameter_standard_errors(20_000, h, J)
    est = np.concatenate([exact_fits[0].h_, exact_fits[0].J_[IU10]])
    z = (est - np.concatenate([h, J[IU10]])) / se
    # 55 asymptotically standard-normal z-scores; jointly chi-square with 55 dof
    assert np.max(np.abs(z)) < 4.5
    stat, (lo, hi) = ref.mahalanobis_chi2(est, np.concatenate([h, J[IU10]]), 20_000, h, J)
    assert lo < stat < hi


def test_exact_fit_error_halves_with_four_times_more_samples(planted10, exact_fits):
    _, J, _, _ = planted10
    rmse = [np.sqrt(np.mean((m.J_[IU10] - J[IU10]) ** 2)) for m in exact_fits]
    # RMSE ~ 1/sqrt(T): ratio 2 expected; 45 couplings give ~10% scatter per RMSE
    assert 1.4 < rmse[0] / rmse[1] < 2.8


def test_exact_fit_matches_moments_and_reports(planted10, exact_fits):
    _, _, x1, _ = planted10
    m = exact_fits[0]
    assert m.converged_ and m.residual_ < 1e-2
    assert m.method_ == "exact"
    np.testing.assert_allclose(m.predict_means(), x1.mean(0), atol=1e-6)
    cov = np.cov(x1.T, bias=True)
    np.testing.assert_allclose(m.predict_correlations(), cov, atol=1e-6)
    gof = m.goodness_of_fit(_activity(x1))
    assert gof.attrs["max_z_mean"] < 0.01 and gof.attrs["max_z_cov"] < 0.01
    # the independent null misses the correlations by many standard errors
    assert gof.attrs["rms_z_cov_independent"] > 3
    # data drawn from a pairwise model: 3-point correlations predicted within errors
    assert gof.attrs["rms_z_c3"] < 1.5


def test_exact_predictions_against_brute_force(exact_fits):
    m = exact_fits[0]
    states, p = ref.probabilities(10, m.h_, m.J_)
    tri = np.array([[0, 1, 2], [3, 5, 9], [2, 4, 8]])
    mu = p @ states
    d = states - mu
    c3 = [(p * d[:, i] * d[:, j] * d[:, k]).sum() for i, j, k in tri]
    np.testing.assert_allclose(m.predict_three_point(tri), c3, atol=1e-12)
    pk = np.bincount(states.sum(1).astype(int), weights=p, minlength=11)
    np.testing.assert_allclose(m.predict_count_distribution(), pk, atol=1e-12)
    ent = -(p * np.log(p)).sum()
    assert m.entropy() == pytest.approx(ent, rel=1e-10)
    x = ref.exact_sample(500, m.h_, m.J_, seed=9)
    lw = ref.log_weights(states, m.h_, m.J_)
    log_z = np.log(np.exp(lw).sum())
    expected = np.mean(ref.log_weights(x.astype(float), m.h_, m.J_) - log_z)
    assert m.log_likelihood(_activity(x)) == pytest.approx(expected, rel=1e-10)


def test_multi_information_fraction_near_one_for_pairwise_data(planted10, exact_fits):
    _, _, _, x4 = planted10
    mi = exact_fits[1].multi_information_fraction(_activity(x4))
    # data are pairwise; the plug-in S_data is biased low by ~(patterns - 1) / 2T
    assert 0.9 < mi["fraction"] < 1.05
    assert mi["entropy_data"] < mi["entropy_model"] < mi["entropy_independent"]


def test_independent_units_give_zero_couplings(rng):
    x = (rng.random((40_000, 6)) < 0.3).astype(np.int8)
    m = PairwiseMaxEnt(method="exact").fit(_activity(x))
    p = x.mean(0)
    se_j = 1.0 / np.sqrt(40_000 * 0.3 * 0.7 * 0.3 * 0.7)  # Fisher error of J at J = 0
    assert np.max(np.abs(m.J_[np.triu_indices(6, 1)])) < 4.5 * se_j
    ind = IndependentMaxEnt().fit(_activity(x))
    np.testing.assert_allclose(ind.predict_means(), p, rtol=1e-9)
    # P(K) of independent units: brute force over states
    states, _ = ref.probabilities(6, np.zeros(6), np.zeros((6, 6)))
    w = np.prod(np.where(states > 0, p, 1 - p), axis=1)
    pk = np.bincount(states.sum(1).astype(int), weights=w, minlength=7)
    np.testing.assert_allclose(ind.predict_count_distribution(), pk, atol=1e-12)


# ----------------------------------------------------------------------------- Ising lattice
def test_ising_4x4_recovers_nearest_neighbour_coupling():
    L, T = 4, 3.0
    n = L * L
    idx = np.arange(n).reshape(L, L)
    J = np.zeros((n, n))
    for dy, dx in ((0, 1), (1, 0)):
        nb = np.roll(np.roll(idx, -dy, 0), -dx, 1)
        J[idx.ravel(), nb.ravel()] = 1.0 / T
    J = np.maximum(J, J.T)
    x = ref.exact_sample(100_000, np.zeros(n), J, coding="pm1", seed=11)
    m = PairwiseMaxEnt(method="exact", coding="pm1").fit(_activity(x, "pm1"))
    iu = np.triu_indices(n, 1)
    nn = J[iu] > 0
    est = m.J_[iu]
    spread = est[nn].std(ddof=1)
    assert abs(est[nn].mean() - 1.0 / T) < 4 * spread / np.sqrt(nn.sum())
    assert abs(est[~nn].mean()) < 4 * est[~nn].std(ddof=1) / np.sqrt((~nn).sum())
    assert np.max(np.abs(est[~nn])) < 5 * spread
    assert np.max(np.abs(m.h_)) < 5 * spread


# ----------------------------------------------------------------------------- MCMC
@pytest.mark.parametrize("method", ["boltzmann", "reweighting"])
def test_monte_carlo_fit_agrees_with_exact(planted10, exact_fits, method):
    _, _, x1, _ = planted10
    exact = exact_fits[0]
    mc = PairwiseMaxEnt(method=method, random_state=1).fit(_activity(x1))
    assert mc.converged_ and mc.residual_ < mc.tol
    # both match the data within the data's errors, so they differ by less than the
    # statistical error of the couplings (Fisher errors at T = 20,000)
    se = ref.parameter_standard_errors(20_000, exact.h_, exact.J_)[10:]
    z = (mc.J_[IU10] - exact.J_[IU10]) / se
    assert np.sqrt(np.mean(z**2)) < 1.0
    assert np.max(np.abs(z)) < 3.0


@pytest.mark.parametrize("method", ["boltzmann", "reweighting"])
def test_monte_carlo_fit_is_reproducible(planted10, method):
    _, _, x1, _ = planted10
    act = _activity(x1[:5000])
    a = PairwiseMaxEnt(method=method, random_state=7, max_iter=3).fit
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaxEntConvergenceWarning)
        j1, j2 = a(act).J_, a(act).J_
    np.testing.assert_array_equal(j1, j2)


def test_sample_is_reproducible_and_matches_model(exact_fits):
    m = exact_fits[0]
    s1 = m.sample(4000, random_state=3)
    s2 = m.sample(4000, random_state=3)
    np.testing.assert_array_equal(s1.values, s2.values)
    assert s1.dims == ("unit", "time") and s1.attrs["kind"] == "spikes"
    mean = m.predict_means()
    se = np.sqrt(mean * (1 - mean) / 4000)
    assert np.max(np.abs(s1.values.mean(1) - mean) / se) < 4.5


def test_pseudolikelihood_close_to_exact(planted10, exact_fits):
    _, J, x1, _ = planted10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaxEntConvergenceWarning)
        pl = PairwiseMaxEnt(method="pseudolikelihood").fit(_activity(x1))
    err_pl = np.sqrt(np.mean((pl.J_[IU10] - J[IU10]) ** 2))
    err_ex = np.sqrt(np.mean((exact_fits[0].J_[IU10] - J[IU10]) ** 2))
    assert err_pl < 1.2 * err_ex


# ----------------------------------------------------------------------------- results
def test_results_round_trip_netcdf(tmp_path, exact_fits, planted10):
    m = exact_fits[0]
    ds = m.to_dataset()
    gof = m.goodness_of_fit(_activity(planted10[2]), n_triplets=50)
    for name, obj in (("p", ds), ("g", gof)):
        path = tmp_path / f"{name}.nc"
        obj.to_netcdf(path, engine="h5netcdf")
        back = xr.load_dataset(path, engine="h5netcdf")
        xr.testing.assert_allclose(back, obj)
        assert back.attrs["method"] == "exact"


# ----------------------------------------------------------------------------- bad input
def test_bad_input_messages(rng):
    x = (rng.random((2000, 5)) < 0.3).astype(np.int8)
    act = _activity(x)
    with pytest.raises(ValueError, match="unknown method 'newton'"):
        PairwiseMaxEnt(method="newton").fit(act)
    with pytest.raises(ValueError, match="unknown coding"):
        PairwiseMaxEnt(coding="spin").fit(act)
    cont = rgdata.as_activity(rng.normal(size=(5, 100)))
    with pytest.raises(ValueError, match="must be binary"):
        PairwiseMaxEnt().fit(cont)
    with pytest.raises(TypeError, match="xarray.DataArray"):
        PairwiseMaxEnt().fit(x)
    xc = x.copy()
    xc[:, 2] = 0
    with pytest.raises(ValueError, match="constant unit.*infinite.*l2 > 0"):
        PairwiseMaxEnt(method="exact").fit(_activity(xc))
    with (
        pytest.warns(UserWarning, match="kept finite by l2"),
        pytest.warns(MaxEntConvergenceWarning, match="l2=0.001 trades moment matching"),
    ):
        m = PairwiseMaxEnt(method="exact", l2=1e-3).fit(_activity(xc))
    assert np.isfinite(m.h_).all()
    with pytest.raises(ValueError, match="10 time samples for 15 parameters"):
        PairwiseMaxEnt(method="exact").fit(_activity(x[:10]))
    with pytest.warns(UserWarning, match="fewer than 10 per parameter"):
        PairwiseMaxEnt(method="exact").fit(_activity(x[:100]))
    big = _activity((rng.random((700, 25)) < 0.5).astype(np.int8))
    with pytest.raises(ValueError, match="accepts N <= 24 units; got N=25"):
        PairwiseMaxEnt(method="exact").fit(big)
    with pytest.raises(NotFittedError, match="PairwiseMaxEnt is not fitted"):
        PairwiseMaxEnt().predict_means()


def test_non_converged_fit_warns_with_residual(planted10):
    _, _, x1, _ = planted10
    with pytest.warns(MaxEntConvergenceWarning, match=r"mismatch is \d+\.\d+ standard errors"):
        m = PairwiseMaxEnt(method="exact", max_iter=2).fit(_activity(x1))
    assert not m.converged_ and m.residual_ > m.tol


def test_pm1_data_and_trials_accepted(planted10):
    _, _, x1, _ = planted10
    spins = (2 * x1[:8000] - 1).astype(np.int8)
    trials = rgdata.as_activity(
        spins.T.reshape(10, 2, 4000).transpose(1, 0, 2), kind="spins"
    )  # (trial, unit, time)
    a = PairwiseMaxEnt(method="exact").fit(trials)
    b = PairwiseMaxEnt(method="exact").fit(_activity(x1[:8000]))
    np.testing.assert_allclose(a.J_, b.J_, atol=1e-6)
    assert a.data_coding_ == "pm1"
