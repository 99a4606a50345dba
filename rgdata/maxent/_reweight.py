"""numba kernels for importance reweighting of sparse 0/1 Monte Carlo samples.

Samples are stored as compressed rows (CSR): the active units of sample s are
``idx[indptr[s]:indptr[s + 1]]`` in increasing order. For neural data (a few
active units per pattern) this makes the change of energy under a parameter
change, and weighted moments, cost O(K^2) per sample instead of O(N^2).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def csr_energies(indptr, idx, dh, dJ, out):
    """``out[s] = Σ_{i∈A_s} dh_i + Σ_{i<j∈A_s} dJ_ij`` (0/1 coding, dJ symmetric)."""
    for s in prange(indptr.shape[0] - 1):
        a, b = indptr[s], indptr[s + 1]
        e = 0.0
        for p in range(a, b):
            i = idx[p]
            e += dh[i]
            for q in range(p + 1, b):
                e += dJ[i, idx[q]]
        out[s] = e


def csr_moments(indptr, idx, w, n, n_parts):
    """Weighted sums ``Σ_s w_s x_i`` (N,) and ``Σ_s w_s x_i x_j`` (N, N), upper triangle.

    The kernel returns one partial sum per part of the samples, added here in
    a fixed order: the result does not depend on the number of threads.
    """
    m, pairs = _csr_moment_parts(indptr, idx, w, n, n_parts)
    return m.sum(0), pairs.sum(0)


@njit(cache=True, parallel=True)
def _csr_moment_parts(indptr, idx, w, n, n_parts):
    """Per-part weighted sums of :func:`csr_moments` ``(n_parts, N)``, ``(n_parts, N, N)``."""
    ns = indptr.shape[0] - 1
    m = np.zeros((n_parts, n))
    pairs = np.zeros((n_parts, n, n))
    step = (ns + n_parts - 1) // n_parts
    for c in prange(n_parts):
        for s in range(c * step, min(ns, (c + 1) * step)):
            ws = w[s]
            if ws == 0.0:
                continue
            a, b = indptr[s], indptr[s + 1]
            for p in range(a, b):
                i = idx[p]
                m[c, i] += ws
                for q in range(p + 1, b):
                    pairs[c, i, idx[q]] += ws
    return m, pairs


@njit(cache=True, parallel=True)
def csr_row_hashes(indptr, idx):
    """64-bit FNV-1a hash of each row's active-unit list."""
    ns = indptr.shape[0] - 1
    out = np.empty(ns, np.uint64)
    prime = np.uint64(1099511628211)
    for s in prange(ns):
        h = np.uint64(14695981039346656037)
        for p in range(indptr[s], indptr[s + 1]):
            h = (h ^ np.uint64(idx[p] + 1)) * prime
        out[s] = h
    return out


@njit(cache=True)
def csr_group_sorted(indptr, idx, order, hashes):
    """Groups of identical rows, visiting rows in *order* (sorted by hash).

    A row joins the current group only if its hash *and* its active units
    equal the group's first row, so a hash collision never merges two
    different patterns (at worst a pattern is split over two groups, which
    leaves every weighted sum unchanged). Returns (first row, size) per group.
    """
    ns = order.shape[0]
    first = np.empty(ns, np.int64)
    counts = np.zeros(ns, np.int64)
    g = -1
    for r in range(ns):
        s = order[r]
        new = True
        if g >= 0 and hashes[s] == hashes[first[g]]:
            f = first[g]
            length = indptr[s + 1] - indptr[s]
            same = length == indptr[f + 1] - indptr[f]
            if same:
                for q in range(length):
                    if idx[indptr[s] + q] != idx[indptr[f] + q]:
                        same = False
                        break
            new = not same
        if new:
            g += 1
            first[g] = s
        counts[g] += 1
    return first[: g + 1], counts[: g + 1]


@njit(cache=True, parallel=True)
def csr_take(indptr, idx, rows, new_ptr, out):
    """Copy the active-unit lists of *rows* into *out* at offsets *new_ptr*."""
    for r in prange(rows.shape[0]):
        s = rows[r]
        a = indptr[s]
        for q in range(indptr[s + 1] - a):
            out[new_ptr[r] + q] = idx[a + q]
