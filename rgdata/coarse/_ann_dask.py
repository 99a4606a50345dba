"""Approximate greedy pairing of a dask array: candidates from a random projection, exact values.

The in-memory approximate mode (:mod:`rgdata.coarse._ann`) gives NN-descent
the ``N x T`` unit vectors of the rows, all in one process: 40 GB at
``10^6 x 10^4`` float32. Here only an ``N x d`` sketch is held:

1. the rows are read once in blocks of ``block_size`` units and kept (on
   the workers with a client; see
   :func:`rgdata.coarse.distributed.persist_blocks`), as on the exact dask
   path;
2. each block task turns its rows into unit vectors ``u_i`` (dot products
   the correlations, :func:`~rgdata.coarse._ann.unit_vectors`) and multiplies
   them by a seeded ``T x d`` Gaussian matrix ``R / sqrt(d)``
   (Johnson-Lindenstrauss): ``E |(u_i - u_j) R / sqrt(d)|^2 = |u_i - u_j|^2
   = 2 - 2 r_ij`` with a relative spread ``sqrt(2 / d)``;
   ``d = min(T, APPROX_OPTIONS["sketch_dim"])`` (1,024: 4 KiB per unit, 4 GB
   at ``10^6`` units), fixed so that the pairs depend only on the data and
   the seed, never on the memory free at the time;
3. each unit's ``k`` best partners **in the sketch** (the correlation of
   the sketch rows) are found exactly, block against block, by the exact
   path's top-k tasks (:func:`rgdata.coarse.distributed.dask_topk`):
   ``N^2 d`` multiply-adds instead of ``N^2 T``. NN-descent was tried first
   and dropped: on 53,248 planted units x 4,000 it found the planted
   partner for 47 % (``d = 512``) and 65 % (``d = 1,024``) of the units,
   where the sketch's own top 32 held it for 99.7 % and 100 %
   (2026-12-05);
4. every candidate edge (symmetrized) is scored with its **exact**
   correlation (:func:`~rgdata.coarse._ann.edge_similarity`'s formula) by
   one task per pair of blocks holding its two ends, which prepares only
   the rows its edges use;
5. the greedy pairing runs over these candidates
   (:func:`~rgdata.coarse._greedy_sparse.sparse_greedy_pairs`); a unit whose
   candidates are all paired is refilled with its ``k`` nearest free units
   in the sketch, scored exactly (:func:`guided_block`): an exact refill
   reads the unit's whole row against every free unit (``O(N T)``, every
   free row prepared again), which made a first version spend minutes in
   refills at 53,248 x 10,000;
6. the quality is checked as in memory (:mod:`rgdata.coarse._ann_check`): a
   random sample of the pairs, each unit's exact correlations with every
   unit (one task per block of rows, the checked rows prepared once) and its
   best partner among the units still free when its pair was formed.

The random state is consumed as :func:`rgdata.coarse._prg_levels.choose_pairs`
consumes it in memory (one integer for the search, then the sampled pairs),
so later steps draw the same numbers on both paths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._ann import (
    APPROX_OPTIONS,
    _seed,
    candidate_lists,
    edge_similarity,
    unit_vectors,
)
from ._ann_check import best_free, check_in_blocks
from ._greedy_sparse import sparse_greedy_pairs
from ._prg_similarity import PairingRows, pairing_rows, similarity

__all__ = [
    "sketch_dim",
    "sketch_matrix",
    "sketch_pairing_bytes",
    "sketch_candidates",
    "guided_block",
    "dask_sketch_pairs",
]


def sketch_dim(n_time: int) -> int:
    """Dimension ``d`` of the random projection for rows of *n_time* samples.

    Examples
    --------
    >>> sketch_dim(10_000), sketch_dim(100)
    (1024, 100)
    """
    return int(min(n_time, APPROX_OPTIONS["sketch_dim"]))


def sketch_matrix(n_time: int, dim: int, seed: int) -> np.ndarray:
    """The seeded ``T x d`` Gaussian projection, scaled by ``1 / sqrt(d)`` (float64).

    Examples
    --------
    >>> r = sketch_matrix(2000, 256, 0)
    >>> r.shape, bool(abs((r**2).sum(axis=1).mean() - 1) < 0.01)
    ((2000, 256), True)
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n_time, dim)) / np.sqrt(dim)


