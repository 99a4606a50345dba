"""Scaling-exponent fits with confidence intervals from contiguous time blocks.

A PRG result (:func:`rgdata.coarse.prg`) holds each quantity per level and
per contiguous time block. :func:`fit_exponent` fits a power law of the
quantity against the cluster size ``K`` on log-log axes, over a stated range
of ``K``, once on the whole recording and once per block. The spread of the
block exponents gives the confidence interval: time bins of a correlated
series are not independent, so resampling single bins would understate the
error, while contiguous blocks keep the correlations inside each block.

The interval is only given when it can be honest: at least ``MIN_BLOCKS``
(5) blocks, each at least ``BLOCK_TAUS`` (3) integrated autocorrelation
times of the coarse-grained variables at every fitted level (``tau_int``,
measured by :func:`~rgdata.coarse.prg`, which sizes its blocks by this rule
by default). Otherwise the bounds are NaN, with a warning and the reason in
``ci_note``. Coverage of this rule was measured on planted autocorrelated
processes (``benchmarks/coverage_prg_ci.py``, table in
``docs/coarse_graining.md``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_option, check_real, describe
from .._warnings import warn_user
from ..coarse._blocks import BLOCK_TAUS, MIN_BLOCKS, MIN_FIT_CLUSTERS
from ._fit_dataset import as_dataset, exponent_fit, stack_fits

__all__ = [
    "fit_exponent",
    "fit_exponents",
    "exponent_fit",
    "EXPONENT_NAMES",
    "FIT_METHODS",
    "CI_METHODS",
    "MIN_BLOCKS",
    "MIN_FIT_CLUSTERS",
]

#: quantity -> exponent symbol (sign: mu is minus the log-log slope of the spectrum)
EXPONENT_NAMES = {
    "variance": "alpha",
    "silence_free_energy": "beta",
    "eigenvalues": "mu",
    "tau_c": "z",
}
FIT_METHODS = ("ols", "wls")
CI_METHODS = ("t", "spread")
_DEFAULT_EIGEN_KMIN = 4


def _check_result(result: Any, quantity: str) -> None:
    if not isinstance(result, xr.Dataset):
        raise TypeError(
            f"result must be an xarray.Dataset from rgdata.coarse.prg, got {describe(result)}"
        )
    check_option(quantity, "quantity", tuple(EXPONENT_NAMES))
    missing = [
        v for v in (quantity, f"{quantity}_blocks", "cluster_size") if v not in result.variables
    ]
    if missing:
        raise ValueError(
            f"result lacks {missing}; expected a Dataset from rgdata.coarse.prg "
            f"(variables: {sorted(result.data_vars)[:8]}...)"
        )
    if "null" in result.dims:
        raise ValueError(
            "result has a 'null' dim (from run_with_nulls); select one first, e.g. "
            "result.sel(null='data')"
        )


def _points(
    result: xr.Dataset, quantity: str, k_lo: float, k_hi: float, rank_fraction: tuple
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (log x, log y, log y per block (n, B), level index of each point)."""
    sizes = result["cluster_size"].values.astype(float)
    in_range = (sizes >= k_lo) & (sizes <= k_hi)
    if quantity == "eigenvalues":
        ev = result["eigenvalues"].transpose("level", "rank").values
        evb = result["eigenvalues_blocks"].transpose("level", "rank", "block").values
        ranks = result["rank"].values.astype(float)
        xs, ys, ybs, lv = [], [], [], []
        for i in np.flatnonzero(in_range):
            k = sizes[i]
            frac = ranks[: int(k)] / k
            sel = (frac > rank_fraction[0]) & (frac <= rank_fraction[1])
            vals = ev[i, : int(k)][sel]
            if not np.all(np.isfinite(vals)):
                continue
            xs.append(np.log(frac[sel]))
            ys.append(vals)
            ybs.append(evb[i, : int(k)][sel])
            lv.append(np.full(sel.sum(), i))
        if not xs:
            return (np.empty(0), np.empty(0), np.empty((0, evb.shape[-1])), np.empty(0, int))
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        yb = np.concatenate(ybs)
        levels = np.concatenate(lv)
    else:
        y = result[quantity].values.astype(float)
        yb = result[f"{quantity}_blocks"].transpose("level", "block").values.astype(float)
        x = np.log(sizes)
        keep = in_range & np.isfinite(y)
        x, y, yb, levels = x[keep], y[keep], yb[keep], np.flatnonzero(keep)
    with np.errstate(divide="ignore", invalid="ignore"):
        return x, np.log(np.where(y > 0, y, np.nan)), np.log(np.where(yb > 0, yb, np.nan)), levels


