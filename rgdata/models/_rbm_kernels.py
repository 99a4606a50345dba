"""Plain numpy kernels of the restricted Boltzmann machine (no xarray, no classes).

Energy of a visible configuration ``v`` (n_visible,) and hidden ``h`` (n_hidden,),
both in one coding (``"01"``: units in {0, 1}; ``"pm1"``: units in {-1, +1})::

    E(v, h) = -a . v - b . h - v . W h,      p(v, h) = exp(-E) / Z

Summing the hidden units out gives the free energy ``F(v) = -a . v -
sum_j g(b_j + (v W)_j)`` with ``g(x) = log(1 + e^x)`` (0/1) or
``log(2 cosh x)`` (+-1), so ``log p(v) = -F(v) - log Z``. The gradient of the
mean log-likelihood is the difference of two expectations of closed-form
statistics (``v E[h | v]``, ``v``, ``E[h | v]``) under the data and the model:
no automatic differentiation is needed.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.special import expit, logsumexp

CODINGS = ("pm1", "01")
MAX_ENUMERATE = 20


def log_g(x: np.ndarray, coding: str) -> np.ndarray:
    """``log sum_{h in coding} exp(h x)`` elementwise."""
    if coding == "01":
        return np.logaddexp(0.0, x)
    return np.logaddexp(x, -x)


def hidden_mean(x: np.ndarray, coding: str) -> np.ndarray:
    """``E[h | field x]`` of a unit in *coding*: ``sigmoid(x)`` (0/1) or ``tanh(x)`` (+-1)."""
    return expit(x) if coding == "01" else np.tanh(x)


def draw_units(x: np.ndarray, coding: str, rng: np.random.Generator) -> np.ndarray:
    """Units drawn independently given their fields *x* (float64, in *coding*)."""
    p_on = expit(x) if coding == "01" else expit(2.0 * x)
    on = rng.random(x.shape) < p_on
    if coding == "01":
        return on.astype(np.float64)
    return np.where(on, 1.0, -1.0)


def free_energy(v: np.ndarray, W: np.ndarray, a: np.ndarray, b: np.ndarray, coding: str):
    """Free energy ``F(v)`` of each row of *v* (hidden units summed out exactly)."""
    return -(v @ a) - log_g(v @ W + b, coding).sum(axis=1)


def all_states(n: int, coding: str) -> np.ndarray:
    """Every configuration of *n* units in *coding*, ``(2**n, n)`` float64."""
    states = np.array(list(itertools.product((0.0, 1.0), repeat=n)), dtype=np.float64)
    states = states.reshape(2**n, n)
    return states if coding == "01" else 2.0 * states - 1.0


def log_partition(W: np.ndarray, a: np.ndarray, b: np.ndarray, coding: str) -> float:
    """Exact ``log Z`` by enumerating the smaller layer (at most ``MAX_ENUMERATE`` units).

    The other layer is summed out in closed form, so the cost is
    ``2**min(n_visible, n_hidden)`` rows (processed in chunks of 2**14).
    """
    n_v, n_h = W.shape
    if min(n_v, n_h) > MAX_ENUMERATE:
        raise ValueError(
            f"exact log Z needs n_visible <= {MAX_ENUMERATE} or n_hidden <= {MAX_ENUMERATE}, "
            f"got n_visible={n_v}, n_hidden={n_h}"
        )
    if n_v <= n_h:
        W_, a_, b_ = W, a, b
    else:  # the model is symmetric under swapping the layers (W -> W.T)
        W_, a_, b_ = W.T, b, a
    n = W_.shape[0]
    parts = []
    chunk_bits = min(n, 14)
    tail = all_states(chunk_bits, coding)
    for head in itertools.product(
        *[((0.0, 1.0) if coding == "01" else (-1.0, 1.0))] * (n - chunk_bits)
    ):
        states = np.hstack([np.broadcast_to(np.array(head), (tail.shape[0], len(head))), tail])
        parts.append(logsumexp(-free_energy(states, W_, a_, b_, coding)))
    return float(logsumexp(parts))


def statistics(v: np.ndarray, W: np.ndarray, b: np.ndarray, coding: str, weights=None):
    """Mean sufficient statistics ``(<v E[h|v]^T>, <v>, <E[h|v]>)`` over rows of *v*.

    *weights* (summing to one) weight the rows, e.g. exact probabilities of
    enumerated states; by default the rows are averaged.
    """
    h = hidden_mean(v @ W + b, coding)
    if weights is None:
        n = v.shape[0]
        return (v.T @ h) / n, v.mean(axis=0), h.mean(axis=0)
    vw = v * weights[:, None]
    return vw.T @ h, vw.sum(axis=0), weights @ h


def gradient(v_data, v_model, W, a, b, coding, weights_model=None):
    """Gradient of the mean log-likelihood in ``(W, a, b)``: data minus model statistics.

    With *v_model* the persistent chains this is the PCD estimate; with every
    visible state and *weights_model* = exact ``p(v)`` it is the exact gradient.
    """
    pos = statistics(v_data, W, b, coding)
    neg = statistics(v_model, W, b, coding, weights_model)
    return tuple(p - n for p, n in zip(pos, neg, strict=True))


def gibbs(v: np.ndarray, W, a, b, coding: str, n_steps: int, rng: np.random.Generator):
    """*n_steps* block-Gibbs sweeps ``v -> h -> v``; returns the last ``v``."""
    for _ in range(n_steps):
        h = draw_units(v @ W + b, coding, rng)
        v = draw_units(h @ W.T + a, coding, rng)
    return v
