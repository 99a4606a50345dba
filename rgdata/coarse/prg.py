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

from collections.abc import Iterable
from typing import Any

import xarray as xr

from .._validation import describe
from .._warnings import warn_user
from ..activity import check_activity
from ._blocks import blocks_and_taus
from ._prg_lazy import prg_lazy
from ._prg_lazy_input import is_lazy
from ._prg_levels import run_levels, warn_level_notes
from ._prg_result import build_result, spectra_table, warn_block_notes
from ._prg_setup import (
    LEFT_OUT_WARN_FRACTION,
    MAX_MAGNITUDE,
    NORMALIZATIONS,
    OBSERVABLES,
    PAIRINGS,
    check_options,
    prepare_data,
)

__all__ = [
    "prg",
    "OBSERVABLES",
    "NORMALIZATIONS",
    "PAIRINGS",
    "LEFT_OUT_WARN_FRACTION",
    "MAX_MAGNITUDE",
]


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
    observables: str | Iterable[str] = "all",
    require_exact: bool = False,
    client: Any = None,
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
    pairing : {"correlation", "random", "approximate"}
        ``"correlation"``: exact greedy pairing of the most correlated
        variables. Correlations are rounded to 6 (float32) or 12 (float64)
        decimals first, so mathematically equal correlations (common for binary
        spikes, whose correlations depend only on integer counts) tie exactly;
        ties go to the lowest index pair, with units in sorted-label order
        (so the input order of the units never matters).
        ``"random"``: random pairs (a null model).
        ``"approximate"``: for very many units (10^5-10^6) where even the
        exact sparse path's ``N^2 T`` correlation work is too costly: greedy
        pairing over approximate nearest-neighbour candidates (pynndescent,
        the ``rgdata[ann]`` extra; exact values, exact refill), at levels
        with more than 256 variables (smaller levels are exact). Its quality
        is *checked* at every approximate step: for a random sample of up
        to 1,000 of its pairs, both variables' exact correlations with all
        the level's variables say whether the pair was the exact greedy
        choice when it was formed (no better still-free partner; a pairing
        whose every pair passes is the exact greedy pairing), recorded in
        the variables ``pairing_identical_fraction`` and
        ``pairing_correlation_loss`` (per level); a warning is given below
        90%. Seeded by *random_state*. On a dask-backed
        activity the candidates are each variable's best partners in a seeded
        random projection of the rows (1,024 dimensions, searched exactly) and
        the input stays lazy (see Notes). See ``docs/scale.md``.
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
        Seeds the random pairing, or the approximate pairing's
        nearest-neighbour search and the pairs its quality check samples (unused with
        correlation pairing).
    progress : bool
        Show a progress bar over levels.
    max_memory : float, optional
        Memory budget in bytes. Before allocating anything large, ``prg``
        estimates its peak allocation (mainly ``N x T`` normalized variables
        and the ``N x N`` correlation matrix, both in ``corr_dtype``) and
        raises :class:`MemoryError` if it exceeds the budget. Default: the
        memory available now (``MemAvailable``, capped by a container limit;
        no check where that is unknown). ``float("inf")`` turns the check off.
        On a dask-backed activity the levels paired densely are also kept
        within a quarter of it, and the first levels whose sums do not fit
        in it are kept out of memory (``docs/scale.md``).
    observables : "all", str or collection of str
        What to compute, among ``"variance"`` (``variance``), ``"silence"``
        (``silence_free_energy``), ``"spectra"`` (``eigenvalues``),
        ``"autocorrelation"`` (``autocorrelation``, ``tau_c``) and
        ``"distribution"`` (``distribution``, ``zero_fraction``,
        ``out_of_range``), with their block copies; ``"all"`` (default) is
        every one. The others are NaN and cost nothing: for alpha~ and beta~
        alone, ``observables=("variance", "silence")`` skips the spectra, the
        histograms and all but the few lags of the autocorrelation that size
        the blocks (``tau_int`` is always computed: the confidence intervals
        need it). Clusters and the computed numbers do not depend on this
        choice. ``attrs["observables"]`` lists what was computed.
    require_exact : bool, default False
        Require the exact greedy pairing: ``pairing="approximate"`` then
        raises ValueError (for pipelines whose numbers must be the published
        algorithm's).

    client : distributed.Client, optional
        Where the first pairing step of a dask-backed activity runs (a
        ``LocalCluster``, dask-jobqueue or Kubernetes client); default dask's
        synchronous scheduler in this process. Used only for dask-backed
        activities (a warning says so otherwise).

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
        the units allow, too few samples per block, unknown options (or
        observables), ``pairing="approximate"`` with ``require_exact=True``; values so
        large that sums and squares would overflow float64 (``max |activity| *
        n_units * sqrt(n_time) > 1e150``, see ``MAX_MAGNITUDE``).
    ImportError
        ``pairing="approximate"`` without pynndescent (``pip install rgdata[ann]``).
    MemoryError
        The estimated peak memory exceeds *max_memory* (default: the memory
        available); the message gives both in GiB and what to do instead.
    RuntimeError
        The dask *client* was closed or its cluster disappeared during the run
        (nothing is written; call again).

    Warns
    -----
    UserWarning
        *client* given with an in-memory activity (unused); the approximate
        pairing's estimated quality below 90% identical pairs.

    Notes
    -----
    **Dask-backed activities** (an ``xarray.DataArray`` holding a
    ``dask.array``, e.g. from ``dask.array.from_zarr`` or an HDF5 dataset via
    h5py) are never loaded whole: the level-0 statistics are read chunk by
    chunk of units, the first pairing runs on the dask machinery of
    :func:`rgdata.coarse.distributed.pair_units` (on *client*), the
    ``N/2 x T`` level-1 sums are formed chunk by chunk and the coarser levels
    run in memory. When the sums of the first levels do not fit in the
    budget (*max_memory* or the memory available), those levels are kept out
    of memory too (on the client's workers, else in memory-mapped files in a
    temporary directory removed at the end) and measured, paired and summed
    chunk by chunk like level 0, until a level's sums fit; each kept level
    costs one more write and a few more reads of its sums. The result
    equals the in-memory result on the same data (same clusters, same
    numbers) for any chunking; with
    ``pairing="approximate"`` the candidates come from a random projection
    of the rows computed block by block (:mod:`rgdata.coarse._ann_dask`), so
    the pairs can differ from the in-memory approximate ones (both are
    measured against the exact pairs); ``attrs["input_storage"]``
    records what was done (``"memory"`` for an in-memory activity). Chunks
    whose rows do not fit in memory raise ValueError; see ``docs/scale.md``.

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
    options = {
        "n_levels": n_levels,
        "normalization": normalization,
        "pairing": pairing,
        "n_blocks": n_blocks,
        "max_lag": max_lag,
        "n_bins": n_bins,
        "max_eigen_size": max_eigen_size,
        "spectrum": spectrum,
        "holdout": holdout,
        "corr_dtype": corr_dtype,
        "random_state": random_state,
        "progress": progress,
        "max_memory": max_memory,
        "observables": observables,
        "require_exact": require_exact,
    }
    _check_client(client)
    if is_lazy(activity):  # the dask path: never loaded whole
        return prg_lazy(activity, lambda act: check_options(act, **options), client, progress)
    if client is not None:
        warn_user(
            "prg: client= is used only for dask-backed activities (the first pairing step "
            "runs on it); this activity is in memory, so the client was not used",
            UserWarning,
        )
    act = check_activity(activity, allow_trials=False)
    # 1. options and data: validated arguments, sorted units, pairing/measured samples
    opts = check_options(act, **options)
    data = prepare_data(act, opts)
    # 2. the pass over levels: measure, pair, sum, renormalize
    lp = run_levels(data, opts, progress)
    warn_level_notes(lp, data.n_units)
    # 3. time blocks (from tau_int) and every block-wise quantity, replaying the pairs
    blk = blocks_and_taus(
        data, lp.step_pairs, lp.acf_long, lp.n_clusters, opts.t_eval, opts.n_blocks, opts.max_lag,
        with_acf="autocorrelation" in opts.observables,
    )  # fmt: skip
    warn_block_notes(lp, blk, auto_lag=opts.max_lag is None)
    # 4. covariance spectra of the clusters, whole recording and per block
    eig = spectra_table(lp, data, opts, blk["block_edges"], blk["n_blocks"])
    # 5. the result Dataset
    res = build_result(act, opts, data, lp, blk, eig)
    res.attrs["input_storage"] = "memory"
    return res


def _check_client(client: Any) -> None:
    """*client* is None or a ``distributed.Client``."""
    if client is None:
        return
    try:
        from distributed import Client  # noqa: PLC0415 (optional dependency)
    except ImportError:  # pragma: no cover - distributed ships with dask[distributed]
        Client = ()  # noqa: N806
    if not isinstance(client, Client):
        raise TypeError(f"client must be None or a distributed.Client; got {describe(client)}")
