"""Approximate greedy pairing for very many units: approximate nearest-neighbour candidates.

The exact sparse path (:mod:`rgdata.coarse._greedy_sparse`) still computes
every correlation once (``N^2 T`` multiply-adds) to find each unit's top-k
partners. Here the candidates come from an approximate nearest-neighbour
graph instead (pynndescent's NN-descent, ``O(N^1.1 T)`` empirically):

1. Each row is turned into the unit vector ``u_i = z_i / sqrt(T)`` (``z_i``
   the row's z-score; on the exact integer path
   ``(T x_i - S_i) / (sqrt(T) spread_i)``), so that
   ``|u_i - u_j|^2 = 2 - 2 r_ij``: the euclidean nearest neighbours are the
   most correlated partners (signed, as greedy pairing orders them).
   pynndescent's ``euclidean`` metric is used (its most optimized one; the
   ``correlation`` metric gives the same order but re-centres every pair).
2. NN-descent (seeded, one thread so the graph is reproducible) returns
   ``k`` approximate neighbours per unit; the graph is symmetrized (an edge
   found from either end is a candidate of both).
3. The value of every candidate edge is recomputed exactly as the dense path
   computes it (:func:`edge_similarity`, the formula of
   :func:`rgdata.coarse._prg_similarity.similarity`, rounded to
   ``TIE_DECIMALS``), so the greedy order is the exact order of those edges.
4. The greedy pairing with lazy refill (:func:`sparse_greedy_pairs`) runs on
   these candidates. A unit whose candidates are all paired is refilled
   **exactly**: its row against the free units (``O(N T)``, as on the exact
   path), so no unit is left unpaired for lack of candidates.

The result is the greedy pairing of the candidate graph, not of the whole
matrix: a pair is missed when NN-descent misses the edge. How often is
measured, never assumed (:func:`pairing_quality`: a sample of the pairs
checked exactly against all the units, :mod:`rgdata.coarse._ann_check`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_random_state
from ._ann_check import best_free, check_in_blocks
from ._greedy_sparse import sparse_greedy_pairs
from ._prg_similarity import PairingRows, finish_correlations, similarity
from ._topk import check_k

__all__ = [
    "APPROX_OPTIONS",
    "require_ann",
    "unit_vectors",
    "edge_similarity",
    "knn_edges",
    "candidate_lists",
    "ann_candidates",
    "ann_pairs",
    "pairing_quality",
    "ann_pairing_bytes",
]

#: settings of the approximate mode: candidates per unit, units whose pairs the quality
#: check verifies (_ann_check), the greedy-choice fraction below which a warning is given,
#: the smallest level (in variables) paired approximately (smaller levels are paired
#: exactly: cheap), and the dimension of the random projection searched on the dask path
#: (_ann_dask)
APPROX_OPTIONS: dict = {
    "k": 32,
    "n_sample": 2000,
    "warn_below": 0.9,
    "min_units": 256,
    "sketch_dim": 1024,
}
#: memory of one approximate pairing step besides the rows (see ann_pairing_bytes): bytes per
#: unit and candidate (graph, symmetrized edge lists and their sort), and a fixed part
#: (NN-descent's working arrays and compiled code pages)
ANN_BYTES_PER_EDGE = 100
ANN_FIXED_BYTES = 300 * 2**20
#: values gathered per chunk of edges (float64 temporaries of about 64 MiB)
_EDGE_CHUNK_VALUES = 2**23


def require_ann() -> Any:
    """Import pynndescent (the ``ann`` extra) or raise an ImportError saying how to install it."""
    try:
        import pynndescent  # noqa: PLC0415 (optional, heavy: imported only when used)
    except ImportError as exc:
        raise ImportError(
            "the approximate pairing mode needs pynndescent, which is not installed; "
            "install the extra with `pip install rgdata[ann]` (or `pip install pynndescent`), "
            "or use the exact pairing (pairing='correlation')"
        ) from exc
    return pynndescent


def ann_pairing_bytes(m: int, n_time: int, k: int | None = None) -> int:
    """Memory of one approximate pairing step of *m* rows besides the rows themselves (bytes).

    NN-descent's float32 unit vectors (``4 m T``), its graph and our candidate
    lists (``ANN_BYTES_PER_EDGE`` per unit and candidate, ``k + 1`` candidates)
    and a fixed ``ANN_FIXED_BYTES``. Calibrated on the peak RSS growth of
    :func:`ann_pairs` in a fresh process (2026-12-05: 300 MiB at 8,192 x 500,
    346 MiB at 8,192 x 2,000, 421 MiB at 16,384 x 2,000, 468 MiB at 32,768 x
    1,000; this formula gives 341, 388, 477 and 528 MiB).

    Examples
    --------
    >>> round(ann_pairing_bytes(16_384, 2_000) / 2**20)
    477
    """
    k = APPROX_OPTIONS["k"] if k is None else int(k)
    return int(4 * m * n_time + ANN_BYTES_PER_EDGE * m * (k + 1) + ANN_FIXED_BYTES)


def unit_vectors(rows: PairingRows) -> np.ndarray:
    """Rows as float32 unit vectors whose dot products are the correlations (``(m, T)``).

    Constant rows become zero vectors (correlation 0 with everything, as in
    :func:`~rgdata.coarse._prg_similarity.similarity`).

    Examples
    --------
    >>> from rgdata.coarse._prg_similarity import pairing_rows
    >>> u = unit_vectors(pairing_rows(np.array([[0, 1, 1, 0], [0, 1, 0, 0], [1, 0, 0, 1]])))
    >>> np.round((u @ u.T).astype(float), 4).tolist()
    [[1.0, 0.5774, -1.0], [0.5774, 1.0, -0.5774], [-1.0, -0.5774, 1.0]]
    """
    m, t_len = rows.values.shape
    out = np.empty((m, t_len), dtype=np.float32)
    step = max(1, _EDGE_CHUNK_VALUES // max(t_len, 1))
    for s in range(0, m, step):
        part = slice(s, min(s + step, m))
        v = rows.values[part].astype(np.float64)
        if rows.exact:
            spread = rows.spread[part]
            scale = np.divide(
                1.0, np.sqrt(t_len) * spread, out=np.zeros_like(spread), where=spread > 0
            )
            out[part] = (t_len * v - rows.sums[part, None]) * scale[:, None]
        else:
            out[part] = v / np.sqrt(t_len)
    return out


def edge_similarity(
    rows: PairingRows, i: np.ndarray, j: np.ndarray, other: PairingRows | None = None
) -> np.ndarray:
    """The correlations of the edges ``(i[e], j[e])``, as the dense path computes them.

    The formula of :func:`~rgdata.coarse._prg_similarity.similarity`,
    edge by edge: exact integers on the integer path (the same bits), float64
    products rounded to ``TIE_DECIMALS`` otherwise. With *other*, ``j``
    indexes its rows instead (edges between two sets of prepared rows).

    Examples
    --------
    >>> from rgdata.coarse._prg_similarity import pairing_rows
    >>> rows = pairing_rows(np.array([[0, 1, 1, 0], [0, 1, 0, 0], [1, 0, 0, 1]]))
    >>> edge_similarity(rows, np.array([0, 1]), np.array([1, 2])).tolist()
    [0.57735, -0.57735]
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    out = np.empty(i.size)
    step = max(1, _EDGE_CHUNK_VALUES // max(rows.n_time, 1))
    for s in range(0, i.size, step):
        a = rows.take(i[s : s + step])
        b = (rows if other is None else other).take(j[s : s + step])
        prod = np.einsum("et,et->e", a.values, b.values)
        out[s : s + step] = finish_correlations(prod, a, b, outer=False)
    return out


def _seed(random_state: Any) -> int:
    """The one integer a search draws from *random_state* (its NN-descent seed)."""
    return int(check_random_state(random_state).integers(2**31 - 1))


def knn_edges(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The undirected edges ``(lo, hi)``, ``lo < hi``, of NN-descent's *k*-neighbour graph.

    NN-descent (pynndescent, ``euclidean``, one thread: the same *seed* gives
    the same graph) on the rows of *vectors*; an edge found from either end
    is listed once, in increasing ``lo * m + hi`` order.
    """
    pynndescent = require_ann()
    m = vectors.shape[0]
    index = pynndescent.NNDescent(
        vectors,
        metric="euclidean",
        n_neighbors=k + 1,  # the unit itself comes first
        random_state=seed,
        n_jobs=1,
        compressed=True,
    )
    nbr = index.neighbor_graph[0]
    src = np.repeat(np.arange(m, dtype=np.int64), nbr.shape[1])
    dst = nbr.ravel().astype(np.int64)
    ok = (dst >= 0) & (dst != src)
    lo, hi = np.minimum(src[ok], dst[ok]), np.maximum(src[ok], dst[ok])
    key = np.unique(lo * m + hi)  # each undirected edge once
    return key // m, key % m


def candidate_lists(
    m: int, lo: np.ndarray, hi: np.ndarray, val: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each unit's partners among the edges ``(lo, hi)`` with values *val*, in greedy order.

    Best first (larger value, then smaller index), as
    :func:`~rgdata.coarse._greedy_sparse.sparse_greedy_pairs` reads them.
    """
    owner = np.concatenate([lo, hi])
    other = np.concatenate([hi, lo])
    value = np.concatenate([val, val])
    order = np.lexsort((other, -value, owner))
    owner, other, value = owner[order], other[order], value[order]
    cuts = np.searchsorted(owner, np.arange(1, m))
    return np.split(other, cuts), np.split(value, cuts)


def ann_candidates(
    rows: PairingRows, k: int, random_state: Any = None
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Each unit's approximate best partners, with exact values, in greedy order.

    Parameters
    ----------
    rows : PairingRows
        The level's variables (:func:`~rgdata.coarse._prg_similarity.pairing_rows`).
    k : int
        Neighbours asked of NN-descent per unit (``1 <= k <= m - 1``); after
        symmetrization a unit may have more candidates (or, rarely, fewer).
    random_state : None, int or numpy.random.Generator
        Seeds NN-descent (one thread: the same seed gives the same graph).

    Returns
    -------
    (idx, val) : lists of m arrays
        Partners of each unit and their exact similarities, best first
        (larger value, then smaller index), as
        :func:`~rgdata.coarse._greedy_sparse.sparse_greedy_pairs` reads them.
    """
    m = rows.values.shape[0]
    k = check_k(k, m)
    require_ann()
    seed = _seed(random_state)
    lo, hi = knn_edges(unit_vectors(rows), k, seed)
    return candidate_lists(m, lo, hi, edge_similarity(rows, lo, hi))


def ann_pairs(
    rows: PairingRows,
    k: int | None = None,
    random_state: Any = None,
    *,
    stats: dict | None = None,
) -> np.ndarray:
    """Greedy pairs over approximate candidates, with exact lazy refill.

    Parameters
    ----------
    rows : PairingRows
        The level's variables.
    k : int, optional
        Neighbours per unit (default ``APPROX_OPTIONS["k"]``).
    random_state : None, int or numpy.random.Generator
        Seeds NN-descent.
    stats : dict, optional
        Filled with ``n_refills`` and ``k``.

    Returns
    -------
    ndarray of int64, shape (m // 2, 2)
        Pairs ``(i, j)``, ``i < j``, in greedy order.
    """
    m = rows.values.shape[0]
    k = APPROX_OPTIONS["k"] if k is None else k
    k = check_k(k, m)
    cand = ann_candidates(rows, k, random_state)

    def block(r: np.ndarray, c: np.ndarray) -> np.ndarray:
        return similarity(rows.take(r), rows.take(c))

    return sparse_greedy_pairs(block, m, k=k, candidates=cand, stats=stats)


def pairing_quality(
    rows: PairingRows,
    pairs: np.ndarray,
    random_state: Any = None,
    n_sample: int | None = None,
) -> dict[str, float]:
    """Check a sample of *pairs* against the exact greedy choice, at full size.

    :mod:`rgdata.coarse._ann_check`: ``n_sample // 2`` of the pairs (drawn
    from *random_state*), each unit's exact correlations with all the rows
    in blocks of columns, and its best partner among the units still free
    when its pair was formed.

    Parameters
    ----------
    rows : PairingRows
        The level's variables (the rows that were paired).
    pairs : ndarray of int, shape (p, 2)
        The pairs in the order they were formed (as :func:`ann_pairs` returns them).
    random_state : None, int or numpy.random.Generator
        Draws the sampled pairs.
    n_sample : int, optional
        Units checked (default ``APPROX_OPTIONS["n_sample"]``; both units of
        ``n_sample // 2`` pairs, or of every pair when fewer).

    Returns
    -------
    dict
        ``identical_fraction`` (share of the sampled pairs that were the
        exact greedy choice when formed), ``correlation_loss`` (correlation
        given up by the sampled steps, relative) and ``n_sample`` (units
        checked); see :func:`rgdata.coarse._ann_check.greedy_check`.

    Examples
    --------
    >>> from rgdata.coarse._prg_pairing import greedy_pairs
    >>> from rgdata.coarse._prg_similarity import pairing_rows, dense_similarity
    >>> x = np.random.default_rng(0).integers(0, 2, (40, 300))
    >>> rows = pairing_rows(x)
    >>> exact = greedy_pairs(dense_similarity(rows, "float64"))
    >>> pairing_quality(rows, exact, random_state=0)["identical_fraction"]
    1.0
    """
    rng = check_random_state(random_state)
    n_sample = APPROX_OPTIONS["n_sample"] if n_sample is None else n_sample
    m = rows.values.shape[0]
    width = max(1, _EDGE_CHUNK_VALUES // max(2 * int(n_sample), 1))

    def scan(units: np.ndarray, threshold: np.ndarray, step: np.ndarray):
        mine = rows.take(units)
        for c0 in range(0, m, width):
            cols = np.arange(c0, min(c0 + width, m))
            sim = similarity(mine, rows.take(slice(c0, c0 + cols.size)))
            yield best_free(sim, cols, units, threshold, step[cols])

    def values(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return edge_similarity(rows, i, j)

    return check_in_blocks(np.asarray(pairs), m, rng, n_sample, scan, values)
