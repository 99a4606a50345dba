"""JAX upsamplers: BCE gradients, protocol, symmetry, planted likelihood, missing extra."""

import subprocess
import sys

import numpy as np
import pytest

from rgdata.models import (
    ConvUpsampler,
    InverseRGUpsampler,
    NotFittedError,
    TransposedConvUpsampler,
    check_model,
)

jax = pytest.importorskip("jax")
pytest.importorskip("optax")

from rgdata.models._jax_upsampler import bce_loss  # noqa: E402

PLANTED = np.array([0.55, 0.63, 1.4])
MODELS = [ConvUpsampler, TransposedConvUpsampler]


def _pairs(seed, n, side=8):
    rng = np.random.default_rng(seed)
    coarse = rng.choice(np.array([-1, 1], np.int8), size=(n, side, side))
    return InverseRGUpsampler.draw(coarse, PLANTED, random_state=rng), coarse


def _random_params(model, rng):
    shapes = {k: v.shape for k, v in model._init(jax.random.PRNGKey(0)).items()}
    return {k: rng.normal(scale=0.7, size=s) for k, s in shapes.items()}


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_bce_gradient_matches_finite_differences(cls):
    import jax.numpy as jnp

    model = cls(hidden=3)
    rng = np.random.default_rng(0)
    fine, coarse = _pairs(1, 3, side=4)
    with jax.enable_x64(True):
        params = {k: jnp.asarray(v) for k, v in _random_params(model, rng).items()}
        c, f = jnp.asarray(coarse, jnp.float64), jnp.asarray(fine, jnp.float64)

        @jax.jit
        def loss(p):
            return bce_loss(model.logit_fn, p, c, f)

        grads = jax.grad(loss)(params)
        eps = 1e-6
        for name, value in params.items():
            flat = np.asarray(value).ravel()
            for i in rng.choice(flat.size, size=min(6, flat.size), replace=False):
                up, down = flat.copy(), flat.copy()
                up[i] += eps
                down[i] -= eps
                shape = value.shape
                f_up = float(loss({**params, name: jnp.asarray(up.reshape(shape))}))
                f_down = float(loss({**params, name: jnp.asarray(down.reshape(shape))}))
                numeric = (f_up - f_down) / (2 * eps)
                analytic = float(np.asarray(grads[name]).ravel()[i])
                assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-9), (name, i)


def test_bce_loss_is_the_binary_cross_entropy():
    # against the plain definition -mean(log p(s)) with p(+1) = sigmoid(logit)
    fine, coarse = _pairs(2, 2, side=4)
    from rgdata.models._symmetric import logits

    z = logits(coarse, PLANTED)
    p_up = 1 / (1 + np.exp(-z))
    expected = -np.mean(np.where(fine == 1, np.log(p_up), np.log(1 - p_up)))
    value = bce_loss(lambda p, c: p * logits(np.asarray(c), PLANTED), 1.0, coarse, fine)
    assert float(value) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_learned_upsamplers_pass_check_model(cls):
    fine, _ = _pairs(3, 8)
    check_model(cls(hidden=2, n_epochs=1, batch_size=4, random_state=0), fine)


@pytest.mark.slow
@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_trained_network_reaches_the_planted_likelihood(cls):
    # trained on pairs from the planted 3-parameter model, a network that contains that model
    # must reach its held-out log-likelihood up to the generalisation gap (~ params / sites)
    fine, coarse = _pairs(4, 64)
    model = cls(hidden=4, n_epochs=30, random_state=0).fit(fine, coarse=coarse)
    assert model.loss_history_[-1] < model.loss_history_[0]
    test_fine, test_coarse = _pairs(5, 64)
    truth = InverseRGUpsampler().fit(test_fine, coarse=test_coarse)
    truth.coef_ = PLANTED  # score with the planted parameters, not a fit
    diff = (truth.log_prob(test_fine, test_coarse) - model.log_prob(test_fine, test_coarse)) / 256
    se = diff.std(ddof=1) / np.sqrt(diff.size)
    assert -3 * se < diff.mean() < 0.01, (diff.mean(), se)
    # exactly spin-flip symmetric
    np.testing.assert_allclose(
        model.log_prob(-test_fine, coarse=-test_coarse),
        model.log_prob(test_fine, coarse=test_coarse),
        rtol=1e-6,
    )
    gen = model.sample(4, random_state=0, size=32, seed_size=1)
    assert gen.shape == (4, 32, 32) and gen.attrs["n_upsamplings"] == 5
    assert gen.attrs["model"] == cls.__name__


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_symmetry_generation_and_bad_input(cls):
    with pytest.raises(NotFittedError, match=r"call fit\(X\) first"):
        cls().sample(2)
    fine, coarse = _pairs(6, 4)
    with pytest.raises(ValueError, match="hidden must be >= 1"):
        cls(hidden=0).fit(fine, coarse=coarse)
    with pytest.raises(ValueError, match="X has odd side L=7"):
        cls().fit(np.ones((2, 7, 7), np.int8))
    model = cls(hidden=2, n_epochs=1, random_state=0).fit(fine, coarse=coarse)
    np.testing.assert_allclose(  # exactly spin-flip symmetric, even untrained
        model.log_prob(-fine, coarse=-coarse), model.log_prob(fine, coarse=coarse), rtol=1e-6
    )
    gen = model.sample(3, random_state=0, size=16, seed_size=1)
    assert gen.shape == (3, 16, 16) and gen.attrs["n_upsamplings"] == 4
    with pytest.raises(ValueError, match="size must be seed_size \\* 2\\*\\*k.*size=24"):
        model.sample(2, size=24, seed_size=4)


def test_even_kernel_is_refused():
    fine, coarse = _pairs(7, 4)
    with pytest.raises(ValueError, match="kernel_size must be odd, got 4"):
        ConvUpsampler(kernel_size=4).fit(fine, coarse=coarse)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
def test_missing_extra_names_rgdata_ml(cls, monkeypatch):
    fine, coarse = _pairs(8, 4)
    monkeypatch.setitem(sys.modules, "jax", None)  # import jax now raises ImportError
    with pytest.raises(ImportError, match=r"pip install rgdata\[ml\]"):
        cls().fit(fine, coarse=coarse)
    # the numpy model keeps working without the extra
    InverseRGUpsampler().fit(fine, coarse=coarse).sample(2, random_state=0, size=16)


def test_import_does_not_load_jax():
    code = "import sys, rgdata.models; assert 'jax' not in sys.modules, 'jax imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
