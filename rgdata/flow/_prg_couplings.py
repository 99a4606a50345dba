"""Delete-one-block jackknife of an exact pairwise fit, from the fitted model's enumeration.

A pairwise maximum-entropy model ``P(x) ∝ exp(sum h_i x_i + sum_{i<j} J_ij x_i x_j)``
(0/1 coding) fitted exactly is refitted once per left-out contiguous time
block by one Newton step from the full fit (``theta_(b) = theta + I^{-1}
(mu_(b) - mu)`` with ``I`` the exact Fisher information of the fitted model
and ``mu`` the data moments), which is accurate to first order and costs no
refit. The Fisher information comes from the probabilities of all ``2^n``
states the fitted model already enumerated (:class:`rgdata.maxent.PairwiseMaxEnt`
with ``method="exact"``); nothing is enumerated again here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: largest number of binary variables of one jackknifed fit (2^n states)
MAX_UNITS = 16


def _stats(x: np.ndarray) -> np.ndarray:
    """Sufficient statistics (x_i, x_i x_j for i<j) of rows of x ``(m, n)``."""
    iu = np.triu_indices(x.shape[1], 1)
    return np.concatenate([x, x[:, iu[0]] * x[:, iu[1]]], axis=1)


def _model_states(model: Any) -> tuple[np.ndarray, np.ndarray]:
    """All states ``(2^n, n)`` and their probabilities from the fitted model's enumeration."""
    exact = model._exact()  # the table the exact fit built (0/1 coding)
    na_states, nb_states = exact.sa.shape[0], exact.sb.shape[0]
    states = np.concatenate(
        [np.repeat(exact.sa, nb_states, axis=0), np.tile(exact.sb, (na_states, 1))], axis=1
    )
    return states, exact.p.ravel()


def pairwise_with_jackknife(model: Any, spikes: np.ndarray, n_blocks: int) -> dict[str, Any]:
    """Jackknife the parameters of an exact pairwise fit to ``(n, T)`` 0/1 data.

    Parameters
    ----------
    model : rgdata.maxent.PairwiseMaxEnt
        Fitted to *spikes* with ``method="exact"`` and ``coding="01"``.
    spikes : ndarray (n, T) of 0/1
        The data the model was fitted to.
    n_blocks : int
        Contiguous time blocks of the jackknife.

    Returns
    -------
    dict
        ``h``, ``J`` (the fit) and the jackknife replicates ``h_rep``
        ``(B, n)``, ``J_rep`` ``(B, n, n)``.
    """
    n, t = spikes.shape
    if n > MAX_UNITS:
        raise ValueError(f"{n} variables; the jackknife enumerates 2^n states (n <= {MAX_UNITS})")
    h, J = model.h_, model.J_
    iu = np.triu_indices(n, 1)
    theta = np.concatenate([h, J[iu]])
    states, p = _model_states(model)
    T = _stats(states)
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
