"""RBM: likelihood and gradients against enumeration, planted recovery, protocol, errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import linear_sum_assignment

import rgdata
from rgdata.models import RBM, DeepRBM, NotFittedError, check_model
from rgdata.models._rbm_kernels import (
    all_states,
    free_energy,
    gradient,
    hidden_mean,
    log_partition,
)


def _params(n_v: int, n_h: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.7, (n_v, n_h)), rng.normal(0, 0.3, n_v), rng.normal(0, 0.3, n_h)


def _brute_log_z(W, a, b, coding):
    """log Z by summing exp(-E) over every joint (v, h): no layer summed out analytically."""
    values = (0.0, 1.0) if coding == "01" else (-1.0, 1.0)
    terms = []
    for v in itertools.product(values, repeat=W.shape[0]):
        for h in itertools.product(values, repeat=W.shape[1]):
            v_, h_ = np.array(v), np.array(h)
            terms.append(a @ v_ + b @ h_ + v_ @ W @ h_)
    return float(np.logaddexp.reduce(terms))


@pytest.mark.parametrize("coding", ["pm1", "01"])
@pytest.mark.parametrize("shape", [(7, 4), (4, 7)])
def test_log_partition_matches_joint_enumeration(coding, shape):
    W, a, b = _params(*shape, seed=1)
    assert log_partition(W, a, b, coding) == pytest.approx(_brute_log_z(W, a, b, coding), abs=1e-10)


@pytest.mark.parametrize("coding", ["pm1", "01"])
def test_exact_gradient_matches_finite_differences(coding):
    n_v, n_h = 6, 3
    W, a, b = _params(n_v, n_h, seed=2)
    data = all_states(n_v, coding)[np.random.default_rng(0).integers(0, 2**n_v, 40)]

    def mean_log_lik(W, a, b):
        return float(np.mean(-free_energy(data, W, a, b, coding)) - log_partition(W, a, b, coding))

    states = all_states(n_v, coding)
    p = np.exp(-free_energy(states, W, a, b, coding) - log_partition(W, a, b, coding))
    gW, ga, gb = gradient(data, states, W, a, b, coding, weights_model=p)
    eps = 1e-6
    for params, grad, k in ((W, gW, 0), (a, ga, 1), (b, gb, 2)):
        for idx in np.ndindex(params.shape):
            up = [W.copy(), a.copy(), b.copy()]
            down = [W.copy(), a.copy(), b.copy()]
            up[k][idx] += eps
            down[k][idx] -= eps
            numeric = (mean_log_lik(*up) - mean_log_lik(*down)) / (2 * eps)
            assert grad[idx] == pytest.approx(numeric, abs=1e-7)


def test_log_prob_is_normalised_and_matches_sklearn_free_energy():
    from sklearn.neural_network import BernoulliRBM

    X = np.random.default_rng(0).integers(0, 2, size=(300, 8))
    rbm = RBM(n_hidden=3, coding="01", n_epochs=3, batch_size=50, random_state=0).fit(X)
    states = all_states(8, "01")
    assert np.exp(rbm.log_prob(states)).sum() == pytest.approx(1.0, abs=1e-10)
    # scikit-learn's free energy (its own implementation) with the same parameters
    sk = BernoulliRBM(n_components=3)
    sk.components_ = rbm.weights_.T
    sk.intercept_hidden_ = rbm.hidden_bias_
    sk.intercept_visible_ = rbm.visible_bias_
    np.testing.assert_allclose(rbm.free_energy(X), sk._free_energy(X.astype(float)), atol=1e-10)


def test_planted_rbm_is_recovered_within_fisher_errors():
    n_v, n_h, n = 8, 2, 20000
    W = np.zeros((n_v, n_h))
    W[:4, 0], W[4:, 1], W[0, 1], W[5, 0] = 0.9, 0.9, -0.4, 0.3
    a, b = np.zeros(n_v), np.zeros(n_h)
    states = all_states(n_v, "pm1")
    p = np.exp(-free_energy(states, W, a, b, "pm1") - log_partition(W, a, b, "pm1"))
    X = states[np.random.default_rng(1).choice(len(states), size=n, p=p)]
    # standard errors of the maximum-likelihood weights: inverse Fisher information,
    # the exact covariance of the per-sample score under the planted model
    h = hidden_mean(states @ W + b, "pm1")
    stats = np.hstack([(states[:, :, None] * h[:, None, :]).reshape(len(states), -1), states, h])
    centred = stats - p @ stats
    fisher = centred.T @ (centred * p[:, None])
    se = np.sqrt(np.diag(np.linalg.pinv(fisher)) / n)[: n_v * n_h].reshape(n_v, n_h)
    rbm = RBM(n_hidden=2, learning_rate=0.02, n_epochs=40, n_gibbs=5, random_state=0).fit(X)
    fitted = rbm.weights_
    _, cols = linear_sum_assignment(-np.abs(W.T @ fitted))  # hidden units up to permutation
    matched = fitted[:, cols] * np.sign(np.sum(W * fitted[:, cols], axis=0))  # and sign
    z = (matched - W) / se
    assert np.abs(z).max() < 4, z.round(2)
    # and as a whole: sum z^2 is chi-squared with 16 dof if PCD reached the MLE
    # (99.9% quantile 39.25, i.e. rms z < 1.57); measured rms z = 1.09
    assert np.sqrt(np.mean(z**2)) < 1.57, z.round(2)


def test_seeded_fits_are_reproducible_and_seeds_differ():
    X = np.random.default_rng(0).choice([-1, 1], size=(120, 9))
    one = RBM(n_hidden=3, n_epochs=2, batch_size=20, random_state=5).fit(X).to_dataset()
    two = RBM(n_hidden=3, n_epochs=2, batch_size=20, random_state=5).fit(X).to_dataset()
    other = RBM(n_hidden=3, n_epochs=2, batch_size=20, random_state=6).fit(X).to_dataset()
    xr.testing.assert_identical(one, two)
    assert not np.allclose(one.weights, other.weights)


@pytest.mark.parametrize("coding", ["pm1", "01"])
def test_check_model_passes(coding):
    X = np.random.default_rng(0).choice([-1, 1], size=(120, 9))
    check_model(RBM(n_hidden=3, coding=coding, n_epochs=2, batch_size=20, random_state=0), X)


def test_deep_rbm_check_model_and_layers_coarse_grain():
    cfg = rgdata.lattice.sample_ising(8, 2.269, 100, algorithm="wolff", random_state=0)
    check_model(RBM(n_hidden=16, n_epochs=2, random_state=0), cfg)  # lattice in, lattice out
    check_model(DeepRBM(layers=(16, 4), n_epochs=2, random_state=0), cfg)
    deep = DeepRBM(layers=(16, 4), n_epochs=2, random_state=0).fit(cfg)
    layers = deep.transform(cfg, mode="sample", random_state=0)
    assert [lay.shape for lay in layers] == [(100, 4, 4), (100, 2, 2)]
    # the hidden layers are Configurations: rgdata's lattice tools run on them
    couplings = rgdata.lattice.lattice_couplings(layers[0], operators=["nn"], n_jackknife=5)
    assert np.isfinite(couplings["couplings"].values).all()


def test_transform_keeps_the_input_layout():
    rng = np.random.default_rng(0)
    act = rgdata.as_activity(rng.integers(0, 2, (10, 200)), "spikes", time=np.arange(200) * 0.02)
    rbm = RBM(n_hidden=4, n_epochs=2, random_state=0).fit(act)
    mean = rbm.transform(act)
    assert mean.dims == ("unit", "time") and mean.sizes["unit"] == 4
    np.testing.assert_array_equal(mean.time, act.time)
    assert np.all(np.abs(mean.values) <= 1)
    drawn = rbm.transform(act, mode="sample", random_state=0)
    assert set(np.unique(drawn.values)) <= {-1, 1} and drawn.attrs["kind"] == "spins"
    again = rbm.transform(act, mode="sample", random_state=0)
    np.testing.assert_array_equal(drawn.values, again.values)


def test_bad_input_raises_clear_errors():
    X = np.random.default_rng(0).choice([-1, 1], size=(50, 9))
    with pytest.raises(
        ValueError, match=r"X must be binary, coded 0/1 or -1/\+1; got values \{0, 1, 2"
    ):
        RBM(n_hidden=2).fit(np.arange(27).reshape(9, 3) % 3)
    with pytest.raises(ValueError, match=r"layers\[1\] = 9 hidden units, but .* fewer units than"):
        DeepRBM(layers=(4, 9)).fit(X)
    with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(X\) first"):
        RBM().transform(X)
    with pytest.raises(NotFittedError):
        RBM().log_prob(X)
    with pytest.raises(ValueError, match=r"unknown coding .ising.; accepted: .pm1., .01."):
        RBM(coding="ising").fit(X)
    with pytest.raises(TypeError, match="n_hidden must be an int"):
        RBM(n_hidden=2.5).fit(X)
    rbm = RBM(n_hidden=2, n_epochs=1, random_state=0).fit(X)
    with pytest.raises(
        ValueError, match="X has 4 visible units per sample, the RBM was fitted on 9"
    ):
        rbm.transform(X[:, :4])
    with pytest.raises(ValueError, match=r"unknown mode .max.; accepted"):
        rbm.transform(X, mode="max")
    big = RBM(n_hidden=21, n_epochs=1, random_state=0).fit(
        np.random.default_rng(0).choice([-1, 1], size=(30, 22))
    )
    with pytest.raises(ValueError, match=r"normalized=False\) for the unnormalised"):
        big.log_prob(np.ones((1, 22)))
    assert big.log_prob(np.ones((1, 22)), normalized=False).shape == (1,)
