"""Kernels of the learned dynamics model: a tiny drift network and its flow map.

The drift of a standardized scalar variable is

``f(x) = a x + b + sum_k w_k tanh(u_k x + c_k)``

(a linear term, so the OU drift ``-x / tau`` is exactly representable, plus
one hidden layer of *hidden* tanh units). The model's prediction over a time
``T`` (in time steps of the level the drift was fitted on) is the flow map
``Phi_T`` of ``dx/dt = f(x)``, integrated with classical Runge-Kutta (RK4) in
``ceil(T / MAX_SUBSTEP)`` equal substeps. For an OU drift ``Phi_T(x) =
exp(-T / tau) x`` up to the RK4 error (``~(h / tau)^5 / 120`` per substep of
length ``h``), so a time-rescaled drift reproduces an OU process exactly;
an explicit Euler map ``x + T f(x)`` would not (it biases a fitted ``z`` by
2-5 % for ``tau = 4-10`` steps).

Training (:func:`fit_drift`, L-BFGS by default) needs JAX and optax (the
ML extra, imported lazily) and runs full batch in float32 (measured 2.5-5 times faster than
float64 on CPU), so it is deterministic for a given seed on one machine;
the fitted parameters are then used in float64. Prediction (:func:`flow_map`) is plain numpy.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["MAX_SUBSTEP", "OPTIMIZERS", "drift", "flow_map", "flow_many", "fit_drift"]

#: longest RK4 substep, in time steps of the fitted level
MAX_SUBSTEP = 0.25


def _n_sub(horizon: float) -> int:
    return max(1, int(np.ceil(horizon / MAX_SUBSTEP - 1e-9)))


def drift(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """``f(x)`` of the network *params* (numpy), elementwise on *x*."""
    x = np.asarray(x, dtype=float)
    hidden = np.tanh(x[..., None] * params["u"] + params["c"])
    return params["a"] * x + params["b"] + hidden @ params["w"]


def flow_map(params: dict[str, np.ndarray], x: np.ndarray, horizon: float) -> np.ndarray:
    """``Phi_T(x)``: RK4 integration of ``dx/dt = f(x)`` over ``T = horizon`` (numpy)."""
    return flow_many(params, x, np.asarray([horizon], dtype=float))[0]


def flow_many(params: dict[str, np.ndarray], x: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    """``Phi_T(x)`` for every ``T`` in *horizons*: ``(horizon, *x.shape)``.

    Each ``T`` is integrated in ``ceil(T / MAX_SUBSTEP)`` equal RK4 substeps;
    horizons with the same number of substeps are integrated together.
    """
    x = np.asarray(x, dtype=float)
    horizons = np.asarray(horizons, dtype=float)
    n_sub = np.array([_n_sub(t) for t in horizons])
    out = np.empty((horizons.size, *x.shape))
    for n in np.unique(n_sub):
        rows = np.flatnonzero(n_sub == n)
        h = (horizons[rows] / n).reshape(-1, *([1] * x.ndim))
        y = np.broadcast_to(x, (rows.size, *x.shape))
        for _ in range(n):
            k1 = drift(params, y)
            k2 = drift(params, y + 0.5 * h * k1)
            k3 = drift(params, y + 0.5 * h * k2)
            k4 = drift(params, y + h * k3)
            y = y + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        out[rows] = y
    return out


#: optimizers of :func:`fit_drift`
OPTIMIZERS = ("lbfgs", "adam")


@functools.lru_cache(maxsize=8)
def _trainer(hidden: int, n_steps: int, learning_rate: float, optimizer: str) -> Any:
    """Jitted training run for one network size and schedule (compiled once per data shape)."""
    from ..models import require_ml  # here: rgdata.models loads scikit-learn

    jax = require_ml("the learned dynamics model")
    import optax

    jnp = jax.numpy
    n = _n_sub(1.0)

    def f(p: dict[str, Any], x: Any) -> Any:
        return p["a"] * x + p["b"] + jnp.tanh(x[:, None] * p["u"] + p["c"]) @ p["w"]

    def loss(p: dict[str, Any], xa: Any, xb: Any) -> Any:
        h = 1.0 / n

        def substep(_: Any, y: Any) -> Any:
            k1 = f(p, y)
            k2 = f(p, y + 0.5 * h * k1)
            k3 = f(p, y + 0.5 * h * k2)
            k4 = f(p, y + h * k3)
            return y + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)

        return jnp.mean((xb - jax.lax.fori_loop(0, n, substep, xa)) ** 2)

    if optimizer == "adam":
        opt = optax.adam(optax.cosine_decay_schedule(learning_rate, n_steps, alpha=0.02))

        def run(p: dict[str, Any], xa: Any, xb: Any) -> dict[str, Any]:
            def step(carry: Any, _: Any) -> Any:
                q, s = carry
                grads = jax.grad(loss)(q, xa, xb)
                updates, s = opt.update(grads, s, q)
                return (optax.apply_updates(q, updates), s), None

            return jax.lax.scan(step, (p, opt.init(p)), None, length=n_steps)[0][0]

    else:
        opt = optax.lbfgs()

        def run(p: dict[str, Any], xa: Any, xb: Any) -> dict[str, Any]:
            def fun(q: dict[str, Any]) -> Any:
                return loss(q, xa, xb)

            value_and_grad = optax.value_and_grad_from_state(fun)

            def step(carry: Any, _: Any) -> Any:
                q, s = carry
                value, grad = value_and_grad(q, state=s)
                updates, s = opt.update(grad, s, q, value=value, grad=grad, value_fn=fun)
                return (optax.apply_updates(q, updates), s), None

            return jax.lax.scan(step, (p, opt.init(p)), None, length=n_steps)[0][0]

    return jax.jit(run)


def fit_drift(
    x0: np.ndarray,
    x1: np.ndarray,
    *,
    hidden: int,
    n_steps: int,
    learning_rate: float,
    seed: int,
    feature: str,
    optimizer: str = "lbfgs",
) -> tuple[dict[str, np.ndarray], float]:
    """Fit the drift so that ``Phi_1(x0)`` predicts ``x1`` in least squares.

    Full batch, on the mean squared error of all pairs, in float32:
    *n_steps* iterations of L-BFGS (``optimizer="lbfgs"``, optax's, with its
    zoom line search; *learning_rate* unused) or of Adam with a
    cosine-decayed *learning_rate* (``"adam"``). Adam converges slowly here:
    on 4096 pairs of a planted double well 400 Adam steps left the mean
    squared error 5e-4 above 100 L-BFGS iterations, and ``z`` came out
    0.05-0.25 lower (shrunk towards the OU start). The linear term starts at the least-squares
    OU drift ``ln(a) x`` (``a`` the pairs' regression slope), the tanh units
    at small random weights drawn from ``jax.random.PRNGKey(seed)``.

    Returns
    -------
    params : dict of numpy.ndarray
        ``a``, ``b`` (scalars), ``u``, ``c``, ``w`` (``(hidden,)``).
    mse : float
        Mean squared error of the fitted one-step prediction (numpy
        :func:`flow_map`, the same map the training minimised).
    """
    from ..models import require_ml

    jax = require_ml(feature)
    slope = float(np.dot(x0, x1) / np.dot(x0, x0))
    a0 = float(np.log(np.clip(slope, 1e-3, 0.999)))
    run = _trainer(hidden, n_steps, float(learning_rate), optimizer)
    jnp = jax.numpy
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(seed), 3)
    f32 = jnp.float32
    params = {
        "a": jnp.asarray(a0, dtype=f32),
        "b": jnp.asarray(0.0, dtype=f32),
        "u": jax.random.normal(k1, (hidden,), dtype=f32),
        "c": 0.5 * jax.random.normal(k2, (hidden,), dtype=f32),
        "w": 0.01 * jax.random.normal(k3, (hidden,), dtype=f32),
    }
    params = run(params, jnp.asarray(x0, dtype=f32), jnp.asarray(x1, dtype=f32))
    out = {k: np.asarray(v, dtype=float) for k, v in params.items()}
    mse = float(np.mean((np.asarray(x1, float) - flow_map(out, x0, 1.0)) ** 2))
    return out, mse
