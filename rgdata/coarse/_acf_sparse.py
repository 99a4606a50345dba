"""Lagged products of sparse integer rows from their non-zero entries only.

Spike trains and the low levels of a PRG ladder over them are mostly zeros
(the retina: 3.6 % of its bins at level 0, 17 % at level 3). For integer rows
``x`` with mean ``m`` the centred lagged product over a segment of length
``L`` splits into sums that only the non-zero entries feed::

    sum_{s<L-t} (x_s - m)(x_{s+t} - m) = P_t - m (A_t + B_t) + m^2 (L - t),

with ``P_t = sum_s x_s x_{s+t}`` (pairs of non-zeros at most ``max_lag``
apart), ``A_t`` the sum of all but the last ``t`` values and ``B_t`` of all
but the first ``t``. ``P``, ``A`` and ``B`` are integer sums, accumulated
exactly in int64, so only the last line rounds (float64). The cost is
``nnz (1 + d max_lag)`` for a density ``d`` of non-zeros, against
``L max_lag`` for the direct products and ``~L log2(L)`` for an FFT;
:func:`sparse_cost` states it in the units of
:func:`rgdata.coarse._prg_stats.acf_method`, which picks the cheapest.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["sparse_lagged_products", "sparse_cost", "SCAN_COST", "PAIR_COST"]

#: per sample: the scan for non-zeros (branching, scalar), in the units of the
#: FFT/direct rule of :func:`rgdata.coarse._prg_stats.acf_method`
SCAN_COST = 8.0
#: per pair of non-zeros at most ``max_lag`` apart (a scattered integer add);
#: both measured on the retina's levels, 2026-12-05 (``benchmarks/bench_prg.py --acf``):
#: sparse 0.05 s against the FFT's 0.40 s at level 0 (3.6 % non-zeros, 128 lags),
#: 0.04 s against 0.12 s at 13 %, and slower than the FFT from ~20 % on
PAIR_COST = 16.0


def sparse_cost(density: float, max_lag: int) -> float:
    """Cost per sample of :func:`sparse_lagged_products` (units of :func:`acf_method`'s rule)."""
    return SCAN_COST + PAIR_COST * density * (1.0 + density * max_lag)


@njit(cache=True, nogil=True)
def sparse_lagged_products(raw, means, t0, t1, max_lag):  # pragma: no cover - compiled
    """``out[i, t] = sum_{s=t0}^{t1-1-t} d_s d_{s+t}``, ``d = raw[i] - means[i]``.

    The same quantity as :func:`rgdata.coarse._prg_kernels.lagged_products`,
    for integer *raw*, from its non-zero entries (lags beyond the segment
    are 0).
    """
    n = raw.shape[0]
    length = t1 - t0
    out = np.zeros((n, max_lag + 1))
    pos = np.empty(length, dtype=np.int64)
    val = np.empty(length, dtype=np.int64)
    prod = np.zeros(max_lag + 1, dtype=np.int64)
    top = min(max_lag, length - 1)
    for i in range(n):
        k = 0
        tot = 0
        for s in range(t0, t1):
            v = np.int64(raw[i, s])
            if v != 0:
                pos[k] = s
                val[k] = v
                k += 1
                tot += v
        prod[:] = 0
        for a in range(k):
            pa = pos[a]
            va = val[a]
            for b in range(a, k):
                lag = pos[b] - pa
                if lag > max_lag:
                    break
                prod[lag] += va * val[b]
        m = means[i]
        head = 0  # the first t values
        tail = 0  # the last t values
        for t in range(top + 1):
            if t > 0:
                head += np.int64(raw[i, t0 + t - 1])
                tail += np.int64(raw[i, t1 - t])
            rest = (tot - tail) + (tot - head)
            out[i, t] = prod[t] - m * rest + m * m * (length - t)
    return out
