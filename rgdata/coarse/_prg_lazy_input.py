"""Step 1 of :func:`rgdata.coarse.prg` on a dask-backed activity: checks without loading it.

:func:`prepare_lazy` does what :func:`rgdata.activity.check_activity` and
:func:`rgdata.coarse._prg_setup.prepare_data` do for an in-memory activity
(NaN, constant units, binary values for spikes and spins, the coding of the
values, their largest magnitude, the cluster-sum dtype, the sorted-label
order) with one pass of chunked dask reductions, refuses chunks that do not
fit in memory, and checks the memory the lazy run needs
(:func:`lazy_peak_bytes`) before anything large is allocated. The result is a
:class:`~rgdata.coarse._prg_setup.PrgData` without the arrays (``x`` and
``x_pair`` are None) and the dask array in sorted-label order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._validation import describe
from ..activity import constant_units_error
from ._memory import _MARGIN, _OVERHEAD, available_memory, check_memory
from ._prg_setup import (
    PrgData,
    PrgOptions,
    _check_magnitude,
    _resolve_normalization,
    _sum_dtype,
    unit_order,
)
from ._prg_similarity import exact_product_dtype

__all__ = ["is_lazy", "prepare_lazy", "lazy_peak_bytes", "lazy_plan", "LazyPlan", "CHUNK_FRACTION"]

#: a row chunk (with its float64 working copies) may take at most this share of the memory
CHUNK_FRACTION = 0.25
#: bytes per value a row chunk costs while it is processed: the values, a float64 working
#: copy, the normalized float32 rows and the autocorrelation's FFT buffers
_CHUNK_BYTES_PER_VALUE = 24


def is_lazy(activity: Any) -> bool:
    """Whether *activity* is an xarray.DataArray holding a dask array."""
    if not isinstance(activity, xr.DataArray) or activity.chunks is None:
        return False
    import dask.array as da  # noqa: PLC0415 (optional dependency)

    return isinstance(activity.data, da.Array)


def _check_dims(activity: xr.DataArray) -> xr.DataArray:
    dims = set(activity.dims)
    if dims == {"trial", "unit", "time"}:
        raise ValueError(
            "activity has a 'trial' dim; this analysis needs ('unit', 'time'): "
            "call rgdata.stack_trials(activity) first"
        )
    if dims != {"unit", "time"}:
        raise ValueError(
            f"activity has dims {activity.dims}; accepted: ('unit', 'time') or "
            "('trial', 'unit', 'time')"
        )
    activity = activity.transpose("unit", "time")
    if activity.dtype.kind not in "biuf":
        raise TypeError(
            f"activity must hold booleans, integers or floats, got dtype {activity.dtype}"
        )
    n_unit, n_time = activity.shape
    if n_unit < 2:
        raise ValueError(f"activity has {n_unit} unit(s); at least 2 are needed")
    if n_time < 2:
        raise ValueError(f"activity has {n_time} time point(s); at least 2 are needed")
    return activity


def check_chunks(arr: Any, what: str = "activity") -> int:
    """Rows per chunk of *arr*; ValueError when one chunk does not fit in memory."""
    rows = int(max(arr.chunks[0]))
    cols = int(max(arr.chunks[1]))
    t_len = arr.shape[1]
    need = rows * t_len * _CHUNK_BYTES_PER_VALUE + rows * cols * arr.dtype.itemsize
    have = available_memory()
    if have is not None and need > CHUNK_FRACTION * have:
        fit = max(1, int(rows * CHUNK_FRACTION * have / need))
        raise ValueError(
            f"{what} chunks of {rows} units x {cols} time points do not fit in memory: "
            f"processing one chunk of whole rows ({t_len} time points) needs about "
            f"{need / 2**30:.2f} GiB, more than {CHUNK_FRACTION:.0%} of the "
            f"{have / 2**30:.2f} GiB available. Accepted: chunks of at most about {fit} units "
            f"(e.g. activity.chunk({{'unit': {fit}}}), or a store written with smaller chunks "
            "along the unit axis)"
        )
    return rows


def _scan(arr: Any, client: Any) -> dict:
    """One pass of chunked reductions: the facts the in-memory checks read from the values."""
    import dask.array as da  # noqa: PLC0415

    from .distributed import _run  # noqa: PLC0415 (import cycle through prg)

    floating = arr.dtype.kind == "f"
    if arr.dtype == bool:
        arr = arr.astype(np.int8)
    what = {
        "n_bad": (~da.isfinite(arr)).sum() if floating else da.zeros((), dtype=np.int64),
        "const": arr.min(axis=1) == arr.max(axis=1),
        "top": abs(arr).max(),
        "lo": arr.min(),
        "hi": arr.max(),
        "only01": ((arr == 0) | (arr == 1)).all(),
        "onlypm1": ((arr == -1) | (arr == 1)).all(),
        "has_neg": (arr < 0).any(),
        "integral": (arr == da.round(arr)).all() if floating else da.ones((), dtype=bool),
    }
    keys = list(what)
    values = _run(client, [what[k] for k in keys])
    return dict(zip(keys, values, strict=True))


def _coding(facts: dict, is_bool: bool) -> str:
    """The rule of :func:`rgdata.coarse._prg_stats.data_coding`, on the scanned facts."""
    if is_bool or facts["only01"]:
        return "01"
    if facts["onlypm1"]:
        return "pm1"
    if facts["integral"] and not facts["has_neg"]:
        return "counts"
    return "continuous"


def _validate(activity: xr.DataArray, facts: dict, coding: str) -> None:
    """The value checks of :func:`rgdata.activity.check_activity`, from the scanned facts."""
    if int(facts["n_bad"]):
        arr = activity.data
        first = next(  # the first bad chunk only: one more read
            (i0, blk)
            for i0, blk in _row_chunks(arr)
            if not np.all(np.isfinite(np.asarray(blk.compute(scheduler="synchronous"))))
        )
        block = np.asarray(first[1].compute(scheduler="synchronous"))
        where = np.argwhere(~np.isfinite(block))[0]
        raise ValueError(
            f"activity contains {int(facts['n_bad'])} NaN/inf value(s) (first at index "
            f"{(int(where[0]) + first[0], int(where[1]))}); remove or interpolate them first"
        )
    kind = activity.attrs.get("kind")
    if kind in ("spikes", "spins") and coding not in ("01", "pm1"):
        raise ValueError(
            f"activity must be binary, coded 0/1 or -1/+1; got values between "
            f"{facts['lo']} and {facts['hi']}"
        )
    const = np.flatnonzero(np.asarray(facts["const"]))
    if const.size:
        raise constant_units_error("activity", activity["unit"].values[const])


def _row_chunks(arr: Any):
    """``(first row, dask block)`` for each row chunk of *arr* (whole rows)."""
    start = 0
    for i, rows in enumerate(arr.chunks[0]):
        yield start, arr.blocks[i]
        start += rows


def lazy_peak_bytes(
    data: PrgData, opts: PrgOptions, chunk_rows: int, on_client: bool, input_itemsize: int
) -> int:
    """Estimated peak bytes of :func:`rgdata.coarse.prg` on a dask-backed activity.

    The peak of the plan :func:`lazy_plan` chooses (the in-memory estimate's
    margin and constant included).
    """
    return lazy_plan(data, opts, chunk_rows, on_client, input_itemsize)[0]


def lazy_plan(
    data: PrgData, opts: PrgOptions, chunk_rows: int, on_client: bool, input_itemsize: int
) -> tuple[int, int, dict[str, float]]:
    """``(peak bytes, first level run in memory, bytes per stage)`` of the lazy run.

    Levels ``1 .. L - 1`` are kept out of memory (:mod:`rgdata.coarse._prg_lazy_levels`)
    and levels from ``L`` on run in memory; ``L`` is the smallest level
    whose plan fits the budget (``max_memory`` and the memory available; 1,
    as before, when no budget is known), else the plan with the smallest peak
    (every level lazy at worst), which :func:`prepare_lazy` then refuses. The
    stages (the largest is the peak):

    * ``first pairing``: without a client, the activity's values in this
      process (their own dtype), plus two blocks of rows prepared in float64
      and three blocks of correlations per task
      (:func:`rgdata.coarse.distributed.dask_greedy_pairs`);
    * ``level-0 pass``: the per-unit level-0 numbers (first lag range), the
      rows waiting for their partner (a quarter of the units: about the most
      for units in random order), one chunk and, when level 1 runs in memory,
      the level-1 sums and normalized sums (room for one and a half levels);
    * ``lazy levels``: for each level kept out of memory, its pairing (one
      task, the candidate lists), its per-row numbers and the pass that sums
      its pairs (a chunk of pairs and the rows they read);
    * ``in-memory levels``: at level ``L`` the sums and the normalized
      variables with one pairing task; one level on, the sums (half) and a
      dense pairing, which the lazy switch keeps within ``DENSE_FRACTION`` of
      the budget;
    * ``block statistics``: level ``L``'s sums rebuilt, per-unit block
      autocorrelations (10 blocks, up to 100 lags);
    * with ``pairing="approximate"``, the first pairing and each sketched
      level also hold what :func:`_approx_bytes` counts.
    """
    have = available_memory()
    budget = [b for b in (have, opts.max_memory) if b is not None and np.isfinite(b)]
    plans = []
    for first_in_memory in range(1, opts.n_levels + 2):
        stages = _stages(data, opts, chunk_rows, on_client, input_itemsize, first_in_memory, budget)
        peak = int(_MARGIN * max(stages.values()) + _OVERHEAD)
        plans.append((peak, first_in_memory, stages))
        if not budget or peak <= min(budget):
            return plans[-1]
    return min(plans, key=lambda p: (p[0], p[1]))


def _stages(
    data: PrgData,
    opts: PrgOptions,
    chunk_rows: int,
    on_client: bool,
    input_itemsize: int,
    first_in_memory: int,
    budget: list,
) -> dict[str, float]:
    """The bytes of each stage of :func:`lazy_plan` for one choice of the first in-memory level."""
    from ._prg_sparse import DENSE_FRACTION, SPARSE_OPTIONS  # noqa: PLC0415 (import cycle)

    n, t_len = data.n_units, data.n_time
    t_pair = opts.t_split if opts.holdout else t_len
    t_eval = t_len - opts.t_split
    prepared = 8 if data.pair_exact is None else np.dtype(data.pair_exact).itemsize
    sum_b, float_b = data.sum_dtype.itemsize, data.float_dtype.itemsize

    def task(m: int) -> int:  # one pairing task: two blocks prepared, three of correlations
        block = min(SPARSE_OPTIONS["block_size"], m)
        return 2 * block * t_pair * (prepared + 8) + 3 * block**2 * 8

    def sums(m: int) -> float:
        return m * t_eval * sum_b

    def normalized(m: int) -> float:
        return 1.5 * m * t_pair * float_b

    first = (0 if on_client else n * t_pair * input_itemsize) + task(n)
    if opts.pairing == "approximate":  # the sketch, its top-k lists, edges, quality check
        first += _approx_bytes(n, t_pair)
    per_unit = n * (opts.first_lag + 1) * 8 * 2
    waiting = (n // 4) * (t_eval * input_itemsize + t_pair * float_b)
    chunk = chunk_rows * t_len * _CHUNK_BYTES_PER_VALUE
    level0 = per_unit + waiting + chunk
    half = max(n // 2, 1)
    if first_in_memory == 1:
        level0 += sums(half) + normalized(half)
    lazy = 0.0
    for level in range(1, min(first_in_memory, opts.n_levels + 1)):
        m = max(n >> level, 1)
        k = min(SPARSE_OPTIONS["k"], m)
        pairing = task(m) + m * (k + 1) * 16
        if opts.pairing == "approximate":
            pairing += _approx_bytes(m, t_pair)
        rows = min(chunk_rows, m)  # a chunk of pairs: its sums and the rows they read, twice
        summing = 2 * 3 * rows * (t_eval * sum_b + t_pair * float_b)
        lazy = max(lazy, m * (opts.first_lag + 1) * 8 * 2 + max(pairing, summing, chunk))
    levels, blocks = 0.0, float(n * 10 * (min(opts.long_lag, 100) + 1) * 8)
    if first_in_memory <= opts.n_levels:
        m = max(n >> first_in_memory, 1)
        quarter = m // 2
        dense = quarter * quarter * 12 + quarter * t_pair * 8
        if budget:
            dense = min(dense, DENSE_FRACTION * min(budget))
        levels = max(sums(m) + normalized(m) + task(m), sums(m) / 2 + normalized(m) + dense)
        if opts.pairing == "approximate":
            levels = max(levels, sums(m) + normalized(m) + task(m) + _approx_bytes(m, t_pair))
        blocks += sums(m)
    return {
        "first pairing": first,
        "level-0 pass": level0,
        "levels kept lazy": lazy,
        "in-memory levels": levels,
        "block statistics": blocks,
    }


def _approx_bytes(m: int, t_pair: int) -> int:
    """What one sketched approximate step of *m* rows holds besides the rows (bytes).

    The sketch, its top-k candidate lists and the candidate edges
    (:func:`~rgdata.coarse._ann_dask.sketch_pairing_bytes`), one chunk of
    gathered edge rows per side (float64) and the quality check (the checked
    units' prepared rows and their similarities with one block of columns,
    counted as an ``s x s`` matrix, ``s`` the checked units: an upper bound;
    twice for the temporaries); zero at levels paired exactly.
    """
    from ._ann import _EDGE_CHUNK_VALUES, APPROX_OPTIONS  # noqa: PLC0415
    from ._ann_dask import sketch_pairing_bytes  # noqa: PLC0415

    if m <= APPROX_OPTIONS["min_units"]:
        return 0
    s = min(m, APPROX_OPTIONS["n_sample"])
    return sketch_pairing_bytes(m, t_pair) + 2 * 8 * (_EDGE_CHUNK_VALUES + s * t_pair + s * s)


#: what to do when a stage of the lazy plan does not fit, per stage
_ADVICE = {
    "first pairing": "Pass a dask client (the activity's values then stay on its workers), "
    "or use fewer units or time points.",
    "client": "Use fewer units or time points (or chunks of fewer units).",
    "level-0 pass": "Use chunks of fewer units, units stored in an order that keeps "
    "correlated units close, or fewer units or time points.",
    "levels kept lazy": "Use chunks of fewer units, or fewer units or time points.",
    "in-memory levels": "Use fewer units or time points.",
    "block statistics": "Use fewer units or time points.",
}


@dataclass(frozen=True)
class LazyPlan:
    """How the lazy run proceeds: rows per input chunk, first level run in memory."""

    chunk_rows: int
    first_in_memory: int


def prepare_lazy(
    activity: xr.DataArray, opts_of: Any, client: Any
) -> tuple[xr.DataArray, PrgOptions, PrgData, Any, LazyPlan]:
    """Check a dask-backed activity and prepare the lazy run (nothing of size N x T is loaded).

    *opts_of* is called with the checked activity to validate the options
    (``check_options``; it reads only shapes and attrs). Returns the checked
    activity, the options, the data (arrays None), the dask array in sorted
    unit order with whole rows per chunk, and the :class:`LazyPlan` (rows per
    chunk, first level whose sums are held in memory).
    """
    act = _check_dims(activity)
    opts = opts_of(act)
    arr = act.data
    if arr.dtype == bool:
        arr = arr.astype(np.int8)
    chunk_rows = check_chunks(arr)
    facts = _scan(arr, client)
    coding = _coding(facts, act.dtype == bool)
    _validate(act, facts, coding)
    n_units, t_len = arr.shape
    norm = _resolve_normalization(opts.normalization, coding)
    top_value = float(facts["top"])
    float_dtype = np.dtype(opts.corr_dtype)
    _check_magnitude(top_value, n_units, t_len, norm, float_dtype)
    sum_dtype = _sum_dtype(arr, coding, n_units, top_value)
    labels = act["unit"].values
    canon = unit_order(labels)
    if not np.array_equal(canon, np.arange(n_units)):
        arr = arr[canon]  # lazy; every later pass reads the units in sorted order
    arr = arr.rechunk({1: -1})
    t_pair = opts.t_split if opts.holdout else t_len
    data = PrgData(
        x_pair=None,
        x=None,
        labels=labels[canon],
        canon=canon,
        coding=coding,
        norm=norm,
        float_dtype=float_dtype,
        sum_dtype=sum_dtype,
        needed=0,
        pair_exact=exact_product_dtype(coding != "continuous", top_value, t_pair),
        n_units=n_units,
        n_time=t_len,
    )
    chunk_rows = int(max(arr.chunks[0]))
    on_client = client is not None
    needed = lazy_peak_bytes(data, opts, chunk_rows, on_client, arr.dtype.itemsize)
    _, first_in_memory, stages = lazy_plan(data, opts, chunk_rows, on_client, arr.dtype.itemsize)
    largest = max(stages, key=stages.get)
    check_memory(
        needed,
        opts.max_memory,
        f"prg on a dask-backed activity of {n_units} units x {t_len} time points",
        "Levels whose sums do not fit are already kept out of memory (on the client's "
        "workers, else in a temporary directory); the largest stage left is the "
        f"{largest} ({stages[largest] / 2**30:.2f} GiB before the margin). "
        + _ADVICE["client" if on_client and largest == "first pairing" else largest],
    )
    data = PrgData(**{**data.__dict__, "needed": needed})
    return act, opts, data, arr, LazyPlan(chunk_rows, first_in_memory)


def describe_storage(
    act: xr.DataArray,
    arr: Any,
    client: Any,
    approximate: bool = False,
    first_in_memory: int = 1,
    n_levels: int = 1,
) -> str:
    """The note of ``attrs["input_storage"]`` for a lazy run.

    *first_in_memory*: the first level whose sums were held in this process
    (levels ``1 .. first_in_memory - 1`` were kept out of memory).
    """
    size = act.size * act.dtype.itemsize / 2**30
    where = (
        f"the dask client {describe(client)}"
        if client is not None
        else "dask's synchronous scheduler in this process"
    )
    how = ""
    if approximate:
        how = (
            " (approximate: candidates from a random projection of the rows computed block "
            "by block, exact values and the quality check read from the blocks)"
        )
    n_unit, n_time = act.shape
    if first_in_memory == 1:
        levels = f"levels from 1 on ran in memory on the {n_unit // 2} x {n_time} level-1 sums"
    else:
        kept = (
            "persisted on the client's workers"
            if client is not None
            else ("written to a temporary directory (removed at the end)")
        )
        last = min(first_in_memory - 1, n_levels)
        which = "level 1 was" if last == 1 else f"levels 1 to {last} were"
        levels = f"{which} kept lazy (sums {kept}, paired and measured chunk by chunk as level 0)"
        if first_in_memory <= n_levels:
            levels += (
                f", the levels from {first_in_memory} on ran in memory on the "
                f"{n_unit >> first_in_memory} x {n_time} level-{first_in_memory} sums"
            )
    return (
        f"dask-backed activity ({n_unit} x {n_time}, {size:.2f} GiB, chunks of "
        f"{int(max(arr.chunks[0]))} units) kept lazy: the level-0 statistics, blocks and "
        f"cluster spectra (when computed) read it chunk by chunk, the first pairing{how} ran "
        f"on {where}, and the {levels}"
    )
