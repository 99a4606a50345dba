"""Statistics of pairwise models and data: moments, their errors, exact enumeration.

Bare numpy on ``(T, N)`` arrays: the data's means, second moments and count
distribution P(K) with block standard errors (:func:`data_statistics`), the
exact moments of a model (:func:`exact_stats`), moments of a dense 0/1
sample, connected three-point correlations, and the closed forms of
independent units (:func:`poisson_binomial`, :func:`binary_entropy`).
"""

from __future__ import annotations

import numpy as np

from ._codings import moments_from01, off_value, params_to01
from ._enumerate import ExactModel

N_BLOCKS = 20


def energy(x: np.ndarray, h, J, V) -> np.ndarray:
    """``h·x + Σ_{i<j} J_ij x_i x_j + V(K)`` for each row of *x* (any coding)."""
    x = np.asarray(x, dtype=np.float64)
    e = x @ h + 0.5 * np.einsum("ti,ti->t", x @ J, x)
    if V is not None:
        k = (x > 0).sum(1)
        e = e + V[k]
    return e


def data_statistics(x: np.ndarray, coding: str, n_blocks: int = N_BLOCKS) -> dict:
    """Means, second moments, P(K) and their block standard errors.

    *x* is ``(T, N)`` in *coding*. Standard errors: the spread of the
    statistic over *n_blocks* contiguous time blocks divided by
    sqrt(n_blocks) (robust to time correlations), floored at the error of a
    statistic seen once in T samples (so statistics that are never observed
    keep a finite error).
    """
    t, n = x.shape
    n_blocks = int(min(n_blocks, t))
    xf = np.asarray(x, dtype=np.float32)
    k = (xf > 0).sum(1)
    edges = np.linspace(0, t, n_blocks + 1).astype(np.int64)
    b_mean = np.empty((n_blocks, n))
    b_second = np.empty((n_blocks, n, n))
    b_pk = np.empty((n_blocks, n + 1))
    for b in range(n_blocks):
        xb = xf[edges[b] : edges[b + 1]]
        tb = xb.shape[0]
        b_mean[b] = xb.mean(0, dtype=np.float64)
        b_second[b] = (xb.T @ xb).astype(np.float64) / tb
        b_pk[b] = np.bincount(k[edges[b] : edges[b + 1]], minlength=n + 1) / tb
    w = np.diff(edges) / t
    mean = w @ b_mean
    second = np.einsum("b,bij->ij", w, b_second)
    pk = w @ b_pk
    scale = 1.0 if coding == "01" else 2.0
    floor = scale * np.sqrt((1.0 / t) * (1.0 - 1.0 / t) / t)
    ddof = n_blocks - 1 if n_blocks > 1 else 1

    def _se(blocks):
        return np.maximum(blocks.std(0, ddof=1) / np.sqrt(ddof + 1), floor)

    se_second = _se(b_second)
    se_pk = np.maximum(b_pk.std(0, ddof=1) / np.sqrt(n_blocks), 1.0 / t)
    return {
        "mean": mean,
        "second": second,
        "pk": pk,
        "se_mean": _se(b_mean),
        "se_second": se_second,
        "se_pk": se_pk,
        "n_samples": t,
        "n_blocks": n_blocks,
    }


def exact_stats(h, J, V, coding: str):
    """Exact means, second moments, P(K) and log Z in *coding*."""
    h01, J01 = params_to01(h, J, coding)
    model = ExactModel(h01, J01, V)
    m01, s01 = model.moments()
    mean, second = moments_from01(m01, s01, coding)
    n = h.shape[0]
    off = np.full((1, n), off_value(coding))
    log_z = model.log_z + float(energy(off, h, J, V)[0])
    return mean, second, model.count_distribution(), log_z, model


def unique_patterns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a binary ``(T, N)`` array and their frequencies."""
    bits = np.packbits(x > 0, axis=1)
    view = np.ascontiguousarray(bits).view(np.dtype((np.void, bits.shape[1])))[:, 0]
    _, first, counts = np.unique(view, return_index=True, return_counts=True)
    return x[first], counts / x.shape[0]


def stat_variance(vec: np.ndarray, coding: str, n_units: int) -> np.ndarray:
    """Variance of each sufficient statistic given its mean (Bernoulli / ±1 variables)."""
    var = np.empty_like(vec)
    n_pair = n_units + n_units * (n_units - 1) // 2
    if coding == "01":
        var[:] = vec * (1.0 - vec)
    else:
        var[:n_pair] = 1.0 - vec[:n_pair] ** 2
        var[n_pair:] = vec[n_pair:] * (1.0 - vec[n_pair:])
    return var


def dense_moments(x01: np.ndarray, coding: str):
    """Means, second moments (in *coding*) and P(K) of a dense 0/1 sample ``(S, N)``."""
    x = np.asarray(x01, dtype=np.float32)
    m01 = x.mean(0, dtype=np.float64)
    s01 = (x.T @ x).astype(np.float64) / len(x)
    pk = np.bincount(x.sum(1).astype(np.int64), minlength=x.shape[1] + 1) / len(x)
    mean, second = moments_from01(m01, s01, coding)
    return mean, second, pk


def connected_three_point(
    x: np.ndarray, tri: np.ndarray, center: np.ndarray | None = None
) -> np.ndarray:
    """Sample connected three-point correlations <dx_i dx_j dx_k> for each triplet."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(0) if center is None else center
    xc = x - mu
    out = np.empty(len(tri))
    for s in range(0, len(tri), 128):
        tr = tri[s : s + 128]
        out[s : s + 128] = np.mean(xc[:, tr[:, 0]] * xc[:, tr[:, 1]] * xc[:, tr[:, 2]], axis=0)
    return out


def poisson_binomial(p: np.ndarray) -> np.ndarray:
    """Exact distribution of the number of successes of independent Bernoullis."""
    dist = np.zeros(p.size + 1)
    dist[0] = 1.0
    for i, pi in enumerate(p):
        dist[1 : i + 2] = dist[1 : i + 2] * (1 - pi) + dist[: i + 1] * pi
        dist[0] *= 1 - pi
    return dist


def binary_entropy(p: np.ndarray) -> float:
    """Sum of the binary entropies (nats) of independent units that are on with probability *p*."""
    p = np.clip(p, 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return float(-np.sum(p * np.log(p) + q * np.log(q)))
