"""numba kernels of the pseudo-log-likelihood: sparse 0/1 data, and dense patterns.

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


@njit(cache=True)
def pl_dense_terms(field, x, w, pm1):
    """Negative pseudo-log-likelihood of dense patterns; *field* becomes the residuals.

    *field* ``(T, N)`` holds each unit's local field in each pattern, *x* the
    patterns (0/1, or -1/+1 when *pm1*), *w* the pattern weights. Returns
    ``-Σ_t w_t Σ_i (x_ti a_ti - log Z_ti)`` with ``log Z = softplus(a)`` (0/1) or
    ``log 2cosh(a)`` (±1) and overwrites ``field[t, i]`` by
    ``w_t (x_ti - E[x_ti | rest])`` (sigmoid or tanh). One pass, one exp and
    one log1p per entry, serial (so the sum's order is fixed).
    """
    n_pat, n = field.shape
    f = 0.0
    for t in range(n_pat):
        ft = 0.0
        wt = w[t]
        for i in range(n):
            a = field[t, i]
            xi = x[t, i]
            if pm1:
                e = np.exp(-2.0 * abs(a))
                log_z = abs(a) + np.log1p(e)
                mean = (1.0 - e) / (1.0 + e)
                if a < 0:
                    mean = -mean
            else:
                e = np.exp(-abs(a))
                log_z = max(a, 0.0) + np.log1p(e)
                mean = 1.0 / (1.0 + e) if a >= 0 else e / (1.0 + e)
            ft += xi * a - log_z
            field[t, i] = wt * (xi - mean)
        f -= wt * ft
    return f


#: dtypes whose arrays to_csr reads without a boolean copy
_IN_PLACE = (np.dtype(np.int8), np.dtype(np.uint8), np.dtype(np.bool_))


def to_csr(x01: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Active-unit lists of each row of a 0/1 array as CSR (ptr, idx): the entries above 0.

    An int8, uint8 or bool array is read in place (no boolean copy: 4 million
    Monte Carlo samples of 160 units are 670 MB).
    """
    on = np.asarray(x01)
    on = np.ascontiguousarray(on if on.dtype in _IN_PLACE else on > 0)
    if on.dtype == np.bool_:
        on = on.view(np.uint8)
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
            c += on[t, i] > 0
        counts[t] = c
    return counts


@njit(cache=True, parallel=True)
def _fill_csr(on, ptr, idx):
    for t in prange(on.shape[0]):
        p = ptr[t]
        for i in range(on.shape[1]):
            if on[t, i] > 0:
                idx[p] = i
                p += 1
