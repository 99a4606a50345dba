"""Pairing kernels for real-space PRG: exact greedy maximum-correlation pairing.

The greedy rule (Meshulam et al. 2019): take the largest remaining
correlation, pair its two variables, remove both, repeat. Done naively
(re-scanning the whole matrix for every pair) this is cubic in the number of
variables. Here the candidate edges are sorted once:

* small matrices: every upper-triangle edge is sorted (one stable sort);
* large matrices: a threshold ``t`` is estimated from a fixed pseudo-random
  sample of entries so that roughly ``8 n`` edges lie above it; all edges
  ``> t`` are gathered exactly (row chunks), sorted and matched greedily.
  Since every edge above ``t`` precedes every edge at or below ``t`` in the
  greedy order, this is an exact prefix of the greedy run. The variables left
  unmatched are then paired by recursing on their sub-matrix (all of whose
  edges are ``<= t``).

Ties are broken deterministically: among equal correlations the edge
``(i, j)``, ``i < j``, with the smallest ``i`` (then the smallest ``j``) in
the current variable order comes first (a stable sort of the row-major upper
triangle). Only exact ties depend on the input order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["greedy_pairs", "random_pairs"]

_FULL_SORT_MAX_EDGES = 500_000
_EDGES_PER_VARIABLE = 8
_ROW_CHUNK = 512


@njit(cache=True)
def _greedy_match(ii, jj, n):  # pragma: no cover - compiled
    """Greedy matching over edges already sorted best-first."""
    used = np.zeros(n, np.bool_)
    n_max = n // 2
    out = np.empty((n_max, 2), np.int64)
    k = 0
    for e in range(ii.shape[0]):
        i = ii[e]
        j = jj[e]
        if not used[i] and not used[j]:
            used[i] = True
            used[j] = True
            out[k, 0] = i
            out[k, 1] = j
            k += 1
            if k == n_max:
                break
    return out[:k]


def _all_edges(sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = sub.shape[0]
    ii, jj = np.triu_indices(m, 1)
    order = np.argsort(-sub[ii, jj], kind="stable")
    return ii[order], jj[order]


def _edges_above(sub: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    m = sub.shape[0]
    cols = np.arange(m)
    rows_out, cols_out, vals_out = [], [], []
    for r0 in range(0, m, _ROW_CHUNK):
        r1 = min(m, r0 + _ROW_CHUNK)
        block = sub[r0:r1]
        mask = block > threshold
        mask &= cols[None, :] > np.arange(r0, r1)[:, None]
        r, c = np.nonzero(mask)
        rows_out.append(r + r0)
        cols_out.append(c)
        vals_out.append(block[r, c])
    ii = np.concatenate(rows_out)
    jj = np.concatenate(cols_out)
    order = np.argsort(-np.concatenate(vals_out), kind="stable")
    return ii[order], jj[order]


def _threshold(sub: np.ndarray) -> float:
    m = sub.shape[0]
    n_edges = m * (m - 1) // 2
    rng = np.random.default_rng(0)  # only affects speed, never the result
    n_sample = min(200_000, max(1000, n_edges // 10))
    i = rng.integers(0, m, n_sample)
    j = rng.integers(0, m, n_sample)
    keep = i != j
    vals = sub[i[keep], j[keep]]
    frac = min(1.0, _EDGES_PER_VARIABLE * m / n_edges)
    return float(np.quantile(vals, 1.0 - frac))


def greedy_pairs(corr: np.ndarray) -> np.ndarray:
    """Exact greedy pairing of the most correlated variables.

    Parameters
    ----------
    corr : ndarray, shape (n, n)
        Symmetric similarity matrix (only the strict upper triangle is read);
        must be finite.

    Returns
    -------
    ndarray of int64, shape (n // 2, 2)
        Pairs ``(i, j)`` with ``i < j``, in the order the greedy rule formed
        them (most correlated first). With odd ``n`` one variable is left out.
    """
    n = corr.shape[0]
    remaining = np.arange(n)
    sub = corr
    found = []
    while remaining.size >= 2:
        m = remaining.size
        if m * (m - 1) // 2 <= _FULL_SORT_MAX_EDGES:
            ii, jj = _all_edges(sub)
        else:
            ii, jj = _edges_above(sub, _threshold(sub))
            if ii.size == 0:  # degenerate (many equal values): sort everything
                ii, jj = _all_edges(sub)
        local = _greedy_match(ii, jj, m)
        found.append(remaining[local])
        used = np.zeros(m, bool)
        used[local.ravel()] = True
        remaining = remaining[~used]
        if remaining.size >= 2:
            sub = corr[np.ix_(remaining, remaining)]
    if not found:
        return np.empty((0, 2), np.int64)
    pairs = np.concatenate(found).astype(np.int64)
    return np.sort(pairs, axis=1)


def random_pairs(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pair ``n`` variables at random (a random permutation read two by two).

    With odd ``n`` the last variable of the permutation is left out.
    """
    perm = rng.permutation(n)
    pairs = perm[: 2 * (n // 2)].reshape(-1, 2)
    return np.sort(pairs, axis=1).astype(np.int64)