def sketch_pairing_bytes(n: int, n_time: int, k: int | None = None) -> int:
    """Memory of one sketched approximate step in the caller besides the rows (bytes).

    The ``n x d`` float32 sketch, the float64 projection, one top-k task in
    this process without a client (two blocks of 1,024 sketch rows as float64
    z-scores and three blocks of similarities), the top-k lists (``n k``,
    16 bytes each) and the symmetrized edges with their values and candidate
    lists (``2 n (k + 1)``, 40 bytes each).

    Examples
    --------
    >>> round(sketch_pairing_bytes(1_000_000, 10_000) / 2**30, 2)
    6.87
    """
    k = APPROX_OPTIONS["k"] if k is None else int(k)
    d = sketch_dim(n_time)
    task = 2 * 1024 * d * 8 + 3 * 1024**2 * 8
    return int(4 * n * d + 8 * n_time * d + task + 16 * n * k + 80 * n * (k + 1))


def _sketch_block(values: np.ndarray, proj: np.ndarray, exact: str | None) -> np.ndarray:
    """The sketch (float32, ``(rows, d)``) of a block of raw rows."""
    u = unit_vectors(pairing_rows(np.asarray(values), exact))
    return (u.astype(np.float64) @ proj).astype(np.float32)


def _edge_values(
    xa: np.ndarray, xb: np.ndarray, la: np.ndarray, lb: np.ndarray, exact: str | None
) -> np.ndarray:
    """Exact similarities of the edges ``(la[e], lb[e])`` between rows of blocks *xa*, *xb*.

    Only the rows the edges use are prepared (row by row, so the values of
    preparing the whole array), then :func:`~rgdata.coarse._ann.edge_similarity`'s
    products and formula.
    """
    ua, ia = np.unique(la, return_inverse=True)
    ub, ib = np.unique(lb, return_inverse=True)
    ra = pairing_rows(np.asarray(xa)[ua], exact)
    rb = pairing_rows(np.asarray(xb)[ub], exact)
    return edge_similarity(ra, ia, ib, other=rb)


def _score_edges(
    blocks: list, starts: np.ndarray, lo: np.ndarray, hi: np.ndarray, client: Any, exact: str | None
) -> np.ndarray:
    """Exact values of the edges ``(lo, hi)``: one task per pair of blocks holding their ends."""
    import dask  # noqa: PLC0415

    from .distributed import _run  # noqa: PLC0415 (import cycle)

    ba = np.searchsorted(starts, lo, side="right") - 1
    bb = np.searchsorted(starts, hi, side="right") - 1
    n_blocks = len(blocks)
    group = ba * n_blocks + bb
    order = np.argsort(group, kind="stable")
    keys, first = np.unique(group[order], return_index=True)
    bounds = [*first.tolist(), order.size]
    task = dask.delayed(_edge_values, pure=True)
    tasks = []
    for g, key in enumerate(keys.tolist()):
        a, b = divmod(key, n_blocks)
        sel = order[bounds[g] : bounds[g + 1]]
        tasks.append(task(blocks[a], blocks[b], lo[sel] - starts[a], hi[sel] - starts[b], exact))
    out = np.empty(lo.size)
    for g, values in enumerate(_run(client, tasks)):
        out[order[bounds[g] : bounds[g + 1]]] = values
    return out


