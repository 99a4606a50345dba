"""The network option of :func:`similarity_exponents` (ML extra: JAX + optax, imported lazily).

As in Sanfins, Ramos & Naiff: a bias-free layer of exponents makes the
similarity variable ``xi = Pi_lead * exp(log Pi @ beta)`` and the prefactor
``log Pi @ alpha``; a small tanh network of ``u = asinh(xi / median|xi|)``
is ``log Phi``. Everything is fitted jointly by Adam on the mean squared
relative residual of ``log|y|``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models import require_ml


def fit_network(
    logs_a: np.ndarray,
    logs_b: np.ndarray,
    lead: np.ndarray,
    logy: np.ndarray,
    sig: np.ndarray,
    beta0: np.ndarray,
    *,
    hidden: int,
    steps: int,
    learning_rate: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Return ``(alpha, beta, rms residual)`` fitted with a network ``log Phi``."""
    jax = require_ml("similarity_exponents(method='network')")
    import jax.numpy as jnp
    import optax

    key = jax.random.PRNGKey(seed)
    k1, k2, k3 = jax.random.split(key, 3)
    params = {
        "alpha": jnp.zeros(logs_a.shape[1]),
        "beta": jnp.asarray(beta0, dtype=jnp.float32),
        "W1": jax.random.normal(k1, (1, hidden)),
        "b1": jnp.zeros(hidden),
        "W2": jax.random.normal(k2, (hidden, hidden)) / np.sqrt(hidden),
        "b2": jnp.zeros(hidden),
        "W3": jax.random.normal(k3, (hidden, 1)) / np.sqrt(hidden),
        "b3": jnp.asarray([float(np.mean(logy))]),
    }
    A, B = jnp.asarray(logs_a, jnp.float32), jnp.asarray(logs_b, jnp.float32)
    lead_j, y, w = (jnp.asarray(v, jnp.float32) for v in (lead, logy, 1.0 / sig))

    def predict(p: dict[str, Any]):
        xi = lead_j * jnp.exp(B @ p["beta"])
        u = jnp.arcsinh(xi / jax.lax.stop_gradient(jnp.median(jnp.abs(xi)) + 1e-30))
        h = jnp.tanh(u[:, None] @ p["W1"] + p["b1"])
        h = jnp.tanh(h @ p["W2"] + p["b2"])
        return A @ p["alpha"] + (h @ p["W3"] + p["b3"])[:, 0]

    def loss(p):
        return jnp.mean(((y - predict(p)) * w) ** 2)

    opt = optax.adam(optax.cosine_decay_schedule(learning_rate, steps, alpha=0.01))
    state = opt.init(params)

    @jax.jit
    def step(carry, _):
        p, s = carry
        grads = jax.grad(loss)(p)
        updates, s = opt.update(grads, s, p)
        return (optax.apply_updates(p, updates), s), None

    (params, _), _ = jax.lax.scan(step, (params, state), None, length=steps)
    return (
        np.asarray(params["alpha"], float),
        np.asarray(params["beta"], float),
        float(np.sqrt(loss(params))),
    )
