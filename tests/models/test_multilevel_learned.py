"""LearnedMultilevelSampler: exact log q after training, higher ESS, missing extra."""

import sys

import numpy as np
import pytest
from scipy import stats

from rgdata.lattice import exact
from rgdata.models import MultilevelSampler, NotFittedError, check_model, importance_estimates
from rgdata.models._multilevel_kernels import enumerate_base, torus_bond_sum

pytest.importorskip("jax")
pytest.importorskip("optax")

from rgdata.models import LearnedMultilevelSampler  # noqa: E402

BETA = 0.44


@pytest.fixture(scope="module")
def trained_L4():
    return LearnedMultilevelSampler(beta=BETA, L=4, n_steps=60, random_state=0).fit()


def _ess_and_se(cfg, n_boot=200):
    logw = BETA * torus_bond_sum(cfg.values) - cfg.log_q.values
    w = np.exp(logw - logw.max())
    rng = np.random.default_rng(0)
    boot = []
    for _ in range(n_boot):
        b = w[rng.integers(0, len(w), len(w))]
        boot.append(b.sum() ** 2 / (b**2).sum() / len(b))
    return w.sum() ** 2 / (w**2).sum() / len(w), np.std(boot)


def test_untrained_model_is_the_heat_bath_sampler():
    # n_steps = 0 leaves the CNN output at zero: the JAX log q must equal the numpy one
    base = MultilevelSampler(beta=BETA, L=8).fit()
    cfg = base.sample(50, random_state=0)
    model = LearnedMultilevelSampler(beta=BETA, L=8, n_steps=0, random_state=0).fit()
    np.testing.assert_allclose(model.log_prob(cfg), cfg.log_q.values, rtol=1e-12)
    assert np.isnan(model.train_ess_).all()


def test_trained_log_q_sums_to_one_and_samples_follow_it(trained_L4):
    assert np.abs(trained_L4.w2_).max() > 0  # training moved the CNN away from zero
    states = enumerate_base(4, BETA)[0]
    log_q = trained_L4.log_prob(states)
    assert np.exp(log_q).sum() == pytest.approx(1.0, abs=1e-10)
    cfg = trained_L4.sample(20000, random_state=5)
    np.testing.assert_allclose(cfg.log_q.values, trained_L4.log_prob(cfg), rtol=1e-12)
    bonds = torus_bond_sum(states)
    values = np.unique(bonds)
    p = np.array([np.exp(log_q[bonds == v]).sum() for v in values])
    drawn = torus_bond_sum(cfg.values)
    observed = np.array([(drawn == v).sum() for v in values])
    keep = p * len(drawn) >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    expected = np.append(p[keep], p[~keep].sum()) * len(drawn)
    assert stats.chisquare(obs, expected).pvalue > 1e-3


def test_training_raises_the_ess_and_keeps_log_z_exact(trained_L4):
    learned = trained_L4.sample(6000, random_state=1)
    base = MultilevelSampler(beta=BETA, L=4).fit().sample(6000, random_state=1)
    (ess_l, se_l), (ess_b, se_b) = _ess_and_se(learned), _ess_and_se(base)
    assert ess_l - ess_b > 4 * np.hypot(se_l, se_b), (ess_l, ess_b)
    est = importance_estimates(learned)
    truth = float(exact.enumerate_ising(4, 1 / BETA).log_z[0])
    assert abs(float(est.log_z) - truth) < 4 * float(est.log_z_err)
    ds = trained_L4.to_dataset()
    assert ds.train_ess.dims == ("level",) and ds.w1.dims == ("level", "hidden", "ky", "kx")


def test_follows_the_model_protocol():
    X = MultilevelSampler(beta=BETA, L=4).fit().sample(6, random_state=0)
    check_model(LearnedMultilevelSampler(beta=BETA, L=4, n_steps=2, random_state=0), X)


def test_missing_ml_extra_is_named_and_the_base_sampler_still_works(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax now raises ImportError
    with pytest.raises(ImportError, match=r"LearnedMultilevelSampler.fit needs JAX.*rgdata\[ml\]"):
        LearnedMultilevelSampler(L=4).fit()
    cfg = MultilevelSampler(beta=BETA, L=8).fit().sample(3, random_state=0)
    assert cfg.shape == (3, 8, 8)


def test_bad_input():
    with pytest.raises(NotFittedError, match=r"call fit\(\) first"):
        LearnedMultilevelSampler(L=4).sample(2)
    with pytest.raises(ValueError, match=r"L must be a power of two between 4 and 1024 .*got 2"):
        LearnedMultilevelSampler(L=2).fit()
    with pytest.raises(ValueError, match=r"beta must be in \(0.0, 1.0\]"):
        LearnedMultilevelSampler(beta=1.2, L=4).fit()
    with pytest.raises(ValueError, match="batch_size must be >= 2"):
        LearnedMultilevelSampler(L=4, batch_size=1).fit()


@pytest.mark.slow
def test_learned_sampler_at_L16_beats_the_heat_bath_ess_and_matches_kaufman():
    model = LearnedMultilevelSampler(beta=BETA, L=16, n_steps=150, random_state=0).fit()
    learned = model.sample(8000, random_state=2)
    base = MultilevelSampler(beta=BETA, L=16).fit().sample(8000, random_state=2)
    (ess_l, se_l), (ess_b, se_b) = _ess_and_se(learned), _ess_and_se(base)
    assert ess_l - ess_b > 4 * np.hypot(se_l, se_b), (ess_l, ess_b)
    est = importance_estimates(learned)
    truth = exact.kaufman(1 / BETA, 16)
    assert abs(float(est.log_z) - float(truth.log_z[0])) < 4 * float(est.log_z_err)
    assert abs(float(est.energy) - float(truth.energy[0])) < 4 * float(est.energy_err)
