"""Real-space phenomenological RG (Meshulam, Gauthier, Brody, Tank & Bialek 2019).

:func:`prg` pairs the most correlated variables greedily, sums each pair,
renormalizes, and repeats, giving clusters of ``K = 1, 2, 4, ...`` original
units. At each level it measures, on the *un-normalized* sums of the original
units in each cluster, the quantities whose scaling with ``K`` the paper
studies: the variance (exponent ``alpha``), the free energy of silence
``-ln P(silent)`` (``beta``), the covariance spectra of the clusters (``mu``),
the autocorrelation time (``z``), and the distribution of the normalized
coarse-grained variables. Block-wise copies (contiguous time blocks) feed the
confidence intervals of :func:`rgdata.diagnostics.fit_exponent`.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr
from threadpoolctl import threadpool_limits

from .._progress import progress_bar
from .._validation import (
    check_dtype_option,
    check_int,
    check_option,
    check_random_state,
    describe,
)
from .._warnings import warn_user
from ..activity import check_activity
from ._blocks import BLOCK_TAUS, MIN_BLOCKS, MIN_FIT_CLUSTERS, blocks_and_taus
from ._memory import GIB, check_max_memory, check_memory, max_abs, prg_peak_bytes
from ._prg_pairing import greedy_pairs, random_pairs
from ._prg_stats import (
    cluster_spectra,
    data_coding,
    level_stats,
    normalize_rows,
    rows_per_chunk,
    standardize_rows,
)

__all__ = ["prg", "NORMALIZATIONS", "PAIRINGS", "LEFT_OUT_WARN_FRACTION", "MAX_MAGNITUDE"]

NORMALIZATIONS = ("auto", "nonzero_mean", "variance", "none")
PAIRINGS = ("correlation", "random")
_CORR_DTYPES = ("float32", "float64")
_MIN_BLOCK_SAMPLES = 10
_THREADED_MIN = 1024  # correlation matrices smaller than this use one BLAS thread
#: correlations are rounded to this many decimals before pairing, so that
#: mathematically equal values (frequent for binary spikes) tie exactly
_TIE_DECIMALS = {"float32": 6, "float64": 12}
#: warn about units left out (odd numbers of clusters) only when a level misses more than
#: this share of the units; any unit count that is not a power of two leaves some out
LEFT_OUT_WARN_FRACTION = 0.25
#: largest accepted ``max |activity| * n_units * sqrt(n_time)``: cluster sums (up to
#: n_units values) squared and summed over time must stay far below float64's 1.8e308
MAX_MAGNITUDE = 1e150


def _seed_attr(random_state: Any) -> int | str:
    if random_state is None:
        return "None (OS entropy, not reproducible)"
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state)
    return type(random_state).__name__


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
    limit = MAX_MAGNITUDE / (n_units * np.sqrt(n_time))
    if top_value > limit:
        raise ValueError(
            f"activity values are too large: max |activity| = {top_value:.3g}; the sums of up to "
            f"{n_units} units and their squares over {n_time} time points would overflow "
            f"float64. Accepted: max |activity| <= {limit:.3g} (max |activity| * n_units * "
            f"sqrt(n_time) <= {MAX_MAGNITUDE:.0e}); divide the data by a constant first"
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


def prg(
    activity: xr.DataArray,
    n_levels: int | None = None,
    *,
    normalization: str = "auto",
    pairing: str = "correlation",
    n_blocks: int | str = "auto",
    max_lag: int | str | None = "auto",
    n_bins: int = 50,
    max_eigen_size: int = 256,
    spectrum: str = "covariance",
    holdout: bool = False,
    corr_dtype: str = "float32",
    random_state: Any = None,
    progress: bool = False,
    max_memory: float | None = None,
) -> xr.Dataset:
    """Real-space phenomenological renormalization group.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity with dims ``("unit", "time")`` (stack trials first with
        :func:`rgdata.stack_trials`). No NaN, no constant units.
    n_levels : int, optional
        Number of coarse-graining steps; the result has levels
        ``0..n_levels`` with cluster sizes ``K = 2**level``. Default: the
        largest number that leaves at least two clusters at the last level
        (``floor(log2(n_units)) - 1``, at least 1).
    normalization : {"auto", "nonzero_mean", "variance", "none"}
        How each coarse-grained variable is rescaled before the next pairing
        (and in ``distribution``). ``"nonzero_mean"`` (the paper's choice for
        spikes): divide so the mean of the non-zero values is 1;
        ``"variance"``: z-score (mean 0, variance 1); ``"none"``: plain sums.
        ``"auto"`` picks ``"nonzero_mean"`` for non-negative integer data
        (spikes, counts) and ``"variance"`` otherwise. Published scripts
        disagree for continuous data; the choice affects which pairs are
        formed after the first step, never the reported quantities' definition.
    pairing : {"correlation", "random"}
        ``"correlation"``: exact greedy pairing of the most correlated
        variables. Correlations are rounded to 6 (float32) or 12 (float64)
        decimals first, so mathematically equal correlations (common for binary
        spikes, whose correlations depend only on integer counts) tie exactly;
        ties go to the lowest index pair, with units in sorted-label order
        (so the input order of the units never matters).
        ``"random"``: random pairs (a null model).
    n_blocks : int or "auto"
        Number of contiguous time blocks for the block-wise copies of every
        quantity (used for confidence intervals). ``"auto"`` (default): blocks
        of at least ``3 tau_int`` samples, where ``tau_int`` is the largest
        integrated autocorrelation time of the coarse-grained variables over
        the levels with at least 8 clusters (the default fit range), at most
        10 blocks; fewer than 5 such blocks fit in the recording means no
        95% interval can be given (warning; :func:`rgdata.diagnostics.fit_exponent`
        returns NaN bounds). An int (at least 2) forces the number; the fit
        still checks the block length against ``tau_int``.
    max_lag : int or "auto"
        Largest lag (in samples) of the stored autocorrelation. ``"auto"``
        (default; None means the same): ``min(T / 4, max(100, 3 max tau_c))``,
        i.e. enough lags to see every level fall below 1/e, or ``T / 4`` when
        some level never does (its ``tau_c`` is then a lower bound). Block
        autocorrelations stop at the block length - 1 (NaN beyond).
    n_bins : int
        Number of bins of ``distribution``.
    max_eigen_size : int
        Largest cluster size whose covariance spectrum is computed (the cost
        grows as ``n_units * K**2``); levels with ``T / K <= 10`` are skipped
        too. Skipped levels are NaN, warned about and listed in attrs.
    spectrum : {"covariance", "correlation"}
        Matrix whose eigenvalues fill ``eigenvalues``: the covariance of the
        original units in each cluster (the paper's choice; with
        heterogeneous firing rates even independent units give a decaying
        spectrum), or their correlation matrix (independent units give a
        flat spectrum, eigenvalues 1).
    holdout : bool
        Choose the pairs on the first half of the recording and measure every
        quantity (and its blocks) on the second half. Greedy pairing on the
        same data selects chance correlations, which biases alpha upward by
        O(sqrt(ln N / T)) (independent units give alpha slightly above 1);
        with a hold-out the clusters do not depend on the measured samples,
        so independent units give alpha = beta = 1 in expectation. Costs half
        of the data for each step. ``distribution`` then describes the
        pairing half.
    corr_dtype : {"float32", "float64"} or numpy float dtype
        Precision of the correlation matrix used *only* to choose the pairs
        (float32 halves memory and time; every reported quantity is computed
        in float64). Near-ties may pair differently in the two precisions.
    random_state : None, int or numpy.random.Generator
        Seeds the random pairing (unused with correlation pairing).
    progress : bool
        Show a progress bar over levels.
    max_memory : float, optional
        Memory budget in bytes. Before allocating anything large, ``prg``
        estimates its peak allocation (mainly ``N x T`` normalized variables
        and the ``N x N`` correlation matrix, both in ``corr_dtype``) and
        raises :class:`MemoryError` if it exceeds the budget. Default: the
        memory available now (``MemAvailable``, capped by a container limit;
        no check where that is unknown). ``float("inf")`` turns the check off.

    Returns
    -------
    xarray.Dataset
        Dims ``level``, ``unit``, ``rank``, ``lag``, ``bin``, ``block``.
        Variables: ``variance``, ``silence_free_energy``, ``n_clusters``,
        ``n_left_out``, ``eigenvalues (level, rank)``, ``autocorrelation
        (level, lag)``, ``tau_c``, ``distribution (level, bin)``,
        ``zero_fraction``, ``membership (level, unit)`` and the block-wise
        ``*_blocks`` copies; coordinates ``cluster_size (level)``,
        ``bin_center (bin)``, ``block_start/block_stop (block)``.
        The parameters are in ``attrs``.

    Raises
    ------
    TypeError
        *activity* is not a DataArray.
    ValueError
        Wrong dims, NaN, constant units, fewer than 2 units, more levels than
        the units allow, too few samples per block, unknown options; values so
        large that sums and squares would overflow float64 (``max |activity| *
        n_units * sqrt(n_time) > 1e150``, see ``MAX_MAGNITUDE``).
    MemoryError
        The estimated peak memory exceeds *max_memory* (default: the memory
        available); the message gives both in GiB and what to do instead.

    Notes
    -----
    Quantities at level ``l`` are computed from ``S_c(t)``, the plain sum of
    the original units in cluster ``c`` (``K = 2**l`` units) and averaged over
    clusters: ``variance`` is ``mean_c Var(S_c)`` (ddof=0);
    ``silence_free_energy`` is ``mean_c -ln P(S_c = silent)`` (silent means
    all units at 0 for spikes/counts, all at -1 for +-1 data; NaN for
    continuous data); ``eigenvalues`` are the rank-ordered eigenvalues of the
    ``K x K`` covariance of the original units in each cluster, averaged over
    clusters; ``autocorrelation`` is the normalized autocorrelation of
    ``S_c``, averaged over clusters, and ``tau_c`` the lag where it first
    drops below ``1/e`` (linear interpolation). ``distribution`` is the
    density of the *normalized* coarse variables on a grid shared by all
    levels: for ``"nonzero_mean"`` the bins cover ``(0, 5]`` and the exact
    zeros are reported separately in ``zero_fraction`` (the density integrates
    to ``1 - zero_fraction`` minus what falls above 5); otherwise z-scores on
    ``[-5, 5]`` (with ``"none"`` the plain sums are z-scored for this
    histogram only). ``out_of_range`` records the mass outside the grid.

    With an odd number of clusters the least correlated one (the one the
    greedy rule leaves over; a random one for random pairing) is left out of
    the following levels: its units get ``membership = -1`` there, and
    ``n_left_out`` (per level) and ``attrs["left_out"]`` record it. This is
    normal whenever ``n_units`` is not a power of two (``n_left_out`` at level
    ``l`` is ``n_units mod 2**l``), so it is warned about (once per call) only
    when a level misses more than ``LEFT_OUT_WARN_FRACTION`` (a quarter) of
    the units; fewer levels, or a unit count at or just above a power of two,
    avoid that.

    Cluster sums of integer data are kept in the narrowest integer dtype that
    holds them, and in float64 (exact up to 2**53) where they would overflow
    int64. Warnings name the caller's line, also when ``prg`` is called
    through another rgdata function.

    Memory: the peak is about ``N*T*(2 c) + N**2 c`` bytes (``c`` the
    itemsize of ``corr_dtype``, 4 for float32) plus a copy of the input when
    the unit labels are not sorted, plus ~5 float64 row-chunks of at most
    ~64 MB; the greedy pairing needs ``O(N)`` more, also on tied (binary)
    data. ``corr_dtype="float32"`` halves it.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> x = (np.random.default_rng(0).random((64, 4000)) < 0.1).astype(np.int8)
    >>> res = rgdata.coarse.prg(rgdata.as_activity(x, kind="spikes"))
    >>> res["cluster_size"].values
    array([ 1,  2,  4,  8, 16, 32])
    """
    act = check_activity(activity, allow_trials=False)
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
    for flag, flag_name in ((progress, "progress"), (holdout, "holdout")):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{flag_name} must be a bool, got {describe(flag)}")
    max_memory = check_max_memory(max_memory)
    rng = check_random_state(random_state)
    x = act.values
    n_units, t_len = x.shape
    max_levels = int(np.floor(np.log2(n_units)))
    if n_levels is None:
        n_levels = max(1, max_levels - 1)
    n_levels = check_int(n_levels, "n_levels", min_value=1)
    if n_levels > max_levels:
        raise ValueError(
            f"n_levels={n_levels} needs at least 2**{n_levels} = {2**n_levels} units; "
            f"activity has {n_units} (at most n_levels={max_levels})"
        )
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
    else:
        max_lag = check_int(max_lag, "max_lag", min_value=1, max_value=t_eval - 1)
    # lags of the first-pass autocorrelation: enough for tau_int and the automatic max_lag
    long_lag = max(1, t_eval // 4) if auto_lag else max(max_lag, t_eval // 4)

    if x.dtype == bool:
        x = x.view(np.int8)
    coding = data_coding(x)
    norm = _resolve_normalization(normalization, coding)
    top_value = max_abs(x)
    float_dtype = np.dtype(corr_dtype)
    _check_magnitude(top_value, n_units, t_len, norm, float_dtype)
    sum_dtype = _sum_dtype(x, coding, n_units, top_value)
    labels = act["unit"].values
    try:
        canon = np.argsort(labels, kind="stable")
    except TypeError:  # unsortable labels: keep the given order
        canon = np.arange(n_units)
    reorder = not np.array_equal(canon, np.arange(n_units))
    needed = prg_peak_bytes(
        n_units,
        t_len,
        t_split if holdout else t_len,
        input_itemsize=x.dtype.itemsize,
        copies_input=reorder,
        corr_itemsize=float_dtype.itemsize,
        sum_itemsize=sum_dtype.itemsize,
        max_eigen_size=max_eigen_size,
    )
    check_memory(
        needed,
        max_memory,
        f"prg on {n_units} units x {t_len} time points",
        "Use corr_dtype='float32' (if not already), fewer units, or a subsample in time "
        "(e.g. activity.isel(unit=...) / rebinning).",
    )
    if reorder:
        x = x[canon]
    labels = labels[canon]
    if coding in ("01", "counts"):
        silent_of = lambda k: 0.0  # noqa: E731
    elif coding == "pm1":
        silent_of = lambda k: -float(k)  # noqa: E731
    else:
        silent_of = lambda k: None  # noqa: E731

    sizes = 2 ** np.arange(n_levels + 1)
    if norm == "nonzero_mean":
        edges = np.linspace(0.0, 5.0, n_bins + 1)
    else:
        edges = np.linspace(-5.0, 5.0, n_bins + 1)

    membership = np.full((n_levels + 1, n_units), -1, dtype=np.int64)
    clusters = [np.arange(n_units, dtype=np.int64)[:, None]]
    x_pair = x[:, :t_split] if holdout else x
    x = x[:, t_split:]  # the samples every quantity is measured on
    raw = x
    y = np.empty(x_pair.shape, dtype=float_dtype)
    const = normalize_rows(x_pair, norm, y)
    out = {
        k: np.full(n_levels + 1, np.nan)
        for k in ("variance", "free", "tau", "zero", "oor", "n_const", "n_left")
    }
    acf_long = np.full((n_levels + 1, long_lag + 1), np.nan)
    step_pairs = []  # (a, b) summed at each step, replayed for the block statistics
    silent_level = []
    dist = np.zeros((n_levels + 1, n_bins))
    left_out_notes = []
    free_notes = []
    tau_notes = []

    for level in progress_bar(range(n_levels + 1), enable=progress, desc="PRG levels"):
        cl = clusters[level]
        k = int(sizes[level])
        membership[level, cl.ravel()] = np.repeat(np.arange(cl.shape[0]), k)
        out["n_left"][level] = n_units - cl.size
        out["n_const"][level] = int(const.sum())
        silent = silent_of(k)
        st = level_stats(raw, silent, None, long_lag, with_acf=True)
        out["variance"][level] = st["var"].mean()
        silent_level.append(silent)
        if silent is not None:
            with np.errstate(divide="ignore"):
                f_full = -np.log(st["p0"])
            if np.all(np.isfinite(f_full)):
                out["free"][level] = f_full.mean()
            else:
                free_notes.append(
                    f"level {level} (K={k}): {int((~np.isfinite(f_full)).sum())} of "
                    f"{f_full.size} clusters never silent"
                )
        acf_long[level] = st["acf"]
        dist[level], out["zero"][level], out["oor"][level] = _histogram(y, edges, norm)

        if level == n_levels:
            break
        m = cl.shape[0]
        if pairing == "random":
            pairs = random_pairs(m, rng)
        else:
            z = standardize_rows(y, float_dtype)
            # small matrices: one BLAS thread (thread start-up and spinning cost more)
            with threadpool_limits(limits=1 if m < _THREADED_MIN else None, user_api="blas"):
                corr = z @ z.T
            del z
            corr *= 1.0 / y.shape[1]
            np.round(corr, _TIE_DECIMALS[corr_dtype], out=corr)
            pairs = greedy_pairs(corr)
            del corr
        if m % 2:
            used = np.zeros(m, bool)
            used[pairs.ravel()] = True
            odd = int(np.flatnonzero(~used)[0])
            left = labels[cl[odd]]
            shown = ", ".join(str(v) for v in left[:8]) + (", ..." if left.size > 8 else "")
            left_out_notes.append(
                f"after level {level} (K={k}): cluster of units [{shown}] left out "
                f"({m} clusters, odd)"
            )
        a, b_ = pairs[:, 0], pairs[:, 1]
        step_pairs.append((a, b_))
        clusters.append(np.concatenate([cl[a], cl[b_]], axis=1))
        raw = raw[a].astype(sum_dtype) + raw[b_].astype(sum_dtype)
        y_sum = y[a] + y[b_]
        del y
        y = np.empty(y_sum.shape, dtype=float_dtype)
        const = normalize_rows(y_sum, norm, y)
        del y_sum

    left_share = out["n_left"] / n_units
    if np.nanmax(left_share) > LEFT_OUT_WARN_FRACTION:
        worst = int(np.nanargmax(left_share))
        first_bad = int(np.flatnonzero(left_share > LEFT_OUT_WARN_FRACTION)[0])
        fewer = f"n_levels={first_bad - 1}" if first_bad > 1 else "fewer levels"
        warn_user(
            f"prg: odd numbers of clusters leave {int(out['n_left'][worst])} of {n_units} units "
            f"({left_share[worst]:.0%}) out of level {worst} (K={int(sizes[worst])}), so the "
            "top levels average over a subset of the units. n_left_out records the count "
            f"per level; {fewer}, or a unit count at (or just above) a power of two, keeps "
            f"more than {1 - LEFT_OUT_WARN_FRACTION:.0%} of the units at every level",
            UserWarning,
        )
    if free_notes:
        warn_user(
            "prg: silence_free_energy is NaN where clusters were never silent: "
            + "; ".join(free_notes),
            UserWarning,
        )
    n_clusters = np.array([c.shape[0] for c in clusters], dtype=np.int64)
    blk = blocks_and_taus(
        x, step_pairs, sum_dtype, silent_of, acf_long, n_clusters, t_eval,
        n_blocks if not auto_blocks else None, None if auto_lag else max_lag,
    )  # fmt: skip
    max_lag, n_blocks, block_edges = blk["max_lag"], blk["n_blocks"], blk["block_edges"]
    out["tau"] = blk["tau"]
    acf_all = acf_long[:, : max_lag + 1]
    out_b = {"variance": blk["var_blocks"], "tau": blk["tau_blocks"], "free": blk["free_blocks"]}
    acf_b = blk["acf_blocks"]
    tau_notes = [f"level {lv} (K={int(sizes[lv])})" for lv in np.flatnonzero(blk["tau_lb"])]
    if tau_notes:
        warn_user(
            f"prg: the autocorrelation never dropped below 1/e within max_lag={max_lag} at "
            + ", ".join(tau_notes)
            + "; tau_c there is max_lag, a lower bound (tau_c_lower_bound is True)"
            + ("" if auto_lag else "; use max_lag='auto' or a larger max_lag"),
            UserWarning,
        )
    if blk["block_note"]:
        warn_user("prg: " + blk["block_note"], UserWarning)
    if np.any(out["n_const"] > 0):
        warn_user(
            "prg: some coarse-grained variables are constant in the pairing samples (e.g. "
            "perfectly anti-correlated pairs, or a unit silent in the pairing half with "
            "holdout=True); they were given zero correlation with all others. Counts per level: "
            f"{out['n_const'].astype(int).tolist()}",
            UserWarning,
        )

    # covariance spectra of the clusters
    eig_levels = [lv for lv in range(n_levels + 1) if sizes[lv] <= max_eigen_size]
    eig_levels = [lv for lv in eig_levels if t_eval / sizes[lv] > 10]
    eig_block_levels = [lv for lv in eig_levels if np.diff(block_edges).min() / sizes[lv] > 10]
    skipped = sorted(set(range(n_levels + 1)) - set(eig_levels))
    skipped_b = sorted(set(range(n_levels + 1)) - set(eig_block_levels))
    if skipped:
        warn_user(
            f"prg: eigenvalues not computed at levels {skipped} (K="
            f"{[int(sizes[lv]) for lv in skipped]}): they need T/K > 10 (T={t_eval}) and "
            f"K <= max_eigen_size={max_eigen_size}",
            UserWarning,
        )
    spectra, spectra_b = cluster_spectra(
        x,
        clusters,
        membership,
        eig_levels,
        eig_block_levels,
        block_edges,
        correlation=spectrum == "correlation",
    )
    k_max = int(sizes[-1])
    eig = np.full((n_levels + 1, k_max), np.nan)
    eig_b = np.full((n_levels + 1, k_max, n_blocks), np.nan)
    for lv, ev in spectra.items():
        eig[lv, : ev.size] = ev
    for lv, ev in spectra_b.items():
        eig_b[lv, : ev.shape[0]] = ev

    time_step = act.attrs.get("bin_width", act.attrs.get("sampling", 1.0))
    attrs = {
        "analysis": "real-space PRG (Meshulam et al. 2019)",
        "normalization": norm,
        "normalization_requested": normalization,
        "pairing": pairing,
        "n_levels": int(n_levels),
        "n_blocks": int(n_blocks),
        "n_blocks_requested": str(n_blocks_requested),
        "block_length": int(np.diff(block_edges).min()),
        "block_rule": f"blocks of >= {BLOCK_TAUS:g} tau_int of the coarse-grained variables "
        f"at levels with >= {MIN_FIT_CLUSTERS} clusters; >= {MIN_BLOCKS} such blocks "
        "for a 95% interval",
        "tau_int_for_blocks": float(blk["tau_need"]),
        "block_note": blk["block_note"],
        "max_lag": int(max_lag),
        "max_lag_requested": "auto" if auto_lag else int(max_lag),
        "max_eigen_size": int(max_eigen_size),
        "peak_memory_estimate_gib": round(needed / GIB, 4),
        "sum_dtype": str(sum_dtype),
        "spectrum": spectrum,
        "corr_dtype": corr_dtype,
        # only random pairing draws numbers: greedy pairing (ties included) is deterministic
        "random_state": _seed_attr(random_state)
        if pairing == "random"
        else "not used (greedy pairing is deterministic)",
        "data_coding": coding,
        "n_units": int(n_units),
        "n_time": int(t_len),
        "holdout": int(holdout),
        "pairing_samples": np.asarray([0, t_split if holdout else t_len], dtype=np.int64),
        "measured_samples": np.asarray([t_split, t_len], dtype=np.int64),
        "activity_kind": str(act.attrs.get("kind", "")),
        "activity_source": str(act.attrs.get("source", "")),
        "time_step": time_step if isinstance(time_step, int | float | str) else str(time_step),
        "lag_unit": "samples",
        "tau_c_definition": "first lag where the cluster-averaged autocorrelation < 1/e, "
        "linearly interpolated (in samples); max_lag where it never drops within max_lag "
        "(tau_c_lower_bound)",
        "tau_int_definition": "1 + 2 sum_{t<=M} C(t) of the cluster-averaged autocorrelation, "
        "Sokal window M >= 5 tau_int (in samples; tau_int_lower_bound where it never closed)",
        "variance_ddof": 0,
        "eigenvalues_skipped_levels": np.asarray(skipped, dtype=np.int64),
        "eigenvalues_blocks_skipped_levels": np.asarray(skipped_b, dtype=np.int64),
        "left_out": json.dumps(left_out_notes),
        "silence_notes": json.dumps(free_notes),
        "distribution_range": np.asarray([edges[0], edges[-1]]),
        "distribution_definition": (
            "density of non-zero normalized values on (0, 5]; zeros in zero_fraction"
            if norm == "nonzero_mean"
            else "density of z-scored coarse variables on [-5, 5]"
        ),
        "version": _version(),
    }
    if silent_of(1) is None:
        attrs["silence_notes"] = json.dumps(
            ["silence_free_energy undefined for continuous data (NaN)"]
        )
    levels = np.arange(n_levels + 1)
    ds = xr.Dataset(
        {
            "variance": ("level", out["variance"]),
            "variance_blocks": (("level", "block"), out_b["variance"]),
            "silence_free_energy": ("level", out["free"]),
            "silence_free_energy_blocks": (("level", "block"), out_b["free"]),
            "eigenvalues": (("level", "rank"), eig),
            "eigenvalues_blocks": (("level", "rank", "block"), eig_b),
            "autocorrelation": (("level", "lag"), acf_all),
            "autocorrelation_blocks": (("level", "lag", "block"), acf_b),
            "tau_c": ("level", out["tau"]),
            "tau_c_blocks": (("level", "block"), out_b["tau"]),
            "tau_c_lower_bound": ("level", blk["tau_lb"]),
            "tau_int": ("level", blk["tau_int"]),
            "tau_int_lower_bound": ("level", blk["tau_int_lb"]),
            "distribution": (("level", "bin"), dist),
            "zero_fraction": ("level", out["zero"]),
            "out_of_range": ("level", out["oor"]),
            "n_clusters": ("level", n_clusters),
            "n_left_out": ("level", out["n_left"].astype(np.int64)),
            "n_constant": ("level", out["n_const"].astype(np.int64)),
            "membership": (("level", "unit"), membership[:, np.argsort(canon)]),
        },
        coords={
            "level": levels,
            "cluster_size": ("level", sizes.astype(np.int64)),
            "unit": act["unit"].values,
            "rank": np.arange(1, k_max + 1),
            "lag": np.arange(max_lag + 1),
            "bin": np.arange(n_bins),
            "bin_center": ("bin", 0.5 * (edges[1:] + edges[:-1])),
            "bin_width": ("bin", np.diff(edges)),
            "block": np.arange(n_blocks),
            "block_start": ("block", block_edges[:-1] + t_split),
            "block_stop": ("block", block_edges[1:] + t_split),
        },
        attrs=attrs,
    )
    return ds


def _histogram(y: np.ndarray, edges: np.ndarray, norm: str) -> tuple[np.ndarray, float, float]:
    counts = np.zeros(edges.size - 1)
    n_zero = 0
    total = y.size
    width = edges[1] - edges[0]
    chunk = rows_per_chunk(y.shape[1])
    for r0 in range(0, y.shape[0], chunk):
        blk = y[r0 : r0 + chunk].astype(np.float64)
        if norm == "nonzero_mean":
            nz = blk != 0
            n_zero += int(blk.size - nz.sum())
            vals = blk[nz]
        elif norm == "none":
            blk -= blk.mean(axis=1, keepdims=True)
            sd = blk.std(axis=1)
            vals = (blk / np.where(sd > 0, sd, 1.0)[:, None]).ravel()
        else:
            vals = blk.ravel()
        counts += np.histogram(vals, bins=edges)[0]
    density = counts / (total * width)
    zero_frac = n_zero / total if norm == "nonzero_mean" else float("nan")
    in_range = counts.sum() + n_zero
    return density, zero_frac, float(1.0 - in_range / total)


def _version() -> str:
    from .. import __version__

    return __version__
