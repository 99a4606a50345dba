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
from numba import njit, prange
from scipy.linalg import lapack

from ._hierarchy_mc import MAX_CHECK_UNITS, PairTree, exact_tree_probabilities
from ._moment_sums import active_statistics, mirror_upper, moment_sums

__all__ = [
    "response_matrix",
    "linear_jackknife",
    "block_statistics",
    "interior",
    "memory_refusal",
    "response_bytes",
    "response_operations",
    "sample_counts",
    "MAX_RESPONSE_OPERATIONS",
    "MIN_RESPONSE_COUNT",
]

#: most multiply-adds spent forming a response matrix from samples (minutes on one core; the
#: converged 160-unit retina fit needs about 1e10, a model that jumped into states with half
#: of its units active 1e13)
MAX_RESPONSE_OPERATIONS = 5e11
#: fewest response samples in which a statistic is non-zero for its row of the response
#: matrix to enter the solve (relative noise of the row about 1 / sqrt(count))
MIN_RESPONSE_COUNT = 10
#: relative step of the central differences of the count potentials
_STEP = 1e-5
#: samples per chunk when the per-sample statistics are formed
_CHUNK_VALUES = 2**23


def _potential_derivatives(pair_tree: PairTree, beta: np.ndarray, cum: np.ndarray) -> tuple:
    """Non-zero derivatives ``dU_v(count) / d beta_T,t``, grouped by coarse variable.

    Returns ``(groups, ptr, ts, table)``: ``groups`` the ``(level, variable)``
    pairs whose potential depends on some tree multiplier; group ``g`` has
    the multipliers ``ts[ptr[g]:ptr[g + 1]]`` and ``table[count, k]`` the
    derivative of its potential at ``count`` with respect to ``ts[k]``
    (columns ``ptr[g]`` to ``ptr[g + 1]``; rows past the variable's size are 0).
    """
    bt = pair_tree.tree_beta(beta)
    found: dict[tuple[int, int], tuple[list, list]] = {}
    for t in range(bt.size):
        h = _STEP * max(1.0, abs(bt[t]))
        up, down = bt.copy(), bt.copy()
        up[t] += h
        down[t] -= h
        d = (pair_tree.potentials(up, cum) - pair_tree.potentials(down, cum)) / (2.0 * h)
        for lev, v in zip(*np.nonzero(np.any(d != 0.0, axis=2)), strict=True):
            ts, cols = found.setdefault((int(lev), int(v)), ([], []))
            ts.append(t)
            cols.append(d[lev, v])
    groups = list(found)
    sizes = [len(found[g][0]) for g in groups]
    ptr = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)
    ts = np.array([t for g in groups for t in found[g][0]], dtype=np.int64)
    n_counts = pair_tree.max_size + 2
    table = np.zeros((n_counts, int(ptr[-1])))
    for g, key in enumerate(groups):
        table[:, ptr[g] : ptr[g + 1]] = np.stack(found[key][1], axis=1)
    return groups, ptr, ts, table


def _tree_features(
    pair_tree: PairTree, x: np.ndarray, ptr: np.ndarray, idx: np.ndarray, columns, dU
) -> np.ndarray:
    """``phi`` ``(S, n_tree)`` of configurations *x* ``(S, n)``: the tree score features.

    *ptr*, *idx* are the configurations' non-zero statistics
    (:func:`._moment_sums.active_statistics`), from which the block sums
    ``Y_t`` of the sibling pairs are added; *columns* is
    :func:`_statistic_columns`, *dU* :func:`_potential_derivatives`.
    """
    label, _, coef = columns
    groups, g_ptr, g_ts, g_table = dU
    counts = pair_tree.counts(x)
    g_counts = np.empty((x.shape[0], len(groups)), np.int64)
    for g, (lev, v) in enumerate(groups):
        g_counts[:, g] = counts[lev][:, v]
    n_tree = len(pair_tree.count_tree.labels)
    return _features_kernel(ptr, idx, label, coef, g_counts, g_ptr, g_ts, g_table, n_tree)


