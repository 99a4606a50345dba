"""Scaling collapse applied: lattice finite-size scaling and PRG spectra/autocorrelations.

:func:`fss_collapse` fits ``T_c``, ``nu`` and the size exponent of an
observable of a :func:`rgdata.lattice.scan_observables` grid by collapsing
``O L^-a`` against ``(T - T_c) L^(1/nu)`` (Binder cumulant: ``a = 0``;
susceptibility: ``a = gamma/nu``).

:func:`prg_collapse` fits the PRG exponents by collapse quality instead of a
log-log slope:

* ``mu`` from the cluster covariance spectra: if ``lambda_K(r) = F(r/K)``
  with ``F(u) ~ u^-mu`` (the collapse of Meshulam et al.), the eigenvalue of
  fixed rank ``r`` grows as ``K^mu``, so ``log lambda - mu log K`` against
  ``log r`` collapses at ``mu``. This uses how each rank's eigenvalue grows
  with ``K``, while :func:`fit_exponent` (``"eigenvalues"``) uses how the
  pooled spectrum falls with ``r/K``: the two agree only when the spectra
  do collapse onto one power law.
* ``z`` from the autocorrelation functions: ``C_K(t) = G(t / K^z)``, so
  ``C`` against ``t K^-z`` collapses at ``z``; this uses the whole decay
  (lags from 1 until ``C`` first falls below *min_correlation*), where the
  slope fit uses only ``tau_c`` (the 1/e time) of each level.

Errors of the points are the standard errors across the result's time
blocks (sd / sqrt(n_blocks)).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_real, describe
from .._warnings import warn_user
from .collapse import scaling_collapse

__all__ = ["fss_collapse", "prg_collapse", "PRG_COLLAPSE_QUANTITIES"]

#: PRG quantity -> exponent fitted by its collapse
PRG_COLLAPSE_QUANTITIES = {"eigenvalues": "mu", "autocorrelation": "z"}
_MIN_CLUSTERS = 8  # as fit_exponent: levels averaged over fewer clusters are left out


def _fss_transform(x, y, dy, scale, p):
    tc, nu, a = p
    f = scale ** (-a)
    return (x - tc) * scale ** (1.0 / nu), y * f, dy * f


def fss_collapse(
    scan: xr.Dataset,
    name: str,
    *,
    critical_temperature: float,
    nu: float = 1.0,
    exponent: float = 0.0,
    fixed: tuple[str, ...] = (),
    temperature_range: tuple[float, float] | None = None,
    n_boot: int = 200,
    random_state: Any = 0,
    **kwargs: Any,
) -> xr.Dataset:
    """Fit ``T_c``, ``nu`` and ``a`` by collapsing ``O L^-a`` vs ``(T - T_c) L^(1/nu)``.

    Parameters
    ----------
    scan : xarray.Dataset
        ``(size, temperature)`` grid from
        :func:`rgdata.lattice.scan_observables` with ``<name>`` and
        ``<name>_err``.
    name : str
        Observable (``"binder"``, ``"susceptibility_m2"``, ...).
    critical_temperature, nu, exponent : float
        Starting values (the parameters are named ``critical_temperature``,
        ``nu`` and ``exponent`` in the result).
    fixed : tuple of str
        Parameters held at their starting value (``("exponent",)`` for the
        Binder cumulant).
    temperature_range : (float, float), optional
        Inclusive window of temperatures used (default all).
    n_boot, random_state, **kwargs
        Passed to :func:`rgdata.diagnostics.scaling_collapse`.

    Returns
    -------
    xarray.Dataset
        The :func:`scaling_collapse` Dataset, with attrs ``observable``.
    """
    if not isinstance(scan, xr.Dataset) or not {"size", "temperature"} <= set(scan.dims):
        raise TypeError(
            "scan must be an xarray.Dataset with dims (size, temperature) from "
            f"scan_observables, got {describe(scan)}"
        )
    if name not in scan or f"{name}_err" not in scan:
        have = [v for v in scan.data_vars if not str(v).endswith("_err")]
        raise ValueError(f"unknown observable {name!r}; scan holds: {have}")
    sub = scan
    if temperature_range is not None:
        lo = check_real(temperature_range[0], "temperature_range[0]")
        hi = check_real(temperature_range[1], "temperature_range[1]", min_value=lo)
        t = scan["temperature"].values
        sub = scan.isel(temperature=np.flatnonzero((t >= lo) & (t <= hi)))
    y = sub[name].transpose("size", "temperature").values
    dy = sub[f"{name}_err"].transpose("size", "temperature").values
    T, L = np.meshgrid(sub["temperature"].values, sub["size"].values.astype(float))
    present = np.ones(y.shape, dtype=bool)
    if "n_samples" in sub:  # (size, temperature) pairs never simulated are not data
        present = sub["n_samples"].transpose("size", "temperature").values > 0
    res = scaling_collapse(
        T[present],
        y[present],
        dy[present],
        L[present],
        transform=_fss_transform,
        parameter_names=["critical_temperature", "nu", "exponent"],
        initial=[critical_temperature, nu, exponent],
        fixed=fixed,
        n_boot=n_boot,
        random_state=random_state,
        **kwargs,
    )
    res.attrs["observable"] = name
    res.attrs["transform"] = "X = (T - T_c) L^(1/nu), Y = O L^-exponent"
    return res


def _block_se(blocks: np.ndarray) -> np.ndarray:
    """Standard error of the mean over the last axis (finite blocks only)."""
    n = np.sum(np.isfinite(blocks), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.nanstd(blocks, axis=-1, ddof=1)
        return np.where(n >= 2, sd / np.sqrt(np.maximum(n, 1)), np.nan)


def _levels(result: xr.Dataset, k_range, k_min_default: float, min_clusters: int) -> np.ndarray:
    sizes = result["cluster_size"].values.astype(float)
    if k_range is None:
        keep = sizes >= k_min_default
        if "n_clusters" in result.variables:
            keep &= result["n_clusters"].values >= min_clusters
        return np.flatnonzero(keep)
    if len(k_range) != 2:
        raise ValueError(f"k_range must be (k_min, k_max), got {k_range!r}")
    lo = check_real(k_range[0], "k_range[0]", min_value=1.0)
    hi = check_real(k_range[1], "k_range[1]", min_value=lo)
    return np.flatnonzero((sizes >= lo) & (sizes <= hi))


def _log_rank(x, y, dy, scale, p):
    return np.log(x), np.log(y) - p[0] * np.log(scale), dy / y


def _lag_rescale(x, y, dy, scale, p):
    return x * scale ** (-p[0]), y, dy


def prg_collapse(
    result: xr.Dataset,
    quantity: str,
    *,
    k_range: tuple[float, float] | None = None,
    min_correlation: float = 0.1,
    min_clusters: int = _MIN_CLUSTERS,
    initial: float | None = None,
    n_boot: int = 200,
    random_state: Any = 0,
    **kwargs: Any,
) -> xr.Dataset:
    """Fit ``mu`` or ``z`` of a PRG result by the collapse quality of its curves.

    Parameters
    ----------
    result : xarray.Dataset
        Output of :func:`rgdata.coarse.prg` (one null selected).
    quantity : {"eigenvalues", "autocorrelation"}
        ``"eigenvalues"``: ``mu`` from ``log lambda_K(r) - mu log K`` vs
        ``log r``; ``"autocorrelation"``: ``z`` from ``C_K(t)`` vs ``t K^-z``.
    k_range : (float, float), optional
        Cluster sizes used. Default: levels averaged over at least
        *min_clusters* clusters, and ``K >= 4`` for spectra,
        ``K >= 2`` for autocorrelations; levels whose ``tau_c`` is only a
        lower bound are left out (warned).
    min_correlation : float
        Autocorrelations: lags from 1 up to (excluding) the first lag where
        ``C < min_correlation`` (noise-level tails carry no scale).
    min_clusters : int
        Default level rule: at least this many clusters (8, as
        :func:`fit_exponent`; fewer clusters carry a cluster-to-cluster
        scatter that the time-block errors do not contain).
    initial : float, optional
        Starting exponent (default: 0.5 for ``mu``, 0.5 for ``z``).
    n_boot, random_state, **kwargs
        Passed to :func:`rgdata.diagnostics.scaling_collapse`.

    Returns
    -------
    xarray.Dataset
        The :func:`scaling_collapse` Dataset with parameter ``mu`` or ``z``,
        plus ``k_min``, ``k_max``; attrs ``quantity``, ``exponent_name``.

    Raises
    ------
    ValueError
        Not a PRG result (no per-level spectra/autocorrelations with time
        blocks, e.g. a momentum result), or fewer than three usable levels.
    """
    if not isinstance(result, xr.Dataset):
        raise TypeError(
            f"result must be an xarray.Dataset from rgdata.coarse.prg, got {describe(result)}"
        )
    if quantity not in PRG_COLLAPSE_QUANTITIES:
        raise ValueError(
            f"unknown quantity {quantity!r}; accepted: "
            + ", ".join(map(repr, PRG_COLLAPSE_QUANTITIES))
        )
    need = [
        v for v in (quantity, f"{quantity}_blocks", "cluster_size") if v not in result.variables
    ]
    if need:
        raise ValueError(
            f"result lacks {need}: prg_collapse needs a rgdata.coarse.prg result (per-level "
            f"{quantity} with time blocks; a momentum result has no per-cluster-size curves); "
            f"got variables {sorted(map(str, result.data_vars))[:8]}"
        )
    if "null" in result.dims:
        raise ValueError("result has a 'null' dim; select one first, e.g. result.sel(null='data')")
    min_correlation = check_real(min_correlation, "min_correlation", min_value=0.0, max_value=1.0)
    sizes = result["cluster_size"].values.astype(float)
    name = PRG_COLLAPSE_QUANTITIES[quantity]
    min_clusters = check_int(min_clusters, "min_clusters", min_value=1)
    levels = _levels(result, k_range, 4.0 if quantity == "eigenvalues" else 2.0, min_clusters)
    if quantity == "autocorrelation" and "tau_c_lower_bound" in result.variables:
        lb = result["tau_c_lower_bound"].values.astype(bool)[levels]
        if lb.any():
            warn_user(
                "prg_collapse('autocorrelation'): levels K="
                f"{sizes[levels][lb].astype(int).tolist()} left out: their "
                "autocorrelation never fell below 1/e within max_lag"
            )
            levels = levels[~lb]
    xs, ys, ds, ss = [], [], [], []
    if quantity == "eigenvalues":
        ev = result["eigenvalues"].transpose("level", "rank").values
        se = _block_se(result["eigenvalues_blocks"].transpose("level", "rank", "block").values)
        ranks = result["rank"].values.astype(float)
        for i in levels:
            k = int(sizes[i])
            v, e = ev[i, :k], se[i, :k]
            ok = np.isfinite(v) & (v > 0) & np.isfinite(e) & (e > 0)
            xs.append(ranks[:k][ok])
            ys.append(v[ok])
            ds.append(e[ok])
            ss.append(np.full(int(ok.sum()), sizes[i]))
        fn, start = _log_rank, 0.5 if initial is None else initial
    else:
        ac = result["autocorrelation"].transpose("level", "lag").values
        se = _block_se(result["autocorrelation_blocks"].transpose("level", "lag", "block").values)
        lags = result["lag"].values.astype(float)
        for i in levels:
            c, e = ac[i], se[i]
            below = np.flatnonzero((lags >= 1) & ~(c >= min_correlation))
            stop = below[0] if below.size else lags.size
            sel = np.arange(lags.size) < stop
            ok = sel & (lags >= 1) & np.isfinite(c) & np.isfinite(e) & (e > 0)
            xs.append(lags[ok])
            ys.append(c[ok])
            ds.append(e[ok])
            ss.append(np.full(int(ok.sum()), sizes[i]))
        fn, start = _lag_rescale, 0.5 if initial is None else initial
    counts = [a.size for a in xs]
    used = [int(sizes[i]) for i, n in zip(levels, counts, strict=True) if n >= 2]
    if len(used) < 3 and quantity == "autocorrelation":
        flat = [int(sizes[i]) for i, n in zip(levels, counts, strict=True) if n < 2]
        raise ValueError(
            f"prg_collapse('autocorrelation'): {len(used)} level(s) keep a decay to collapse; "
            f"at K = {flat} the autocorrelation is below min_correlation = {min_correlation:g} "
            "from lag 1 or 2 (no temporal correlation at the sampling step), and a collapse "
            "needs at least 3 cluster sizes"
        )
    if len(used) < 3:
        where = (
            f"among the levels averaged over >= {min_clusters} clusters"
            if k_range is None
            else f"in k_range {tuple(k_range)}"
        )
        raise ValueError(
            f"prg_collapse({quantity!r}): {len(used)} level(s) with at least 2 usable points "
            f"(K = {used}) {where} (a point is usable when its value and its time-block error "
            "are finite and positive); a collapse needs at least 3 cluster sizes (more units "
            "or samples, a wider k_range or fewer min_clusters)"
        )
    keep = [n >= 2 for n in counts]
    cat = [np.concatenate([a for a, k in zip(v, keep, strict=True) if k]) for v in (xs, ys, ds, ss)]
    res = scaling_collapse(
        *cat,
        transform=fn,
        parameter_names=[name],
        initial=[float(start)],
        n_boot=n_boot,
        random_state=random_state,
        **kwargs,
    )
    res["k_min"] = float(min(used))
    res["k_max"] = float(max(used))
    res.attrs.update(
        quantity=quantity,
        exponent_name=name,
        transform=(
            "X = log(rank), Y = log(eigenvalue) - mu log K"
            if quantity == "eigenvalues"
            else f"X = lag K^-z, Y = C (lags 1 .. first C < {min_correlation:g})"
        ),
        errors="standard error across the result's time blocks",
    )
    return res