def _topk_edges(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The undirected edges ``(lo, hi)`` of top-k lists ``idx`` (``(m, k)``), each once."""
    m = idx.shape[0]
    src = np.repeat(np.arange(m, dtype=np.int64), idx.shape[1])
    dst = idx.ravel().astype(np.int64)
    ok = (dst >= 0) & (dst != src)
    lo, hi = np.minimum(src[ok], dst[ok]), np.maximum(src[ok], dst[ok])
    key = np.unique(lo * m + hi)
    return key // m, key % m


def sketch_candidates(
    sketch: np.ndarray, k: int, block_size: int, client: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """The edges ``(lo, hi)`` between each unit and its *k* best partners in *sketch*.

    Best by the correlation of the sketch rows (their float64 z-scores over
    the ``d`` coordinates; rounded and tie-broken as every similarity), found
    exactly by the top-k tasks of the exact dask path on blocks of
    *block_size* sketch rows (on *client*, else here).
    """
    from .distributed import dask_topk, persist_blocks  # noqa: PLC0415 (import cycle)

    m = sketch.shape[0]
    blocks, starts, _ = persist_blocks(sketch, block_size, client, None)
    idx, _ = dask_topk(blocks, starts, min(k, m - 1), client, None)
    return _topk_edges(idx)


def guided_block(score: Any, vectors: np.ndarray, width: int) -> Any:
    """A refill that scores only each row's *width* nearest free units in *vectors*.

    ``block(rows, cols)`` for
    :func:`~rgdata.coarse._greedy_sparse.sparse_greedy_pairs`: for each row,
    the *width* columns nearest to it in *vectors* (euclidean; all columns
    when there are at most *width*) get their exact value from
    ``score(row, those columns)``, the others ``-inf`` (never listed while
    *width* is at least the candidates kept). A refill then costs one pass
    over the ``N x d`` sketch and *width* exact values instead of the
    unit's whole row (``O(N T)``).

    Examples
    --------
    >>> v = np.array([[0.0], [1.0], [5.0], [2.0]])
    >>> block = guided_block(lambda r, c: -np.abs(r[:, None] - c[None, :]) * 1.0, v, 2)
    >>> block(np.array([0]), np.array([1, 2, 3])).tolist()
    [[-1.0, -inf, -3.0]]
    """
    norms: list[np.ndarray] = []  # squared norms, computed at the first refill

    def block(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        if cols.size <= width:
            return score(rows, cols)
        if not norms:
            norms.append(np.einsum("ct,ct->c", vectors, vectors, dtype=np.float64))
        out = np.full((rows.size, cols.size), -np.inf)
        for r, row in enumerate(rows.tolist()):
            # |v_c - v_r|^2 up to the row's own norm: one pass over the vectors, no gather
            d2 = norms[0][cols] - 2.0 * (vectors @ vectors[row])[cols]
            near = np.sort(np.argpartition(d2, width - 1)[:width])
            out[r, near] = score(rows[r : r + 1], cols[near])[0]
        return out

    return block


def _best_free_block(
    sampled: PairingRows,
    at: np.ndarray,
    xb: np.ndarray,
    cols: np.ndarray,
    units: np.ndarray,
    threshold: np.ndarray,
    step_cols: np.ndarray,
    exact: str | None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`~rgdata.coarse._ann_check.best_free` of the checked units against one block.

    *sampled* holds the checked units' prepared rows once each (sorted),
    *at* maps every checked unit to its row there.
    """
    sim = similarity(sampled.take(at), pairing_rows(np.asarray(xb), exact))
    return best_free(sim, cols, units, threshold, step_cols)


def _check_pairs(
    blocks: list,
    starts: np.ndarray,
    n: int,
    pairs: np.ndarray,
    rng: np.random.Generator,
    n_sample: int | None,
    client: Any,
    exact: str | None,
) -> dict[str, float]:
    """The full-size check of :mod:`rgdata.coarse._ann_check`, one task per block of rows.

    The checked units' rows are prepared once (one task, on a worker with a
    client) and every block's task scans them against its rows; only the
    per-unit best partners come back.
    """
    import dask  # noqa: PLC0415

    from .distributed import _run, rows_task  # noqa: PLC0415 (import cycle)

    n_sample = APPROX_OPTIONS["n_sample"] if n_sample is None else n_sample

    def scan(units: np.ndarray, threshold: np.ndarray, step: np.ndarray) -> list:
        uniq, at = np.unique(units, return_inverse=True)
        sampled = rows_task(blocks, starts, uniq, exact)
        task = dask.delayed(_best_free_block, pure=True)
        tasks = [
            task(sampled, at, b, np.arange(s, e), units, threshold, step[s:e], exact)
            for b, s, e in zip(blocks, starts[:-1].tolist(), starts[1:].tolist(), strict=True)
        ]
        return _run(client, tasks)

    def values(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return _score_edges(blocks, starts, i, j, client, exact)

    return check_in_blocks(pairs, n, rng, n_sample, scan, values)


def dask_sketch_pairs(
    arr: Any,
    *,
    k: int,
    block_size: int,
    rng: np.random.Generator,
    client: Any = None,
    exact: str | None = "auto",
    stats: dict | None = None,
    n_sample: int | None = None,
) -> tuple[np.ndarray, dict[str, float]]:
    """Approximate greedy pairs of the rows of the dask array *arr* and their measured quality.

    Parameters
    ----------
    arr : dask.array.Array, shape (n, T)
        The rows (never loaded whole: blocks of *block_size* rows, see the module).
    k : int
        Candidates per unit in the sketch (checked, ``<= n - 1``).
    block_size : int
        Rows per block task.
    rng : numpy.random.Generator
        Draws the projection's seed, then the pairs the quality check samples.
    client : distributed.Client, optional
        Where the block tasks run (default: dask's synchronous scheduler here).
    exact : str, None or "auto"
        The product path (:func:`rgdata.coarse.distributed.persist_blocks`).
    stats : dict, optional
        Filled with ``n_refills``, ``k``, ``sketch_dim`` and ``n_edges``.
    n_sample : int, optional
        Units whose pairs the quality check verifies (default
        ``APPROX_OPTIONS["n_sample"]``).

    Returns
    -------
    pairs : ndarray of int64, shape (n // 2, 2)
        Pairs ``(i, j)``, ``i < j``, in greedy order.
    quality : dict
        :func:`rgdata.coarse._ann.pairing_quality`'s numbers (a sample of
        the pairs checked against all the units).
    """
    import dask  # noqa: PLC0415

    from .distributed import _run, persist_blocks, take_rows  # noqa: PLC0415

    n, t_len = arr.shape
    blocks, starts, exact = persist_blocks(arr, block_size, client, exact)
    seed = _seed(rng)
    dim = sketch_dim(t_len)
    proj = dask.delayed(sketch_matrix(t_len, dim, seed), pure=True)  # one key, sent once
    sketch = np.concatenate(
        _run(client, [dask.delayed(_sketch_block)(b, proj, exact) for b in blocks])
    )
    lo, hi = sketch_candidates(sketch, k, block_size, client)
    n_edges = lo.size
    cand = candidate_lists(n, lo, hi, _score_edges(blocks, starts, lo, hi, client, exact))
    del lo, hi

    def score(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        # one round trip: the few rows a guided refill scores, prepared from the blocks
        both = np.union1d(rows, cols)
        got = take_rows(blocks, starts, both, client, exact)
        return similarity(
            got.take(np.searchsorted(both, rows)), got.take(np.searchsorted(both, cols))
        )

    pairs = sparse_greedy_pairs(
        guided_block(score, sketch, k), n, k=k, candidates=cand, stats=stats
    )
    del cand
    if stats is not None:
        stats.update(sketch_dim=dim, n_edges=n_edges)
    quality = _check_pairs(blocks, starts, n, pairs, rng, n_sample, client, exact)
    return pairs, quality