@njit(cache=True, parallel=True)
def _features_kernel(ptr, idx, label, coef, g_counts, g_ptr, g_ts, g_table, n_tree):
    """Per sample: the sibling-pair block sums (means have coefficient 0), then each
    group's potential derivatives."""
    n_samples = ptr.size - 1
    phi = np.zeros((n_samples, n_tree))
    for s in prange(n_samples):
        for pos in range(ptr[s], ptr[s + 1]):
            t = label[idx[pos]]
            if t >= 0:
                phi[s, t] += coef[idx[pos]]
        for g in range(g_counts.shape[1]):
            c = g_counts[s, g]
            for k in range(g_ptr[g], g_ptr[g + 1]):
                phi[s, g_ts[k]] += g_table[c, k]
    return phi


def response_bytes(n_stats: int) -> int:
    """Memory the errors of *n_stats* statistics need: the response matrix, its factorised
    copy and the multipliers' covariance, ``3 * 8 * P^2`` bytes (4.0 GB at 12,880, 160 units).

    Examples
    --------
    >>> response_bytes(2_080) / 2**20  # 64 units
    99.0234375
    """
    return 3 * 8 * n_stats * n_stats


def response_operations(samples: np.ndarray, n_tree: int) -> float:
    """Multiply-adds of :func:`response_matrix` from 0/1 *samples* ``(S, n)``.

    A sample with ``k`` active units has ``nnz = k + k (k - 1) / 2`` non-zero
    statistics and costs ``nnz^2 / 2 + n_tree nnz`` (:mod:`._moment_sums`).

    Examples
    --------
    >>> response_operations(np.array([[1, 1, 0], [0, 0, 0]], np.int8), 4)
    16.5
    """
    k = np.count_nonzero(samples, axis=1).astype(float)
    nnz = k + k * (k - 1.0) / 2.0
    return float(np.sum(nnz * nnz / 2.0 + n_tree * nnz))


def sample_counts(samples: np.ndarray) -> np.ndarray:
    """Samples in which each statistic (means, upper pairs) is non-zero, ``(P,)``.

    Examples
    --------
    >>> sample_counts(np.array([[1, 1, 0], [1, 0, 0]], np.int8)).tolist()
    [2, 1, 0, 1, 0, 0]
    """
    xf = (np.asarray(samples) != 0).astype(np.float64)
    both = xf.T @ xf  # integer counts, exact in float64 whatever the BLAS kernel
    n = xf.shape[1]
    iu = np.triu_indices(n, 1)
    return np.concatenate([np.diag(both), both[iu]]).astype(np.int64)


