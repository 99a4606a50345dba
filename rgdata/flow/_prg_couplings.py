"""Pairwise couplings of coarse-grained binary variables across PRG levels, with block errors.

At each PRG level a subset of clusters is binarised ("cluster active" = any
unit of the cluster active in the bin) and a pairwise maximum-entropy model
``P(x) ∝ exp(sum h_i x_i + sum_{i<j} J_ij x_i x_j)`` (0/1 coding) is fitted
exactly. Error bars come from a delete-one-block jackknife over contiguous
time blocks, each block's refit approximated by one Newton step from the
full fit (``theta_(b) = theta + I^{-1} (mu_(b) - mu)`` with ``I`` the exact
Fisher information of the fitted model and ``mu`` the data moments), which
is accurate to first order and costs one enumeration instead of one fit per
block.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_UNITS = 16


def cluster_activity(x: np.ndarray, membership: np.ndarray, clusters: np.ndarray) -> np.ndarray:
    """``(n_clusters, T)`` int8: 1 where any unit of the cluster is active (non-zero)."""
    out = np.zeros((clusters.size, x.shape[1]), dtype=np.int8)
    for k, c in enumerate(clusters):
        out[k] = np.any(x[membership == c] > 0, axis=0)
    return out


def _states(n: int) -> np.ndarray:
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)


def _stats(x: np.ndarray) -> np.ndarray:
    """Sufficient statistics (x_i, x_i x_j for i<j) of rows of x ``(m, n)``."""
    iu = np.triu_indices(x.shape[1], 1)
    return np.concatenate([x, x[:, iu[0]] * x[:, iu[1]]], axis=1)


def pairwise_with_jackknife(spikes: np.ndarray, n_blocks: int, fit: Any) -> dict[str, Any]:
    """Fit the pairwise model to ``(n, T)`` 0/1 data and jackknife its parameters.

    Parameters
    ----------
    spikes : ndarray (n, T) of 0/1
    n_blocks : int
        Contiguous time blocks of the jackknife.
    fit : callable
        ``fit(spikes) -> (h, J)`` in 0/1 coding (the exact pairwise fit).

    Returns
    -------
    dict
        ``h``, ``J`` and the jackknife replicates ``h_rep`` ``(B, n)``,
        ``J_rep`` ``(B, n, n)``.
    """
    n, t = spikes.shape
    if n > MAX_UNITS:
        raise ValueError(f"{n} variables; the exact fit enumerates 2^n states (n <= {MAX_UNITS})")
    h, J = fit(spikes)
    iu = np.triu_indices(n, 1)
    theta = np.concatenate([h, J[iu]])
    S = _states(n)
    T = _stats(S)
    logw = T @ theta
    p = np.exp(logw - logw.max())
    p /= p.sum()
    mean_model = p @ T
    fisher = (T * p[:, None]).T @ T - np.outer(mean_model, mean_model)
    fisher += 1e-10 * np.eye(fisher.shape[0])
    edges = np.linspace(0, t, n_blocks + 1).astype(int)
    x = spikes.astype(float)
    block_sums = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        xb = x[:, lo:hi]
        second = xb @ xb.T
        block_sums.append(np.concatenate([xb.sum(axis=1), second[iu]]))
    block_sums = np.array(block_sums)
    total = block_sums.sum(axis=0)
    mu = total / t
    sizes = np.diff(edges)
    mu_loo = (total[None, :] - block_sums) / (t - sizes)[:, None]
    theta_rep = theta[None, :] + np.linalg.solve(fisher, (mu_loo - mu).T).T
    h_rep = theta_rep[:, :n]
    J_rep = np.zeros((n_blocks, n, n))
    for b in range(n_blocks):
        J_rep[b][iu] = theta_rep[b, n:]
        J_rep[b] = J_rep[b] + J_rep[b].T
    return {"h": h, "J": J, "h_rep": h_rep, "J_rep": J_rep}


def offdiag_mean(J: np.ndarray) -> np.ndarray:
    """Mean of the off-diagonal upper-triangle entries over the last two axes."""
    n = J.shape[-1]
    iu = np.triu_indices(n, 1)
    return J[..., iu[0], iu[1]].mean(axis=-1)