def _line(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, deg: int = 1) -> np.ndarray:
    return np.polyfit(x, y, deg, w=None if w is None else np.sqrt(w))


def fit_exponent(
    result: xr.Dataset,
    quantity: str,
    *,
    k_range: tuple[float, float] | None = None,
    method: str = "ols",
    ci: float = 0.95,
    ci_method: str = "t",
    rank_fraction: tuple[float, float] = (0.0, 1.0),
) -> xr.Dataset:
    """Fit the scaling exponent of a PRG quantity against the cluster size K.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`rgdata.coarse.prg` (one null selected).
    quantity : {"variance", "silence_free_energy", "eigenvalues", "tau_c"}
        ``variance ~ K**alpha``, ``silence_free_energy ~ K**beta``,
        ``tau_c ~ K**z``; for ``eigenvalues`` the spectra of all levels in
        range are pooled against ``rank / K`` and ``eigenvalue ~
        (rank / K)**(-mu)`` (the collapse of Meshulam et al.).
    k_range : (float, float), optional
        Inclusive range of cluster sizes used. Default: every level with a
        finite positive value that is averaged over at least
        ``MIN_FIT_CLUSTERS`` (8) clusters (for eigenvalues also ``K >= 4``).
        Levels with fewer clusters carry a cluster-to-cluster scatter that the
        time blocks cannot see; an explicit range that includes them warns.
    method : {"ols", "wls"}
        Least squares on ``(log K, log y)``; ``"wls"`` weights each point by
        the inverse variance of its log across time blocks.
    ci : float
        Confidence level (used by ``ci_method="t"``).
    ci_method : {"t", "spread"}
        ``"t"``: estimate on the full recording +- Student-t quantile times
        the standard error of the block exponents (``sd / sqrt(B)``, batch
        means). ``"spread"``: +- one standard deviation of the block
        exponents (the convention of the published quarters analysis, wider).
        Either way the bounds are NaN (warning, reason in ``ci_note``) when
        fewer than ``MIN_BLOCKS`` (5) blocks have finite values, or when the
        blocks are shorter than ``BLOCK_TAUS`` (3) times the integrated
        autocorrelation time ``tau_int`` of any fitted level (or that time is
        only a lower bound): such blocks are not independent and would give
        a too-narrow interval.
    rank_fraction : (float, float)
        For eigenvalues: ``rank / K`` range used, ``(low, high]``.

    Returns
    -------
    xarray.Dataset
        Scalar variables ``exponent``, ``ci_low``, ``ci_high``, ``se``
        (standard error of the exponent from the blocks, NaN without a CI),
        ``block_sd``, ``r2``, ``intercept`` (log scale), ``k_min``, ``k_max``,
        ``n_points``, ``n_blocks_used``, ``ci_level``, ``min_clusters``,
        ``curvature`` (quadratic coefficient in log-log) with
        ``curvature_ci_low`` / ``curvature_ci_high`` and
        ``curvature_significant`` (1 when the CI excludes 0: the data are not
        a single power law; a warning then names both half-range slopes),
        ``slope_lower_half`` / ``slope_upper_half``;
        ``k_range_requested (bound)`` with ``bound`` = low, high;
        ``exponent_blocks (block)``, the exponent of each time block (NaN for
        a block not used); ``level_in_fit``, ``level_dropped`` (undefined in
        some block) and ``level_lower_bound`` (tau_c only a lower bound),
        booleans on ``level``. String attrs: ``quantity``, ``exponent_name``,
        ``method``, ``ci_method``, ``k_range_rule`` (how the range was
        chosen), ``ci_note`` (``""`` or why there is no CI) and ``status``
        (``"ok"`` or why the fit failed; failures give NaN and a warning).
        ``float(fit["exponent"])`` is the exponent; the Dataset round-trips
        through netCDF.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> x = (np.random.default_rng(1).random((64, 4000)) < 0.2).astype(np.int8)
    >>> fit = fit_exponent(rgdata.coarse.prg(rgdata.as_activity(x)), "variance")
    >>> fit.attrs["status"], bool(fit["ci_low"] < fit["exponent"] < fit["ci_high"])
    ('ok', True)
    """
    _check_result(result, quantity)
    check_option(method, "method", FIT_METHODS)
    check_option(ci_method, "ci_method", CI_METHODS)
    ci = check_real(ci, "ci", min_value=0.0, max_value=1.0, strict_min=True)
    if ci >= 1.0:
        raise ValueError(f"ci must be < 1, got {ci}")
    sizes = result["cluster_size"].values
    n_cl = result["n_clusters"].values if "n_clusters" in result.variables else None
    if k_range is None:
        k_lo = _DEFAULT_EIGEN_KMIN if quantity == "eigenvalues" else 0.0
        k_hi = np.inf
        rule = "default: all levels"
        if n_cl is not None:
            enough = n_cl >= MIN_FIT_CLUSTERS
            k_hi = float(sizes[enough].max()) if enough.any() else 0.0
            rule = f"default: levels averaged over >= {MIN_FIT_CLUSTERS} clusters"
    else:
        rule = "requested"
        if len(k_range) != 2:
            raise ValueError(f"k_range must be (k_min, k_max), got {k_range!r}")
        k_lo = check_real(k_range[0], "k_range[0]", min_value=1.0)
        k_hi = check_real(k_range[1], "k_range[1]", min_value=k_lo)
    x, y, yb, levels = _points(result, quantity, k_lo, k_hi, tuple(rank_fraction))
    name = EXPONENT_NAMES[quantity]
    sign = -1.0 if quantity == "eigenvalues" else 1.0
    lower_bound_levels: list[int] = []
    if quantity == "tau_c" and "tau_c_lower_bound" in result.variables:
        lb = result["tau_c_lower_bound"].values.astype(bool)
        is_lb = lb[levels] if levels.size else np.zeros(0, bool)
        lower_bound_levels = sorted({int(i) for i in levels[is_lb]})
        if lower_bound_levels:
            warn_user(
                f"fit_exponent('tau_c'): levels {lower_bound_levels} (K="
                f"{[int(sizes[i]) for i in lower_bound_levels]}) left out of the fit: tau_c "
                "there is only a lower bound (the autocorrelation never fell below 1/e "
                "within max_lag)"
            )
            x, y, yb, levels = x[~is_lb], y[~is_lb], yb[~is_lb], levels[~is_lb]
    out: dict[str, Any] = {
        "quantity": quantity,
        "exponent_name": name,
        "method": method,
        "ci_level": ci,
        "ci_method": ci_method,
        "k_range_requested": [float(k_lo), float(k_hi)],
        "k_range_rule": rule,
        "min_clusters": MIN_FIT_CLUSTERS,
        "levels_lower_bound": lower_bound_levels,
    }
    nan_fields = (
        "exponent ci_low ci_high block_sd r2 intercept curvature curvature_ci_low "
        "curvature_ci_high slope_lower_half slope_upper_half k_min k_max se"
    ).split()
    keep = np.isfinite(y) & np.all(np.isfinite(yb), axis=1)
    dropped = sorted(set(levels[np.isfinite(y)].tolist()) - set(levels[keep].tolist()))
    if dropped:
        warn_user(
            f"fit_exponent({quantity!r}): levels {dropped} (K="
            f"{[int(sizes[i]) for i in dropped]}) left out of the fit: the value is undefined "
            "in some time block (a cluster never silent there, or too few samples per block "
            "for the spectrum), so no block CI could use them"
        )
    out["levels_dropped"] = [int(i) for i in dropped]
    x, y, yb, levels = x[keep], y[keep], yb[keep], levels[keep]
    n_levels_used = np.unique(levels).size
    if x.size < 3 or (quantity != "eigenvalues" and n_levels_used < 3):
        status = (
            f"failed: {n_levels_used} level(s) with finite positive {quantity} in "
            f"K range [{k_lo:g}, {k_hi:g}] ({rule}), at least 3 needed"
        )
        warn_user(f"fit_exponent({quantity!r}): {status}; returning NaN")
        out.update(dict.fromkeys(nan_fields, float("nan")))
        out.update(
            block_exponents=[],
            n_points=int(x.size),
            curvature_significant=0,
            n_blocks_used=0,
            ci_note=status,
            status=status,
        )
        return as_dataset(result, out, [], levels)
    used = np.unique(levels)
    if n_cl is not None and k_range is not None:
        few = [int(i) for i in used if n_cl[i] < MIN_FIT_CLUSTERS]
        if few:
            warn_user(
                f"fit_exponent({quantity!r}): the requested k_range includes levels {few} (K="
                f"{[int(sizes[i]) for i in few]}) averaged over fewer than {MIN_FIT_CLUSTERS} "
                f"clusters ({[int(n_cl[i]) for i in few]}); their cluster-to-cluster scatter "
                "is not in the block CI"
            )

    w = None
    if method == "wls":
        with np.errstate(invalid="ignore"):
            var = np.nanvar(yb, axis=1, ddof=1) if yb.shape[1] > 1 else np.full(y.size, np.nan)
        if np.all(np.isfinite(var) & (var > 0)):
            w = 1.0 / var
        else:
            warn_user(
                f"fit_exponent({quantity!r}): block variances unusable for weights; using ols"
            )
    slope, intercept = _line(x, y, w)
    pred = slope * x + intercept
    ss_res = float(np.sum((y - pred) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")

    def crit(n: int) -> float:
        if ci_method == "spread":
            return 1.0
        # scipy.special's stdtrit is what scipy.stats.t.ppf evaluates, without importing
        # scipy.stats (~0.5 s) with rgdata.diagnostics
        from scipy.special import stdtrit

        return float(stdtrit(n - 1, 0.5 + ci / 2)) / np.sqrt(n)

    block_slopes, block_curv, block_used = [], [], []
    for b in range(yb.shape[1]):
        yy = yb[:, b]
        if np.all(np.isfinite(yy)):
            block_used.append(b)
            block_slopes.append(_line(x, yy, w)[0])
            if x.size >= 4:
                block_curv.append(_line(x, yy, w, 2)[0])
    block_slopes = np.asarray(block_slopes)
    status = "ok"
    sd = float(np.std(block_slopes, ddof=1)) if block_slopes.size >= 2 else float("nan")
    ci_note = _ci_problem(result, used, block_slopes.size)
    if ci_note:
        half = se = float("nan")
        status = f"ok (no CI: {ci_note})"
        warn_user(f"fit_exponent({quantity!r}): {status}")
    else:
        half = crit(block_slopes.size) * sd
        se = sd / np.sqrt(block_slopes.size)
    exponent = sign * slope
    curv = c_lo = c_hi = float("nan")
    significant = 0
    if x.size >= 4:
        curv = float(_line(x, y, w, 2)[0]) * sign
        if len(block_curv) >= 2 and not ci_note:
            c_half = crit(len(block_curv)) * float(np.std(block_curv, ddof=1))
            c_lo, c_hi = curv - c_half, curv + c_half
            significant = int(c_lo > 0 or c_hi < 0)
    lower = upper = float("nan")
    ux = np.unique(x)
    if ux.size >= 4:
        mid = np.median(ux)
        lo_m, hi_m = x <= mid, x >= mid
        if np.unique(x[lo_m]).size >= 2 and np.unique(x[hi_m]).size >= 2:
            lower = sign * float(_line(x[lo_m], y[lo_m], None if w is None else w[lo_m])[0])
            upper = sign * float(_line(x[hi_m], y[hi_m], None if w is None else w[hi_m])[0])
    if significant:
        warn_user(
            f"fit_exponent({quantity!r}): significant curvature in log-log (quadratic term "
            f"{curv:.3g}, CI [{c_lo:.3g}, {c_hi:.3g}]): the slope is {lower:.3f} over the "
            f"lower half and {upper:.3f} over the upper half of K = {sizes[used].min():g}-"
            f"{sizes[used].max():g}; one power law does not describe this range"
        )
    out.update(
        exponent=float(exponent),
        ci_low=float(exponent - half),
        ci_high=float(exponent + half),
        block_exponents=[float(sign * s) for s in block_slopes],
        block_sd=sd,
        r2=float(r2),
        intercept=float(intercept),
        curvature=curv,
        curvature_ci_low=float(c_lo),
        curvature_ci_high=float(c_hi),
        curvature_significant=significant,
        slope_lower_half=lower,
        slope_upper_half=upper,
        k_min=float(sizes[used].min()),
        k_max=float(sizes[used].max()),
        n_points=int(x.size),
        se=float(se),
        n_blocks_used=int(block_slopes.size),
        ci_note=ci_note,
        status=status,
    )
    return as_dataset(result, out, block_used, levels)


def _ci_problem(result: xr.Dataset, used: np.ndarray, n_blocks: int) -> str:
    """Why the blocks cannot give an honest interval ("" when they can)."""
    if n_blocks < MIN_BLOCKS:
        return (
            f"only {n_blocks} time block(s) with finite values; at least {MIN_BLOCKS} "
            "independent blocks are needed for a 95% interval"
        )
    if "tau_int" not in result.variables or "block_start" not in result.coords:
        return ""
    blen = int((result["block_stop"] - result["block_start"]).values.min())
    ti = result["tau_int"].values[used].astype(float)
    lb = (
        result["tau_int_lower_bound"].values[used].astype(bool)
        if "tau_int_lower_bound" in result.variables
        else np.zeros(used.size, bool)
    )
    bad = (blen < BLOCK_TAUS * ti) | lb
    if not np.any(bad):
        return ""
    sizes = result["cluster_size"].values
    worst = int(np.argmax(np.where(np.isfinite(ti), ti, np.inf)))
    return (
        f"the {n_blocks} blocks of {blen} samples are shorter than {BLOCK_TAUS:g} "
        f"integrated autocorrelation times at K = {[int(k) for k in sizes[used][bad]]} "
        f"(tau_int up to {ti[worst]:.1f}{' or more' if lb[worst] else ''} samples), so they "
        "are not independent; a longer recording (or fewer levels) is needed"
    )


def fit_exponents(
    result: xr.Dataset,
    quantities: tuple[str, ...] | None = None,
    **fit_kwargs: Any,
) -> xr.Dataset:
    """Fit several exponents and return a copy of *result* with the fits as variables.

    Each :func:`fit_exponent` Dataset becomes one entry of an
    ``exponent_name`` dim (alpha, beta, mu, z, in the order of
    *quantities*): ``exponent``, ``exponent_ci_low``, ``exponent_ci_high``,
    ``exponent_se``, ``exponent_r2``, ``exponent_k_min``... (fit variable
    ``v`` becomes ``exponent_v``), ``exponent_blocks (exponent_name,
    block)``, ``exponent_level_in_fit (exponent_name, level)``..., and the
    fit's string attrs as string variables (``exponent_quantity``,
    ``exponent_status``, ``exponent_ci_note``...). The result round-trips
    through netCDF; :func:`exponent_fit` gives one fit back as a Dataset.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`rgdata.coarse.prg`.
    quantities : tuple of str, optional
        Default: variance, eigenvalues, tau_c, plus silence_free_energy
        unless the data are continuous (where it is undefined).
    **fit_kwargs
        Passed to :func:`fit_exponent` (``k_range``, ``method``, ``ci``...).

    Returns
    -------
    xarray.Dataset
        A copy of *result* (same attrs) with the fit variables added.

    Raises
    ------
    ValueError
        *quantities* is empty or names a quantity twice; *result* already
        holds fits.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> x = (np.random.default_rng(1).random((64, 4000)) < 0.2).astype(np.int8)
    >>> res = fit_exponents(rgdata.coarse.prg(rgdata.as_activity(x)), ("variance", "tau_c"))
    >>> [str(s) for s in res["exponent_name"].values]
    ['alpha', 'z']
    """
    if quantities is None:
        quantities = ("variance", "silence_free_energy", "eigenvalues", "tau_c")
        if isinstance(result, xr.Dataset) and result.attrs.get("data_coding") == "continuous":
            quantities = ("variance", "eigenvalues", "tau_c")
    if isinstance(quantities, str):
        quantities = (quantities,)
    quantities = tuple(quantities)
    if not quantities or len(set(quantities)) != len(quantities):
        raise ValueError(
            f"quantities must be distinct names from {tuple(EXPONENT_NAMES)}, got {quantities!r}"
        )
    if isinstance(result, xr.Dataset) and "exponent_name" in result.dims:
        raise ValueError(
            "result already holds exponent fits (an 'exponent_name' dim); fit the PRG "
            "result they were made from"
        )
    fits = [fit_exponent(result, q, **fit_kwargs) for q in quantities]
    out = result.copy()
    out.attrs = dict(result.attrs)
    return out.assign(stack_fits(fits).data_vars)
