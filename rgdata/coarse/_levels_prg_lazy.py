"""A PRG level rebuilt from a dask-backed activity, without loading the ``N x T`` input.

:func:`rgdata.coarse._levels_prg.prg_level` holds the whole activity in
memory. Here the rows are gathered lazily in the same order (each cluster's
``K`` units as the leaves of its merge tree from left to right,
``members``, so siblings are adjacent at every level below), and each
block of whole clusters is reduced in its task by the same kernels
(:func:`~rgdata.coarse._levels_prg.tree_sums`,
:func:`~rgdata.coarse._levels_prg.tree_normalized`). The values are the
in-memory ones bit for bit; only the level's ``N / K x T`` values come back
to this process (computed on *client* when one is given; ``coarse_activity``
passes none: dask's synchronous scheduler).

The checks that the activity is the result's data (the mean cluster
variance at level 0 and at the level) are dask reductions over the same
reads (one pass), equal to the in-memory numbers to round-off and compared
with the same relative tolerance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._levels_prg import tree_normalized, tree_sums

__all__ = ["lazy_level_values"]


def _mean_variance(x: Any) -> Any:
    """Lazy mean over rows of each row's variance (float64), as ``_check_variance`` takes it."""
    return x.astype(np.float64).var(axis=1).mean()


def lazy_level_values(
    arr: Any,
    leaves: np.ndarray,
    k: int,
    variables: str,
    *,
    sum_dtype: np.dtype,
    norm: str,
    dtype: np.dtype,
    measured: tuple[int, int],
    paired: tuple[int, int],
    client: Any = None,
) -> tuple[np.ndarray, float, float]:
    """The level's values and the two mean variances of the data checks.

    Parameters
    ----------
    arr : dask.array.Array, shape (n_units, T)
        The activity's values (bool already as int8).
    leaves : ndarray of int
        Rows of *arr* in cluster order, ``K`` per cluster (the leaves of each
        cluster's merge tree, left to right).
    k : int
        Units per cluster ``K = 2**level``.
    variables : {"sum", "normalized"}
        Which variables.
    sum_dtype, norm, dtype
        The result's ``sum_dtype``, ``normalization`` and ``corr_dtype``.
    measured, paired : (int, int)
        The result's measured and pairing samples (time slices).
    client : distributed.Client, optional
        Where the tasks run (default: dask's synchronous scheduler).

    Returns
    -------
    values : ndarray, shape (len(leaves) // k, T or the pairing samples)
    var0 : float
        Mean variance of the units over the measured samples (level 0's check).
    var_level : float
        Mean variance of the cluster sums over the measured samples (NaN at
        level 0, checked by *var0*, and for the normalized variables, which
        the result does not record).
    """
    import dask  # noqa: PLC0415

    from .distributed import _run  # noqa: PLC0415 (import cycle)

    t0, t1 = measured
    rows = int(max(arr.chunks[0]))
    per_block = max(k, rows - rows % k)  # whole clusters per task
    sizes = [per_block] * (leaves.size // per_block)
    if leaves.size % per_block:
        sizes.append(leaves.size % per_block)
    x = arr.rechunk({1: -1})
    gathered = x[np.asarray(leaves, dtype=np.int64)].rechunk((tuple(sizes), -1))
    out_chunks = (tuple(s // k for s in sizes), (x.shape[1],))
    if variables == "sum":
        out = np.dtype(sum_dtype) if k > 1 else x.dtype
        values = gathered.map_blocks(
            tree_sums, k, np.dtype(sum_dtype), dtype=out, chunks=out_chunks
        )
        var_level = _mean_variance(values[:, t0:t1]) if k > 1 else dask.delayed(float("nan"))
    else:
        p0, p1 = paired
        values = gathered[:, p0:p1].map_blocks(
            tree_normalized,
            k,
            norm,
            np.dtype(dtype),
            dtype=np.dtype(dtype),
            chunks=(out_chunks[0], (p1 - p0,)),
        )
        var_level = dask.delayed(float("nan"))
    got, var0, var_k = _run(
        client,
        [values, _mean_variance(x[:, t0:t1]), var_level],
        "coarse_activity",
        "no level was returned",
    )
    return np.asarray(got), float(var0), float(var_k)
