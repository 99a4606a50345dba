"""Scaling-exponent fits with confidence intervals from contiguous time blocks.

A PRG result (:func:`rgdata.coarse.prg`) holds each quantity per level and
per contiguous time block. :func:`fit_exponent` fits a power law of the
quantity against the cluster size ``K`` on log-log axes, over a stated range
of ``K``, once on the whole recording and once per block. The spread of the
block exponents gives the confidence interval: time bins of a correlated
series are not independent, so resampling single bins would understate the
error, while contiguous blocks (the published convention uses quarters of the
recording) keep the correlations inside each block.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import scipy.stats
import xarray as xr

from .._validation import check_option, check_real, describe
from .._warnings import warn_user

__all__ = ["fit_exponent", "fit_exponents", "EXPONENT_NAMES", "FIT_METHODS", "CI_METHODS"]

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
) -> dict[str, Any]:
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
        finite positive value (for eigenvalues: ``K >= 4``).
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
    rank_fraction : (float, float)
        For eigenvalues: ``rank / K`` range used, ``(low, high]``.

    Returns
    -------
    dict
        ``exponent``, ``ci_low``, ``ci_high``, ``block_exponents``,
        ``block_sd``, ``r2``, ``intercept`` (log scale), ``k_min``, ``k_max``,
        ``n_points``, ``method``, ``ci_level``, ``ci_method``, ``curvature``
        (quadratic coefficient in log-log) with its CI and
        ``curvature_significant`` (1 when the CI excludes 0: the data are not
        a single power law), ``slope_lower_half`` / ``slope_upper_half`` and
        ``status`` (``"ok"`` or why the fit failed; failures give NaN and a
        warning).
    """
    _check_result(result, quantity)
    check_option(method, "method", FIT_METHODS)
    check_option(ci_method, "ci_method", CI_METHODS)
    ci = check_real(ci, "ci", min_value=0.0, max_value=1.0, strict_min=True)
    if ci >= 1.0:
        raise ValueError(f"ci must be < 1, got {ci}")
    if k_range is None:
        k_lo = _DEFAULT_EIGEN_KMIN if quantity == "eigenvalues" else 0.0
        k_hi = np.inf
    else:
        if len(k_range) != 2:
            raise ValueError(f"k_range must be (k_min, k_max), got {k_range!r}")
        k_lo = check_real(k_range[0], "k_range[0]", min_value=1.0)
        k_hi = check_real(k_range[1], "k_range[1]", min_value=k_lo)
    x, y, yb, levels = _points(result, quantity, k_lo, k_hi, tuple(rank_fraction))
    name = EXPONENT_NAMES[quantity]
    sign = -1.0 if quantity == "eigenvalues" else 1.0
    sizes = result["cluster_size"].values
    out: dict[str, Any] = {
        "quantity": quantity,
        "exponent_name": name,
        "method": method,
        "ci_level": ci,
        "ci_method": ci_method,
        "k_range_requested": [float(k_lo), float(k_hi)],
    }
    nan_fields = (
        "exponent ci_low ci_high block_sd r2 intercept curvature curvature_ci_low "
        "curvature_ci_high slope_lower_half slope_upper_half k_min k_max"
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
            f"K range [{k_lo:g}, {k_hi:g}], at least 3 needed"
        )
        warn_user(f"fit_exponent({quantity!r}): {status}; returning NaN")
        out.update(dict.fromkeys(nan_fields, float("nan")))
        out.update(block_exponents=[], n_points=int(x.size), curvature_significant=0, status=status)
        return out

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
        return float(scipy.stats.t.ppf(0.5 + ci / 2, n - 1)) / np.sqrt(n)

    block_slopes, block_curv = [], []
    for b in range(yb.shape[1]):
        yy = yb[:, b]
        if np.all(np.isfinite(yy)):
            block_slopes.append(_line(x, yy, w)[0])
            if x.size >= 4:
                block_curv.append(_line(x, yy, w, 2)[0])
    block_slopes = np.asarray(block_slopes)
    status = "ok"
    if block_slopes.size >= 2:
        sd = float(np.std(block_slopes, ddof=1))
        half = crit(block_slopes.size) * sd
    else:
        sd = half = float("nan")
        status = f"ok (no CI: only {block_slopes.size} block(s) with finite values)"
        warn_user(f"fit_exponent({quantity!r}): {status}")
    exponent = sign * slope
    curv = c_lo = c_hi = float("nan")
    significant = 0
    if x.size >= 4:
        curv = float(_line(x, y, w, 2)[0]) * sign
        if len(block_curv) >= 2:
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
    used = np.unique(levels)
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
        status=status,
    )
    return out


def fit_exponents(
    result: xr.Dataset,
    quantities: tuple[str, ...] | None = None,
    **fit_kwargs: Any,
) -> xr.Dataset:
    """Fit several exponents and return a copy of *result* with them in ``attrs``.

    For each quantity with exponent symbol ``s`` (alpha, beta, mu, z) the
    attrs get ``s``, ``s_ci_low``, ``s_ci_high`` (floats) and ``s_fit`` (the
    full :func:`fit_exponent` dict as JSON), so fits round-trip through netCDF.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`rgdata.coarse.prg`.
    quantities : tuple of str, optional
        Default: variance, eigenvalues, tau_c, plus silence_free_energy
        unless the data are continuous (where it is undefined).
    **fit_kwargs
        Passed to :func:`fit_exponent` (``k_range``, ``method``, ``ci``...).
    """
    if quantities is None:
        quantities = ("variance", "silence_free_energy", "eigenvalues", "tau_c")
        if isinstance(result, xr.Dataset) and result.attrs.get("data_coding") == "continuous":
            quantities = ("variance", "eigenvalues", "tau_c")
    out = result.copy()
    out.attrs = dict(result.attrs)
    for q in quantities:
        fit = fit_exponent(result, q, **fit_kwargs)
        s = fit["exponent_name"]
        out.attrs[s] = fit["exponent"]
        out.attrs[f"{s}_ci_low"] = fit["ci_low"]
        out.attrs[f"{s}_ci_high"] = fit["ci_high"]
        out.attrs[f"{s}_fit"] = json.dumps(fit)
    return out
