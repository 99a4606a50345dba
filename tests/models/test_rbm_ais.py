"""AIS log Z of an RBM against exact enumeration (tests the estimate and its error bar)."""

import numpy as np
import pytest

from rgdata.models import RBM
from rgdata.models.rbm_ais import rbm_log_likelihood, rbm_log_partition


def _planted(n_v, n_h, coding, scale, seed):
    rng = np.random.default_rng(seed)
    X = rng.choice([-1, 1], size=(50, n_v))
    rbm = RBM(n_hidden=n_h, coding=coding, n_epochs=1, random_state=0).fit(X)
    rbm.weights_ = rng.normal(0, scale, (n_v, n_h))
    rbm.visible_bias_ = rng.normal(0, 0.5, n_v)
    rbm.hidden_bias_ = rng.normal(0, 0.5, n_h)
    return rbm


@pytest.mark.parametrize("coding", ["pm1", "01"])
def test_error_bars_cover_the_exact_log_z_on_small_rbms(coding):
    # 10 visible x 6 hidden: log Z by enumeration; 20 independent AIS runs, their
    # z-scores (estimate - exact) / SE must look standard normal
    rbm = _planted(10, 6, coding, 0.8, seed=1)
    exact = rbm.log_partition()
    z = []
    for seed in range(20):
        ais = rbm_log_partition(rbm, n_chains=50, n_betas=200, random_state=seed)
        z.append((float(ais["log_z"]) - exact) / float(ais["log_z_se"]))
    z = np.asarray(z)
    assert np.mean(np.abs(z) < 2) >= 0.75  # 0.95 expected; P(< 0.75 | 0.95) ~ 0.016
    assert np.all(np.abs(z) < 5)
    assert abs(z.mean()) < 3 / np.sqrt(20) + 0.5  # no bias beyond the error bars


@pytest.mark.parametrize("coding", ["pm1", "01"])
def test_mid_size_rbm_against_exact_sum_over_hidden(coding):
    # 64 visible x 12 hidden: exact log Z enumerates the 2^12 hidden states
    rbm = _planted(64, 12, coding, 0.3, seed=2)
    exact = rbm.log_partition()
    ais = rbm_log_partition(rbm, n_chains=100, n_betas=1000, random_state=0)
    assert abs(float(ais["log_z"]) - exact) < 4 * float(ais["log_z_se"])
    assert float(ais["log_z_se"]) < 0.2  # informative, not a wide bar that covers anything
    assert 1 <= float(ais["effective_chains"]) <= 100


def test_log_likelihood_and_reproducibility():
    rbm = _planted(64, 12, "pm1", 0.3, seed=3)
    X = np.random.default_rng(4).choice([-1, 1], size=(300, 64))
    ll = rbm_log_likelihood(rbm, X, n_chains=100, n_betas=500, random_state=0, data=X)
    exact = float(rbm.log_prob(X).mean())
    assert abs(float(ll["log_likelihood"]) - exact) < 4 * float(ll["log_z_se"])
    assert float(ll["log_likelihood_se"]) >= float(ll["log_z_se"])
    again = rbm_log_likelihood(rbm, X, n_chains=100, n_betas=500, random_state=0, data=X)
    assert float(again["log_likelihood"]) == float(ll["log_likelihood"])


def test_bad_input():
    rbm = _planted(6, 3, "pm1", 0.5, seed=0)
    with pytest.raises(TypeError, match="rbm must be a fitted rgdata.models.RBM, got str"):
        rbm_log_partition("rbm")
    with pytest.raises(ValueError, match="n_chains must be >= 2, got 1"):
        rbm_log_partition(rbm, n_chains=1)
    with pytest.raises(ValueError, match="n_betas must be >= 2, got 0"):
        rbm_log_partition(rbm, n_betas=0)
    with pytest.raises(ValueError, match="6 visible units per sample|fitted on 6"):
        rbm_log_partition(rbm, data=np.ones((5, 7)))
