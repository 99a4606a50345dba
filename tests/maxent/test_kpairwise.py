"""K-pairwise maximum entropy and the Gibbs sampler, against brute-force enumeration."""

import warnings

import numpy as np
import pytest

import rgdata
from rgdata.maxent import KPairwiseMaxEnt, PairwiseMaxEnt
from rgdata.maxent._chains import ChainSet
from rgdata.maxent._sampler import seed_states
from rgdata.maxent._start import FORBIDDEN

from . import test_pairwise_reference as ref

N = 8


def _planted():
    h, J = ref.random_model(N, seed=21, h_mean=-0.5, j_sd=0.2)
    V = np.zeros(N + 1)
    V[3:] = [0.8, 1.2, 0.5, -0.5, -1.5, -2.5]  # gauge V(0) = V(1) = V(2) = 0
    return h, J, V


@pytest.fixture(scope="module")
def planted():
    h, J, V = _planted()
    x = ref.exact_sample(100_000, h, J, V, seed=22)
    return h, J, V, x


@pytest.fixture(scope="module")
def kfit(planted):
    x = planted[3]
    return KPairwiseMaxEnt(method="exact").fit(rgdata.as_activity(x.T, kind="spikes"))


def test_kpairwise_recovers_planted_potential(planted, kfit):
    h, J, V, _ = planted
    se = ref.parameter_standard_errors(100_000, h, J, V)
    iu = np.triu_indices(N, 1)
    est = np.concatenate([kfit.h_, kfit.J_[iu], kfit.V_[3:]])
    z = (est - np.concatenate([h, J[iu], V[3:]])) / se
    assert np.max(np.abs(z)) < 4.5
    # the parameters are strongly correlated (V vs uniform h and J): test them jointly
    truth = np.concatenate([h, J[iu], V[3:]])
    stat, (lo, hi) = ref.mahalanobis_chi2(est, truth, 100_000, h, J, V)
    assert lo < stat < hi
    np.testing.assert_array_equal(kfit.V_[:3], 0.0)  # the gauge
    assert kfit.converged_


def test_kpairwise_reproduces_count_distribution(planted, kfit):
    x = planted[3]
    pk_data = np.bincount(x.sum(1), minlength=N + 1) / len(x)
    np.testing.assert_allclose(kfit.predict_count_distribution(), pk_data, atol=1e-6)
    # the plain pairwise model does not reproduce the planted P(K) within errors
    pair = PairwiseMaxEnt(method="exact").fit(rgdata.as_activity(x.T, kind="spikes"))
    se = np.sqrt(pk_data * (1 - pk_data) / len(x))
    z = np.abs(pair.predict_count_distribution() - pk_data) / se
    assert z.max() > 5


def test_gibbs_sampler_matches_enumeration_with_count_potential():
    h, J, V = _planted()
    states, p = ref.probabilities(N, h, J, V)
    mean = p @ states
    second = states.T @ (states * p[:, None])
    pk = np.bincount(states.sum(1).astype(int), weights=p, minlength=N + 1)
    rng = np.random.default_rng(5)
    n_chains = 8
    chains = ChainSet(np.zeros((n_chains, N), np.int8), seed_states(rng, n_chains))
    # per-chain estimates give an honest Monte Carlo error (chains are independent)
    per_chain = []
    for c in range(n_chains):
        one = ChainSet(chains.states[c : c + 1].copy(), chains.rng[c : c + 1].copy())
        m, s, k, _ = one.stats(h, J, V, "01", 40_000, n_burn=200)
        per_chain.append(np.concatenate([m, s[np.triu_indices(N, 1)], k]))
    per_chain = np.array(per_chain)
    est = per_chain.mean(0)
    se = per_chain.std(0, ddof=1) / np.sqrt(n_chains)
    exact = np.concatenate([mean, second[np.triu_indices(N, 1)], pk])
    z = (est - exact) / np.maximum(se, 1e-12)
    assert np.max(np.abs(z)) < 5.0


@pytest.mark.parametrize("method", ["boltzmann", "reweighting"])
def test_kpairwise_monte_carlo_matches_exact(planted, method):
    x = planted[3][:30_000]
    act = rgdata.as_activity(x.T, kind="spikes")
    assert np.bincount(x.sum(1), minlength=N + 1)[N] == 0
    # K = 8 never occurs in these 30,000 samples: its maximum-likelihood V(8) is -inf,
    # fixed (to FORBIDDEN) rather than fitted, so no parameter runs to the bound
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        ex = KPairwiseMaxEnt(method="exact").fit(act)
        mc = KPairwiseMaxEnt(method=method, random_state=3).fit(act)
    for m in (ex, mc):
        np.testing.assert_array_equal(m.forbidden_counts_, [N])
        assert m.to_dataset().attrs["forbidden_counts"] == f"[{N}]"
        assert m.V_[N] == FORBIDDEN and m.n_at_bound_ == 0
        assert m.predict_count_distribution()[N] == 0.0
    assert mc.converged_
    # compare V(3..7), the counts that occur, in units of their Fisher errors
    ex_v = ex.V_.copy()
    ex_v[N] = -5.0  # finite stand-in for the divergent V(8) to compute the errors
    se = ref.parameter_standard_errors(30_000, ex.h_, ex.J_, ex_v)
    z_v = (mc.V_[3:N] - ex.V_[3:N]) / se[-(N - 2) : -1]
    assert np.max(np.abs(z_v)) < 3.0


def test_kpairwise_pm1_coding_same_distribution(planted):
    x = planted[3][:30_000]
    act = rgdata.as_activity(x.T, kind="spikes")
    a = KPairwiseMaxEnt(method="exact").fit(act)
    b = KPairwiseMaxEnt(method="exact", coding="pm1").fit(act)
    np.testing.assert_allclose(a.V_, b.V_, atol=1e-4)
    np.testing.assert_allclose(a.J_, 4 * b.J_, atol=1e-4)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, abs=1e-7)
