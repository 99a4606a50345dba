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
   kernels and pairing); when the plan
   (:func:`~rgdata.coarse._prg_lazy_input.lazy_plan`) says their sums do not
   fit, levels ``1 .. L - 1`` are kept out of memory instead, on the client's
   workers or in a temporary directory, and measured, paired and summed
   chunk by chunk (:mod:`rgdata.coarse._prg_lazy_levels`), the levels from
   ``L`` on in memory;
5. the block statistics and the cluster spectra read the chunks again
   (with a client, as tasks on its workers): level 0's and the kept levels'
   from their chunks, the in-memory levels' from the first in-memory level's
   sums rebuilt.

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
from ._blocks import auto_max_lag, block_level_stats, blocks_and_taus
from ._memory import available_memory
from ._prg_lazy_input import LazyPlan, describe_storage, prepare_lazy
from ._prg_lazy_levels import (
    LazyLevel,
    LevelStore,
    fill_level,
    level_pairs,
    mean_acf,
    measure_level,
    sum_pairs,
)
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
    fuse_first_step,
    later_levels,
    new_level_pass,
    record_step,
    short_levels,
    warn_level_notes,
)
from ._prg_pairing import random_pairs
from ._prg_result import build_result, spectra_table, warn_block_notes
from ._prg_setup import PrgData, PrgOptions, silent_value
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
    act, opts, data, arr, plan = prepare_lazy(activity, opts_of, client)
    with LevelStore(client, plan.chunk_rows) as store:  # removes its files, also on error
        lp, kept = _levels(arr, data, opts, client, plan, store, progress)
        res = _blocks_and_spectra(act, arr, lp, kept, data, opts, client, plan)
    res.attrs["input_storage"] = describe_storage(
        act, arr, client, approximate=opts.pairing == "approximate",
        first_in_memory=plan.first_in_memory, n_levels=opts.n_levels,
    )  # fmt: skip
    return res


