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


@njit(cache=True, parallel=True)
def csr_moments(indptr, idx, w, n, n_parts):
    """Weighted sums ``Σ_s w_s x_i`` (N,) and ``Σ_s w_s x_i x_j`` (N, N), upper triangle."""
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
    return m.sum(0), pairs.sum(0)
