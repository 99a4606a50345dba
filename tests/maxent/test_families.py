"""Convergence judged per family of statistics (means, second moments, P(K)).

A pooled rms over all statistics is dominated by the N(N-1)/2 second
moments: 50 means all biased low can hide in it. Each family must pass its
own rms and its own bias test, ``|mean z| * sqrt(n) < BIAS_TOL`` plus the
Monte Carlo allowance of that number.
"""

import warnings

import numpy as np
import pytest

import rgdata
from rgdata.maxent import MaxEntConvergenceWarning, PairwiseMaxEnt
from rgdata.maxent import _mismatch as pf

N = 50
FAMILIES = pf.stat_families(N, False)
N_PAIR = N * (N - 1) // 2


def _z(mean_part, second_part):
    return np.concatenate([mean_part, second_part])


def test_families_split_the_statistics_vector():
    assert [(name, sl.stop - sl.start) for name, sl in FAMILIES] == [
        ("means", N),
        ("second_moments", N_PAIR),
    ]
    names = [name for name, _ in pf.stat_families(6, True)]
    assert names == ["means", "second_moments", "count_distribution"]


def test_means_biased_low_fail_although_the_pooled_rms_passes():
    rng = np.random.default_rng(0)
    # the reported case: means with rms z 1.34 and 40 of 50 negative, second moments at
    # rms 0.8; the pooled rms (0.84) passes tol_rms = 1
    means = -1.0 + 0.9 * rng.standard_normal(N)
    second = 0.8 * rng.standard_normal(N_PAIR)
    z = _z(means, second)
    mc = np.full(z.size, 0.1)
    mis = pf.mismatch(z, np.zeros(z.size), np.ones(z.size), mc, FAMILIES)
    assert mis.rms < 1.0 and mis.max_z < 1.5 + mis.allowance + 3.0
    fam = {f.name: f for f in mis.families}
    assert fam["means"].rms > 1.0
    # bias = mean z * sqrt(50) ~ -7, far beyond 3 + the Monte Carlo share
    assert fam["means"].bias < -(pf.BIAS_TOL + fam["means"].bias_allowance)
    assert not mis.converged(tol=10.0, tol_rms=1.0)
    assert "means" in " ".join(mis.failing_families(1.0))
    assert "second_moments" not in " ".join(mis.failing_families(1.0))


def test_a_one_sided_bias_within_the_rms_target_fails_on_the_bias_alone():
    rng = np.random.default_rng(1)
    # means 0.6 SE low with little scatter: their rms (0.67) and the pooled rms pass, but a
    # mean z of -0.6 over 50 statistics is -4.2 sigma for misfits of either sign
    means = -0.6 + 0.3 * rng.standard_normal(N)
    second = 0.5 * rng.standard_normal(N_PAIR)
    z = _z(means, second)
    mc = np.full(z.size, 0.1)
    mis = pf.mismatch(z, np.zeros(z.size), np.ones(z.size), mc, FAMILIES)
    fam = {f.name: f for f in mis.families}
    assert fam["means"].rms < 1.0 and mis.rms < 1.0
    # Monte Carlo allowance of the bias: sqrt(2 log 4) * rms(eps) for independent errors
    assert fam["means"].bias_allowance == pytest.approx(np.sqrt(2 * np.log(4)) * 0.1)
    assert not mis.converged(tol=10.0, tol_rms=1.0)
    assert "biased low" in mis.failing_families(1.0)[0]
    # the same misfits with random signs pass: |bias| ~ 0.3 * N(0, 1) + small
    ok = _z(0.6 * rng.choice([-1.0, 1.0], N) + 0.3 * rng.standard_normal(N), second)
    assert pf.mismatch(ok, np.zeros(z.size), np.ones(z.size), mc, FAMILIES).converged(10.0, 1.0)


def test_collective_monte_carlo_noise_widens_the_bias_allowance():
    rng = np.random.default_rng(2)
    c, p = 8, N + N_PAIR
    # every chain's statistics shifted together by its own offset (a chain whose overall
    # activity drifts): the spread of the chains' mean z measures it, independent-error
    # reasoning (rms eps / sqrt(n) per statistic) would not
    offsets = rng.normal(0.0, 0.5, (c, 1))
    per_chain = offsets + 0.1 * rng.standard_normal((c, p))
    m = per_chain.mean(0)
    mc = np.full(p, 0.1 / np.sqrt(c))
    mis = pf.mismatch(m, np.zeros(p), np.ones(p), mc, FAMILIES, per_chain)
    fam = {f.name: f for f in mis.families}
    # sd of the pooled offset: 0.5 / sqrt(8); in bias units times sqrt(n)
    expected = np.sqrt(2 * np.log(4)) * 0.5 / np.sqrt(c) * np.sqrt(N)
    # the chains' spread estimates it from 7 degrees of freedom: within a factor ~2
    assert 0.5 * expected < fam["means"].bias_allowance < 2.0 * expected
    indep = pf.mismatch(m, np.zeros(p), np.ones(p), mc, FAMILIES)
    assert {f.name: f for f in indep.families}["means"].bias_allowance < 0.1 * expected


def _exact_fit():
    rng = np.random.default_rng(3)
    x = (rng.random((16, 40_000)) < 0.3).astype(np.int8)
    x[1] = np.where(rng.random(40_000) < 0.5, x[0], x[1])
    return rgdata.as_activity(x, kind="spikes")


def test_fit_with_means_biased_low_is_not_converged_and_the_warning_names_the_family():
    act = _exact_fit()
    m = PairwiseMaxEnt(method="exact", tol=2.0).fit(act)
    assert m.converged_
    fam = m.residual_families_
    assert list(fam.family.values) == ["means", "second_moments"]
    assert abs(float(fam.bias.sel(family="means"))) < pf.BIAS_TOL
    ds = m.to_dataset()
    np.testing.assert_array_equal(ds["residual_rms_z"].values, fam.rms_z.values)
    assert int(ds["residual_n"].sel(family="second_moments")) == 120
    # stop the fit short: lower every field so that each mean drops by 0.85 of its
    # standard error (d<x_i> = var_i dh_i): rms 0.85 passes, but a mean z of -0.85 over 16
    # means is a bias of -3.4 (> 3); second moments fall with them
    stats = m.data_stats_
    p = stats["mean"]
    m.h_ = m.h_ - 0.85 * stats["se_mean"] / (p * (1 - p))
    m._cache = {}
    with pytest.warns(MaxEntConvergenceWarning, match="means: .*biased low"):
        m._finish(True, "")
    assert not m.converged_
    # the largest and the pooled rms mismatch pass: only the per-family rule catches it
    assert m.residual_ < m.tol and m.residual_rms_ < m.tol_rms
    fam = m.residual_families_.sel(family="means")
    assert float(fam.rms_z) < m.tol_rms and float(fam.bias) < -pf.BIAS_TOL
    # the report's caption says which family fails
    from rgdata.report.sections.maxent import _fmt_fit

    assert "NOT converged" in _fmt_fit(m) and "failing on its own: means" in _fmt_fit(m)


def test_correct_monte_carlo_fit_still_converges():
    rng = np.random.default_rng(4)
    x = (rng.random((24, 20_000)) < 0.15).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MaxEntConvergenceWarning)
        m = PairwiseMaxEnt(method="auto", random_state=0).fit(act)
    assert m.method_ == "reweighting" and m.converged_
    fam = m.residual_families_
    assert np.all(np.abs(fam.bias.values) < pf.BIAS_TOL + fam.bias_allowance.values)
    assert np.all(fam.bias_allowance.values > 0)