def _levels(
    arr: Any,
    data: PrgData,
    opts: PrgOptions,
    client: Any,
    plan: LazyPlan,
    store: LevelStore,
    progress: bool,
) -> tuple[LevelPass, list[LazyLevel]]:
    """Measure and pair every level; the levels kept out of memory (1 .. L - 1).

    Level 0 from the chunks; levels ``1 .. L - 1`` (``L`` =
    ``plan.first_in_memory``) kept in *store* and measured, paired and summed
    chunk by chunk (:mod:`rgdata.coarse._prg_lazy_levels`); the levels from
    ``L`` on in memory (``later_levels``).
    """
    first_mem = plan.first_in_memory
    t_eval, t_pair = data.n_time - opts.t_split, (opts.t_split if opts.holdout else data.n_time)
    if first_mem > 1 and opts.n_levels > 0:  # the disk the kept levels need, before any work
        sizes = [
            (data.n_units >> lv)
            * (t_eval * data.sum_dtype.itemsize + t_pair * data.float_dtype.itemsize)
            for lv in range(1, min(first_mem, opts.n_levels + 1))
        ]
        store.check_space(sizes[0] if client is not None else sum(sizes))  # with a client, in turn
    quality0: dict = {}
    pairs0 = _first_pairs(arr, data, opts, client, quality0)
    lp = new_level_pass(data, opts)
    shim = SimpleNamespace(x_pair=arr, coding=data.coding, norm=data.norm)
    lags = min(opts.first_lag, opts.long_lag)
    out = None
    if first_mem > 1 and opts.n_levels > 0:  # level 1 kept: its sums go to the store's files
        out = store.empty(1, pairs0.shape[0], t_eval, t_pair, data)
    st = stream_level0(
        arr, data, opts, client, pairs0,
        lags=lags, fused=fuse_first_step(shim, opts), edges=lp.edges, progress=progress,
        out=None if out is None else (np.asarray(out[0]), np.asarray(out[1])),
        on_chunk=None if out is None else store.release,
    )  # fmt: skip
    _fill_level0(lp, st, data, opts, arr, client, lags)
    if out is None:  # the level pass owns the level-1 sums (dropped at level 2)
        _later_levels(
            lp, pairs0, quality0, st.pop("raw"), st.pop("ybuf"), st.pop("const"), data, opts,
            progress, first=1,
        )  # fmt: skip
        return lp, []
    record_step(lp, 0, pairs0, quality0, data)
    kept = [store.keep(1, out[0], out[1], st.pop("const"))]
    del st, out
    while True:
        level = kept[-1].level
        measure_level(lp, kept[-1], data, opts, client, progress)
        if level == opts.n_levels:
            return lp, kept
        quality: dict = {}
        pairs = level_pairs(kept[-1], opts, client, quality)
        store.release()  # the pages the pairing mapped
        record_step(lp, level, pairs, quality, data)
        m = pairs.shape[0]
        if level + 1 < first_mem:  # the next level is kept too
            raw, y = store.empty(level + 1, m, t_eval, t_pair, data)
            const = sum_pairs(
                kept[-1], pairs, data, client, np.asarray(raw), np.asarray(y), plan.chunk_rows,
                progress, on_chunk=store.release,
            )  # fmt: skip
            kept.append(store.keep(level + 1, raw, y, const))
            continue
        raw = np.empty((m, t_eval), dtype=data.sum_dtype)
        ybuf = np.empty((m + m // 2, t_pair), dtype=data.float_dtype)  # room for the next sums
        const = sum_pairs(kept[-1], pairs, data, client, raw, ybuf[:m], plan.chunk_rows, progress)
        _later_levels(lp, None, None, raw, ybuf, const, data, opts, progress, first=level + 1)
        return lp, kept


def _blocks_and_spectra(
    act: xr.DataArray,
    arr: Any,
    lp: LevelPass,
    kept: list[LazyLevel],
    data: PrgData,
    opts: PrgOptions,
    client: Any,
    plan: LazyPlan,
) -> xr.Dataset:
    """The longer autocorrelations, the block statistics and the spectra; the result.

    Level 0 reads the chunks again, the kept levels their chunks, the levels
    from ``L`` on their sums rebuilt in memory (from the chunks at ``L = 1``,
    else from level ``L - 1``'s kept rows).
    """
    first_mem = plan.first_in_memory
    raw_mem = None
    if first_mem <= opts.n_levels:  # the first in-memory level's sums, for lags and blocks
        if first_mem == 1:
            raw_mem = level1_sums(arr, data, opts, client, _pairs(lp, 0))
        else:
            pairs = _pairs(lp, first_mem - 1)
            raw_mem = np.empty((pairs.shape[0], data.n_time - opts.t_split), data.sum_dtype)
            sum_pairs(kept[-1], pairs, data, client, raw_mem, None, plan.chunk_rows)
    if "autocorrelation" in opts.observables and opts.max_lag is None:
        max_lag = auto_max_lag(lp.acf_long, opts.t_eval)
        _extend_lags(lp, arr, kept, raw_mem, first_mem, data, opts, client, max_lag)
    warn_level_notes(lp, data.n_units)

    def block_stats(edges: np.ndarray, max_lag: int, with_acf: bool) -> dict:
        parts = [block_pass(arr, data, opts, client, edges, max_lag, with_acf)]
        for lv in kept:
            parts.append(block_pass(lv.raw, data, opts, client, edges, max_lag, with_acf, lv.level))
        var = [p[0][None] for p in parts]
        p0 = [p[1] for p in parts]
        acf = [p[2][None] for p in parts]
        if raw_mem is not None:
            rest = block_level_stats(
                _shifted(raw_mem, data, first_mem), lp.step_pairs[first_mem:], edges, max_lag,
                with_acf,
            )  # fmt: skip
            var.append(rest["var"])
            p0.extend(rest["p0"])
            acf.append(rest["acf"])
        return {"var": np.concatenate(var), "p0": p0, "acf": np.concatenate(acf)}

    blk = blocks_and_taus(
        data, lp.step_pairs, lp.acf_long, lp.n_clusters, opts.t_eval, opts.n_blocks,
        opts.max_lag, with_acf="autocorrelation" in opts.observables, block_stats=block_stats,
    )  # fmt: skip
    raw_mem = None  # the block statistics were the last to read the sums
    kept.clear()
    warn_block_notes(lp, blk, auto_lag=opts.max_lag is None)
    measured = arr[:, opts.t_split :] if opts.holdout else arr
    if client is not None:  # each root's spectra computed by a task next to its rows
        source = ClientRows(measured, client)
    else:
        source = RowSource(measured, client, _spectra_roots(lp, opts, blk), _batch_rows(arr))
    eig = spectra_table(
        lp, dataclasses.replace(data, x=source), opts, blk["block_edges"], blk["n_blocks"]
    )
    return build_result(act, opts, data, lp, blk, eig)


def _pairs(lp: LevelPass, level: int) -> np.ndarray:
    """The ``(m // 2, 2)`` pairs formed at *level*."""
    a, b_ = lp.step_pairs[level]
    return np.stack([a, b_], axis=1)


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


def _fill_level0(
    lp: LevelPass, st: dict, data: PrgData, opts: PrgOptions, arr: Any, client: Any, lags: int
) -> None:
    """Level 0 of *lp* from the streaming pass's per-unit statistics (:func:`fill_level`)."""
    t_pair = opts.t_split if opts.holdout else data.n_time
    st = {**st, "n_values": data.n_units * t_pair}
    fill_level(lp, 0, st, data, opts, lags, lambda more: acf_pass(arr, opts, client, more))


def _later_levels(
    lp: LevelPass,
    pairs0: np.ndarray | None,
    quality0: dict | None,
    raw: np.ndarray,
    ybuf: np.ndarray,
    const: np.ndarray,
    data: PrgData,
    opts: PrgOptions,
    progress: bool,
    first: int = 1,
) -> None:
    """Measure and pair levels ``first..n_levels`` in memory, from level *first*'s sums.

    :func:`rgdata.coarse._prg_levels.later_levels`, the in-memory loop, with
    :func:`_level_pairs` pairing each level; *pairs0* (with *quality0*), when
    given, are level 0's pairs, recorded first. *ybuf* holds level *first*'s
    normalized variables in its first rows and room for the next level's.
    """
    if pairs0 is not None:
        record_step(lp, 0, pairs0, quality0, data)
    m = raw.shape[0]
    levels = progress_bar(range(first, opts.n_levels + 1), enable=progress, desc="PRG levels")

    def choose(y, quality, sums, scratch):
        return _level_pairs(y, opts, quality, sums, scratch)

    later_levels(lp, levels, raw, ybuf[:m], ybuf, const, data, opts, choose)


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
    kept: list[LazyLevel],
    raw_mem: np.ndarray | None,
    first_mem: int,
    data: PrgData,
    opts: PrgOptions,
    client: Any,
    max_lag: int,
) -> None:
    """``_prg_levels._extend_lags``: level 0 and the kept levels from their chunks, the rest
    from the first in-memory level's sums *raw_mem*."""
    short = short_levels(lp, max_lag)
    if 0 in short:
        lp.acf_long[0, : max_lag + 1] = mean_acf(*acf_pass(arr, opts, client, max_lag))
        lp.acf_lags[0] = max_lag
    for lv in kept:
        if lv.level in short:
            rows = acf_pass(lv.raw, opts, client, max_lag, level=lv.level)
            lp.acf_long[lv.level, : max_lag + 1] = mean_acf(*rows)
            lp.acf_lags[lv.level] = max_lag
    if raw_mem is not None and any(lv >= first_mem for lv in short):
        extend_lags_from(lp, first_mem, raw_mem, short, max_lag, data)


def _shifted(raw: np.ndarray, data: PrgData, level: int) -> SimpleNamespace:
    """Level *level*'s sums as the level-0 data of :func:`block_level_stats` (sizes x 2**level)."""
    return SimpleNamespace(
        x=raw,
        sum_dtype=data.sum_dtype,
        silent_of=lambda k: silent_value(data.coding, 2**level * k),
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
