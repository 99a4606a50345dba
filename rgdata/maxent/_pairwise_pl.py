"""numba kernel of the pseudo-log-likelihood for sparse 0/1 data.

Patterns are stored as lists of active units (CSR: ``ptr``, ``idx``) with a
weight each (pattern frequency), so one evaluation costs O(T N Kbar) for
Kbar active units per pattern instead of O(T N^2).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


def pl_objective_01(h, J, ptr, idx, w, n_chunks):
    """Negative pseudo-log-likelihood per sample and its gradient pieces.

    Returns ``(f, g_h (N,), G (N, N))`` with ``G = X^T R`` (R = x - sigmoid(field));
    the gradient with respect to a symmetric J_ij (i<j) is ``-(G_ij + G_ji)``.
    The kernel returns one partial sum per chunk of patterns, added here in a
    fixed order, so the result does not depend on the number of threads (a
    sum inside a parallel numba function becomes a parallel reduction whose
    order does).
    """
    f_part, gh, gm = _pl_parts_01(h, J, ptr, idx, w, n_chunks)
    return float(np.sum(f_part)), gh.sum(0), gm.sum(0)


@njit(cache=True, parallel=True)
def _pl_parts_01(h, J, ptr, idx, w, n_chunks):
    """Per-chunk partial sums of :func:`pl_objective_01` (f, g_h, G)."""
    n_pat = w.shape[0]
    n = h.shape[0]
    f_part = np.zeros(n_chunks)
    gh = np.zeros((n_chunks, n))
    gm = np.zeros((n_chunks, n, n))
    bounds = np.linspace(0, n_pat, n_chunks + 1).astype(np.int64)
    for c in prange(n_chunks):
        field = np.empty(n)
        on = np.zeros(n, np.int8)
        r = np.empty(n)
        for t in range(bounds[c], bounds[c + 1]):
            wt = w[t]
            for i in range(n):
                field[i] = h[i]
            for p in range(ptr[t], ptr[t + 1]):
                a = idx[p]
                on[a] = 1
                for i in range(n):
                    field[i] += J[a, i]
            for i in range(n):
                hi = field[i]
                # softplus and sigmoid, overflow-safe
                if hi > 0:
                    sp = hi + np.log1p(np.exp(-hi))
                    sg = 1.0 / (1.0 + np.exp(-hi))
                else:
                    e = np.exp(hi)
                    sp = np.log1p(e)
                    sg = e / (1.0 + e)
                f_part[c] -= wt * (on[i] * hi - sp)
                r[i] = wt * (on[i] - sg)
                gh[c, i] += r[i]
            for p in range(ptr[t], ptr[t + 1]):
                a = idx[p]
                for i in range(n):
                    gm[c, a, i] += r[i]
                on[a] = 0
    return f_part, gh, gm


def to_csr(x01: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Active-unit lists of each row of a 0/1 array as CSR (ptr, idx)."""
    on = np.ascontiguousarray(np.asarray(x01) > 0)
    counts = _row_counts(on)
    ptr = np.zeros(on.shape[0] + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    idx = np.empty(ptr[-1], np.int64)
    _fill_csr(on, ptr, idx)
    return ptr, idx


@njit(cache=True, parallel=True)
def _row_counts(on):
    counts = np.zeros(on.shape[0], np.int64)
    for t in prange(on.shape[0]):
        c = 0
        for i in range(on.shape[1]):
            c += on[t, i]
        counts[t] = c
    return counts


@njit(cache=True, parallel=True)
def _fill_csr(on, ptr, idx):
    for t in prange(on.shape[0]):
        p = ptr[t]
        for i in range(on.shape[1]):
            if on[t, i]:
                idx[p] = i
                p += 1
