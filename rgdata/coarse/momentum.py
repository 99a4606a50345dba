"""Momentum-space PCA-RG (Bradde & Bialek, J Stat Phys 167:462, 2017, "PCA meets RG").

The eigenmodes of the unit-unit correlation (or covariance) matrix play the
role of momentum modes: large eigenvalues are the slow, long-wavelength
modes. Coarse-graining keeps a fraction of the modes and filters every
variable to the kept subspace, ``phi_i = sum_{mu kept} u_{i mu} (u_mu . x)``;
after rescaling each ``phi_i`` to unit variance one follows how far its
distribution is from a Gaussian through the normalized fourth moment
``<phi^4> / <phi^2>^2`` (3 for a Gaussian).

``direction="remove_low"`` drops the low-variance modes first (the RG
direction: integrate out the "fast" modes); ``"remove_high"`` drops the
largest modes first (on stock returns this removes the market mode and the
moments approach the Gaussian value).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import check_array, check_dtype_option, check_int, check_option, check_real
from .._warnings import warn_user
from ..activity import check_activity
from ._memory import check_magnitude, max_abs
from ._momentum_blocks import block_filtered_moments, median_ci_variables
from ._momentum_kernels import (
    plan_filters,
    range_variances,
    row_mean_square,
    spectrum,
    standardize,
)
from ._momentum_lazy import (
    exact_peak_bytes,
    lazy_block_moments,
    lazy_dims,
    lazy_input,
    lazy_top_modes,
    storage_note,
)
from ._momentum_randomized import direct_plan, randomized_modes
from ._momentum_schema import as_level_schema
from ._prg_lazy_input import is_lazy

__all__ = ["momentum", "default_fractions"]

DIRECTIONS = ("remove_low", "remove_high", "both")
MATRICES = ("correlation", "covariance")
DTYPES = ("auto", "float64", "float32")
SOLVERS = ("exact", "randomized")
# dtype="auto" works in float32 from this many units (correlation matrix only): there the
# O(N^3) eigensolver and the O(N^2 T) products dominate and float32 halves both
AUTO_FLOAT32_UNITS = 2048
MIN_TIME = 10
# a filtered variable whose retained share of variance is below this has no
# weight on the kept modes: its fourth moment is undefined (NaN, warned)
_ZERO_VARIANCE = 1e-10
# a variable built as "data minus the removed modes" carries an absolute round-off of
# about eps times the data: below this many eps of retained variance it is not resolved
_COMPLEMENT_RESOLUTION = 64


def default_fractions(n_modes: int, min_modes: int = 2) -> np.ndarray:
    """The default ladder ``1, 1/2, 1/4, ...`` down to about *min_modes* kept modes.

    Parameters
    ----------
    n_modes : int
        Number of non-zero modes (the rank of the correlation matrix).
    min_modes : int
        Smallest number of kept modes; the ladder stops at the last power of
        two with ``fraction * n_modes >= min_modes`` (always at least ``[1]``).

    Returns
    -------
    ndarray
        Descending fractions.
    """
    n_modes = check_int(n_modes, "n_modes", min_value=1)
    min_modes = check_int(min_modes, "min_modes", min_value=1)
    out = [1.0]
    f = 0.5
    while f * n_modes >= min_modes:
        out.append(f)
        f /= 2
    return np.asarray(out)


def _check_fractions(fractions: Any) -> np.ndarray:
    arr = check_array(fractions, "fractions", ndim=(0, 1))
    arr = np.atleast_1d(arr).astype(np.float64)
    if arr.size == 0:
        raise ValueError("fractions is empty; give at least one fraction in (0, 1]")
    bad = arr[(arr <= 0) | (arr > 1)]
    if bad.size:
        raise ValueError(
            f"fractions must lie in (0, 1] (the share of modes kept); got {bad[:5].tolist()}"
        )
    if np.unique(arr).size != arr.size:
        raise ValueError(f"fractions must be distinct; got {arr.tolist()}")
    return np.sort(arr)[::-1]


def momentum(
    activity: xr.DataArray,
    fractions: Sequence[float] | np.ndarray | None = None,
    *,
    direction: str = "remove_low",
    matrix: str = "correlation",
    n_bins: int = 81,
    bin_range: float = 6.0,
    dtype: str = "auto",
    chunk_size: int | None = None,
    progress: bool = False,
    solver: str = "exact",
    n_modes: int | None = None,
    n_oversamples: int | None = None,
    n_iter: int = 7,
    random_state: Any = 0,
    client: Any = None,
) -> xr.Dataset:
    """Momentum-space PCA-RG: follow the fourth moments as eigenmodes are removed.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity with dims ``("unit", "time")`` (stack trials first with
        :func:`rgdata.stack_trials`). No NaN, no constant units, at least two
        units and 10 time points.
    fractions : array-like of float in (0, 1], optional
        Shares of the non-zero modes that are kept. Level ``f`` keeps
        ``K = max(1, round(f * r))`` modes, ``r`` the rank. Default
        :func:`default_fractions`: ``1, 1/2, 1/4, ...`` down to 2 modes.
    direction : {"remove_low", "remove_high", "both"}
        ``"remove_low"`` keeps the ``K`` largest-eigenvalue modes (the RG
        direction); ``"remove_high"`` keeps the ``K`` smallest non-zero
        modes. ``"both"`` computes both from the same eigendecomposition and
        adds a ``direction`` dim; a single direction gives a scalar
        ``direction`` coordinate instead (``ds.sel(direction=...)`` of a
        "both" result has the single-direction schema).
    matrix : {"correlation", "covariance"}
        Modes of the correlation matrix (units z-scored first, the default:
        units with large variance do not dominate the modes) or of the
        covariance matrix (units only centred).
    n_bins, bin_range : int, float
        The pooled distribution of the normalized filtered variables is a
        histogram of ``n_bins`` equal bins on ``[-bin_range, bin_range]``
        (units of each variable's standard deviation); the share of values
        outside is recorded in ``outside_fraction`` (warned above 1%).
    dtype : {"auto", "float64", "float32"} or numpy float dtype
        Working precision. ``"float32"`` halves the memory and roughly
        doubles the speed of the linear algebra for thousands of units; the
        fourth moments agree with float64 to ~1e-4 relative at cuts between
        well separated modes and to ~0.1 sampling error inside the noise bulk
        (docs/momentum.md), and modes below 20 eps (~2.4e-6) of the largest
        eigenvalue are not resolved: they are counted out of the rank, which
        changes the ladder of kept counts. ``"auto"`` (the default) is
        float32 for the correlation matrix of at least ``AUTO_FLOAT32_UNITS``
        (2048) units and float64 otherwise (the covariance matrix of units
        with very different variances can have genuine modes below float32's
        resolution); when float32 resolves fewer than ``min(N, T - 1)``
        modes, "auto" redoes the decomposition in float64. ``attrs["dtype"]``
        records the precision used, ``attrs["dtype_requested"]`` the option
        and ``attrs["dtype_note"]`` why a fallback happened.
    chunk_size : int, optional
        Time points processed at once (default: about 2**22 values per
        chunk, at least 2048 time points); bounds the streaming's working
        arrays to a few ``N x chunk_size`` (see Memory in the Notes).
    progress : bool
        Show a progress bar: the stage of the decomposition, then time chunks x levels.
    solver : {"exact", "randomized"}
        ``"exact"`` (the default): every eigenvalue from one tridiagonal
        reduction. ``"randomized"``: only the top ``n_modes`` eigenpairs, by
        :func:`sklearn.utils.extmath.randomized_svd` of the working data
        (``direction="remove_low"`` only: the other directions keep the
        smallest modes); the rank is taken as ``min(N, T - 1)`` and data whose
        computed modes fall below 20 eps of the largest raise ValueError
        (``dtype="auto"`` stays float32 from 2048 units: no rank to resolve). The
        result then holds ``eigenvalues(mode)`` for the computed modes only,
        ``eigen_residual(mode)`` (``||C u - lambda u||``, computed exactly:
        each eigenvalue is within it of an exact one) and
        ``captured_variance`` (their sum over the trace of ``C``); see
        docs/scale.md for the accuracy against the exact path. On a dask-backed
        activity it never loads the ``N x T`` data: see *client* and Notes.
    n_modes : int, optional
        Top modes computed by ``solver="randomized"`` (1 to ``min(N, T - 1)``;
        default: the largest kept count below the rank that *fractions* need).
        A fraction keeping more modes raises ValueError; without *fractions*
        the default ladder is cut to the levels *n_modes* covers
        (``attrs["solver_note"]``).
    n_oversamples, n_iter : int
        Extra random directions (default ``max(10, n_modes)``: a spectrum that
        decays slowly, as a power law, needs as many again as it keeps) and
        power iterations of the randomized solver. When a computed mode's
        residual exceeds 1e-3 of its eigenvalue a warning
        says so (recorded in ``attrs["warnings"]``).
    random_state : None, int, numpy.random.Generator or SeedSequence
        Seeds the randomized solver (default 0; the exact solver uses no randomness).
        The in-memory and the dask path draw the same random test matrix from it.
    client : distributed.Client, optional
        Where ``solver="randomized"`` reads a dask-backed activity (a
        ``LocalCluster``, dask-jobqueue or Kubernetes client, as for
        :func:`rgdata.coarse.prg`); default dask's synchronous scheduler in this
        process. Given with an in-memory activity it is not used (warned).

    Returns
    -------
    xarray.Dataset
        Dims ``level`` (0..L-1, 0 = all modes; coordinates ``scale`` and
        ``fraction``, the kept fractions in descending order, and ``n_modes``,
        the kept counts; ``fraction`` is indexed, so ``ds.sel(fraction=0.5)``
        works, also on a result read back from netCDF, which stores no
        index there: ``ds.set_xindex("fraction")`` restores it), ``unit``, ``mode`` (1..r), ``bin``
        (coordinate ``bin_center``), and ``direction`` for ``"both"``. Below,
        ``fraction`` stands for the ``level`` dim. Variables:

        - ``fourth_moment(fraction, unit)``: ``<phi^4>/<phi^2>^2`` (NaN for a
          variable with no weight on the kept modes);
        - ``fourth_moment_median``, ``fourth_moment_q25``,
          ``fourth_moment_q75``, ``fourth_moment_min``,
          ``fourth_moment_max`` ``(fraction)``: its spread over units;
        - ``retained_variance(fraction, unit)``: share of each unit's
          variance carried by the kept modes;
        - ``distribution(fraction, bin)``: density of the normalized filtered
          variables pooled over units, and ``outside_fraction(fraction)``;
        - ``eigenvalues(mode)``: descending non-zero eigenvalues.
        - ``fourth_moment_median_ci_low``, ``_ci_high``, ``_se`` ``(fraction)``:
          95% interval of the median from a delete-one-block jackknife over
          ``block`` time blocks of >= 3 ``tau_int(fraction)`` of the filtered
          variables, widened by the jackknife bias estimate
          ``fourth_moment_median_jackknife_bias(fraction)`` (NaN, warned,
          reason in ``attrs["median_ci_note"]``, when fewer than 5 blocks
          fit); ``fourth_moment_median_jackknife(fraction, block)``,
          ``tau_int``, ``tau_int_lower_bound`` (docs/momentum.md).

        ``attrs`` record every parameter, ``n_units``, ``n_time``, ``rank``,
        the decomposition ``method``, ``gaussian_fourth_moment_se =
        sqrt(24 / T)`` (standard error of the fourth moment of ``T``
        independent Gaussian samples), the activity's ``kind`` and
        ``source``, and ``input_storage`` (``"memory"``, or how a
        dask-backed activity was read).

    Raises
    ------
    TypeError
        *activity* is not a DataArray.
    ValueError
        NaN/inf, constant units, fewer than 2 units or 10 time points, a
        ``trial`` dim, fractions outside (0, 1], unknown options; values so
        large that their squares summed over time overflow float64
        (``max |activity| * sqrt(n_time) > 1e150``).
    TypeError
        *client* is not None or a ``distributed.Client``.
    MemoryError
        ``solver="exact"`` on a dask-backed activity whose in-memory run would
        not fit in the memory available (use ``solver="randomized"``).
    RuntimeError
        The dask *client* was closed or its cluster disappeared during the run.

    Notes
    -----
    One tridiagonal reduction of the ``N x N`` matrix (or of the ``T x T``
    Gram matrix when ``T < N``) gives every eigenvalue; eigenvectors are
    computed only for the modes the ladder uses (the full set, fraction 1,
    is the data itself, so the default ladder needs the top half for
    ``"remove_low"``). A level may be built as the data minus the removed
    modes when fewer modes are removed than kept. The filtered variables are
    never re-projected from scratch: time is streamed in chunks and, going up
    the ladder of kept counts ``K1 < K2 < ...``, the projection on ``K2``
    modes is the one on ``K1`` plus the modes ``K1..K2``. Fourth moments of
    temporally correlated data have a larger sampling error than
    ``sqrt(24/T)``.

    Memory: besides the input, ``momentum`` holds one working copy of the
    data, ``N x T`` in the working precision (float64 below 2048 units with
    ``dtype="auto"``: twice the size of a float32 input, the size of a
    float64 one; ``dtype="float32"`` halves it), the ``min(N, T)**2`` matrix
    it decomposes (a second copy of the working data when ``T < N``, for the
    Gram matrix), the ``N x m`` eigenvectors used, and about four ``N x
    chunk_size`` float64-sized arrays for the streaming; centring and
    scaling run on row blocks of at most ~2**18 values (a few 2 MB float64
    temporaries, or one row when a row is longer), so no other full-size
    float64 copy is made.

    Dask-backed activity (``dask.array``, zarr, HDF5 via ``dask.array.from_array``):
    ``solver="randomized"`` keeps it lazy (:mod:`rgdata.coarse._momentum_lazy`): the
    means and standard deviations, the randomized range finder, the residuals, the
    block rule's autocorrelation and the ladder's moments are chunked dask reductions
    (on *client*), holding in memory only ``N x (n_modes + n_oversamples)`` and ``T x
    (n_modes + n_oversamples)`` matrices, the ``n_modes x T`` mode projections and per
    unit results. Its modes agree with the in-memory randomized path's to round-off
    (the same random test matrix, QR- instead of LU-normalized power iterations).
    ``solver="exact"`` decomposes the whole matrix: a dask-backed activity is then read
    into memory (warned, ``attrs["input_storage"]``) when that fits in the memory
    available, and refused with MemoryError otherwise.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> x = np.random.default_rng(0).standard_normal((64, 5000))
    >>> ds = rgdata.coarse.momentum(rgdata.as_activity(x))
    >>> ds.fourth_moment_median.values.round(1)  # Gaussian data stay at 3
    array([3., 3., 3., 3., 3., 3.])
    """
    _check_client(client)
    on_dask = is_lazy(activity)
    if on_dask:  # dims, dtype and sizes only: the values are read after the options' checks
        activity = lazy_dims(activity, MIN_TIME)
    else:
        if client is not None:
            warn_user(
                "momentum: client= is used only for dask-backed activities with "
                "solver='randomized'; this activity is in memory, so the client was not used",
                UserWarning,
            )
        activity = check_activity(activity, allow_trials=False, min_time=MIN_TIME)
    check_option(direction, "direction", DIRECTIONS)
    check_option(matrix, "matrix", MATRICES)
    dtype = check_dtype_option(dtype, "dtype", DTYPES)
    n_bins = check_int(n_bins, "n_bins", min_value=2)
    bin_range = check_real(bin_range, "bin_range", min_value=0.0, strict_min=True)
    n_units, n_time = activity.shape
    if chunk_size is None:
        chunk_size = max(2048, 2**22 // n_units)
    chunk_size = check_int(chunk_size, "chunk_size", min_value=1)
    if fractions is not None:
        fractions = _check_fractions(fractions)
    check_option(solver, "solver", SOLVERS)
    if solver == "randomized":
        if direction != "remove_low":
            raise ValueError(
                f"solver='randomized' computes only the top modes, so it supports "
                f"direction='remove_low' only; got direction={direction!r}"
            )
        if n_modes is not None:
            n_modes = check_int(n_modes, "n_modes", min_value=1, max_value=min(n_units, n_time - 1))
        if n_oversamples is not None:
            n_oversamples = check_int(n_oversamples, "n_oversamples", min_value=0)
        n_iter = check_int(n_iter, "n_iter", min_value=0)

    lazy, storage = None, "memory"
    if on_dask and solver == "randomized":  # one pass of chunked checks; stays lazy
        lazy = lazy_input(activity, client)
        storage = storage_note(activity, client, loaded=False)
    elif on_dask:  # solver="exact": read into memory when that fits
        activity, storage = _load_for_exact(activity, dtype, matrix, chunk_size, client)
        activity = check_activity(activity, allow_trials=False, min_time=MIN_TIME)
    top_value = lazy.top if lazy is not None else max_abs(activity.values)
    check_magnitude(
        top_value,
        np.sqrt(n_time),
        "sqrt(n_time)",
        f"their squares summed over {n_time} time points",
        hint=" (the fourth moments do not change)",
    )
    dtype_requested = dtype
    dtype_note = ""
    if dtype == "auto":
        large = matrix == "correlation" and n_units >= AUTO_FLOAT32_UNITS
        dtype = "float32" if large else "float64"
    # one bar for the whole call: the decomposition stages name themselves (N = 10,000 spends
    # most of a minute there), the streaming counts time chunks x levels
    bar = progress_bar(enable=progress, desc="momentum RG: covariance and eigenvalues")
    with bar:
        if lazy is None:
            z, scale = standardize(activity.values, matrix, np.dtype(dtype).type)
        else:
            z, scale = lazy.standardized(matrix, np.dtype(dtype).type), lazy.sd
        mean_square = projections = None
        full_rank = min(n_units, n_time - 1)
        solver_vars: dict[str, Any] = {}
        solver_attrs: dict[str, Any] = {"solver": solver}
        solver_warning = ""
        if solver == "randomized":
            bar.set_description_str("momentum RG: randomized top modes")
            if lazy is not None:
                bar.set_description_str("momentum RG (dask): randomized top modes")
                solve, trace = _lazy_solver(z, client, bar)
            else:
                solve, trace = None, None
            fractions, found, solver_vars, solver_attrs, solver_warning = randomized_modes(
                z, fractions, n_modes, full_rank, n_oversamples, n_iter, random_state, matrix,
                solve=solve, trace=trace,
            )  # fmt: skip
            if lazy is not None:
                projections, mean_square = solve.projections, solve.mean_square
            lam, rank = found.eigenvalues, full_rank
            method = "randomized_svd" if lazy is None else "randomized_range_finder_dask"
        else:
            spec = spectrum(z, chunk=chunk_size)
        if (
            solver == "exact"
            and dtype_requested == "auto"
            and dtype == "float32"
            and spec.rank < full_rank
        ):
            # float32 cannot resolve the smallest genuine modes (e.g. T close to N, where the
            # Marchenko-Pastur lower edge approaches 0): redo the decomposition in float64 so
            # that "auto" never changes the rank, the ladder or the results
            dtype_note = (
                f"auto: float32 resolved only {spec.rank} of {full_rank} modes (smallest "
                "eigenvalues below 20 eps of the largest); recomputed in float64"
            )
            del spec, z
            dtype = "float64"
            z, scale = standardize(activity.values, matrix, np.float64)
            spec = spectrum(z, chunk=chunk_size)
        if solver == "exact":
            lam, rank, method = spec.eigenvalues, spec.rank, spec.method
        attrs_warnings = []
        if solver == "randomized" and solver_warning:
            warn_user(solver_warning, UserWarning)
            attrs_warnings.append(solver_warning)
        if rank < n_units:
            if rank == full_rank:
                why = f"{n_time} time points give at most {full_rank} non-zero modes"
            elif dtype == "float32":
                why = (
                    "collinear units, or modes below float32's resolution (20 eps of the largest "
                    "eigenvalue; dtype='float64' resolves them)"
                )
            else:
                why = "collinear units"
            msg = (
                f"the {matrix} matrix has rank {rank} < {n_units} units ({why}): fractions count "
                "the non-zero modes only"
            )
            warn_user(msg, UserWarning)
            attrs_warnings.append(msg)
        if fractions is None:
            fractions = default_fractions(rank)
        kept = np.maximum(1, np.rint(fractions * rank)).astype(np.int64)

        unit_var = np.ones(n_units) if matrix == "correlation" else scale**2
        edges = np.linspace(-bin_range, bin_range, n_bins + 1)
        centers = 0.5 * (edges[1:] + edges[:-1])
        width = edges[1] - edges[0]
        directions = ("remove_low", "remove_high") if direction == "both" else (direction,)
        uniq, inverse = np.unique(kept, return_inverse=True)  # ascending kept counts
        if solver == "randomized":
            # every level below the rank is built from the top modes (no complement)
            plans = [direct_plan(uniq, rank)]
            vec, lam_cols = found.vectors, lam
            del found
        else:
            top, bottom, plans = plan_filters(uniq, rank, directions, n_units, n_time)
            bar.set_description_str("momentum RG: eigenvectors")
            vec = spec.vectors(top, bottom)
            del spec  # the N x N reduction is no longer needed
            lam_cols = np.concatenate([lam[:top], lam[rank - bottom :]]) if top < rank else lam
        steps = [step for plan in plans for step in plan.steps]
        variances, retained, unresolved = _expected_variances(
            steps,
            vec,
            lam_cols,
            row_mean_square(z) if mean_square is None else mean_square,
            unit_var,
            np.finfo(z.dtype).eps,
        )
        n_chunks = -(-n_time // chunk_size)
        bar.set_description_str("momentum RG: projections")
        # the dask path computes all chunks in one graph: one step, its stages named
        bar.reset(total=n_chunks * len(steps) if lazy is None else 1)
        if lazy is None:
            out, blocks = block_filtered_moments(
                z, vec, steps, variances, edges, chunk_size=chunk_size, progress_bar=bar
            )
        else:
            out, blocks = lazy_block_moments(
                z, vec, projections, steps, variances, edges,
                chunk_size=chunk_size, client=client, progress_bar=bar,
            )  # fmt: skip
            bar.update(1)
    del projections
    del z, vec
    with np.errstate(divide="ignore", invalid="ignore"):
        fm_slots = out["m4"] / out["m2"] ** 2
    fm_slots = np.where(variances > 0, fm_slots, np.nan)
    total = out["hist"].sum(axis=1) + out["outside"]
    total = np.where(total > 0, total, np.nan)
    per_direction = []
    for plan in plans:
        rows = plan.slots[inverse]
        per_direction.append(
            {
                "fourth_moment": fm_slots[rows],
                "retained": retained[rows],
                "hist": out["hist"][rows],
                "outside": out["outside"][rows],
                "total": total[rows],
            }
        )
    n_unresolved = int(sum(unresolved[plan.slots[inverse]].sum() for plan in plans))

    # assemble
    n_nan = 0
    fm_all, ret_all, dist_all, out_all = [], [], [], []
    for res in per_direction:
        fm_all.append(res["fourth_moment"])
        ret_all.append(res["retained"])
        dist_all.append(res["hist"] / (res["total"][:, None] * width))
        out_all.append(res["outside"] / res["total"])
        n_nan += int(np.isnan(res["fourth_moment"]).sum())
    n_nan -= n_unresolved
    dims = "unit x fraction" + (" x direction" if len(directions) > 1 else "")
    if n_nan:
        msg = (
            f"{n_nan} filtered variable(s) ({dims})"
            " have no weight on the kept modes (retained variance < 1e-10): their fourth "
            "moment is NaN and they are left out of the medians, quartiles and distributions"
        )
        warn_user(msg, UserWarning)
        attrs_warnings.append(msg)
    if n_unresolved:
        eps = np.finfo(np.dtype(dtype)).eps
        msg = (
            f"{n_unresolved} filtered variable(s) ({dims}) keep less than "
            f"{_COMPLEMENT_RESOLUTION * eps:.1e} of their variance, which {dtype} does not "
            "resolve when they are computed as the data minus the removed modes: their fourth "
            "moment is NaN and they are left out of the medians, quartiles and distributions; "
            "use dtype='float64'"
        )
        warn_user(msg, UserWarning)
        attrs_warnings.append(msg)
    worst = max(float(np.max(o)) for o in out_all)
    if worst > 0.01:
        msg = (
            f"up to {worst:.1%} of the normalized values fall outside bin_range={bin_range} "
            "(recorded in outside_fraction); widen bin_range to see the tails"
        )
        warn_user(msg, UserWarning)
        attrs_warnings.append(msg)

    def stack(arrs):
        return np.stack(arrs) if len(directions) > 1 else arrs[0]

    lead = ("direction",) if len(directions) > 1 else ()
    fm = stack(fm_all)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN slices give NaN, warned above
        quart = {
            name: np.nanquantile(fm, q, axis=-1) if fm.size else fm
            for name, q in (("q25", 0.25), ("median", 0.5), ("q75", 0.75))
        }
        fmin, fmax = np.nanmin(fm, axis=-1), np.nanmax(fm, axis=-1)
    ci_vars, ci_coords, ci_attrs = median_ci_variables(
        blocks, [plan.slots[inverse] for plan in plans], quart["median"], variances, lead
    )
    if blocks["note"]:
        warn_user(f"momentum: {blocks['note']}", UserWarning)
        attrs_warnings.append(blocks["note"])
    data_vars = {
        "fourth_moment": (lead + ("fraction", "unit"), fm),
        "fourth_moment_median": (lead + ("fraction",), quart["median"]),
        "fourth_moment_q25": (lead + ("fraction",), quart["q25"]),
        "fourth_moment_q75": (lead + ("fraction",), quart["q75"]),
        "fourth_moment_min": (lead + ("fraction",), fmin),
        "fourth_moment_max": (lead + ("fraction",), fmax),
        "retained_variance": (lead + ("fraction", "unit"), stack(ret_all)),
        "distribution": (lead + ("fraction", "bin"), stack(dist_all)),
        "outside_fraction": (lead + ("fraction",), stack(out_all)),
        "eigenvalues": (("mode",), lam),
    }
    data_vars.update(ci_vars)
    data_vars.update(solver_vars)
    coords = {
        "fraction": fractions,
        "n_modes": ("fraction", kept),
        "unit": activity["unit"].values,
        "mode": np.arange(1, lam.size + 1),
        "bin_center": ("bin", centers),
    }
    coords["direction"] = list(directions) if lead else directions[0]
    coords.update(ci_coords)
    from .. import __version__

    attrs = {
        "analysis": "momentum",
        "direction": direction,
        "matrix": matrix,
        "n_bins": n_bins,
        "bin_range": bin_range,
        "bin_edges": edges,
        "dtype": dtype,
        "dtype_requested": dtype_requested,
        "dtype_note": dtype_note,
        "chunk_size": chunk_size,
        "n_units": n_units,
        "n_time": n_time,
        "rank": rank,
        "method": method,
        "gaussian_fourth_moment_se": float(np.sqrt(24.0 / n_time)),
        "kind": str(activity.attrs.get("kind", "")),
        "source": str(activity.attrs.get("source", "")),
        "rgdata_version": __version__,
        "warnings": json.dumps(attrs_warnings),
        "input_storage": storage,
    }
    attrs.update(ci_attrs)
    attrs.update(solver_attrs)
    ds = as_level_schema(xr.Dataset(data_vars, coords=coords, attrs=attrs))
    ds["fourth_moment"].attrs["long_name"] = "normalized fourth moment <phi^4>/<phi^2>^2"
    ds["distribution"].attrs["long_name"] = "density of phi / sd(phi), pooled over units"
    return ds


def _check_client(client: Any) -> None:
    from .prg import _check_client as check  # noqa: PLC0415 (prg's rule for client=)

    check(client)


def _load_for_exact(activity, dtype, matrix, chunk_size, client):
    """A dask-backed activity read into memory for ``solver="exact"``, and the storage note."""
    from ._memory import check_memory  # noqa: PLC0415

    n, t = activity.shape[-2], activity.shape[-1]
    if dtype == "auto":
        dtype = "float32" if matrix == "correlation" and n >= AUTO_FLOAT32_UNITS else "float64"
    need = exact_peak_bytes(n, t, activity.dtype.itemsize, np.dtype(dtype).itemsize, chunk_size)
    check_memory(
        need,
        None,
        f"momentum(solver='exact') on a dask-backed activity of {n} units x {t} time points",
        "solver='exact' decomposes the whole matrix in memory; use solver='randomized' with "
        "n_modes (it keeps a dask-backed activity lazy), or fewer units or time points.",
    )
    note = storage_note(activity, client, loaded=True)
    warn_user(f"momentum: {note}", UserWarning)
    if client is not None:
        loaded = client.compute(activity.data, sync=True)
    else:
        loaded = activity.data.compute(scheduler="synchronous")
    return activity.copy(data=np.asarray(loaded)), note


class _LazySolver:
    """``top_modes`` for a dask array, keeping the projections and mean squares it reads."""

    def __init__(self, z, client, bar):
        self.z, self.client, self.bar = z, client, bar
        self.projections = self.mean_square = None

    def __call__(self, z, n_modes, *, n_oversamples, n_iter, random_state):
        found, self.projections, self.mean_square = lazy_top_modes(
            self.z,
            n_modes,
            n_oversamples=n_oversamples,
            n_iter=n_iter,
            random_state=random_state,
            client=self.client,
            progress_bar=self.bar,
        )
        return found

    def trace(self):
        return float(self.mean_square.sum())


def _lazy_solver(z, client, bar):
    solver = _LazySolver(z, client, bar)
    return solver, solver.trace


def _expected_variances(steps, vec, lam_cols, total_var, unit_var, eps):
    """Variance of every filtered variable at every slot, known before the data are streamed.

    A level built from kept modes has variance ``sum_kept u_i^2 lambda``; one built as the
    data minus removed modes has the unit's variance minus ``sum_removed u_i^2 lambda``.
    Returns ``(variances, retained, unresolved)``, all ``(S, N)``: variances set to zero
    where the variable has no weight on the kept modes (or, for a complement, less than
    the working precision resolves; those are flagged in ``unresolved``).
    """
    n_slots = 1 + max(step.slot for step in steps)
    variances = np.zeros((n_slots, total_var.size))
    retained = np.zeros_like(variances)
    unresolved = np.zeros(variances.shape, dtype=bool)
    running = None
    for step in steps:
        if step.op == "data":
            var = total_var
        else:
            part = range_variances(vec, lam_cols, step.c0, step.c1)
            running = part if step.op in ("project", "complement") else running + part
            var = running if step.op in ("project", "add") else np.maximum(total_var - running, 0)
        ret = var / unit_var
        variances[step.slot] = np.where(ret > _ZERO_VARIANCE, var, 0.0)
        retained[step.slot] = ret
        if step.op in ("complement", "remove"):
            # the difference carries a round-off of ~eps: below the resolution the computed
            # share says nothing, not even whether it is zero, so "no weight" is never
            # diagnosed there (a true 1e-8 can come out as 0 or 1e-11 depending on the BLAS
            # kernel). Where the resolution is finer than _ZERO_VARIANCE (float64), the zero
            # threshold decides as for kept modes.
            coarse = ret <= _COMPLEMENT_RESOLUTION * eps
            if _COMPLEMENT_RESOLUTION * eps <= _ZERO_VARIANCE:
                coarse &= ret > _ZERO_VARIANCE
            variances[step.slot][coarse] = 0.0
            unresolved[step.slot] = coarse
    return variances, retained, unresolved
