"""Step 1 of :func:`rgdata.coarse.prg`: check the options and prepare the data.

:func:`check_options` validates every argument and derives the sample split
(hold-out), the number of levels and the lag range; :func:`prepare_data`
classifies the values (spikes, counts, +-1, continuous), resolves the
normalization, checks magnitudes and memory, and puts the units in sorted-label
order. Nothing large is allocated before the memory check.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._validation import (
    check_dtype_option,
    check_int,
    check_option,
    check_random_state,
    describe,
)
from ._memory import (
    MAX_MAGNITUDE,
    check_magnitude,
    check_max_memory,
    check_memory,
    max_abs,
    prg_peak_bytes,
)
from ._prg_similarity import exact_product_dtype
from ._prg_stats import data_coding

__all__ = [
    "OBSERVABLES",
    "NORMALIZATIONS",
    "PAIRINGS",
    "LEFT_OUT_WARN_FRACTION",
    "MAX_MAGNITUDE",
    "PrgOptions",
    "PrgData",
    "check_options",
    "prepare_data",
    "seed_attr",
]

NORMALIZATIONS = ("auto", "nonzero_mean", "variance", "none")
#: what ``prg(observables=...)`` can compute; "all" (the default) is every one of them
OBSERVABLES = ("variance", "silence", "spectra", "autocorrelation", "distribution")
#: lags of the first autocorrelation of a level: enough for tau_int's window (and, when the
#: autocorrelation is reported, the automatic max_lag >= 100) on most data; more when not.
#: Without the reported autocorrelation only tau_int's window must close: 16 lags (direct
#: products, ~8x cheaper than the FFT) suffice for short correlation times; a level that
#: needs more goes straight to RETRY_LAG (one FFT; once, since the next levels start
#: there), not 64 then 256 (which made the retina's levels slower than one 128-lag FFT)
_FIRST_LAG = {True: 128, False: 16}
#: lags tried after a first try fell short (at least; the tries grow fourfold)
RETRY_LAG = 128
PAIRINGS = ("correlation", "random", "approximate")
_CORR_DTYPES = ("float32", "float64")
_MIN_BLOCK_SAMPLES = 10
#: warn about units left out (odd numbers of clusters) only when a level misses more than
#: this share of the units; any unit count that is not a power of two leaves some out
LEFT_OUT_WARN_FRACTION = 0.25
#: largest accepted ``max |activity| * n_units * sqrt(n_time)``: cluster sums (up to
#: n_units values) squared and summed over time must stay far below float64's 1.8e308


@dataclass(frozen=True)
class PrgOptions:
    """Validated arguments of :func:`prg` and the sample ranges derived from them."""

    normalization: str  # as requested ("auto" resolved in PrgData.norm)
    pairing: str
    corr_dtype: str
    spectrum: str
    n_blocks: int | None  # None: chosen from the data
    n_blocks_requested: Any
    n_bins: int
    max_eigen_size: int
    holdout: bool
    max_memory: float | None
    random_state: Any
    rng: np.random.Generator
    n_levels: int
    t_split: int  # first measured sample (0 without hold-out)
    t_eval: int  # number of measured samples
    max_lag: int | None  # None: chosen from the data
    long_lag: int  # most lags of the first-pass autocorrelation (the levels stop earlier)
    first_lag: int  # lags tried first at each level
    observables: frozenset  # what is computed (the rest is NaN)


@dataclass(frozen=True)
class PrgData:
    """The activity ready for the level pass: sorted units, split into pairing/measured samples."""

    x_pair: np.ndarray  # samples the pairs are chosen on
    x: np.ndarray  # samples every quantity is measured on
    labels: np.ndarray  # unit labels in sorted order
    canon: np.ndarray  # sorted order of the input units
    coding: str
    norm: str
    float_dtype: np.dtype
    sum_dtype: np.dtype
    needed: int  # estimated peak bytes
    pair_exact: str | None  # product dtype of the first step's exact integer correlations
    n_units: int
    n_time: int

    @property
    def silent_of(self) -> Callable[[int], float | None]:
        """Value of a silent cluster of ``k`` units (None: continuous data, undefined)."""
        return functools.partial(silent_value, self.coding)


def silent_value(coding: str, k: int) -> float | None:
    """Sum of ``k`` silent units: 0 for spikes/counts, ``-k`` for +-1 data, None otherwise."""
    if coding in ("01", "counts"):
        return 0.0
    if coding == "pm1":
        return -float(k)
    return None


def seed_attr(random_state: Any) -> int | str:
    """How *random_state* is recorded in attrs."""
    if random_state is None:
        return "None (OS entropy, not reproducible)"
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state)
    return type(random_state).__name__


def check_options(
    act: xr.DataArray,
    *,
    n_levels: Any,
    normalization: Any,
    pairing: Any,
    n_blocks: Any,
    max_lag: Any,
    n_bins: Any,
    max_eigen_size: Any,
    spectrum: Any,
    holdout: Any,
    corr_dtype: Any,
    random_state: Any,
    progress: Any,
    max_memory: Any,
    observables: Any = "all",
    require_exact: Any = False,
) -> PrgOptions:
    """Validate the arguments of :func:`prg` (checked activity *act*); raise on bad ones."""
    chosen = check_observables(observables)
    check_option(normalization, "normalization", NORMALIZATIONS)
    check_option(pairing, "pairing", PAIRINGS)
    corr_dtype = check_dtype_option(corr_dtype, "corr_dtype", _CORR_DTYPES)
    check_option(spectrum, "spectrum", ("covariance", "correlation"))
    n_blocks_requested = n_blocks
    auto_blocks = isinstance(n_blocks, str)
    if auto_blocks:
        check_option(n_blocks, "n_blocks", ("auto",))
    else:
        n_blocks = check_int(n_blocks, "n_blocks", min_value=2)
    n_bins = check_int(n_bins, "n_bins", min_value=2)
    max_eigen_size = check_int(max_eigen_size, "max_eigen_size", min_value=1)
    for flag, flag_name in (
        (progress, "progress"),
        (holdout, "holdout"),
        (require_exact, "require_exact"),
    ):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{flag_name} must be a bool, got {describe(flag)}")
    check_exactness(pairing, require_exact)
    if pairing == "approximate":  # a missing extra fails now, not after the first level
        from ._ann import require_ann  # noqa: PLC0415

        require_ann()
    max_memory = check_max_memory(max_memory)
    rng = check_random_state(random_state)
    n_units, t_len = act.shape
    n_levels = _check_n_levels(n_levels, n_units)
    t_split = t_len // 2 if holdout else 0
    t_eval = t_len - t_split
    if t_eval // (2 if auto_blocks else n_blocks) < _MIN_BLOCK_SAMPLES:
        raise ValueError(
            f"activity has {t_len} time points: too few for n_blocks={n_blocks!r} "
            f"({2 if auto_blocks else n_blocks} blocks at least) of at least "
            f"{_MIN_BLOCK_SAMPLES} samples each"
            + (" in the held-out half" if holdout else "")
            + "; use fewer blocks or more data"
        )
    auto_lag = max_lag is None or isinstance(max_lag, str)
    if auto_lag:
        check_option("auto" if max_lag is None else max_lag, "max_lag", ("auto",))
        max_lag = None
    else:
        max_lag = check_int(max_lag, "max_lag", min_value=1, max_value=t_eval - 1)
    return PrgOptions(
        normalization=normalization,
        pairing=pairing,
        corr_dtype=corr_dtype,
        spectrum=spectrum,
        n_blocks=None if auto_blocks else n_blocks,
        n_blocks_requested=n_blocks_requested,
        n_bins=n_bins,
        max_eigen_size=max_eigen_size,
        holdout=bool(holdout),
        max_memory=max_memory,
        random_state=random_state,
        rng=rng,
        n_levels=n_levels,
        t_split=t_split,
        t_eval=t_eval,
        max_lag=max_lag,
        # enough lags for tau_int and the automatic max_lag
        long_lag=max(1, t_eval // 4) if auto_lag else max(max_lag, t_eval // 4),
        first_lag=_FIRST_LAG[False]
        if "autocorrelation" not in chosen
        else _FIRST_LAG[True]
        if auto_lag
        else max(_FIRST_LAG[True], max_lag),
        observables=chosen,
    )


def check_exactness(pairing: str, require_exact: bool) -> None:
    """Refuse the approximate pairing when exact pairing is required."""
    if require_exact and pairing == "approximate":
        raise ValueError(
            "pairing='approximate' was asked for with require_exact=True: the approximate "
            "mode pairs over approximate nearest-neighbour candidates and can differ from the "
            "exact greedy pairing. Accepted: pairing='correlation' (exact, dense or sparse) "
            "with require_exact=True, or require_exact=False to allow the approximate mode"
        )


def check_observables(observables: Any) -> frozenset:
    """The set of observables asked for: ``"all"``, one name, or a collection of names."""
    accepted = f"'all' or a collection of {list(OBSERVABLES)}"
    if isinstance(observables, str):
        if observables == "all":
            return frozenset(OBSERVABLES)
        observables = [observables]
    try:
        names = list(observables)
    except TypeError:
        raise TypeError(f"observables must be {accepted}, got {describe(observables)}") from None
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"observables must be {accepted}; got an entry {describe(name)}")
        if name not in OBSERVABLES:
            raise ValueError(f"observables: unknown {name!r}; accepted: {accepted}")
    if not names:
        raise ValueError(f"observables is empty; accepted: {accepted}")
    return frozenset(names)


def _check_n_levels(n_levels: Any, n_units: int) -> int:
    max_levels = int(np.floor(np.log2(n_units)))
    if n_levels is None:
        n_levels = max(1, max_levels - 1)
    n_levels = check_int(n_levels, "n_levels", min_value=1)
    if n_levels > max_levels:
        raise ValueError(
            f"n_levels={n_levels} needs at least 2**{n_levels} = {2**n_levels} units; "
            f"activity has {n_units} (at most n_levels={max_levels})"
        )
    return n_levels


def unit_order(labels: np.ndarray) -> np.ndarray:
    """The units in sorted-label order (stable); the given order for unsortable labels.

    Examples
    --------
    >>> unit_order(np.array([3, 1, 2])).tolist()
    [1, 2, 0]
    >>> unit_order(np.array([1, "a"], dtype=object)).tolist()
    [0, 1]
    """
    try:
        return np.argsort(labels, kind="stable")
    except TypeError:  # unsortable labels: keep the given order
        return np.arange(len(labels))


def prepare_data(act: xr.DataArray, opts: PrgOptions) -> PrgData:
    """Classify, check and reorder the activity; raise MemoryError if the run would not fit."""
    x = act.values
    n_units, t_len = x.shape
    if x.dtype == bool:
        x = x.view(np.int8)
    coding = data_coding(x)
    norm = _resolve_normalization(opts.normalization, coding)
    top_value = max_abs(x)
    float_dtype = np.dtype(opts.corr_dtype)
    _check_magnitude(top_value, n_units, t_len, norm, float_dtype)
    sum_dtype = _sum_dtype(x, coding, n_units, top_value)
    labels = act["unit"].values
    canon = unit_order(labels)
    reorder = not np.array_equal(canon, np.arange(n_units))
    t_pair = opts.t_split if opts.holdout else t_len
    # spikes and counts are correlated exactly at the first step (_prg_similarity)
    pair_exact = exact_product_dtype(coding != "continuous", top_value, t_pair)
    # binary rows are packed into one bit plane; after the first step under nonzero_mean
    # their float32 variables are multiples of integer sums 0-2, packed into two planes
    packed = pair_exact is not None and coding == "01" and opts.pairing == "correlation"
    proportional = norm == "nonzero_mean" and float_dtype == np.float32 and not opts.holdout
    second_packed = packed and (norm == "none" or proportional)
    second_exact = exact_product_dtype(True, 2.0, t_pair) if second_packed else None
    if pair_exact is None:
        prepared_itemsize = 8.0
    elif packed:
        prepared_itemsize = 1 / 8
    elif opts.holdout or x.dtype != np.dtype(pair_exact):
        prepared_itemsize = np.dtype(pair_exact).itemsize
    else:
        prepared_itemsize = 0  # used in place
    needed = prg_peak_bytes(
        n_units,
        t_len,
        t_pair,
        input_itemsize=x.dtype.itemsize,
        copies_input=reorder,
        corr_itemsize=float_dtype.itemsize,
        sum_itemsize=sum_dtype.itemsize,
        max_eigen_size=opts.max_eigen_size,
        prepared_itemsize=prepared_itemsize,
        product_itemsize=np.dtype(pair_exact).itemsize if pair_exact else 8,
        second_itemsize=2 / 8 if second_exact else 8.0,
        second_product_itemsize=np.dtype(second_exact).itemsize if second_exact else 8,
        approximate=opts.pairing == "approximate",
    )
    check_memory(
        needed,
        opts.max_memory,
        f"prg on {n_units} units x {t_len} time points",
        "Use corr_dtype='float32' (if not already), fewer units, or a subsample in time "
        "(e.g. activity.isel(unit=...) / rebinning).",
    )
    if reorder:
        x = x[canon]
    return PrgData(
        x_pair=x[:, : opts.t_split] if opts.holdout else x,
        x=x[:, opts.t_split :],
        labels=labels[canon],
        canon=canon,
        coding=coding,
        norm=norm,
        float_dtype=float_dtype,
        sum_dtype=sum_dtype,
        needed=needed,
        pair_exact=pair_exact,
        n_units=n_units,
        n_time=t_len,
    )


def _sum_dtype(x: np.ndarray, coding: str, n_units: int, top_value: float) -> np.dtype:
    """Narrowest dtype that holds every cluster sum exactly; float64 beyond int64's range."""
    if coding == "continuous" or x.dtype.kind == "f" and coding == "counts":
        return np.dtype(np.float64)
    top = top_value * n_units
    for dt in (np.int8, np.int16, np.int32):
        if top <= np.iinfo(dt).max:
            return np.dtype(dt)
    if top < 2.0**63:
        return np.dtype(np.int64)
    # sums that would wrap around in int64: float64 (exact to 2**53, then rounded, never wrapped)
    return np.dtype(np.float64)


def _check_magnitude(
    top_value: float, n_units: int, n_time: int, norm: str, float_dtype: np.dtype
) -> None:
    if norm == "none" and float_dtype == np.float32 and top_value * n_units > 1e37:
        raise ValueError(
            f"activity values are too large for normalization='none' with corr_dtype='float32': "
            f"max |activity| = {top_value:.3g}, and sums of up to {n_units} units overflow "
            f"float32 (3.4e38). Accepted: max |activity| <= {1e37 / n_units:.3g}; use "
            "corr_dtype='float64', another normalization, or divide the data by a constant"
        )
    check_magnitude(
        top_value,
        n_units * np.sqrt(n_time),
        "n_units * sqrt(n_time)",
        f"the sums of up to {n_units} units and their squares over {n_time} time points would",
    )


def _resolve_normalization(normalization: str, coding: str) -> str:
    if normalization != "auto":
        if normalization == "nonzero_mean" and coding in ("pm1", "continuous"):
            raise ValueError(
                f"normalization='nonzero_mean' needs non-negative activity (spikes or counts), "
                f"but the data are {coding!r}; use 'variance' or 'none'"
            )
        return normalization
    return "nonzero_mean" if coding in ("01", "counts") else "variance"
