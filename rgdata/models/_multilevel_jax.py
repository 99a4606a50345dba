"""JAX numerics of the learned multilevel sampler (imported only after ``require_ml``).

Same stages as :mod:`rgdata.models._multilevel_kernels` (even-even copy,
odd-odd first stage, odd-odd second stage exact given placed spins, mixed
sites exact heat bath); the first odd-odd stage's field is
``k * (sum of the 4 diagonal neighbours) + cnn(coarse)``, where ``cnn`` is a
two-layer convolutional net on the coarse lattice (circular padding, 3x3
then 2x2 kernels, ``tanh`` hidden units, no biases, so the field is odd in
the spins and the model keeps the spin-flip symmetry). Each level but the
finest also has its own inverse temperature for its exact stages, and the
base 2x2 torus its own Boltzmann coupling: all are learned by minimising the
reverse Kullback-Leibler divergence to the finest Boltzmann law.

Parameters are a dict ``{"base_beta": (), "levels": [level, ...]}`` with
``level = {"k": (), "beta": (), "w1": (C, 1, 3, 3), "w2": (1, C, 2, 2)}``
(coarsest first; the finest level's ``beta`` is replaced by the target).
All arithmetic is float64 (``jax.enable_x64``) so that ``log q`` is exact to
rounding.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ._multilevel_kernels import enumerate_base, torus_bond_sum


def _shift(a: Any, dy: int, dx: int) -> Any:
    return jnp.roll(a, (-dy, -dx), axis=(1, 2))  # value at (y + dy, x + dx)


def _nn(a: Any) -> Any:
    return _shift(a, -1, 0) + _shift(a, 1, 0) + _shift(a, 0, -1) + _shift(a, 0, 1)


def _log_sigmoid(x: Any) -> Any:
    return -jnp.logaddexp(0.0, -x)


def _masks(N: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Fine-lattice masks: even-even, first odd-odd stage, second odd-odd stage, mixed."""
    y, x = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    ee = (y % 2 == 0) & (x % 2 == 0)
    oo = (y % 2 == 1) & (x % 2 == 1)
    second = oo & ((((y - 1) // 2 + (x - 1) // 2) % 2) == 1)
    return ee, oo & ~second, second, (y + x) % 2 == 1


def cnn(level: dict, coarse: Any) -> Any:
    """Field correction of the odd-odd site at the centre of each coarse plaquette.

    ``coarse`` is ``(m, n, n)``; output ``(m, n, n)``, entry ``(i, j)`` for the
    plaquette ``(i, j), (i, j+1), (i+1, j), (i+1, j+1)``.
    """
    x = jnp.pad(coarse[:, None], ((0, 0), (0, 0), (1, 1), (1, 1)), mode="wrap")
    hidden = jnp.tanh(lax.conv_general_dilated(x, level["w1"], (1, 1), "VALID"))
    hidden = jnp.pad(hidden, ((0, 0), (0, 0), (0, 1), (0, 1)), mode="wrap")
    return lax.conv_general_dilated(hidden, level["w2"], (1, 1), "VALID")[:, 0]


def _first_field(level: dict, coarse: Any) -> Any:
    plaquette = coarse + _shift(coarse, 0, 1) + _shift(coarse, 1, 0) + _shift(coarse, 1, 1)
    return level["k"] * plaquette + cnn(level, coarse)


def _second_field(placed: Any, beta: Any) -> Any:
    """Exact field of second-stage odd-odd sites; *placed* has zeros on unplaced sites."""
    nnp = _nn(placed)
    t = jnp.zeros_like(placed)
    for d in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        S = _shift(nnp, *d)
        t = t + 0.5 * (jnp.log(jnp.cosh(beta * (S + 1))) - jnp.log(jnp.cosh(beta * (S - 1))))
    return t


def level_log_q(level: dict, beta: Any, x: Any) -> Any:
    """``log q`` of the fill of the ``(m, N, N)`` float spins *x* given their even-even ones."""
    N = x.shape[1]
    ee, first, second, mixed = _masks(N)
    coarse = x[:, ::2, ::2]
    h1 = jnp.zeros_like(x).at[:, 1::2, 1::2].set(_first_field(level, coarse))
    h2 = _second_field(x * (ee | first), beta)
    h3 = beta * _nn(x)
    h = jnp.where(first, h1, jnp.where(second, h2, jnp.where(mixed, h3, 0.0)))
    return jnp.sum(jnp.where(ee, 0.0, _log_sigmoid(2.0 * h * x)), axis=(1, 2))


def _draw(key: Any, h: Any) -> Any:
    u = jax.random.uniform(key, h.shape, dtype=h.dtype)
    return jnp.where(u < jax.nn.sigmoid(2.0 * h), 1.0, -1.0)


def level_sample(level: dict, beta: Any, coarse: Any, key: Any) -> Any:
    """Fill one level: ``(m, 2n, 2n)`` float spins from ``(m, n, n)`` *coarse*."""
    m, n, _ = coarse.shape
    ee, first, second, mixed = _masks(2 * n)
    k1, k2, k3 = jax.random.split(key, 3)
    x = jnp.zeros((m, 2 * n, 2 * n), dtype=coarse.dtype).at[:, ::2, ::2].set(coarse)
    a = _draw(k1, _first_field(level, coarse))
    x = jnp.where(first, jnp.zeros_like(x).at[:, 1::2, 1::2].set(a), x)
    x = jnp.where(second, _draw(k2, _second_field(x, beta)), x)
    return jnp.where(mixed, _draw(k3, beta * _nn(x)), x)


class Model:
    """Sampling and ``log q`` of the whole hierarchy for fixed sizes (closures to jit)."""

    def __init__(self, beta: float, n_levels: int, base_size: int = 2) -> None:
        self.beta = beta
        self.n_levels = n_levels
        self.base_size = base_size
        states, _ = enumerate_base(base_size, 0.0)
        self.base_states = jnp.asarray(states, dtype=jnp.float64)
        self.base_bonds = jnp.asarray(torus_bond_sum(states), dtype=jnp.float64)

    def _betas(self, params: dict) -> list:
        return [lv["beta"] for lv in params["levels"][:-1]] + [self.beta]

    def log_q(self, params: dict, x: Any) -> Any:
        """``log q`` of ``(m, L, L)`` float spins."""
        total = jnp.zeros(x.shape[0], dtype=x.dtype)
        for level, beta in zip(params["levels"][::-1], self._betas(params)[::-1], strict=True):
            total = total + level_log_q(level, beta, x)
            x = x[:, ::2, ::2]
        logits = params["base_beta"] * self.base_bonds
        bonds = jnp.sum(x * jnp.roll(x, 1, axis=1) + x * jnp.roll(x, 1, axis=2), axis=(1, 2))
        return total + params["base_beta"] * bonds - jax.nn.logsumexp(logits)

    def sample(self, params: dict, key: Any, m: int) -> Any:
        """``(m, L, L)`` float spins drawn from the hierarchy."""
        params = jax.lax.stop_gradient(params)
        key, sub = jax.random.split(key)
        codes = jax.random.categorical(sub, params["base_beta"] * self.base_bonds, shape=(m,))
        x = self.base_states[codes]
        for level, beta in zip(params["levels"], self._betas(params), strict=True):
            key, sub = jax.random.split(key)
            x = level_sample(level, beta, x, sub)
        return x


def init_level(key: Any, beta: float, k: float, hidden: int) -> dict:
    """A level that starts as the heat-bath sampler (``w2 = 0``)."""
    return {
        "k": jnp.asarray(k, dtype=jnp.float64),
        "beta": jnp.asarray(beta, dtype=jnp.float64),
        "w1": 0.3 * jax.random.normal(key, (hidden, 1, 3, 3), dtype=jnp.float64),
        "w2": jnp.zeros((1, hidden, 2, 2), dtype=jnp.float64),
    }


#: jitted :func:`cnn` (the stage-1 field correction of one level), shared by all models
cnn_jit = jax.jit(cnn)


@lru_cache(maxsize=32)
def compiled(beta: float, n_levels: int) -> tuple[Model, Any]:
    """The model and its jitted ``log_q``, shared across fits."""
    model = Model(beta, n_levels)
    return model, jax.jit(model.log_q)


@lru_cache(maxsize=32)
def train_step(beta: float, n_levels: int, batch: int, lr: float) -> Any:
    """One jitted Adam step on the reverse KL: ``(params, state, key) -> (params, state, log w)``.

    The gradient is the score-function estimate ``mean((f - mean f) grad log q)``
    with ``f = log q + beta E`` (stopped), on a batch drawn from the current
    model.
    """
    import optax

    model = Model(beta, n_levels)
    opt = optax.adam(lr)

    def loss(params: dict, x: Any) -> tuple[Any, Any]:
        log_q = model.log_q(params, x)
        bonds = jnp.sum(x * jnp.roll(x, 1, axis=1) + x * jnp.roll(x, 1, axis=2), axis=(1, 2))
        logw = jax.lax.stop_gradient(beta * bonds - log_q)
        return jnp.mean((-logw - jnp.mean(-logw)) * log_q), logw

    @jax.jit
    def step(params: dict, state: Any, key: Any) -> tuple[dict, Any, Any]:
        x = model.sample(params, key, batch)
        grads, logw = jax.grad(loss, has_aux=True)(params, x)
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, logw

    return step
