"""Errors of the Monte Carlo engine's multipliers: a linearized block jackknife.

The exact engines refit ``beta`` once per left-out time block. A Monte Carlo
refit costs as much as the fit, so here each block's replicate is the
Newton step from the fit to the block's statistics:

    beta_b = beta + M^-1 (c_b - c),    M = d E_beta[f] / d beta,

the first-order (linearized) delete-one-block jackknife, whose spread gives
``beta_err_`` and ``beta_cov_`` with the factor ``(B - 1) / B`` of
:mod:`rgdata._jackknife`. It equals the refitted jackknife to first order in
``c_b - c`` (of order one data standard error), and is checked against the
exact engine's refits in ``tests/maxent/test_hierarchical_mc_errors.py``.

The response matrix of the sampled model (:mod:`._hierarchy_mc`)
-----------------------------------------------------------------
``log P(x) = h.x + sum J_ab x_a x_b + sum_v U_v(y_v) - log Z`` depends on
``beta`` linearly through ``h = -beta_a / W_1`` and ``J`` and non-linearly
through the count potentials ``U_v``, which depend on the tree-local part
``beta_T = B beta`` only (:meth:`PairTree.tree_beta`: the means per sibling
block). The score is therefore

    d log P / d beta = -f(x) / W_1 + B^T phi(x) - E[...],
    phi_t(x) = (1 / W_1 - 1 / W_k) Y_t(x) + sum_v dU_v(y_v(x)) / d beta_T,t,

with ``Y_t`` the block sum of pair products of the sibling pair ``t`` (of
level ``k``; fields have no ``Y`` term), and ``M = Cov(f, score) = -Cov(f, f) /
W_1 + Cov(f, phi) B``. Leaving out ``phi`` (treating the model as an
exponential family in ``-beta / W_1``) misses how the potentials cancel a
cluster-uniform change (a fraction ``1 - W_1 / W_L`` of it), and the errors of
tree-local directions would be wrong by that factor. The derivatives of
``U`` come from central differences of the exact per-cluster recursion
(:func:`._hierarchy_counts._passes`). The covariances are exact sums over all
``2^n`` configurations up to ``MAX_CHECK_UNITS`` units, and averages over
Monte Carlo samples of the fitted model above (``n_samples``; their own
noise makes the errors uncertain by about ``sqrt(P / n_samples)`` relative).

Multipliers at their bound, or whose statistic lies on the edge of its range
(a unit never or always active, a pair that never co-fires or always does when
one of its units fires: the maximum-entropy multiplier is infinite), have no finite
error: they and their statistics are left out of the solve, and their
errors are ``inf``.
"""

from __future__ import annotations

import numpy as np

from ._hierarchy_mc import MAX_CHECK_UNITS, PairTree, exact_tree_probabilities

__all__ = [
    "response_matrix",
    "linear_jackknife",
    "block_statistics",
    "interior",
    "MAX_ERROR_STATS",
]

#: largest number of statistics whose response matrix is formed (P^2 float64: 35 MB at 2,080,
#: 64 units; the Monte Carlo estimate costs n_samples * P^2 multiply-adds)
MAX_ERROR_STATS = 2_080
#: relative step of the central differences of the count potentials
_STEP = 1e-5
#: samples per chunk when the per-sample statistics are formed
_CHUNK_VALUES = 2**23


def _block_matrix(pair_tree: PairTree) -> np.ndarray:
    """``B`` (n_tree, P): the tree-local multipliers as a linear map of all-pairs ``beta``."""
    n, ok = pair_tree.n, pair_tree._ok
    n_tree = len(pair_tree.count_tree.labels)
    p = n + n * (n - 1) // 2
    b = np.zeros((n_tree, p))
    b[np.arange(n), np.arange(n)] = 1.0
    cols = n + np.flatnonzero(ok)
    labels = pair_tree.pair_label[ok]
    b[labels, cols] = 1.0 / pair_tree._block[labels]
    return b


def _potential_derivatives(pair_tree: PairTree, beta: np.ndarray, cum: np.ndarray):
    """``(t, level, variable, dU/dbeta_T,t over counts)`` for every non-zero derivative."""
    bt = pair_tree.tree_beta(beta)
    out = []
    for t in range(bt.size):
        h = _STEP * max(1.0, abs(bt[t]))
        up, down = bt.copy(), bt.copy()
        up[t] += h
        down[t] -= h
        d = (pair_tree.potentials(up, cum) - pair_tree.potentials(down, cum)) / (2.0 * h)
        for lev, v in zip(*np.nonzero(np.any(d != 0.0, axis=2)), strict=True):
            out.append((t, int(lev), int(v), d[lev, v]))
    return out


