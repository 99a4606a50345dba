"""Greedy pairing: the banded, mask-based implementation against references.

``old_greedy_pairs`` is the implementation before the tied-data rewrite (it
sorted every remaining edge when the top value was tied, O(n^2) memory); it
is kept here, slow and plain, as the reference the new one must reproduce
pair for pair.
"""

import tracemalloc

import numpy as np
import pytest

from rgdata.coarse import _prg_pairing
from rgdata.coarse._prg_pairing import greedy_pairs, pairing_extra_bytes


def _old_all_edges(sub):
    ii, jj = np.triu_indices(sub.shape[0], 1)
    order = np.argsort(-sub[ii, jj], kind="stable")
    return ii[order], jj[order]


def _old_edges_above(sub, threshold):
    ii, jj = np.triu_indices(sub.shape[0], 1)
    vals = sub[ii, jj]
    keep = vals > threshold
    ii, jj, vals = ii[keep], jj[keep], vals[keep]
    order = np.argsort(-vals, kind="stable")
    return ii[order], jj[order]


def _old_threshold(sub):
    m = sub.shape[0]
    n_edges = m * (m - 1) // 2
    rng = np.random.default_rng(0)
    n_sample = min(200_000, max(1000, n_edges // 10))
    i = rng.integers(0, m, n_sample)
    j = rng.integers(0, m, n_sample)
    keep = i != j
    frac = min(1.0, 8 * m / n_edges)
    return float(np.quantile(sub[i[keep], j[keep]], 1.0 - frac))


def _old_match(ii, jj, n):
    used = np.zeros(n, bool)
    out = []
    for i, j in zip(ii, jj, strict=True):
        if not used[i] and not used[j]:
            used[i] = used[j] = True
            out.append((i, j))
            if len(out) == n // 2:
                break
    return np.array(out, dtype=np.int64).reshape(-1, 2)


def old_greedy_pairs(corr, full_sort_max_edges=500_000):
    """The previous implementation: threshold bands, all edges sorted when the top is tied."""
    n = corr.shape[0]
    remaining = np.arange(n)
    sub = corr
    found = []
    while remaining.size >= 2:
        m = remaining.size
        if m * (m - 1) // 2 <= full_sort_max_edges:
            ii, jj = _old_all_edges(sub)
        else:
            ii, jj = _old_edges_above(sub, _old_threshold(sub))
            if ii.size == 0:
                ii, jj = _old_all_edges(sub)
        local = _old_match(ii, jj, m)
        found.append(remaining[local])
        used = np.zeros(m, bool)
        used[local.ravel()] = True
        remaining = remaining[~used]
        if remaining.size >= 2:
            sub = corr[np.ix_(remaining, remaining)]
    if not found:
        return np.empty((0, 2), np.int64)
    return np.sort(np.concatenate(found).astype(np.int64), axis=1)


def brute_force_greedy(corr):
    """Re-scan for the best remaining edge each time; ties: smallest i, then smallest j."""
    c = np.asarray(corr, dtype=float)
    n = c.shape[0]
    free = np.ones(n, bool)
    pairs = []
    while free.sum() >= 2:
        best = None
        for i in range(n):
            for j in range(i + 1, n):
                if free[i] and free[j] and (best is None or c[i, j] > best[0]):
                    best = (c[i, j], i, j)
        free[best[1]] = free[best[2]] = False
        pairs.append(best[1:])
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def binary_corr(rng, n, t, p, dtype=np.float32, decimals=6):
    """Rounded correlations of binary spikes, as prg computes them (many exact ties)."""
    x = (rng.random((n, t)) < p).astype(np.float64)
    z = x - x.mean(axis=1, keepdims=True)
    sd = z.std(axis=1)
    z /= np.where(sd > 0, sd, np.inf)[:, None]
    corr = (z @ z.T / t).astype(dtype)
    return np.round(corr, decimals)


@pytest.mark.parametrize("n", [2, 5, 8, 11])
def test_matches_brute_force_on_tiny_tied_matrices(n, rng, monkeypatch):
    monkeypatch.setattr(_prg_pairing, "_FULL_SORT_MAX_EDGES", 3)  # banded path even here
    for _ in range(20):
        c = rng.integers(0, 3, (n, n)).astype(float)  # three values: ties everywhere
        c = np.triu(c, 1) + np.triu(c, 1).T
        np.testing.assert_array_equal(greedy_pairs(c), brute_force_greedy(c))


@pytest.mark.parametrize("max_edges", [500_000, 200, 10])
def test_same_pairs_as_previous_implementation_on_tied_binary_data(rng, monkeypatch, max_edges):
    monkeypatch.setattr(_prg_pairing, "_FULL_SORT_MAX_EDGES", max_edges)
    for n, t, p in ((60, 300, 0.02), (151, 200, 0.01), (120, 500, 0.03)):
        c = binary_corr(rng, n, t, p)
        assert np.unique(c).size < c.size // 10  # tied data
        new = greedy_pairs(c)
        np.testing.assert_array_equal(new, old_greedy_pairs(c, max_edges))
    # and without ties (continuous correlations)
    a = rng.normal(size=(131, 131))
    c = (a + a.T) / 2
    np.testing.assert_array_equal(greedy_pairs(c), old_greedy_pairs(c, max_edges))


def test_fully_tied_matrix_pairs_in_row_major_order(monkeypatch):
    monkeypatch.setattr(_prg_pairing, "_FULL_SORT_MAX_EDGES", 10)
    c = np.zeros((9, 9), dtype=np.float32)
    np.testing.assert_array_equal(greedy_pairs(c), [[0, 1], [2, 3], [4, 5], [6, 7]])


def test_tied_path_memory_is_linear(monkeypatch):
    # all edges equal: the previous code sorted all n^2/2 edges here (~96 MB at n = 2000);
    # now the tied band is matched in place. Numba's own buffers are O(n) and untracked.
    monkeypatch.setattr(_prg_pairing, "_FULL_SORT_MAX_EDGES", 1000)
    n = 2000
    c = np.full((n, n), 0.25, dtype=np.float32)
    c[0, 5] = c[5, 0] = 0.5
    greedy_pairs(c[:50, :50])  # compile outside the measurement
    tracemalloc.start()
    try:
        pairs = greedy_pairs(c)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pairs.shape == (n // 2, 2)
    np.testing.assert_array_equal(pairs[:2], [[0, 5], [1, 2]])
    # the threshold's sample (<= 16 MB) and O(n) index arrays; all edges: ~48 n^2 = 190 MB
    assert peak < pairing_extra_bytes(n) < 20e6
