"""Pairing kernels for real-space PRG: exact greedy maximum-correlation pairing.

The greedy rule (Meshulam et al. 2019): take the largest remaining
correlation, pair its two variables, remove both, repeat. Done naively
(re-scanning the whole matrix for every pair) this is cubic in the number of
variables. Here the edges are taken in bands, from the top of the spectrum of
values down, while a mask marks the variables still unpaired:

* few remaining variables (at most ``_FULL_SORT_MAX_EDGES`` edges among them):
  every upper-triangle edge among them is sorted (one stable sort);
* otherwise a threshold ``t`` is estimated from a fixed pseudo-random sample
  of entries so that roughly ``8 n`` edges lie above it; all edges ``> t``
  among the remaining variables are gathered exactly (two scans of the
  matrix: count, then fill), sorted and matched greedily. Since every edge
  above ``t`` precedes every edge at or below ``t`` in the greedy order, this
  is an exact prefix of the greedy run;
* when no edge lies above ``t`` (``t`` is the largest remaining value, shared
  by so many edges that it fills the sample's top quantile: tied data such as
  binary spikes), the edges equal to that value are matched in place by one
  row-major scan of the matrix, which is their greedy order; nothing is
  gathered.

The loop repeats on the variables left unmatched (all their mutual edges lie
at or below the band just processed). The matrix is never copied beyond the
small full-sort case, so the extra memory is ``O(n)`` (the gathered band is
about ``8 n`` edges), whatever the number of ties.

Ties are broken deterministically: among equal correlations the edge
``(i, j)``, ``i < j``, with the smallest ``i`` (then the smallest ``j``) in
the current variable order comes first (a stable sort of the row-major upper
triangle). Only exact ties depend on the input order.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["greedy_pairs", "random_pairs", "pairing_extra_bytes"]

_FULL_SORT_MAX_EDGES = 500_000
_EDGES_PER_VARIABLE = 8
_MAX_SAMPLE = 200_000  # entries sampled to set a band's threshold
#: bytes per gathered edge: row, column, value and sort order (int64/float64)
_BYTES_PER_EDGE = 40


def pairing_extra_bytes(n: int) -> int:
    """Upper bound of the memory :func:`greedy_pairs` allocates besides *corr*, in bytes.

    The full-sort case holds at most ``min(_FULL_SORT_MAX_EDGES, n (n - 1) / 2)``
    edges (and a sub-matrix of that many entries); a threshold band holds about
    ``_EDGES_PER_VARIABLE * n`` edges (counted twice for sampling noise);
    the threshold's sample holds at most ``_MAX_SAMPLE`` entries and their
    indices (about 80 bytes each, with temporaries). Up to
    ``_FULL_SORT_MAX_EDGES`` edges there is no band and no sample.
    """
    # the full sort holds every upper-triangle edge, at most _FULL_SORT_MAX_EDGES of them
    n_edges = n * (n - 1) // 2
    small = min(_FULL_SORT_MAX_EDGES, n_edges) * (_BYTES_PER_EDGE + 16)
    if n_edges <= _FULL_SORT_MAX_EDGES:  # one full sort, no band, no sample
        return int(small + 64 * n)
    n_sample = min(_MAX_SAMPLE, max(1000, n_edges // 10))  # as _threshold draws it
    band = 2 * _EDGES_PER_VARIABLE * n * _BYTES_PER_EDGE + 80 * n_sample
    return int(max(small, band) + 64 * n)


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


@njit(cache=True)
def _count_above(corr, rem, threshold):  # pragma: no cover - compiled
    """Number of edges ``(rem[a], rem[b])``, ``a < b``, with a value above *threshold*."""
    m = rem.shape[0]
    count = 0
    for a in range(m):
        row = corr[rem[a]]
        for b in range(a + 1, m):
            if row[rem[b]] > threshold:
                count += 1
    return count


@njit(cache=True)
def _gather_above(corr, rem, threshold, count):  # pragma: no cover - compiled
    """The *count* edges above *threshold*, in row-major order of positions in *rem*."""
    ii = np.empty(count, np.int64)
    jj = np.empty(count, np.int64)
    vals = np.empty(count, np.float64)
    k = 0
    m = rem.shape[0]
    for a in range(m):
        row = corr[rem[a]]
        for b in range(a + 1, m):
            v = row[rem[b]]
            if v > threshold:
                ii[k] = a
                jj[k] = b
                vals[k] = v
                k += 1
    return ii, jj, vals


@njit(cache=True)
def _max_edge(corr, rem):  # pragma: no cover - compiled
    m = rem.shape[0]
    best = -np.inf
    for a in range(m):
        row = corr[rem[a]]
        for b in range(a + 1, m):
            v = row[rem[b]]
            if v > best:
                best = v
    return best


@njit(cache=True)
def _match_equal(corr, rem, value):  # pragma: no cover - compiled
    """Greedy matching over the edges equal to *value*, in row-major order (their greedy order)."""
    m = rem.shape[0]
    used = np.zeros(m, np.bool_)
    out = np.empty((m // 2, 2), np.int64)
    k = 0
    for a in range(m):
        if used[a]:
            continue
        row = corr[rem[a]]
        for b in range(a + 1, m):
            if not used[b] and row[rem[b]] == value:
                used[a] = True
                used[b] = True
                out[k, 0] = a
                out[k, 1] = b
                k += 1
                break
    return out[:k]


def _all_edges(sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = sub.shape[0]
    ii, jj = np.triu_indices(m, 1)
    order = np.argsort(-sub[ii, jj], kind="stable")
    return ii[order], jj[order]


def _threshold(corr: np.ndarray, rem: np.ndarray) -> float:
    m = rem.size
    n_edges = m * (m - 1) // 2
    rng = np.random.default_rng(0)  # only affects speed, never the result
    n_sample = min(_MAX_SAMPLE, max(1000, n_edges // 10))
    i = rng.integers(0, m, n_sample)
    j = rng.integers(0, m, n_sample)
    keep = i != j
    vals = corr[rem[i[keep]], rem[j[keep]]]
    frac = min(1.0, _EDGES_PER_VARIABLE * m / n_edges)
    return float(np.quantile(vals, 1.0 - frac))


def _band(corr: np.ndarray, rem: np.ndarray) -> np.ndarray:
    """Greedy pairs (positions in *rem*) formed by the top band of the remaining edges."""
    m = rem.size
    if m * (m - 1) // 2 <= _FULL_SORT_MAX_EDGES:
        ii, jj = _all_edges(corr[np.ix_(rem, rem)])
        return _greedy_match(ii, jj, m)
    threshold = _threshold(corr, rem)
    count = _count_above(corr, rem, threshold)
    if count == 0:  # the top value is tied over the sample's top quantile
        return _match_equal(corr, rem, _max_edge(corr, rem))
    ii, jj, vals = _gather_above(corr, rem, threshold, count)
    order = np.argsort(-vals, kind="stable")
    del vals
    return _greedy_match(ii[order], jj[order], m)


def greedy_pairs(corr: np.ndarray) -> np.ndarray:
    """Exact greedy pairing of the most correlated variables.

    Parameters
    ----------
    corr : ndarray, shape (n, n)
        Symmetric similarity matrix (only the strict upper triangle is read);
        must be finite. It is read in place, never copied (extra memory
        ``O(n)``, see :func:`pairing_extra_bytes`).

    Returns
    -------
    ndarray of int64, shape (n // 2, 2)
        Pairs ``(i, j)`` with ``i < j``, in the order the greedy rule formed
        them (most correlated first; equal values: smallest ``i``, then
        smallest ``j``). With odd ``n`` one variable is left out.
    """
    n = corr.shape[0]
    remaining = np.arange(n)
    found = []
    while remaining.size >= 2:
        local = _band(corr, remaining)
        found.append(remaining[local])
        used = np.zeros(remaining.size, bool)
        used[local.ravel()] = True
        remaining = remaining[~used]
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
