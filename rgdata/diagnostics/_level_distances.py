"""Distances between successive coarse-graining levels (distributions, spectra, autocorrelations).

The building blocks of :func:`rgdata.diagnostics.self_similarity`:
:func:`distribution_distance` between two densities on one bin grid (``METRICS``),
and, along the level dim of a result, :func:`level_distances` (distributions),
:func:`spectrum_distances` (``ln lambda`` against ``ln(rank / K)``) and
:func:`autocorrelation_distances` (against ``lag / tau_c``). The conventions
are in the docstring of :mod:`rgdata.diagnostics.similarity`, which
re-exports every public name.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.special import rel_entr

from .._validation import check_int, check_option, describe
from .._warnings import warn_user

__all__ = [
    "METRICS",
    "distribution_distance",
    "level_distances",
    "spectrum_distances",
    "autocorrelation_distances",
]

METRICS = ("js", "wasserstein", "l2")


# --------------------------------------------------------------------------- numpy layer
def _bin_widths(x: np.ndarray) -> np.ndarray:
    """Widths of bins centred at *x* (edges half way between centres)."""
    if x.size == 1:
        return np.ones(1)
    mid = 0.5 * (x[1:] + x[:-1])
    edges = np.concatenate([[x[0] - (mid[0] - x[0])], mid, [x[-1] + (x[-1] - mid[-1])]])
    return np.diff(edges)


def distribution_distance(
    p: np.ndarray, q: np.ndarray, x: np.ndarray, metric: str = "js"
) -> np.ndarray:
    """Distance between densities *p* and *q* sampled at bin centres *x* (last axis).

    Parameters
    ----------
    p, q : ndarray, shape (..., n_bins)
        Non-negative densities (integrate with the bin widths); they are
        renormalized to unit mass on the bin range for ``"js"`` and
        ``"wasserstein"``. Any NaN gives a NaN distance.
    x : ndarray, shape (n_bins,)
        Increasing bin centres.
    metric : {"js", "wasserstein", "l2"}

    Returns
    -------
    ndarray, shape (...)
    """
    check_option(metric, "metric", METRICS)
    p, q, x = np.asarray(p, float), np.asarray(q, float), np.asarray(x, float)
    if p.shape != q.shape or p.shape[-1] != x.size:
        raise ValueError(
            f"p, q and x must share the bin axis; got shapes {p.shape}, {q.shape}, {x.shape}"
        )
    if np.any(p < 0) or np.any(q < 0):
        raise ValueError("densities must be non-negative")
    w = _bin_widths(x)
    if metric == "l2":
        return np.sqrt(np.sum((p - q) ** 2 * w, axis=-1))
    pm, qm = p * w, q * w
    with np.errstate(invalid="ignore", divide="ignore"):
        pm = pm / pm.sum(axis=-1, keepdims=True)
        qm = qm / qm.sum(axis=-1, keepdims=True)
    if metric == "js":
        m = 0.5 * (pm + qm)
        return 0.5 * np.sum(rel_entr(pm, m), axis=-1) + 0.5 * np.sum(rel_entr(qm, m), axis=-1)
    cdf_gap = np.abs(np.cumsum(pm, axis=-1) - np.cumsum(qm, axis=-1))[..., :-1]
    return np.sum(cdf_gap * np.diff(x), axis=-1)


def _curve_distance(xa, ya, xb, yb, *, log_x: bool, n_grid: int, hi_cap: float | None) -> float:
    """RMS difference of two sampled curves on a common grid over their overlap."""
    out = []
    curves = []
    for xs, ys in ((xa, ya), (xb, yb)):
        ok = np.isfinite(xs) & np.isfinite(ys)
        if log_x:
            ok &= xs > 0
        xs, ys = xs[ok], ys[ok]
        order = np.argsort(xs)
        xs, ys = xs[order], ys[order]
        if xs.size < 1:
            return np.nan
        curves.append((np.log(xs) if log_x else xs, ys))
    lo = max(c[0][0] for c in curves)
    hi = min(c[0][-1] for c in curves)
    if hi_cap is not None:
        hi = min(hi, np.log(hi_cap) if log_x else hi_cap)
    if hi < lo:
        return np.nan
    # a single shared point (e.g. a cluster of size 1 has one eigenvalue) is compared there
    grid = np.linspace(lo, hi, n_grid) if hi > lo else np.array([lo])
    for xs, ys in curves:
        if log_x or xs.size < 4:
            out.append(np.interp(grid, xs, ys))
        else:
            # here, not at import: scipy.interpolate costs ~0.1 s, and importing
            # rgdata.diagnostics for an exponent fit should not pay it
            from scipy.interpolate import CubicSpline

            out.append(CubicSpline(xs, ys)(grid))
    return float(np.sqrt(np.mean((out[0] - out[1]) ** 2)))


# --------------------------------------------------------------------------- xarray layer
def _successive_distances(
    x: np.ndarray, y: np.ndarray, *, log_x: bool, n_grid: int, hi_cap: float | None
) -> np.ndarray:
    """Distances between the curves ``(x[i], y[i])`` and ``(x[i+1], y[i+1])``, level by level."""
    return np.asarray(
        [
            _curve_distance(
                x[i], y[i], x[i + 1], y[i + 1], log_x=log_x, n_grid=n_grid, hi_cap=hi_cap
            )
            for i in range(len(x) - 1)
        ]
    )


def _check_da(da: Any, name: str, dims: tuple[str, ...]) -> xr.DataArray:
    if not isinstance(da, xr.DataArray):
        raise TypeError(f"{name} must be an xarray.DataArray, got {describe(da)}")
    missing = [d for d in dims if d not in da.dims]
    if missing:
        raise ValueError(f"{name} has dims {da.dims}; it needs {missing} (accepted dims: {dims})")
    if da.sizes[dims[0]] < 2:
        raise ValueError(
            f"{name} has {da.sizes[dims[0]]} {dims[0]}(s); at least 2 are needed for distances"
        )
    return da


def _upper_coords(da: xr.DataArray, level_dim: str) -> dict[str, Any]:
    """Coordinates of the upper level of each successive pair."""
    lev = da[level_dim].values if level_dim in da.coords else np.arange(da.sizes[level_dim])
    coords = {level_dim: lev[1:], f"lower_{level_dim}": (level_dim, lev[:-1])}
    for name, c in da.coords.items():
        if name != level_dim and c.dims == (level_dim,):
            coords[name] = (level_dim, c.values[1:])
    return coords


def _bin_centers(da: xr.DataArray, along: str, coord: str | None) -> np.ndarray:
    if coord is None:
        coord = "bin_center" if "bin_center" in da.coords else along
    if coord in da.coords:
        x = np.asarray(da[coord].values, float)
        if x.shape != (da.sizes[along],):
            raise ValueError(f"coordinate {coord!r} must lie along {along!r}")
    else:
        x = np.arange(da.sizes[along], dtype=float)
    if x.size > 1 and not np.all(np.diff(x) > 0):
        raise ValueError(f"bin centres {coord!r} must be strictly increasing")
    return x


def level_distances(
    da: xr.DataArray,
    level_dim: str = "level",
    along: str = "bin",
    metric: str = "js",
    *,
    coord: str | None = None,
) -> xr.DataArray:
    """Distance between the distributions at successive levels.

    Parameters
    ----------
    da : xarray.DataArray
        Densities with dims *level_dim* and *along* (others, e.g.
        ``direction``, are kept).
    level_dim : str
        The coarse-graining dim (``"level"`` for PRG, ``"fraction"`` for
        momentum results).
    along : str
        The bin dim.
    metric : {"js", "wasserstein", "l2"}
        See the module notes.
    coord : str, optional
        Coordinate holding the bin centres (default ``bin_center`` if
        present, else the *along* coordinate, else the bin index).

    Returns
    -------
    xarray.DataArray
        ``distance`` over the upper level of each pair (size ``L - 1``), with
        the coordinate ``lower_<level_dim>``; ``attrs`` hold the metric.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> x = np.linspace(-6, 6, 121)
    >>> g = np.exp(-x**2 / 2) / np.sqrt(2 * np.pi)
    >>> da = xr.DataArray([g, g], dims=("level", "bin"), coords={"bin_center": ("bin", x)})
    >>> float(level_distances(da)[0])
    0.0
    """
    da = _check_da(da, "da", (level_dim, along))
    check_option(metric, "metric", METRICS)
    x = _bin_centers(da, along, coord)
    other = [d for d in da.dims if d not in (level_dim, along)]
    vals = da.transpose(*other, level_dim, along).values
    dist = distribution_distance(vals[..., :-1, :], vals[..., 1:, :], x, metric)
    coords = _upper_coords(da, level_dim)
    for d in other:
        if d in da.coords:
            coords[d] = da[d].values
    return xr.DataArray(
        dist,
        dims=(*other, level_dim),
        coords=coords,
        name="distance",
        attrs={"metric": metric, "quantity": "distribution", "level_dim": level_dim},
    )


def _cluster_sizes(eigenvalues: xr.DataArray, cluster_size: Any, level_dim: str) -> np.ndarray:
    if cluster_size is None:
        if "cluster_size" not in eigenvalues.coords:
            raise ValueError(
                "cluster_size not given and eigenvalues has no 'cluster_size' coordinate"
            )
        cluster_size = eigenvalues["cluster_size"]
    k = np.asarray(getattr(cluster_size, "values", cluster_size), float)
    if k.shape != (eigenvalues.sizes[level_dim],):
        raise ValueError(
            f"cluster_size has shape {k.shape}; expected ({eigenvalues.sizes[level_dim]},), "
            f"one per {level_dim}"
        )
    if not np.all(np.isfinite(k) & (k > 0)):
        raise ValueError(f"cluster_size must be positive and finite, got {k.tolist()}")
    return k


def spectrum_distances(
    eigenvalues: xr.DataArray,
    cluster_size: Any = None,
    *,
    level_dim: str = "level",
    rank_dim: str = "rank",
    n_grid: int = 64,
) -> xr.DataArray:
    """Distance between successive rank-ordered spectra plotted against rank / K.

    Parameters
    ----------
    eigenvalues : xarray.DataArray
        dims ``(level_dim, rank_dim)``, NaN-padded; the ``rank`` coordinate
        (default 1..) gives the rank of each column. Non-positive values are
        left out (no logarithm).
    cluster_size : array-like or DataArray, optional
        ``K`` per level (default: the ``cluster_size`` coordinate).
    n_grid : int
        Points of the common log grid of ``rank / K``.

    Returns
    -------
    xarray.DataArray
        RMS difference of ``ln(lambda)`` between levels ``k`` and ``k+1``
        over their overlapping range of ``rank / K``, indexed by the upper
        level (NaN where the two ranges of ``rank / K`` do not overlap; a
        level with one eigenvalue, ``K = 1``, is compared at ``rank / K = 1``).
    """
    ev = _check_da(eigenvalues, "eigenvalues", (level_dim, rank_dim))
    if ev.ndim != 2:
        raise ValueError(f"eigenvalues must be 2-D ({level_dim}, {rank_dim}); got dims {ev.dims}")
    n_grid = check_int(n_grid, "n_grid", min_value=2)
    k = _cluster_sizes(ev, cluster_size, level_dim)
    vals = ev.transpose(level_dim, rank_dim).values.astype(float)
    ranks = (
        np.asarray(ev[rank_dim].values, float)
        if rank_dim in ev.coords
        else np.arange(1, ev.sizes[rank_dim] + 1, dtype=float)
    )
    n_bad = int(np.sum(vals <= 0))
    if n_bad:
        warn_user(
            f"{n_bad} non-positive eigenvalue(s) left out of the spectrum distances", UserWarning
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(vals > 0, np.log(np.where(vals > 0, vals, 1.0)), np.nan)
    scaled = ranks[None, :] / np.asarray(k, dtype=float)[:, None]
    dist = _successive_distances(scaled, logs, log_x=True, n_grid=n_grid, hi_cap=None)
    return xr.DataArray(
        dist,
        dims=(level_dim,),
        coords=_upper_coords(ev, level_dim),
        name="distance",
        attrs={"quantity": "spectrum", "metric": "rms_log_eigenvalue", "level_dim": level_dim},
    )


def autocorrelation_distances(
    autocorrelation: xr.DataArray,
    tau_c: Any = None,
    *,
    level_dim: str = "level",
    lag_dim: str = "lag",
    n_grid: int = 64,
    max_scaled_lag: float | None = None,
) -> xr.DataArray:
    """Distance between successive autocorrelation functions plotted against lag / tau_c.

    Parameters
    ----------
    autocorrelation : xarray.DataArray
        dims ``(level_dim, lag_dim)``; the ``lag`` coordinate gives the lags
        (default 0..).
    tau_c : array-like or DataArray, optional
        Correlation time per level (default: a ``tau_c`` coordinate).
    n_grid : int
        Points of the common grid of ``lag / tau_c``.
    max_scaled_lag : float, optional
        Compare only up to this ``lag / tau_c`` (default: the overlap of
        the two levels' ranges).

    Returns
    -------
    xarray.DataArray
        RMS difference of the autocorrelations (cubic-spline interpolated)
        between levels ``k`` and ``k+1``, indexed by the upper level.
    """
    ac = _check_da(autocorrelation, "autocorrelation", (level_dim, lag_dim))
    if ac.ndim != 2:
        raise ValueError(
            f"autocorrelation must be 2-D ({level_dim}, {lag_dim}); got dims {ac.dims}"
        )
    n_grid = check_int(n_grid, "n_grid", min_value=2)
    if tau_c is None:
        if "tau_c" not in ac.coords:
            raise ValueError("tau_c not given and autocorrelation has no 'tau_c' coordinate")
        tau_c = ac["tau_c"]
    tau = np.asarray(getattr(tau_c, "values", tau_c), float)
    if tau.shape != (ac.sizes[level_dim],):
        raise ValueError(f"tau_c has shape {tau.shape}; expected ({ac.sizes[level_dim]},)")
    lags = (
        np.asarray(ac[lag_dim].values, float)
        if lag_dim in ac.coords
        else np.arange(ac.sizes[lag_dim], dtype=float)
    )
    vals = ac.transpose(level_dim, lag_dim).values.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scaled = lags[None, :] / np.where(tau > 0, tau, np.nan)[:, None]
    dist = _successive_distances(scaled, vals, log_x=False, n_grid=n_grid, hi_cap=max_scaled_lag)
    return xr.DataArray(
        dist,
        dims=(level_dim,),
        coords=_upper_coords(ac, level_dim),
        name="distance",
        attrs={"quantity": "autocorrelation", "metric": "rms", "level_dim": level_dim},
    )
