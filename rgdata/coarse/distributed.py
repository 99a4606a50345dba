"""Exact greedy correlation pairing of a large, possibly dask-backed, activity on a dask client.

:func:`pair_units` is the first step of :func:`rgdata.coarse.prg` (pair the
units greedily by correlation) for activities whose
``N x N`` correlation matrix does not fit in memory. The activity may be a
numpy array, a :class:`dask.array.Array` (from zarr, HDF5 via h5py, ...) or an
:class:`xarray.DataArray` holding either; a dask-backed one is never loaded
whole: the rows are prepared chunk by chunk (exact integer moments for
spikes and counts, float64 z-scores otherwise; see
:mod:`rgdata.coarse._prg_similarity`; a per-row normalization does not
change a correlation, so none is asked for), the blocks of correlations on
and above the block diagonal are computed as independent dask tasks (each
returns only the top-k partners of its rows and columns), and the exact
greedy pairing with lazy refill (:mod:`rgdata.coarse._greedy_sparse`) runs on
the caller's machine, fetching only the rows a refill needs.

Work runs on the ``distributed`` client passed as *client* (a
``LocalCluster``, or a ``dask-jobqueue`` / Kubernetes cluster); without one,
dask's synchronous scheduler. Both give the same pairs, which are the pairs
of the dense path on the same data.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_random_state, describe
from .._warnings import warn_user
from ._ann import APPROX_OPTIONS, ann_pairs, pairing_quality, require_ann
from ._greedy_sparse import sparse_greedy_pairs
from ._memory import available_memory
from ._prg_setup import check_exactness
from ._prg_similarity import (
    PairingRows,
    exact_product_dtype,
    pairing_rows,
    resolve_exact,
    similarity,
)
from ._topk import check_k, select_topk

__all__ = [
    "pair_units",
    "dask_greedy_pairs",
    "dask_topk",
    "persist_blocks",
    "take_rows",
    "refill_block",
]


def _prepared(x: np.ndarray, exact: str | None) -> PairingRows:
    return pairing_rows(np.asarray(x), exact)


def _pair_topk(xr_, xc, rows, cols, k, diagonal, exact):
    """Top-k of a block's rows (and, off the diagonal, of its columns).

    The blocks hold the activity's values; each task prepares its rows
    (:func:`~rgdata.coarse._prg_similarity.pairing_rows`, row by row, so the
    same values as preparing the whole array) and drops them when done.
    """
    zr = _prepared(xr_, exact)
    zc = zr if diagonal else _prepared(xc, exact)
    b = similarity(zr, zc)
    if diagonal:
        up = np.triu(b, 1)
        b = up + up.T
        np.fill_diagonal(b, -np.inf)
        return select_topk(b, np.broadcast_to(cols, b.shape), k), None
    return (
        select_topk(b, np.broadcast_to(cols, b.shape), k),
        select_topk(b.T, np.broadcast_to(rows, b.T.shape), k),
    )


def _rows_vs_block(zr, xb, local, exact):
    return similarity(zr, _prepared(np.asarray(xb)[local], exact))


def _take(blocks, parts, exact):
    """The prepared rows ``parts = [(block index, local rows), ...]`` of *blocks*, in order."""
    values = np.concatenate([np.asarray(blocks[a])[local] for a, local in parts])
    return _prepared(values, exact)


def _run(client, what, *lost: str):
    """Compute *what* (a collection or a list of delayed) on *client*, or synchronously.

    *lost* (caller, what it does not return) words :func:`_on_client`'s error.
    """
    import dask  # noqa: PLC0415

    if client is not None:
        return _on_client(lambda: client.compute(what, sync=True), *lost)
    return dask.compute(what, scheduler="synchronous")[0]


def _check_block_size(block_size: Any, t_len: int, itemsize: int) -> None:
    """A task holds two row blocks of standardized values and three blocks of similarities."""
    if isinstance(block_size, bool) or not isinstance(block_size, (int, np.integer)):
        raise TypeError(f"block_size must be a positive integer; got {describe(block_size)}")
    if block_size < 1:
        raise ValueError(f"block_size must be a positive integer; got {block_size}")
    need = 2 * block_size * t_len * (itemsize + 8) + 3 * block_size**2 * 8
    have = available_memory()
    if have is not None and need > have:
        fit = int(block_size * (have / need) ** 0.5)
        raise ValueError(
            f"block_size={block_size} needs about {need / 2**30:.1f} GiB per task "
            f"(T = {t_len}), more than the {have / 2**30:.1f} GiB available here; "
            f"use block_size <= {max(fit, 1)}"
        )


def _on_client(call, caller: str = "pair_units", lost: str = "no pairs were returned"):
    """Run *call*; a closed, cancelled or unreachable client becomes one clear error.

    *caller* names the function in the message and *lost* says what the
    caller does not return.
    """
    import asyncio  # noqa: PLC0415

    from distributed.client import ClosedClientError  # noqa: PLC0415
    from distributed.comm.core import CommClosedError  # noqa: PLC0415

    try:
        return call()
    except (ClosedClientError, CommClosedError, asyncio.CancelledError, OSError) as exc:
        raise RuntimeError(
            f"{caller}: the dask client was closed or its cluster disappeared during the run "
            f"({type(exc).__name__}: {exc}); nothing was written, {lost}. "
            "Restart the cluster (or pass client=None to run here) and call again."
        ) from exc


def _is_integer(arr):
    """Lazy: whether every value of the dask array *arr* is an integer."""
    import dask.array as da  # noqa: PLC0415

    return (arr == da.rint(arr)).all()


def _merge_lists(parts, k):
    j = np.concatenate([p[0] for p in parts], axis=1)
    v = np.concatenate([p[1] for p in parts], axis=1)
    return select_topk(v, j, k)


def _is_dask(activity: Any) -> bool:
    """Whether *activity* is (or an xarray object holds) a dask array."""
    import dask.array as da  # noqa: PLC0415 (optional at import time)

    data = getattr(activity, "data", activity) if hasattr(activity, "dims") else activity
    return isinstance(data, da.Array)


def _check_activity(activity: Any):
    import dask.array as da  # noqa: PLC0415 (optional at import time)

    data = getattr(activity, "data", activity) if hasattr(activity, "dims") else activity
    if isinstance(data, da.Array):
        arr = data
    elif isinstance(data, np.ndarray):
        arr = da.from_array(data, chunks=(min(1024, max(data.shape[0], 1)), -1))
    else:
        raise TypeError(
            "activity must be a numpy array, a dask array or an xarray.DataArray of either "
            f"with shape (unit, time); got {describe(activity)}"
        )
    if arr.ndim != 2:
        raise ValueError(f"activity must be 2-D (unit, time); got shape {arr.shape}")
    return arr


def _approximate(
    arr, k: int, block_size: int, client: Any, stats: dict | None, random_state: Any, lazy: bool
) -> np.ndarray:
    """The approximate mode: in memory for a numpy activity, on the blocks for a dask one."""
    require_ann()
    rng = check_random_state(random_state)
    if lazy:  # candidates from a random projection; the activity stays lazy (_ann_dask)
        from ._ann_dask import dask_sketch_pairs  # noqa: PLC0415 (import cycle)

        _check_block_size(block_size, arr.shape[1], 8)
        pairs, quality = dask_sketch_pairs(
            arr, k=k, block_size=block_size, rng=rng, client=client, stats=stats
        )
    else:
        rows = pairing_rows(np.asarray(_run(client, arr)))
        pairs = ann_pairs(rows, k, rng, stats=stats)
        quality = pairing_quality(rows, pairs, rng)
    if stats is not None:
        stats.update(quality)
    if quality["identical_fraction"] < APPROX_OPTIONS["warn_below"]:
        warn_user(
            f"pair_units: {quality['identical_fraction']:.1%} of the approximate pairs checked "
            f"({int(quality['n_sample'])} units, exact correlations with all units) were the "
            f"exact greedy choice (summed correlation {quality['correlation_loss']:+.2%} lost), "
            f"below {APPROX_OPTIONS['warn_below']:.0%}; use approximate=False (exact) where it "
            "fits",
            UserWarning,
        )
    return pairs


def pair_units(
    activity: Any,
    *,
    k: int = 32,
    block_size: int = 1024,
    client: Any = None,
    stats: dict | None = None,
    approximate: bool = False,
    require_exact: bool = False,
    random_state: Any = None,
) -> np.ndarray:
    """Exact (or approximate) greedy correlation pairs of the units of a large activity.

    Parameters
    ----------
    activity : ndarray, dask.array.Array or xarray.DataArray, shape (unit, time)
        A dask-backed activity stays lazy: only row chunks and the rows a
        refill needs are loaded.
    k : int, default 32
        Candidate partners kept per unit (any *k* gives the same pairs).
    block_size : int, default 1024
        Units per block of correlations (one task computes one block).
    client : distributed.Client, optional
        Where the tasks run; default dask's synchronous scheduler.
    stats : dict, optional
        Filled with ``n_refills`` and ``k``; in the approximate mode also its
        checked quality (``identical_fraction``, ``correlation_loss``,
        ``n_sample``: a sample of the pairs checked exactly against all the
        units; see :func:`rgdata.coarse._ann.pairing_quality`).
    approximate : bool, default False
        Candidates from an approximate nearest-neighbour graph (pynndescent,
        ``rgdata[ann]``) instead of the exact top-k: no ``N^2 T`` correlation
        work, pairs that may differ from the exact ones (a sample of them
        checked exactly, warned about below 90% greedy choices). A numpy activity
        is searched by NN-descent in this process (its ``N x T`` unit
        vectors); a dask-backed one stays lazy: its candidates are each
        unit's best partners in a seeded random projection of its rows
        (``N x 1024`` values here, computed block by block and searched
        exactly; see :mod:`rgdata.coarse._ann_dask`).
    require_exact : bool, default False
        Refuse the approximate mode (ValueError if *approximate* is True).
    random_state : None, int or numpy.random.Generator
        Seeds the approximate mode (unused otherwise).

    Returns
    -------
    ndarray of int64, shape (n // 2, 2)
        Pairs ``(i, j)``, ``i < j``, in greedy order: the pairs
        :func:`rgdata.coarse.prg` forms at its first step on the same data.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((6, 50))
    >>> x[3] += x[0]
    >>> pair_units(x, k=2, block_size=4)[0].tolist()
    [0, 3]
    """

    for flag, name in ((approximate, "approximate"), (require_exact, "require_exact")):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{name} must be a bool, got {describe(flag)}")
    check_exactness("approximate" if approximate else "correlation", bool(require_exact))
    lazy = _is_dask(activity)
    arr = _check_activity(activity)
    n = arr.shape[0]
    if n < 2:
        return np.empty((0, 2), np.int64)
    k = check_k(k, n)
    if approximate:
        return _approximate(arr, k, block_size, client, stats, random_state, lazy)
    return dask_greedy_pairs(arr, k=k, block_size=block_size, client=client, stats=stats)


def dask_greedy_pairs(
    arr: Any,
    *,
    k: int,
    block_size: int,
    client: Any = None,
    exact: str | None = "auto",
    stats: dict | None = None,
) -> np.ndarray:
    """Exact greedy correlation pairs of the rows of the dask array *arr* (``(n, T)``).

    The engine of :func:`pair_units` and of the first step of
    :func:`rgdata.coarse.prg` on a dask-backed activity: *k* (already
    checked) candidates per row, blocks of *block_size* rows as tasks on
    *client* (None: the synchronous scheduler). *exact* is the product dtype
    of the exact integer path, None for the float64 path, or ``"auto"``
    (decided over the whole array, one more pass).
    """

    _check_block_size(block_size, arr.shape[1], 8)
    blocks, starts, exact = persist_blocks(arr, block_size, client, exact)
    idx, val = dask_topk(blocks, starts, k, client, exact)
    block = refill_block(blocks, starts, client, exact)
    return sparse_greedy_pairs(block, arr.shape[0], k=k, candidates=(idx, val), stats=stats)


def dask_topk(
    blocks: list, starts: np.ndarray, k: int, client: Any, exact: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's *k* best partners ``(idx, val)``, ``(n, k)``, from the persisted *blocks*.

    One task per pair of blocks on or above the block diagonal (each returns
    only top-k lists), merged per block.
    """
    import dask  # noqa: PLC0415

    n_blocks = len(blocks)
    idx_of = [np.arange(starts[a], starts[a + 1], dtype=np.int64) for a in range(n_blocks)]
    task = dask.delayed(_pair_topk, pure=True)
    parts: list[list] = [[] for _ in range(n_blocks)]
    for a in range(n_blocks):
        for b in range(a, n_blocks):
            out = task(blocks[a], blocks[b], idx_of[a], idx_of[b], k, a == b, exact)
            parts[a].append(out[0])
            if a != b:
                parts[b].append(out[1])
    merged = [dask.delayed(_merge_lists)(p, k) for p in parts]
    done = _run(client, merged)
    return np.concatenate([d[0] for d in done]), np.concatenate([d[1] for d in done])


def persist_blocks(
    arr: Any, block_size: int, client: Any, exact: str | None = "auto"
) -> tuple[list, np.ndarray, str | None]:
    """The rows of *arr* in blocks of about *block_size*, read once and kept; product path.

    *arr* is a dask array, or a numpy array already in this process (its
    blocks are then views: dask's ``from_array`` would copy every chunk).
    The blocks depend only on ``n`` and *block_size* (not on the input's
    chunks). On *client* they are persisted on the workers; without one they
    are read into this process (``N x T`` values in their own dtype, never the
    ``N x N`` matrix). Every task prepares the rows it multiplies, so no
    float64 copy of the whole activity is held. *exact* ``"auto"`` is decided
    over the whole array (one more pass). Returns the blocks (dask objects),
    the first row of each block (and ``n`` last) and the resolved *exact*.
    """
    import dask  # noqa: PLC0415

    n = arr.shape[0]
    n_blocks = -(-n // block_size)
    sizes = tuple(len(p) for p in np.array_split(np.arange(n), n_blocks))
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    if isinstance(arr, np.ndarray):  # rows already here (prg's later levels): views, no copy
        exact = resolve_exact(arr, exact)
        views = [arr[starts[a] : starts[a + 1]] for a in range(n_blocks)]
        if client is not None:
            return _on_client(lambda: client.scatter(views)), starts, exact
        return [dask.delayed(v) for v in views], starts, exact
    arr = arr.rechunk((sizes, -1))
    if exact == "auto":  # one path for every block: exact products when the whole array is integer
        integer, top = _run(client, [_is_integer(arr), abs(arr).max()])
        exact = exact_product_dtype(bool(integer), float(top), arr.shape[1])
    values = list(arr.to_delayed().ravel())
    if client is not None:
        blocks = _on_client(lambda: client.persist(values))
    else:
        blocks = [dask.delayed(b) for b in dask.compute(*values, scheduler="synchronous")]
    return blocks, starts, exact


def rows_task(blocks: list, starts: np.ndarray, rows: np.ndarray, exact: str | None):
    """A delayed of the prepared rows *rows* (sorted global indices) of the persisted *blocks*."""
    import dask  # noqa: PLC0415

    rows_at = np.searchsorted(starts, rows, side="right") - 1
    parts = [(a, rows[rows_at == a] - starts[a]) for a in np.unique(rows_at)]
    return dask.delayed(_take)(blocks, parts, exact)


def take_rows(blocks: list, starts: np.ndarray, rows: np.ndarray, client: Any, exact: str | None):
    """The prepared rows *rows* (sorted global indices) of the persisted *blocks*."""
    return _run(client, rows_task(blocks, starts, rows, exact))


def refill_block(blocks: list, starts: np.ndarray, client: Any, exact: str | None):
    """``block(rows, cols)`` of :func:`sparse_greedy_pairs` on the persisted *blocks*.

    A refill: the unit's row travels to the blocks holding the free units,
    each block returns its values (the free rows never leave the workers).
    """
    import dask  # noqa: PLC0415

    def block(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        zr = take_rows(blocks, starts, rows, client, exact)
        which = np.searchsorted(starts, cols, side="right") - 1
        pieces = [
            dask.delayed(_rows_vs_block)(zr, blocks[a], cols[which == a] - starts[a], exact)
            for a in np.unique(which)
        ]
        return np.concatenate(_run(client, pieces), axis=1)

    return block
