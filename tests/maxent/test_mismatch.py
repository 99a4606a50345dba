"""How a fit's mismatch with the data is judged: comparison errors, Monte Carlo error, criteria.

Every expected value here comes from a closed form: Bernoulli/Poisson
variances, chains whose autocorrelation is planted by repeating samples, and
planted mismatches of known size under known Monte Carlo noise.
"""

import warnings

import numpy as np
import pytest

import rgdata
from rgdata.maxent import HighActivityModeWarning, PairwiseMaxEnt
from rgdata.maxent import _mismatch as pf
from rgdata.maxent._chains import high_activity_fraction
from rgdata.maxent._start import FORBIDDEN


def test_comparison_se_uses_the_model_variance_for_statistics_the_data_rarely_sees():
    t = 100_000
    # a pair never seen in the data, predicted 7 times by the model: the data's own error
    # (floored at one count) would call that 7 standard errors; under the model the count
    # is Poisson(7), so the deviation is 7 / sqrt(7) = 2.65 standard errors
    d = np.array([0.0, 0.2])
    m = np.array([7.0 / t, 0.2])
    se = np.array([1.0 / t, 0.0015])
    se_cmp = pf.comparison_se(m, d, se, "01", 2, t)
    z = (m - d) / se_cmp
    assert z[0] == pytest.approx(np.sqrt(7.0), rel=1e-3)
    # a common statistic keeps the data's block error (model variance equal to the data's)
    assert se_cmp[1] == pytest.approx(0.0015)


def test_comparison_se_carries_the_block_to_iid_ratio_and_the_pm1_variance():
    t = 10_000
    d = np.array([0.5])  # ±1 coding: variance 1 - 0.25
    iid = np.sqrt(0.75 / t)
    se = np.array([2.0 * iid])  # time correlations double the error
    m = np.array([0.0])  # model variance 1: sqrt(1 / 0.75) larger
    se_cmp = pf.comparison_se(m, d, se, "pm1", 2, t)
    assert se_cmp[0] == pytest.approx(2.0 * np.sqrt(1.0 / t))


def _chains(rng, n_chains, per_chain, p, repeat):
    """Per-chain means of Bernoulli(p) samples, each sample repeated *repeat* times."""
    draws = rng.random((n_chains, per_chain // repeat, len(p))) < p
    return np.repeat(draws, repeat, axis=1).mean(1)


@pytest.mark.parametrize("repeat", [1, 4])
def test_chain_error_measures_planted_autocorrelation(repeat):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.5, 2000)
    n_chains, per_chain = 8, 4000
    per = _chains(rng, n_chains, per_chain, p, repeat)
    mc_se, tau = pf.chain_error(per, per.mean(0), "01", 0, n_chains * per_chain)
    # repeating each sample r times multiplies the variance of a mean by exactly r; the
    # median over 2000 statistics of chi2(7)/7 ratios has a relative error of about 3 %
    assert tau == pytest.approx(float(repeat), rel=0.12)
    np.testing.assert_allclose(
        mc_se, np.sqrt(repeat * p * (1 - p) / (n_chains * per_chain)), rtol=0.15
    )


def test_chain_error_with_one_chain_falls_back_to_independent_samples():
    m = np.array([0.1, 0.5])
    mc_se, tau = pf.chain_error(m[None, :], m, "01", 0, 1000)
    assert tau == 1.0
    np.testing.assert_allclose(mc_se, np.sqrt(m * (1 - m) / 1000))


def test_mismatch_removes_the_monte_carlo_share_of_the_rms():
    rng = np.random.default_rng(1)
    p = 20_000
    true = rng.normal(0.0, 0.7, p)  # planted fit error: rms 0.7 comparison errors
    noise = rng.normal(0.0, 0.5, p)  # Monte Carlo error 0.5
    d = np.zeros(p)
    mis = pf.mismatch(true + noise, d, np.ones(p), np.full(p, 0.5))
    # mean z^2 of 20,000 statistics has a relative error of sqrt(2 / 20000) = 1 %
    assert mis.rms == pytest.approx(0.7, abs=0.02)
    assert mis.noise_rms == pytest.approx(0.5)
    assert mis.allowance == pytest.approx(0.5 * np.sqrt(2 * np.log(2 * p)))
    exact = pf.mismatch(true, d, np.ones(p))
    assert exact.allowance == 0.0 and exact.rms == pytest.approx(np.sqrt(np.mean(true**2)))


def test_mismatch_criterion_accepts_pure_noise_and_rejects_a_planted_outlier():
    rng = np.random.default_rng(2)
    p = 12_880
    noise = rng.normal(0.0, 0.5, p)
    d, se, mc = np.zeros(p), np.ones(p), np.full(p, 0.5)
    assert pf.mismatch(noise, d, se, mc).converged(tol=1.5, tol_rms=1.0)
    bad = noise.copy()
    bad[17] += 6.0  # one statistic 6 errors off: more than Monte Carlo noise explains
    mis = pf.mismatch(bad, d, se, mc)
    assert not mis.converged(tol=1.5, tol_rms=1.0)
    assert mis.max_z > 1.5 + mis.allowance
    # a broad misfit of 1.2 errors everywhere fails the rms test though no single statistic
    # stands out
    broad = noise + rng.choice([-1.2, 1.2], p)
    assert pf.mismatch(broad, d, se, mc).rms > 1.0


def _ferromagnet(n, h, j):
    return np.full(n, h), j * (np.ones((n, n)) - np.eye(n))


def test_high_activity_fraction_finds_a_planted_second_state():
    n = 30
    # field in the all-on state: -3 + 29 * 0.5 = 11.5 > 0, so it is stable; the all-off
    # state (field -3) is stable too: two modes
    h, J = _ferromagnet(n, -3.0, 0.5)
    assert high_activity_fraction(h, J, None, "01", k_max=8) == 1.0
    # no couplings: every unit is on with probability sigmoid(-3) = 0.047, K stays small
    h0, J0 = _ferromagnet(n, -3.0, 0.0)
    assert high_activity_fraction(h0, J0, None, "01", k_max=8) == 0.0
    # a count potential that forbids every count above 8 leaves no such state
    V = np.zeros(n + 1)
    V[9:] = FORBIDDEN
    assert high_activity_fraction(h, J, V, "01", k_max=8) == 0.0


def test_monte_carlo_fit_reports_its_mismatch_and_warns_about_a_high_activity_state():
    rng = np.random.default_rng(3)
    x = (rng.random((30, 20_000)) < 0.1).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", HighActivityModeWarning)
        m = PairwiseMaxEnt(method="reweighting", random_state=0).fit(act)
    assert m.converged_ and m.high_activity_fraction_ == 0.0
    attrs = m.to_dataset().attrs
    assert attrs["residual_rms"] == m.residual_rms_ < m.tol_rms
    assert attrs["mc_allowance"] == m.mc_allowance_ > 0.0
    assert m.residual_ < m.tol + m.mc_allowance_
    # plant ferromagnetic couplings: chains started all-on now stay up, and the fit says so
    m.h_, m.J_ = _ferromagnet(30, -3.0, 0.5)
    with pytest.warns(HighActivityModeWarning, match="second, high-activity state"):
        m._check_high_activity()
    assert m.high_activity_fraction_ == 1.0
