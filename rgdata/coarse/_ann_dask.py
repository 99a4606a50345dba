"""Approximate greedy pairing of a dask array: NN-descent on a random projection, exact values.

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
   = 2 - 2 r_ij`` with a relative spread ``sqrt(2 / d)``, so the nearest
   neighbours of the sketch are the most correlated partners up to that
   noise; ``d = min(T, APPROX_OPTIONS["sketch_dim"])`` (256: ``1 KiB`` per
   unit, 1 GB at ``10^6`` units), fixed so that the pairs depend only on
   the data and the seed, never on the memory free at the time;
3. NN-descent on the sketch gives ``k`` candidates per unit
   (:func:`~rgdata.coarse._ann.knn_edges`, one thread, seeded);
4. every candidate edge is scored with its **exact** correlation
   (:func:`~rgdata.coarse._ann.edge_similarity`'s formula) by one task per
   pair of blocks holding its two ends, which prepares only the rows its
   edges use;
5. the greedy pairing runs over these candidates
   (:func:`~rgdata.coarse._greedy_sparse.sparse_greedy_pairs`); a unit whose
   candidates are all paired is refilled with its ``k`` nearest free units
   in the sketch, scored exactly from the blocks
   (:func:`~rgdata.coarse._ann.guided_block`): an exact refill reads the
   unit's whole row against every free unit (``O(N T)`` with every free
   row prepared again), which made a first version spend over ten minutes
   in refills at 53,248 x 10,000 (measured 2026-12-05);
6. the quality is measured as in memory (:func:`~rgdata.coarse._ann.compare_pairings`):
   a random subsample of units is read (only those rows) and paired exactly
   (dense greedy) and approximately (NN-descent on the same units' sketch
   rows, exact values).

The random state is consumed as :func:`rgdata.coarse._prg_levels.choose_pairs`
consumes it in memory (one seed for the search, the subsample, one seed for
its search), so later steps draw the same numbers on both paths.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._ann import (
    _EDGE_CHUNK_VALUES,
    APPROX_OPTIONS,
    _seed,
    ann_pairing_bytes,
    candidate_lists,
    compare_pairings,
    guided_block,
    knn_edges,
    quality_sample,
    require_ann,
    unit_vectors,
)
from ._greedy_sparse import sparse_greedy_pairs
from ._prg_similarity import finish_correlations, pairing_rows, similarity

__all__ = ["sketch_dim", "sketch_matrix", "sketch_pairing_bytes", "dask_sketch_pairs"]


def sketch_dim(n_time: int) -> int:
    """Dimension ``d`` of the random projection for rows of *n_time* samples.

    Examples
    --------
    >>> sketch_dim(10_000), sketch_dim(100)
    (256, 100)
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

    NN-descent on the ``n x d`` float32 sketch (:func:`~rgdata.coarse._ann.ann_pairing_bytes`
    with ``d`` in place of ``T``), the float64 projection and the edges' endpoints
    and values (``k + 1`` per unit, 24 bytes each).

    Examples
    --------
    >>> round(sketch_pairing_bytes(1_000_000, 10_000) / 2**30, 2)
    5.08
    """
    k = APPROX_OPTIONS["k"] if k is None else int(k)
    d = sketch_dim(n_time)
    return int(ann_pairing_bytes(n, d, k) + 8 * n_time * d + 24 * n * (k + 1))


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
    out = np.empty(la.size)
    step = max(1, _EDGE_CHUNK_VALUES // max(ra.n_time, 1))
    for s in range(0, la.size, step):
        a, b = ra.take(ia[s : s + step]), rb.take(ib[s : s + step])
        prod = np.einsum("et,et->e", a.values, b.values)
        out[s : s + step] = finish_correlations(prod, a, b, outer=False)
    return out


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
        Neighbours asked of NN-descent per unit (checked, ``<= n - 1``).
    block_size : int
        Rows per block task.
    rng : numpy.random.Generator
        Draws the search's seed, then the quality subsample and its search's seed.
    client : distributed.Client, optional
        Where the block tasks run (default: dask's synchronous scheduler here).
    exact : str, None or "auto"
        The product path (:func:`rgdata.coarse.distributed.persist_blocks`).
    stats : dict, optional
        Filled with ``n_refills``, ``k`` and ``sketch_dim``.
    n_sample : int, optional
        Units of the quality subsample (default ``APPROX_OPTIONS["n_sample"]``).

    Returns
    -------
    pairs : ndarray of int64, shape (n // 2, 2)
        Pairs ``(i, j)``, ``i < j``, in greedy order.
    quality : dict
        :func:`rgdata.coarse._ann.pairing_quality`'s numbers on the subsample.
    """
    import dask  # noqa: PLC0415

    from .distributed import _run, persist_blocks, take_rows  # noqa: PLC0415

    require_ann()
    n, t_len = arr.shape
    blocks, starts, exact = persist_blocks(arr, block_size, client, exact)
    seed = _seed(rng)
    dim = sketch_dim(t_len)
    proj = dask.delayed(sketch_matrix(t_len, dim, seed), pure=True)  # one key, sent once
    sketch = np.concatenate(
        _run(client, [dask.delayed(_sketch_block)(b, proj, exact) for b in blocks])
    )
    lo, hi = knn_edges(sketch, k, seed)
    cand = candidate_lists(n, lo, hi, _score_edges(blocks, starts, lo, hi, client, exact))
    del lo, hi

    def score(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        # one round trip: the few rows a guided refill scores, prepared from the blocks
        both = np.union1d(rows, cols)
        got = take_rows(blocks, starts, both, client, exact)
        return similarity(
            got.take(np.searchsorted(both, rows)), got.take(np.searchsorted(both, cols))
        )

    refill = guided_block(score, sketch, k)
    pairs = sparse_greedy_pairs(refill, n, k=k, candidates=cand, stats=stats)
    del cand
    if stats is not None:
        stats["sketch_dim"] = dim
    pick = quality_sample(n, rng, n_sample)
    sub = take_rows(blocks, starts, pick, client, exact)  # only the sampled rows
    quality = compare_pairings(sub, k, rng, vectors=sketch[pick])
    return pairs, quality
