"""Finite-size scaling of Ising observables across lattice sizes.

Given the ``(size, temperature)`` Dataset of
:func:`rgdata.lattice.observables.scan_observables`, :func:`binder_crossings`
locates the crossings of the Binder curves of consecutive sizes (bootstrap
errors), :func:`fss_exponent` fits ``O(L) ~ L^s`` at a temperature (e.g.
``gamma/nu`` from the susceptibility at ``T_c``), and :func:`scaling_collapse`
rescales curves as ``x = (T - T_c) L^(1/nu)``, ``y = O L^(-a)`` and scores
the collapse. All three are also importable from
:mod:`rgdata.lattice.observables`.

References
----------
K. Binder, Z. Phys. B 43, 119 (1981).
J. Houdayer and A. K. Hartmann, Phys. Rev. B 70, 014418 (2004).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from .._validation import check_int, check_random_state, check_real, describe
from .._warnings import once_per_call, warn_user

__all__ = ["binder_crossings", "fss_exponent", "scaling_collapse"]


def _check_scan(ds: Any, name: str) -> xr.Dataset:
    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset from scan_observables, got {describe(ds)}")
    if "size" not in ds.dims or "temperature" not in ds.dims:
        raise ValueError(f"ds has dims {tuple(ds.dims)}; accepted: ('size', 'temperature')")
    if name not in ds or f"{name}_err" not in ds:
        have = ", ".join(v for v in ds.data_vars if not v.endswith("_err"))
        raise ValueError(f"unknown observable {name!r}; ds holds: {have}")
    return ds


def _crossing(t, u1, u2, degree, need_sign_change=False):
    """Crossing of two curves sampled on the grid t by polynomial fits; nan if none."""
    d = u2 - u1
    change = np.flatnonzero(np.sign(d[:-1]) != np.sign(d[1:]))
    if need_sign_change and change.size == 0:
        return np.nan
    p = np.polynomial.polynomial.polyfit(t, u2 - u1, degree)
    roots = np.polynomial.polynomial.polyroots(p)
    real = roots[np.abs(roots.imag) < 1e-9].real
    real = real[(real >= t.min()) & (real <= t.max())]
    if real.size == 0:
        return np.nan
    # the root nearest the sign change of the data
    centre = 0.5 * (t[change[0]] + t[change[0] + 1]) if change.size else t.mean()
    return float(real[np.argmin(np.abs(real - centre))])


@once_per_call
def binder_crossings(
    ds: xr.Dataset,
    *,
    name: str = "binder",
    degree: int = 3,
    n_boot: int = 500,
    random_state: Any = 0,
) -> xr.Dataset:
    """Crossings of the Binder cumulant curves of consecutive sizes.

    For each pair ``(L_i, L_{i+1})`` the difference ``U_{L_{i+1}}(T) -
    U_{L_i}(T)`` is fitted by a polynomial in ``T`` (weighted by the error
    bars; give a temperature window around ``T_c``) and its root in the
    window is the crossing (the data themselves must change sign in the
    window). Errors: parametric bootstrap, redrawing every
    ``U`` from a normal law with its error bar.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`scan_observables` (dims ``size``, ``temperature``).
    name : str
        Observable whose curves cross (``"binder"``).
    degree : int
        Polynomial degree (needs at least ``degree + 2`` temperatures).
    n_boot : int
        Bootstrap replicas.
    random_state : None, int or numpy.random.Generator
        Seeds the bootstrap.

    Returns
    -------
    xarray.Dataset
        dim ``pair`` with coords ``size_small``, ``size_large``; variables
        ``crossing_temperature``, ``crossing_temperature_err``,
        ``crossing_value``, ``crossing_value_err``. attrs ``estimate`` and
        ``estimate_err`` (the largest pair with a crossing; smallest
        corrections to scaling), ``n_failed`` (bootstrap replicas without a
        crossing).

    Warns
    -----
    UserWarning
        A pair whose curves do not cross in the window (NaN recorded).
    """
    ds = _check_scan(ds, name)
    degree = check_int(degree, "degree", min_value=1)
    n_boot = check_int(n_boot, "n_boot", min_value=10)
    rng = check_random_state(random_state)
    sizes = ds["size"].values
    if sizes.size < 2:
        raise ValueError(f"ds has {sizes.size} size(s); Binder crossings need at least 2")
    T = ds["temperature"].values
    out = {k: [] for k in ("t", "t_err", "u", "u_err")}
    n_failed = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        ua, ub = ds[name].sel(size=a).values, ds[name].sel(size=b).values
        ea, eb = ds[f"{name}_err"].sel(size=a).values, ds[f"{name}_err"].sel(size=b).values
        ok = np.isfinite(ua) & np.isfinite(ub)
        if ok.sum() < degree + 2:
            raise ValueError(
                f"sizes {a} and {b} share {int(ok.sum())} temperatures; degree={degree} "
                f"needs at least {degree + 2}"
            )
        t, ua, ub, ea, eb = T[ok], ua[ok], ub[ok], ea[ok], eb[ok]
        tc = _crossing(t, ua, ub, degree, need_sign_change=True)
        if np.isnan(tc):
            warn_user(
                f"binder_crossings: the {name} curves of L={a} and L={b} do not cross "
                f"between T={t.min():g} and {t.max():g} (NaN recorded)"
            )
            for k in out:
                out[k].append(np.nan)
            n_failed.append(n_boot)
            continue
        pa = np.polynomial.polynomial.polyfit(t, ua, degree)
        u_cross = float(np.polynomial.polynomial.polyval(tc, pa))
        boots_t, boots_u = [], []
        for _ in range(n_boot):
            ra = ua + ea * rng.standard_normal(ua.size)
            rb = ub + eb * rng.standard_normal(ub.size)
            tb = _crossing(t, ra, rb, degree)
            if np.isfinite(tb):
                boots_t.append(tb)
                pb = np.polynomial.polynomial.polyfit(t, ra, degree)
                boots_u.append(np.polynomial.polynomial.polyval(tb, pb))
        n_failed.append(n_boot - len(boots_t))
        out["t"].append(tc)
        out["u"].append(u_cross)
        out["t_err"].append(float(np.std(boots_t, ddof=1)) if len(boots_t) > 2 else np.nan)
        out["u_err"].append(float(np.std(boots_u, ddof=1)) if len(boots_u) > 2 else np.nan)
    t_arr = np.array(out["t"])
    good = np.flatnonzero(np.isfinite(t_arr))
    best = good[-1] if good.size else None
    return xr.Dataset(
        {
            "crossing_temperature": ("pair", t_arr),
            "crossing_temperature_err": ("pair", np.array(out["t_err"])),
            "crossing_value": ("pair", np.array(out["u"])),
            "crossing_value_err": ("pair", np.array(out["u_err"])),
            "n_failed": ("pair", np.array(n_failed, dtype=np.int64)),
        },
        coords={
            "pair": np.arange(len(t_arr)),
            "size_small": ("pair", sizes[:-1]),
            "size_large": ("pair", sizes[1:]),
        },
        attrs={
            "observable": name,
            "method": f"root of a degree-{degree} polynomial fit of the difference of "
            f"consecutive-size curves; parametric bootstrap ({n_boot} replicas)",
            "estimate": float(t_arr[best]) if best is not None else math.nan,
            "estimate_err": float(out["t_err"][best]) if best is not None else math.nan,
            "estimate_value": float(out["u"][best]) if best is not None else math.nan,
            "estimate_value_err": float(out["u_err"][best]) if best is not None else math.nan,
            "estimate_pair": json.dumps(
                [int(sizes[best]), int(sizes[best + 1])] if best is not None else []
            ),
        },
    )


@once_per_call
def fss_exponent(
    ds: xr.Dataset,
    name: str,
    temperature: float,
    *,
    sizes: Any = None,
    confidence: float = 0.95,
) -> xr.Dataset:
    """Fit ``O(L) = A L^s`` at one temperature by weighted least squares in log-log.

    At ``T_c``, ``s = gamma/nu`` for the susceptibility, ``-beta/nu`` for
    ``<|m|>``, and ``alpha/nu`` (log in 2D) for the specific heat.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`scan_observables`.
    name : str
        Observable to fit.
    temperature : float
        Must be one of ``ds.temperature`` (within 1e-9).
    sizes : array-like, optional
        Subset of sizes to fit (default all with data; at least 2).
    confidence : float
        Confidence level of the interval.

    Returns
    -------
    xarray.Dataset
        dim ``size`` with ``value``, ``value_err``, ``fitted``; attrs
        ``exponent``, ``exponent_err`` (scaled by ``sqrt(chi2/dof)`` when that
        exceeds 1), ``ci_low``, ``ci_high``, ``chi2``, ``dof``, ``p_value``,
        ``amplitude``, ``temperature``, ``observable``.
    """
    ds = _check_scan(ds, name)
    temperature = check_real(temperature, "temperature")
    confidence = check_real(confidence, "confidence", min_value=0.5, max_value=0.999999)
    temps = ds["temperature"].values
    hit = np.flatnonzero(np.isclose(temps, temperature, rtol=0, atol=1e-9))
    if hit.size == 0:
        raise ValueError(
            f"temperature {temperature} is not in ds.temperature; accepted: {temps.tolist()}"
        )
    sub = ds.isel(temperature=int(hit[0]))
    if sizes is not None:
        sub = sub.sel(size=np.asarray(sizes))
    L = sub["size"].values.astype(float)
    y, e = sub[name].values, sub[f"{name}_err"].values
    ok = np.isfinite(y) & np.isfinite(e) & (y > 0)
    if ok.sum() < 2:
        raise ValueError(
            f"{name} has {int(ok.sum())} positive finite value(s) at T={temperature}; "
            "a log-log fit needs at least 2 sizes"
        )
    dropped = [int(v) for v in L[~ok]]
    if dropped:
        warn_user(
            f"fss_exponent: sizes {dropped} have no positive finite {name} at "
            f"T={temperature}; left out of the fit (attrs dropped_sizes)"
        )
    x, ly = np.log(L[ok]), np.log(y[ok])
    sig = np.maximum(e[ok] / y[ok], 1e-300)
    w = 1 / sig**2
    X = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(X.T @ (X * w[:, None]))
    beta = cov @ (X.T @ (w * ly))
    resid = (ly - X @ beta) / sig
    chi2 = float(resid @ resid)
    dof = int(x.size - 2)
    scale = math.sqrt(chi2 / dof) if dof > 0 and chi2 > dof else 1.0
    se = math.sqrt(cov[1, 1]) * scale
    q = stats.t.ppf(0.5 + confidence / 2, dof) if dof > 0 else stats.norm.ppf(0.5 + confidence / 2)
    fitted = np.exp(beta[0]) * L ** beta[1]
    return xr.Dataset(
        {
            "value": ("size", y),
            "value_err": ("size", e),
            "fitted": ("size", fitted),
        },
        coords={"size": sub["size"].values},
        attrs={
            "observable": name,
            "temperature": float(temps[hit[0]]),
            "exponent": float(beta[1]),
            "exponent_err": se,
            "ci_low": float(beta[1] - q * se),
            "ci_high": float(beta[1] + q * se),
            "confidence": confidence,
            "amplitude": float(np.exp(beta[0])),
            "chi2": chi2,
            "dof": dof,
            "p_value": float(stats.chi2.sf(chi2, dof)) if dof > 0 else math.nan,
            "dropped_sizes": np.asarray(dropped, dtype=np.int64),
            "method": "weighted least squares of log O on log L; error scaled by "
            "sqrt(chi2/dof) when > 1; t-quantile interval",
        },
    )


def scaling_collapse(
    ds: xr.Dataset,
    name: str,
    critical_temperature: float,
    nu: float,
    exponent: float,
) -> xr.Dataset:
    """Rescale curves as ``x = (T - T_c) L^(1/nu)``, ``y = O L^(-a)`` and score the collapse.

    The quality ``S`` (after Houdayer & Hartmann 2004) is the mean over every
    point ``(L, T)`` and every other size ``L'`` whose rescaled curve spans
    its ``x`` of ``(y - y_{L'}(x))^2 / (dy^2 + dy_{L'}(x)^2)``, with ``y_{L'}``
    and its error linearly interpolated. ``S ~ 1`` when the curves agree
    within their errors; ``S >> 1`` for a poor collapse.

    Parameters
    ----------
    ds : xarray.Dataset
        From :func:`scan_observables`.
    name : str
        Observable.
    critical_temperature, nu, exponent : float
        ``T_c``, ``nu`` and the exponent ``a`` of ``L`` (e.g. ``gamma/nu``
        for the susceptibility, ``-beta/nu`` for ``<|m|>``, 0 for Binder).

    Returns
    -------
    xarray.Dataset
        dims ``(size, temperature)``: ``x``, ``y``, ``y_err``; attrs
        ``quality``, ``n_pairs`` (point comparisons that entered ``S``) and
        the parameters.
    """
    ds = _check_scan(ds, name)
    tc = check_real(critical_temperature, "critical_temperature")
    nu = check_real(nu, "nu", min_value=0, strict_min=True)
    a = check_real(exponent, "exponent")
    L = ds["size"].values.astype(float)[:, None]
    T = ds["temperature"].values[None, :]
    x = (T - tc) * L ** (1 / nu)
    y = ds[name].values * L ** (-a)
    dy = ds[f"{name}_err"].values * L ** (-a)
    total, count = 0.0, 0
    for p in range(L.shape[0]):
        okp = np.isfinite(y[p]) & np.isfinite(dy[p])
        for q in range(L.shape[0]):
            if q == p:
                continue
            okq = np.isfinite(y[q]) & np.isfinite(dy[q])
            if okq.sum() < 2:
                continue
            xq, yq, dq = x[q, okq], y[q, okq], dy[q, okq]
            inside = okp & (x[p] >= xq.min()) & (x[p] <= xq.max())
            if not inside.any():
                continue
            yi = np.interp(x[p, inside], xq, yq)
            di = np.interp(x[p, inside], xq, dq)
            var = dy[p, inside] ** 2 + di**2
            total += float(np.sum((y[p, inside] - yi) ** 2 / np.maximum(var, 1e-300)))
            count += int(inside.sum())
    quality = total / count if count else math.nan
    if not count:
        warn_user("scaling_collapse: no rescaled curves overlap; quality is NaN")
    dims = ("size", "temperature")
    return xr.Dataset(
        {"x": (dims, x), "y": (dims, y), "y_err": (dims, dy)},
        coords={"size": ds["size"].values, "temperature": ds["temperature"].values},
        attrs={
            "observable": name,
            "critical_temperature": tc,
            "nu": nu,
            "exponent": a,
            "quality": quality,
            "n_pairs": count,
            "method": "x=(T-Tc) L^(1/nu), y=O L^(-a); quality = mean squared deviation "
            "from the other sizes' interpolated curves in units of the combined error",
        },
    )
