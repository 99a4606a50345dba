""":func:`rgdata.coarse.prg` on a dask-backed activity, without loading the ``N x T`` input.

The in-memory path (:mod:`rgdata.coarse._prg_levels`) holds the activity,
its prepared rows and the level sums together. Here the activity stays a
dask array and is read chunk by chunk of whole rows:

1. checks, coding, magnitudes and the memory estimate come from chunked
   reductions (:mod:`rgdata.coarse._prg_lazy_input`);
2. the first pairing runs on the dask machinery of
   :func:`rgdata.coarse.distributed.pair_units` (on the caller's client, else
   dask's synchronous scheduler), with the product path prg decided; with
   ``pairing="approximate"``, over candidates from a random projection of
   the rows (each unit's exact top k in the sketch), scored exactly from the
   blocks (:mod:`rgdata.coarse._ann_dask`);
3. one pass over the chunks gives the level-0 statistics and forms the
   ``N/2 x T`` level-1 sums (:func:`rgdata.coarse._prg_lazy_stream.stream_level0`);
4. the levels from 1 on run in memory as in :func:`run_levels` (the same
   kernels and pairing), keeping the level-1 sums for the block statistics;
5. level 0's block statistics and the cluster spectra read the chunks again
   (with a client, as tasks on its workers).

With exact or random pairing every number equals the in-memory path's on
the same data (the pairs are identical by construction, see
``docs/scale.md``; the statistics use the same kernels on whole rows and the
same reductions over units), whatever the chunking, the client and its
number of workers. The approximate pairs depend on the data and the seed
only (not on the chunking or the client); they can differ from the in-memory
approximate ones, which search the whole rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from ._ann import APPROX_OPTIONS
from ._ann_dask import dask_sketch_pairs
from ._blocks import auto_max_lag, block_level_stats, blocks_and_taus, enough_lags
from ._memory import available_memory
from ._prg_lazy_input import describe_storage, prepare_lazy
from ._prg_lazy_stream import (
    ClientRows,
    RowSource,
    acf_pass,
    block_pass,
    level1_sums,
    spectra_roots,
    stream_level0,
)
from ._prg_levels import (
    LevelPass,
    _proportional,
    choose_pairs,
    extend_lags_from,
    finish_histogram,
    fuse_first_step,
    later_levels,
    new_level_pass,
    record_step,
    short_levels,
    warn_level_notes,
)
from ._prg_pairing import random_pairs
from ._prg_result import build_result, spectra_table, warn_block_notes
from ._prg_setup import RETRY_LAG, PrgData, PrgOptions, silent_value
from ._prg_similarity import resolve_exact
from ._prg_sparse import DENSE_FRACTION, SPARSE_OPTIONS, use_sparse

__all__ = ["prg_lazy"]

#: rows of the spectra's clusters read at once: at most this many bytes of input values
_SPECTRA_BATCH_BYTES = 2**30


def prg_lazy(
    activity: xr.DataArray,
    opts_of: Callable[[xr.DataArray], PrgOptions],
    client: Any,
    progress: bool,
) -> xr.Dataset:
    """The PRG result of a dask-backed *activity* (see :func:`rgdata.coarse.prg`).

    *opts_of* validates the options for the checked activity
    (``check_options`` with prg's arguments bound).
    """
    act, opts, data, arr, _ = prepare_lazy(activity, opts_of, client)
    quality0: dict = {}
    pairs0 = _first_pairs(arr, data, opts, client, quality0)
    lp = new_level_pass(data, opts)
    shim = SimpleNamespace(x_pair=arr, coding=data.coding, norm=data.norm)
    lags = min(opts.first_lag, opts.long_lag)
    st = stream_level0(
        arr, data, opts, client, pairs0,
        lags=lags, fused=fuse_first_step(shim, opts), edges=lp.edges, progress=progress,
    )  # fmt: skip
    _fill_level0(lp, st, data, opts, arr, client, lags)
    # the level pass owns the level-1 sums (dropped at level 2) and the normalized variables
    _later_levels(
        lp, pairs0, quality0, st.pop("raw"), st.pop("ybuf"), st.pop("const"), data, opts, progress
    )
    del st
    raw1 = level1_sums(arr, data, opts, client, pairs0)  # for the lags and the blocks
    if "autocorrelation" in opts.observables and opts.max_lag is None:
        _extend_lags(lp, arr, raw1, data, opts, client, auto_max_lag(lp.acf_long, opts.t_eval))
    warn_level_notes(lp, data.n_units)

    def block_stats(edges: np.ndarray, max_lag: int, with_acf: bool) -> dict:
        var0, p00, acf0 = block_pass(arr, data, opts, client, edges, max_lag, with_acf)
        rest = block_level_stats(_shifted(raw1, data), lp.step_pairs[1:], edges, max_lag, with_acf)
        return {
            "var": np.concatenate([var0[None], rest["var"]]),
            "p0": [p00, *rest["p0"]],
            "acf": np.concatenate([acf0[None], rest["acf"]]),
        }

    blk = blocks_and_taus(
        data, lp.step_pairs, lp.acf_long, lp.n_clusters, opts.t_eval, opts.n_blocks,
        opts.max_lag, with_acf="autocorrelation" in opts.observables, block_stats=block_stats,
    )  # fmt: skip
    raw1 = None  # the block statistics were the last to read the level-1 sums
    warn_block_notes(lp, blk, auto_lag=opts.max_lag is None)
    measured = arr[:, opts.t_split :] if opts.holdout else arr
    if client is not None:  # each root's spectra computed by a task next to its rows
        source = ClientRows(measured, client)
    else:
        source = RowSource(measured, client, _spectra_roots(lp, opts, blk), _batch_rows(arr))
    eig = spectra_table(
        lp, dataclasses.replace(data, x=source), opts, blk["block_edges"], blk["n_blocks"]
    )
    res = build_result(act, opts, data, lp, blk, eig)
    res.attrs["input_storage"] = describe_storage(
        act, arr, client, approximate=opts.pairing == "approximate"
    )
    return res


def _first_pairs(
    arr: Any, data: PrgData, opts: PrgOptions, client: Any, quality: dict
) -> np.ndarray:
    """Level 0's pairs: random, or the greedy pairs on the dask machinery.

    Exact (:func:`~rgdata.coarse.distributed.dask_greedy_pairs`), or with
    ``pairing="approximate"`` above ``APPROX_OPTIONS["min_units"]`` units over
    approximate candidates from a random projection
    (:func:`~rgdata.coarse._ann_dask.dask_sketch_pairs`), whose measured
    quality goes to *quality*.
    """
    from .distributed import dask_greedy_pairs  # noqa: PLC0415 (import cycle)

    if opts.pairing == "random":
        return random_pairs(data.n_units, opts.rng)
    x_pair = arr[:, : opts.t_split] if opts.holdout else arr
    if opts.pairing == "approximate" and data.n_units > APPROX_OPTIONS["min_units"]:
        pairs, measured = dask_sketch_pairs(
            x_pair,
            k=min(APPROX_OPTIONS["k"], data.n_units - 2),
            block_size=SPARSE_OPTIONS["block_size"],
            rng=opts.rng,
            client=client,
            exact=data.pair_exact,
        )
        quality.update(measured)
        return pairs
    return dask_greedy_pairs(
        x_pair,
        k=min(SPARSE_OPTIONS["k"], data.n_units - 1),
        block_size=SPARSE_OPTIONS["block_size"],
        client=client,
        exact=data.pair_exact,
    )


def _mean_acf(acf: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """:func:`cluster_mean_acf` from per-unit rows."""
    if not ok.any():
        return np.full(acf.shape[1], np.nan)
    return acf[ok].mean(axis=0)


def _fill_level0(
    lp: LevelPass, st: dict, data: PrgData, opts: PrgOptions, arr: Any, client: Any, lags: int
) -> None:
    """Level 0 of *lp* from the per-unit statistics, as ``_measure_level`` fills it."""
    n = data.n_units
    lp.membership[0] = np.arange(n)
    lp.n_left[0] = 0
    lp.n_const[0] = st["n_const"]
    obs = opts.observables
    if "variance" in obs:
        lp.variance[0] = st["var"].mean()
    if data.silent_of(1) is not None and "silence" in obs:
        with np.errstate(divide="ignore"):
            f_full = -np.log(st["p0"])
        if np.all(np.isfinite(f_full)):
            lp.free[0] = f_full.mean()
        else:
            lp.free_notes.append(
                f"level 0 (K=1): {int((~np.isfinite(f_full)).sum())} of "
                f"{f_full.size} clusters never silent"
            )
    acf_rows, ok = st["acf"], st["ok"]
    need_tau = "autocorrelation" in obs
    while True:  # level_acf's growing lags, one more pass over the chunks per try
        acf = _mean_acf(acf_rows, ok)
        if lags >= opts.long_lag or enough_lags(acf, need_tau, opts.max_lag):
            break
        lags = min(opts.long_lag, max(4 * lags, RETRY_LAG))
        acf_rows, ok = acf_pass(arr, opts, client, lags)
    lp.acf_long[0, : lags + 1] = acf
    lp.acf_lags[0] = lags
    if "distribution" in obs:
        t_pair = opts.t_split if opts.holdout else data.n_time
        lp.dist[0], lp.zero[0], lp.oor[0] = finish_histogram(
            st["hist"], n * t_pair, lp.edges, data.norm
        )
    else:
        lp.dist[0] = np.nan


def _later_levels(
    lp: LevelPass,
    pairs0: np.ndarray,
    quality0: dict,
    raw: np.ndarray,
    ybuf: np.ndarray,
    const: np.ndarray,
    data: PrgData,
    opts: PrgOptions,
    progress: bool,
) -> None:
    """Record level 0's pairs (and *quality0*), then measure and pair levels ``1..n_levels``.

    :func:`rgdata.coarse._prg_levels.later_levels`, the in-memory loop, with
    :func:`_level_pairs` pairing each level.
    """
    a, _ = record_step(lp, 0, pairs0, quality0, data)
    levels = progress_bar(range(1, opts.n_levels + 1), enable=progress, desc="PRG levels")

    def choose(y, quality, sums, scratch):
        return _level_pairs(y, opts, quality, sums, scratch)

    later_levels(lp, levels, raw, ybuf[: a.size], ybuf, const, data, opts, choose)


def _level_pairs(
    y: np.ndarray,
    opts: PrgOptions,
    quality: dict,
    sums: np.ndarray | None,
    scratch: np.ndarray | None = None,
):
    """The pairs :func:`choose_pairs` forms, with its sparse steps on the dask machinery.

    Where :func:`choose_pairs` would take the sparse path (the dense matrix
    does not fit), the rows are paired by
    :func:`rgdata.coarse.distributed.dask_greedy_pairs` in this process
    instead: the same exact greedy pairs over the same correlations, with
    each task preparing its own blocks, so no float64 copy of the level's
    variables (``m x T x 8`` bytes, the largest array of the in-memory sparse
    path) is held (the rows are passed as they are: the blocks are views).
    With ``pairing="approximate"``, levels above
    ``APPROX_OPTIONS["min_units"]`` variables are paired as level 0 is
    (:func:`~rgdata.coarse._ann_dask.dask_sketch_pairs`, in this process): no
    ``m x T`` unit vectors or float64 copy. Everything else goes to
    :func:`choose_pairs`.
    """
    from .distributed import dask_greedy_pairs  # noqa: PLC0415 (import cycle)

    m = y.shape[0]
    if opts.pairing == "approximate" and m > APPROX_OPTIONS["min_units"]:
        pairs, measured = dask_sketch_pairs(
            y,
            k=min(APPROX_OPTIONS["k"], m - 2),
            block_size=SPARSE_OPTIONS["block_size"],
            rng=opts.rng,
            exact=resolve_exact(y, "auto"),  # choose_pairs' decision on the same rows
        )
        quality.update(measured)
        return pairs
    if opts.pairing != "correlation":
        return choose_pairs(y, opts, "auto", record=quality, sums=sums, scratch=scratch)
    rows = sums if _proportional(y, sums) else y  # choose_pairs' exact integer substitution
    exact = resolve_exact(rows, "auto")
    product = 8 if exact is None else np.dtype(exact).itemsize
    if not use_sparse(m, opts.corr_dtype, product) and _dense_fits(rows, opts, product, exact):
        return choose_pairs(y, opts, "auto", record=quality, sums=sums, scratch=scratch)
    return dask_greedy_pairs(
        rows,
        k=min(SPARSE_OPTIONS["k"], m - 1),
        block_size=SPARSE_OPTIONS["block_size"],
        exact=exact,
    )


def _dense_fits(rows: np.ndarray, opts: PrgOptions, product: int, exact: str | None) -> bool:
    """Whether the dense pairing's arrays fit in ``DENSE_FRACTION`` of the memory budget.

    The in-memory switch (:func:`rgdata.coarse._prg_sparse.use_sparse`)
    counts the matrix against the memory available; here the budget is also
    capped by ``max_memory``, and the prepared rows (float64 z-scores,
    ``m T 8`` bytes) count too, so a run given ``max_memory`` keeps its dense
    levels within it.
    """
    m, t_len = rows.shape
    itemsize = np.dtype(opts.corr_dtype).itemsize
    need = m * m * (product + (itemsize if product > itemsize else 0))
    need += m * t_len * (8 if exact is None else product)
    have = available_memory()
    budget = [b for b in (have, opts.max_memory) if b is not None and np.isfinite(b)]
    return not budget or need <= DENSE_FRACTION * min(budget)


def _extend_lags(
    lp: LevelPass,
    arr: Any,
    raw1: np.ndarray,
    data: PrgData,
    opts: PrgOptions,
    client: Any,
    max_lag: int,
) -> None:
    """``_prg_levels._extend_lags``: level 0 from the chunks, the others from the level-1 sums."""
    short = short_levels(lp, max_lag)
    if 0 in short:
        lp.acf_long[0, : max_lag + 1] = _mean_acf(*acf_pass(arr, opts, client, max_lag))
        lp.acf_lags[0] = max_lag
    if any(lv > 0 for lv in short):
        extend_lags_from(lp, 1, raw1, short, max_lag, data)


def _shifted(raw1: np.ndarray, data: PrgData) -> SimpleNamespace:
    """Level-1 sums as the level-0 data of :func:`block_level_stats` (cluster sizes doubled)."""
    return SimpleNamespace(
        x=raw1,
        sum_dtype=data.sum_dtype,
        silent_of=lambda k: silent_value(data.coding, 2 * k),
    )


def _spectra_roots(lp: LevelPass, opts: PrgOptions, blk: dict) -> list[np.ndarray]:
    """The clusters whose rows the spectra read (``spectra_table``'s levels)."""
    sizes = lp.sizes
    levels = [
        lv
        for lv in range(opts.n_levels + 1)
        if sizes[lv] <= opts.max_eigen_size and opts.t_eval / sizes[lv] > 10
    ]
    if "spectra" not in opts.observables or not levels:
        return []
    return spectra_roots(lp, max(levels))


def _batch_rows(arr: Any) -> int:
    """Rows of input read at once for the spectra."""
    per_row = arr.shape[1] * arr.dtype.itemsize
    budget = _SPECTRA_BATCH_BYTES
    have = available_memory()
    if have is not None:
        budget = min(budget, have // 8)
    return max(int(max(arr.chunks[0])), budget // per_row)
