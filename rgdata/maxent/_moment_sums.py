"""Weighted moment sums of all-pairs 0/1 statistics, formed from the active units.

The statistics of a 0/1 configuration ``x`` of ``n`` units are the means
``x_a`` and the pair products ``x_a x_b`` (``a < b``, upper-triangle order
after the means): ``P = n + n (n - 1) / 2`` numbers, of which only
``k + k (k - 1) / 2`` are non-zero when ``k`` units are active. The response
matrix of :mod:`._hierarchy_mc_errors` needs ``sum_s w_s f_s f_s^T`` ``(P, P)``
and ``sum_s w_s f_s phi_s^T`` for dense features ``phi`` ``(S, m)``. As dense
products they cost ``S P^2`` multiply-adds (``10^14`` for the 160 retina
units and the 644,000 samples of their response matrix); from the non-zero
statistics of every sample they cost ``sum_s nnz_s^2 / 2 + m sum_s nnz_s``,
about ``10^10`` there (the retina has 5.7 active units per bin on average).

The sums are formed a row (statistic) at a time over the samples where that
statistic is non-zero, in a fixed order, so the result does not depend on
the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["active_statistics", "mirror_upper", "moment_sums", "pair_index"]


@njit(cache=True)
def pair_index(a, b, n):
    """Position of the statistic ``x_a x_b`` (``a < b``) in the all-pairs vector.

    Integers or int64 arrays.

    Examples
    --------
    >>> pair_index(np.array([0, 0, 1]), np.array([1, 2, 2]), 3).tolist()
    [3, 4, 5]
    """
    return n + a * n - a * (a + 1) // 2 + (b - a - 1)


@njit(cache=True)
def _active_statistics(x):
    s_count, n = x.shape
    k = np.zeros(s_count, np.int64)
    for s in range(s_count):
        for a in range(n):
            if x[s, a] != 0:
                k[s] += 1
    ptr = np.zeros(s_count + 1, np.int64)
    for s in range(s_count):
        ptr[s + 1] = ptr[s] + k[s] + k[s] * (k[s] - 1) // 2
    idx = np.empty(ptr[-1], np.int64)
    act = np.empty(n, np.int64)
    for s in range(s_count):
        m = 0
        for a in range(n):
            if x[s, a] != 0:
                act[m] = a
                m += 1
        pos = ptr[s]
        for i in range(m):
            idx[pos] = act[i]
            pos += 1
        for i in range(m):
            for j in range(i + 1, m):
                idx[pos] = pair_index(act[i], act[j], n)
                pos += 1
    return ptr, idx


def active_statistics(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero statistics of each 0/1 configuration, in increasing order.

    Parameters
    ----------
    x : ndarray
        ``(S, n)`` configurations (non-zero = active).

    Returns
    -------
    ptr, idx : ndarray
        Sample ``s`` has the non-zero statistics ``idx[ptr[s]:ptr[s + 1]]``
        (the active units, then their pairs; every one equals 1).

    Examples
    --------
    >>> ptr, idx = active_statistics(np.array([[1, 0, 1], [0, 0, 0]], np.int8))
    >>> ptr.tolist(), idx.tolist()
    ([0, 3, 3], [0, 2, 4])
    """
    return _active_statistics(np.ascontiguousarray(x))


@njit(cache=True)
def _by_statistic(ptr, idx, n_stats):
    """Transpose the per-sample lists: the samples of each statistic, in increasing order."""
    count = np.zeros(n_stats + 1, np.int64)
    for q in idx:
        count[q + 1] += 1
    for p in range(n_stats):
        count[p + 1] += count[p]
    fill = count[:-1].copy()
    samples = np.empty(idx.size, np.int64)
    for s in range(ptr.size - 1):
        for pos in range(ptr[s], ptr[s + 1]):
            q = idx[pos]
            samples[fill[q]] = s
            fill[q] += 1
    return count, samples


@njit(cache=True, parallel=True)
def _accumulate(ptr, idx, w, phi, sptr, samples, e_f, e_ff, e_fphi):
    """Add this chunk's ``sum w f``, the upper triangle of ``sum w f f^T`` and ``sum w f phi^T``."""
    for p in prange(e_f.size):
        for r in range(sptr[p], sptr[p + 1]):
            s = samples[r]
            ws = w[s]
            e_f[p] += ws
            lo = ptr[s] + np.searchsorted(idx[ptr[s] : ptr[s + 1]], p)
            for pos in range(lo, ptr[s + 1]):
                e_ff[p, idx[pos]] += ws
            for t in range(phi.shape[1]):
                e_fphi[p, t] += ws * phi[s, t]


def moment_sums(
    ptr: np.ndarray,
    idx: np.ndarray,
    weights: np.ndarray,
    features: np.ndarray,
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Add ``sum w f``, ``sum w f f^T`` (upper triangle) and ``sum w f phi^T`` of 0/1 samples.

    Parameters
    ----------
    ptr, idx : ndarray
        The samples' non-zero statistics (:func:`active_statistics`).
    weights : ndarray
        ``(S,)`` weight of each sample.
    features : ndarray
        ``(S, m)`` dense features ``phi`` of each sample.
    out : tuple of ndarray
        Running sums ``(P,)``, ``(P, P)``, ``(P, m)`` (float64, C order),
        added to in place (chunks of samples); only the upper triangle (with
        the diagonal) of the ``(P, P)`` sum is filled.

    Returns
    -------
    tuple of ndarray
        *out*.

    Examples
    --------
    >>> ptr, idx = active_statistics(np.array([[1, 1], [0, 1]], np.int8))
    >>> sums = (np.zeros(3), np.zeros((3, 3)), np.zeros((3, 0)))
    >>> e_f, e_ff, _ = moment_sums(ptr, idx, np.array([0.25, 0.75]), np.zeros((2, 0)), sums)
    >>> e_f.tolist(), e_ff.tolist()
    ([0.25, 1.0, 0.25], [[0.25, 0.25, 0.25], [0.0, 1.0, 0.25], [0.0, 0.0, 0.25]])
    """
    phi = np.ascontiguousarray(features, dtype=np.float64)
    w = np.ascontiguousarray(weights, dtype=np.float64)
    sptr, samples = _by_statistic(ptr, idx, out[0].size)
    _accumulate(ptr, idx, w, phi, sptr, samples, *out)
    return out


@njit(cache=True, parallel=True)
def mirror_upper(a: np.ndarray) -> np.ndarray:
    """Copy the upper triangle of square *a* onto its lower triangle, in place.

    Examples
    --------
    >>> mirror_upper(np.array([[1.0, 2.0], [0.0, 3.0]])).tolist()
    [[1.0, 2.0], [2.0, 3.0]]
    """
    for i in prange(a.shape[0]):
        for j in range(i):
            a[i, j] = a[j, i]
    return a
