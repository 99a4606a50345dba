"""Blockwise top-k correlation candidates: each unit's ``k`` best partners in ``O(n k)`` memory.

The similarity matrix is never held whole: it is produced one block of rows
by one block of columns at a time by a callable ``block(rows, cols)``, and
only the ``k`` best partners of every unit are kept. Only the blocks on and
above the block diagonal are computed; each feeds both its rows and (once
transposed) its columns, so the value of the edge ``(i, j)`` is the same
number seen from ``i`` and from ``j`` (diagonal blocks are made symmetric from
their upper triangle, as the dense path reads only the upper triangle).

Candidates are ordered by the total order of the greedy rule
(:mod:`rgdata.coarse._prg_pairing`): larger value first, equal values by the
smaller partner index. A unit's list is therefore exactly the first ``k``
of its row in that order, ties at the cut included.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["BlockFn", "topk_candidates", "select_topk", "check_k"]

#: ``block(rows, cols) -> ndarray (len(rows), len(cols))`` of similarities
BlockFn = Callable[[np.ndarray, np.ndarray], np.ndarray]
_SENTINEL_VALUE = -np.inf


def check_k(k: object, n: int) -> int:
    """Validate the number of candidates *k* for *n* units (``1 <= k``, at most ``n - 1`` used)."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k must be a positive integer; got {type(k).__name__} {k!r}")
    if k < 1:
        raise ValueError(f"k must be a positive integer (candidates per unit); got {k}")
    if n >= 2 and k > n - 1:
        raise ValueError(
            f"k={k} is larger than the {n - 1} possible partners of each of the {n} units; "
            f"use k <= {n - 1} (or the dense pairing, which is cheap at this size)"
        )
    return int(k)


def select_topk(vals: np.ndarray, cols: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The first *k* entries of each row in greedy order (value descending, then column).

    Parameters
    ----------
    vals : ndarray, shape (r, c)
        Values; ``-inf`` marks empty slots.
    cols : ndarray, shape (r, c)
        Partner index of every value.
    k : int
        How many to keep (at most ``c``).

    Returns
    -------
    (cols, vals) : tuple of ndarray, each of shape (r, min(k, c))

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([[0.5, 0.9, 0.5, 0.1]])
    >>> j = np.array([[3, 1, 2, 0]])
    >>> select_topk(v, j, 3)[0]
    array([[1, 2, 3]])
    """
    k = min(k, vals.shape[1])
    if vals.shape[1] > 4 * k and vals.shape[0]:
        # only entries at or above each row's k-th largest value can be in its top k
        # (ties at that value included): move them first (a stable sort of a bool mask,
        # linear time), then sort just those
        thr = -np.partition(-vals, k - 1, axis=1)[:, k - 1]
        keep = vals >= thr[:, None]
        width = max(int(keep.sum(axis=1).max()), k)
        first = np.argsort(~keep, axis=1, kind="stable")[:, :width]
        vals = np.take_along_axis(vals, first, 1)
        cols = np.take_along_axis(np.broadcast_to(cols, keep.shape), first, 1)
    order = np.lexsort((cols, -vals), axis=-1)[:, :k]
    return np.take_along_axis(cols, order, 1), np.take_along_axis(vals, order, 1)


def topk_candidates(
    block: BlockFn, n: int, k: int, block_size: int = 1024
) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's *k* best partners over all other units, computed block by block.

    Parameters
    ----------
    block : callable
        ``block(rows, cols)`` returns the similarities of the units *rows*
        with the units *cols* (both sorted int64 index arrays).
    n : int
        Number of units.
    k : int
        Candidates kept per unit (``1 <= k <= n - 1``).
    block_size : int, default 1024
        Units per block (memory of one block: ``block_size**2`` values).

    Returns
    -------
    (idx, val) : ndarray of int64 and float64, shape (n, k)
        Partners of each unit and their values, best first in greedy order.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[1, .2, .7], [.2, 1, .4], [.7, .4, 1]])
    >>> idx, val = topk_candidates(lambda r, s: c[np.ix_(r, s)], 3, 1, block_size=2)
    >>> idx.ravel().tolist()
    [2, 2, 0]
    """
    k = check_k(k, n)
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise TypeError(f"block_size must be a positive integer; got {block_size!r}")
    if block_size < 1:
        raise ValueError(f"block_size must be a positive integer; got {block_size}")
    idx = np.full((n, k), n, dtype=np.int64)
    val = np.full((n, k), _SENTINEL_VALUE)
    # blocks of nearly equal sizes (never a one-row remainder)
    parts = np.array_split(np.arange(n, dtype=np.int64), -(-n // block_size))
    for a, rows in enumerate(parts):
        for b_i, cols in enumerate(parts[a:]):
            b = np.asarray(block(rows, cols), dtype=np.float64)
            if b_i == 0:
                up = np.triu(b, 1)
                b = up + up.T
                np.fill_diagonal(b, _SENTINEL_VALUE)
            _merge(idx, val, rows, cols, b, k)
            if b_i:
                _merge(idx, val, cols, rows, b.T, k)
    return idx, val


def _merge(idx, val, rows, cols, b, k) -> None:
    cat_v = np.concatenate([val[rows], b], axis=1)
    cat_j = np.concatenate([idx[rows], np.broadcast_to(cols, b.shape)], axis=1)
    idx[rows], val[rows] = select_topk(cat_v, cat_j, k)