def memory_refusal(n_stats: int) -> str | None:
    """Why the errors of *n_stats* statistics are not computed, or None where they fit.

    They are refused when :func:`response_bytes` exceeds the memory available
    now (:func:`rgdata.coarse._memory.available_memory`; unknown counts as
    enough).
    """
    from ..coarse import _memory

    need = response_bytes(n_stats)
    avail = _memory.available_memory()
    if avail is None or need <= avail:
        return None
    return (
        f"not computed: the response matrix of {n_stats} statistics, its factorisation and "
        f"the covariance need {need / 2**30:.1f} GiB, more than the {avail / 2**30:.1f} GiB "
        "available"
    )


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
    Enumeration is refused above *max_units* units. The moments of the
    statistics are summed from each configuration's active units
    (:mod:`._moment_sums`), in a fixed order.
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
    sums = (np.zeros(p), np.zeros((p, p)), np.zeros((p, n_tree)))
    e_phi = np.zeros(n_tree)
    step = max(1, _CHUNK_VALUES // max(n_tree, n))
    columns = _statistic_columns(pair_tree, cum)
    for lo in range(0, configs.shape[0], step):
        x = configs[lo : lo + step]
        w = weights[lo : lo + step]
        ptr, idx = active_statistics(x)
        phi = _tree_features(pair_tree, x, ptr, idx, columns, dU)
        e_phi += w @ phi
        moment_sums(ptr, idx, w, phi, sums)
    e_f, e_ff, e_fphi = sums
    label, scale, _ = columns
    w1 = pair_tree.tree_weights(cum)[0]
    return _response_in_place(mirror_upper(e_ff), e_f, e_fphi, e_phi, label, scale, w1)


def _statistic_columns(pair_tree: PairTree, cum: np.ndarray) -> tuple:
    """Per statistic (column of ``B``, ``beta_T = B beta``, the tree-local multipliers as a
    linear map of all-pairs ``beta``): its one tree row (-1: none), the value there, and
    the coefficient ``1 / W_1 - 1 / W_k`` of its product in the block sum ``Y_t`` (0 for
    means and top-level pairs)."""
    n, ok = pair_tree.n, pair_tree._ok
    label = np.full(n + ok.size, -1, np.int64)
    scale = np.zeros(n + ok.size)
    coef = np.zeros(n + ok.size)
    label[:n] = np.arange(n)
    scale[:n] = 1.0
    label[n:][ok] = pair_tree.pair_label[ok]
    scale[n:][ok] = 1.0 / pair_tree._block[pair_tree.pair_label[ok]]
    cum_t = pair_tree.tree_weights(cum)
    coef[n:][ok] = 1.0 / cum_t[0] - 1.0 / cum_t[pair_tree.pair_level[ok] - 1]
    return label, scale, coef


@njit(cache=True, parallel=True)
def _response_in_place(e_ff, e_f, e_fphi, e_phi, label, scale, w1):
    """``-Cov(f, f) / W_1 + Cov(f, phi) B`` written over the second moments *e_ff*."""
    p_stats = e_f.size
    for p in prange(p_stats):
        for q in range(p_stats):
            v = -(e_ff[p, q] - e_f[p] * e_f[q]) / w1
            t = label[q]
            if t >= 0:
                v += (e_fphi[p, t] - e_f[p] * e_phi[t]) * scale[q]
            e_ff[p, q] = v
    return e_ff


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
    m: np.ndarray,
    beta: np.ndarray,
    c: np.ndarray,
    loo: np.ndarray,
    free: np.ndarray,
    overwrite: bool = False,
) -> np.ndarray:
    """Replicates ``beta + M^-1 (c_b - c)`` ``(B, P)``; multipliers not *free* stay at *beta*.

    Only the free multipliers and their statistics enter the solve (LU with
    partial pivoting, LAPACK ``getrf``/``getrs``); with *overwrite* the
    factorisation may be written over *m* (no copy of a ``(P, P)`` matrix
    when every multiplier is free). A singular response matrix (a direction
    the model cannot move) raises :class:`numpy.linalg.LinAlgError`.

    Examples
    --------
    >>> m = np.array([[-2.0, 0.0], [0.0, -4.0]])
    >>> linear_jackknife(m, np.zeros(2), np.zeros(2), np.array([[2.0, 4.0]]),
    ...                  np.array([True, True])).tolist()
    [[-1.0, -1.0]]
    """
    reps = np.tile(beta, (loo.shape[0], 1))
    if not free.any():
        return reps
    if free.all():
        sub = m if overwrite else m.copy()
    else:
        sub = m[np.ix_(free, free)]
    sub = np.ascontiguousarray(sub, dtype=np.float64)
    # sub.T is sub's Fortran-ordered view: factor it in place and solve with the transpose
    lu, piv, info = lapack.dgetrf(sub.T, overwrite_a=1)
    if info > 0:
        raise np.linalg.LinAlgError("singular response matrix")
    rhs = np.asfortranarray((loo[:, free] - c[free]).T)
    delta, info = lapack.dgetrs(lu, piv, rhs, trans=1)
    if info != 0:  # pragma: no cover - only for invalid arguments
        raise np.linalg.LinAlgError(f"LAPACK getrs failed (info {info})")
    reps[:, free] += delta.T
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