def _features(pair_tree: PairTree, cum: np.ndarray, x: np.ndarray, dU: list) -> np.ndarray:
    """``(f, phi)`` of configurations *x* ``(S, n)``: statistics and tree score features."""
    n = pair_tree.n
    iu = np.triu_indices(n, 1)
    xf = x.astype(float)
    f = np.concatenate([xf, xf[:, iu[0]] * xf[:, iu[1]]], axis=1)
    n_tree = len(pair_tree.count_tree.labels)
    phi = np.zeros((x.shape[0], n_tree))
    ok = pair_tree._ok
    cum_t = pair_tree.tree_weights(cum)
    coef = 1.0 / cum_t[0] - 1.0 / cum_t[pair_tree.pair_level[ok] - 1]
    pair_cols = np.flatnonzero(ok)
    y_block = np.zeros((len(pair_cols), n_tree))
    y_block[np.arange(len(pair_cols)), pair_tree.pair_label[ok]] = coef
    phi += f[:, n + pair_cols] @ y_block
    counts = pair_tree.counts(x)
    for t, lev, v, d in dU:
        phi[:, t] += d[counts[lev][:, v]]
    return f, phi


def response_matrix(
    pair_tree: PairTree,
    beta: np.ndarray,
    cum: np.ndarray,
    samples: np.ndarray | None = None,
    max_units: int = MAX_CHECK_UNITS,
) -> np.ndarray:
    """``M = d E_beta[f] / d beta`` of the sampled model, ``(P, P)``.

    Exact (all ``2^n`` configurations) when *samples* is None; otherwise from
    the 0/1 configurations *samples* ``(S, n)`` of the model at *beta*.
    Enumeration is refused above *max_units* units.
    """
    cum = np.asarray(cum, dtype=float)
    dU = _potential_derivatives(pair_tree, beta, cum)
    if samples is None:
        configs, weights = exact_tree_probabilities(pair_tree, beta, cum, max_units)
    else:
        configs = np.asarray(samples)
        weights = np.full(configs.shape[0], 1.0 / configs.shape[0])
    n = pair_tree.n
    p = n + n * (n - 1) // 2
    n_tree = len(pair_tree.count_tree.labels)
    e_f, e_phi = np.zeros(p), np.zeros(n_tree)
    e_ff, e_fphi = np.zeros((p, p)), np.zeros((p, n_tree))
    step = max(1, _CHUNK_VALUES // (p + n_tree))
    for lo in range(0, configs.shape[0], step):
        f, phi = _features(pair_tree, cum, configs[lo : lo + step], dU)
        w = weights[lo : lo + step]
        fw = f * w[:, None]
        e_f += fw.sum(0)
        e_phi += w @ phi
        e_ff += fw.T @ f
        e_fphi += fw.T @ phi
    cov_ff = e_ff - np.outer(e_f, e_f)
    cov_fphi = e_fphi - np.outer(e_f, e_phi)
    cum_t = pair_tree.tree_weights(cum)
    return -cov_ff / cum_t[0] + cov_fphi @ _block_matrix(pair_tree)


def block_statistics(x: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-block sums of the statistics (means, upper pairs) ``(B, P)`` and block sizes ``(B,)``."""
    n, t = x.shape
    iu = np.triu_indices(n, 1)
    edges = np.linspace(0, t, n_blocks + 1).astype(int)
    sums = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        xb = x[:, lo:hi].astype(np.float64)
        sums.append(np.concatenate([xb.sum(1), (xb @ xb.T)[iu]]))
    return np.array(sums), np.diff(edges)


def linear_jackknife(
    m: np.ndarray, beta: np.ndarray, c: np.ndarray, loo: np.ndarray, free: np.ndarray
) -> np.ndarray:
    """Replicates ``beta + M^-1 (c_b - c)`` ``(B, P)``; multipliers not *free* stay at *beta*.

    Only the free multipliers and their statistics enter the solve; a
    singular response matrix (a direction the model cannot move) raises
    :class:`numpy.linalg.LinAlgError`.
    """
    reps = np.tile(beta, (loo.shape[0], 1))
    sub = np.ix_(free, free)
    delta = np.linalg.solve(m[sub], (loo[:, free] - c[free]).T).T
    reps[:, free] += delta
    return reps


def interior(c: np.ndarray, n: int) -> np.ndarray:
    """Statistics (means, upper pairs of 0/1 units) strictly inside their feasible range.

    A mean must lie in ``(0, 1)``, a pair moment ``c_ab`` in
    ``(max(0, c_a + c_b - 1), min(c_a, c_b))`` (Frechet bounds); on the
    edge the maximum-entropy multiplier is infinite.

    Examples
    --------
    >>> interior(np.array([0.5, 0.2, 0.0]), 2).tolist()  # the pair never co-fires
    [True, True, False]
    """
    a, b = np.triu_indices(n, 1)
    m, pair = c[:n], c[n:]
    lo = np.maximum(0.0, m[a] + m[b] - 1.0)
    hi = np.minimum(m[a], m[b])
    eps = 1e-12
    return np.concatenate([(m > eps) & (m < 1 - eps), (pair > lo + eps) & (pair < hi - eps)])
