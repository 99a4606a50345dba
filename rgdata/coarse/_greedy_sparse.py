"""Exact greedy pairing over top-k candidate edges, with lazy refill.

The dense path (:func:`rgdata.coarse._prg_pairing.greedy_pairs`) needs the
whole ``n x n`` similarity matrix. Here each unit keeps only its ``k`` best
partners (:func:`rgdata.coarse._topk.topk_candidates`, memory ``O(n k)``) and
the greedy rule runs on a priority queue holding, for every unpaired unit,
its best candidate not yet known to be paired. Edges are ordered by the same
total order as the dense path: larger value first; equal values by the
smaller index ``i`` of the edge ``(i, j)``, ``i < j``, then by ``j``.

Why it is exact: a unit's list is the first ``k`` of its row (in that order)
over a set of units containing every unit still unpaired, so its first
unpaired entry is its best edge to an unpaired unit. The queue entry of every
unpaired unit is at least as good as that best edge, so an entry whose two
ends are unpaired when it reaches the top of the queue is the best remaining
edge of the whole matrix, which is what greedy pairing takes next. When all
of a unit's candidates are paired, its row is recomputed against the
unpaired units only (lazy refill), which restores the property. The result
is therefore the dense greedy pairing whenever the similarities are the same
numbers.
"""

from __future__ import annotations

import heapq

import numpy as np

from ._topk import BlockFn, check_k, select_topk, topk_candidates

__all__ = ["sparse_greedy_pairs"]


def sparse_greedy_pairs(
    block: BlockFn,
    n: int,
    k: int = 32,
    block_size: int = 1024,
    *,
    candidates: tuple[np.ndarray, np.ndarray] | None = None,
    stats: dict | None = None,
) -> np.ndarray:
    """Exact greedy maximum-similarity pairing without the dense matrix.

    Parameters
    ----------
    block : callable
        ``block(rows, cols)`` returns the similarities of units *rows* with
        units *cols* (sorted int64 index arrays), shape ``(len(rows), len(cols))``.
    n : int
        Number of units.
    k : int, default 32
        Candidates kept per unit (``1 <= k <= n - 1``; clipped for ``n <= 2``).
        Any *k* gives the same pairs; a small *k* saves memory but needs more
        refills.
    block_size : int, default 1024
        Units per block of the candidate search.
    candidates : (idx, val), optional
        Precomputed :func:`~rgdata.coarse._topk.topk_candidates` (computed
        elsewhere, e.g. on a dask cluster); *block* is then used for refills only.
    stats : dict, optional
        If given, filled with ``n_refills`` (rows recomputed) and ``k``.

    Returns
    -------
    ndarray of int64, shape (n // 2, 2)
        Pairs ``(i, j)``, ``i < j``, in greedy order, equal to
        :func:`rgdata.coarse._prg_pairing.greedy_pairs` on the same matrix.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[1, .2, .7, .1], [.2, 1, .4, .3], [.7, .4, 1, .5], [.1, .3, .5, 1]])
    >>> sparse_greedy_pairs(lambda r, s: c[np.ix_(r, s)], 4, k=1).tolist()
    [[0, 2], [1, 3]]
    """
    if n < 2:
        return np.empty((0, 2), np.int64)
    k = check_k(min(k, n - 1) if n <= 2 else k, n)
    idx, val = topk_candidates(block, n, k, block_size) if candidates is None else candidates
    lists_j: list[np.ndarray] = list(idx)
    lists_v: list[np.ndarray] = list(val)
    # a list built over every unit covers the whole row only if k == n - 1
    complete = np.full(n, k >= n - 1)
    ptr = np.zeros(n, dtype=np.int64)
    paired = np.zeros(n, dtype=bool)
    heap: list[tuple[float, int, int, int]] = []
    n_refills = 0

    def push(u: int) -> bool:
        """Push *u*'s best candidate not yet paired; False if *u* has no unpaired partner."""
        nonlocal n_refills
        js, p = lists_j[u], int(ptr[u])
        while p < js.size and paired[js[p]]:
            p += 1
        if p == js.size:
            if complete[u]:
                return False
            free = np.flatnonzero(~paired)
            free = free[free != u]
            if free.size == 0:
                return False
            row = np.asarray(block(np.array([u], np.int64), free), dtype=np.float64)
            lists_j[u], lists_v[u] = (a[0] for a in select_topk(row, free[None, :], k))
            complete[u] = free.size <= k
            n_refills += 1
            js, p = lists_j[u], 0
        ptr[u] = p
        j = int(js[p])
        heapq.heappush(heap, (-float(lists_v[u][p]), min(u, j), max(u, j), u))
        return True

    for u in range(n):
        push(u)
    out = []
    n_max = n // 2
    while heap and len(out) < n_max:
        _, a, b, u = heapq.heappop(heap)
        if paired[u]:
            continue
        partner = b if u == a else a
        if paired[partner]:
            push(u)
            continue
        paired[a] = paired[b] = True
        out.append((a, b))
    if stats is not None:
        stats.update(n_refills=n_refills, k=k)
    if not out:
        return np.empty((0, 2), np.int64)
    return np.array(out, dtype=np.int64)
