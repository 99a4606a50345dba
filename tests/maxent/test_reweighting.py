"""Histogram reweighting and the count-matched start, against brute-force enumeration."""

import numpy as np
import pytest

from rgdata.maxent._codings import off_value, pack, unpack
from rgdata.maxent._moments import exact_stats, poisson_binomial
from rgdata.maxent._reweighted_sample import ReweightedSample
from rgdata.maxent._start import FORBIDDEN, count_matched_theta

from . import test_pairwise_reference as ref

N = 7
IU = np.triu_indices(N, 1)


def _exact_vector(h, J, V, coding):
    """Exact statistics vector, the per-state features and the state probabilities."""
    states, p = ref.probabilities(N, h, J, V, coding)
    feats = ref.features(states, V is not None)
    return p @ feats, feats, states, p


@pytest.mark.parametrize("coding", ["01", "pm1"])
@pytest.mark.parametrize("k_potential", [False, True])
def test_reweighted_moments_match_enumeration_of_the_shifted_model(coding, k_potential):
    h, J = ref.random_model(N, seed=11, h_mean=-0.4)
    V = np.zeros(N + 1) if k_potential else None
    rng = np.random.default_rng(12)
    delta = np.concatenate([rng.normal(0, 0.15, N), rng.normal(0, 0.15, len(IU[0]))])
    if k_potential:
        delta = np.concatenate([delta, rng.normal(0, 0.3, N - 2)])
    h1, J1, V1 = unpack(pack(h, J, V) + delta, N, k_potential)
    n_s = 200_000
    x = ref.exact_sample(n_s, h, J, V, coding=coding, seed=13)
    sample = ReweightedSample((x > 0).astype(np.int8), coding, k_potential)
    # 2^7 patterns: the 200,000 samples are stored as distinct patterns with multiplicities
    assert len(sample.count) <= 2**N and sample.count.sum() == n_s == sample.n_samples
    log_w = sample.log_weights(delta)
    w = np.exp(log_w - log_w.max())
    est = sample.moments(w / w.sum())
    exact, feats, states, p1 = _exact_vector(h1, J1, V1, coding)
    # Monte Carlo error of a self-normalised importance estimate: sd under the target / sqrt(ESS)
    ess = sample.ess_fraction(log_w) * n_s
    # the same ESS from the per-sample weights, each pattern's weight repeated
    w_s = np.repeat(w / sample.count, sample.count.astype(int))
    assert ess == pytest.approx(w_s.sum() ** 2 / (w_s @ w_s), rel=1e-9)
    sd = np.sqrt(p1 @ (feats - exact) ** 2)
    z = (est - exact) / np.maximum(sd / np.sqrt(ess), 1e-12)
    assert ess > 0.3 * n_s
    assert np.max(np.abs(z)) < 5.0
    # the sample mean of exp(delta·f) estimates Z(theta + delta) / Z(theta)
    log_ratio = sample.log_mean_weight(log_w)
    e0 = ref.log_weights(states, h, J, V)
    e1 = ref.log_weights(states, h1, J1, V1)
    exact_ratio = np.log(np.sum(np.exp(e1))) - np.log(np.sum(np.exp(e0)))
    # log_weights is computed in 0/1 and drops a constant in the +-1 coding: the energy
    # change of the all-off state
    off = np.full((1, N), off_value(coding))
    const = float(ref.log_weights(off, h1, J1, V1)[0] - ref.log_weights(off, h, J, V)[0])
    assert log_ratio + const == pytest.approx(exact_ratio, abs=5 / np.sqrt(ess))


@pytest.mark.parametrize("coding", ["01", "pm1"])
def test_count_matched_start_reproduces_the_count_distribution(coding):
    rng = np.random.default_rng(3)
    m01 = rng.uniform(0.1, 0.4, N)
    pk = poisson_binomial(m01) * np.exp(rng.normal(0, 1, N + 1))
    pk[N] = 0.0
    pk /= pk.sum()
    fixed = np.zeros(N + len(IU[0]) + N - 2, bool)
    fixed[-1] = True  # K = N never seen
    theta = count_matched_theta(m01, pk, poisson_binomial(m01), coding, fixed)
    h, J, V = unpack(theta, N, True)
    np.testing.assert_array_equal(V[:3], 0.0)  # the gauge
    assert V[N] == FORBIDDEN
    mean, _, pk_model, _, _ = exact_stats(h, J, V, coding)
    np.testing.assert_allclose(pk_model, pk, atol=1e-12)
