"""Ising observables with autocorrelation-aware error bars, and finite-size scaling.

Per configuration set (one temperature, one size), :func:`ising_observables`
measures, from the per-sample energy per site ``e`` and magnetization per
site ``m``:

* ``energy`` ``<e>``, ``abs_magnetization`` ``<|m|>``, ``m2`` ``<m^2>``,
* ``specific_heat`` ``N (<e^2> - <e>^2) / T^2``,
* ``susceptibility`` ``N (<m^2> - <|m|>^2) / T`` (the finite-lattice form
  that stays finite below ``T_c``) and ``susceptibility_m2`` ``N <m^2> / T``
  (the true zero-field susceptibility of a finite, symmetric lattice),
* ``binder`` ``U = 1 - <m^4> / (3 <m^2>^2)``,

each with an error bar. Errors come from a delete-one-block jackknife whose
block length is chosen by the automatic blocking analysis of Jonsson (2018)
(Flyvbjerg & Petersen 1989 blocking with a chi-square stopping rule), so the
samples' autocorrelation is accounted for; see :func:`blocking_error`.

Across sizes and temperatures, :func:`scan_observables` assembles a
``(size, temperature)`` Dataset; the finite-size scaling of that Dataset
(:func:`binder_crossings`, :func:`fss_exponent`, :func:`scaling_collapse`)
lives in :mod:`rgdata.lattice.fss` and is re-exported here.

References
----------
H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91, 461 (1989).
M. Jonsson, Phys. Rev. E 98, 043304 (2018).
K. Binder, Z. Phys. B 43, 119 (1981).
J. Houdayer and A. K. Hartmann, Phys. Rev. B 70, 014418 (2004).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import xarray as xr
from scipy import stats

from .._jackknife import jackknife_error
from .._validation import check_array, check_int, check_real
from .._warnings import once_per_call, warn_user
from ..activity import check_configurations
from .fss import binder_crossings, fss_exponent, scaling_collapse  # re-exported

__all__ = [
    "OBSERVABLES",
    "blocking_error",
    "jackknife",
    "energy_magnetization",
    "ising_observables",
    "scan_observables",
    "binder_crossings",
    "fss_exponent",
    "scaling_collapse",
]

#: Observables measured by :func:`ising_observables`.
OBSERVABLES = (
    "energy",
    "abs_magnetization",
    "m2",
    "specific_heat",
    "susceptibility",
    "susceptibility_m2",
    "binder",
)

_MIN_SAMPLES = 16
_MIN_BLOCKS = 32


# ------------------------------------------------------------------ error bars
def blocking_error(x: Any, *, alpha: float = 0.01) -> tuple[float, float, int, bool]:
    """Mean and standard error of a correlated series by automatic blocking.

    The series is repeatedly averaged in pairs (Flyvbjerg & Petersen 1989).
    At level ``k`` (block length ``2^k``, ``n_k`` blocks) the variance of the
    mean is estimated by ``s_k^2 / n_k``; the first level from which the
    remaining lag-one correlations are statistically insignificant is chosen
    with Jonsson's (2018) statistic ``M_k = sum_{j >= k} n_j (g_j / s_j^2)^2``,
    compared with the ``1 - alpha`` quantile of a chi-square law with as many
    degrees of freedom as remaining levels. Odd lengths drop one point per
    level.

    Parameters
    ----------
    x : array-like
        1-D series, at least 16 points.
    alpha : float
        Significance level of the stopping rule.

    Returns
    -------
    mean : float
    error : float
        Standard error of the mean.
    block_length : int
        ``2^k`` at the selected level.
    reliable : bool
        False when no level passed the test or the selected level has fewer
        than 32 blocks: the series is too short for its autocorrelation and
        the error is then a lower bound.
    """
    x = check_array(x, "x", ndim=1, dtype=float)
    if x.size < _MIN_SAMPLES:
        raise ValueError(f"x has {x.size} points; blocking needs at least {_MIN_SAMPLES}")
    mean = float(x.mean())
    levels = []
    y = x
    while y.size >= 2:
        n = y.size
        dev = y - y.mean()
        s2 = float(np.sum(dev * dev)) / n
        g = float(np.sum(dev[:-1] * dev[1:])) / n
        levels.append((n, s2, g))
        m = n // 2
        y = 0.5 * (y[: 2 * m : 2] + y[1 : 2 * m : 2])
    d = len(levels)
    n_k = np.array([lv[0] for lv in levels], dtype=float)
    s2_k = np.array([lv[1] for lv in levels])
    g_k = np.array([lv[2] for lv in levels])
    if s2_k[0] == 0:
        return mean, 0.0, 1, True
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(s2_k > 0, n_k * (g_k / s2_k) ** 2, 0.0)
    M = np.cumsum(terms[::-1])[::-1]
    passed = np.flatnonzero(M < stats.chi2.ppf(1 - alpha, d - np.arange(d)))
    chosen = int(passed[0]) if passed.size else None
    reliable = chosen is not None
    if chosen is None:
        chosen = d - 1
    # the estimate needs enough blocks to be meaningful
    if n_k[chosen] < _MIN_BLOCKS:
        reliable = False
    err = math.sqrt(max(s2_k[chosen], 0.0) / max(n_k[chosen] - 1, 1))
    return mean, err, 2**chosen, reliable


def jackknife(func, data: np.ndarray, n_blocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Delete-one-block jackknife estimate and error of ``func(data)``.

    Parameters
    ----------
    func : callable
        Maps an array of samples (first axis) to a 1-D array of estimates.
    data : numpy.ndarray
        Samples along the first axis (trailing samples that do not fill a
        block are dropped).
    n_blocks : int
        Number of contiguous blocks (at least 2).

    Returns
    -------
    estimate, error : numpy.ndarray
        Bias-corrected jackknife estimate and standard error.
    """
    n_blocks = check_int(n_blocks, "n_blocks", min_value=2)
    data = np.asarray(data)
    size = data.shape[0] // n_blocks
    if size < 1:
        raise ValueError(f"data has {data.shape[0]} samples, fewer than n_blocks={n_blocks}")
    data = data[: size * n_blocks]
    full = np.asarray(func(data), dtype=float)
    idx = np.arange(data.shape[0])
    reps = np.array(
        [func(data[(idx < b * size) | (idx >= (b + 1) * size)]) for b in range(n_blocks)],
        dtype=float,
    )
    mean_rep = reps.mean(axis=0)
    err = jackknife_error(reps, axis=0)
    est = n_blocks * full - (n_blocks - 1) * mean_rep
    return est, err


# ------------------------------------------------------------- measurements
def _coupling(config: xr.DataArray, J: float | None, h: float | None) -> tuple[float, float]:
    if J is None:
        J = config.attrs.get("J", 1.0)
        if not np.isfinite(J):
            raise ValueError(
                "config has J=nan in attrs (random or per-bond couplings); pass J explicitly "
                "(observables here assume one uniform coupling)"
            )
    if h is None:
        h = config.attrs.get("h", 0.0)
    return check_real(J, "J"), check_real(h, "h")


def energy_magnetization(
    config: xr.DataArray, *, J: float | None = None, h: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Energy per site and (signed) magnetization per site of every sample.

    ``e = -(J sum_<ij> s_i s_j + h sum_i s_i) / N`` with one bond from each
    site to its ``+1`` neighbour along each axis of the periodic lattice.

    Parameters
    ----------
    config : xarray.DataArray
        Configurations (2D or 3D).
    J, h : float, optional
        Coupling and field; default from ``config.attrs`` (``J = 1``,
        ``h = 0`` if absent).

    Returns
    -------
    energy, magnetization : numpy.ndarray
        One value per sample.
    """
    config = check_configurations(config, "config")
    J, h = _coupling(config, J, h)
    s = config.values
    n_sites = int(np.prod(s.shape[1:]))
    lattice_axes = tuple(range(1, s.ndim))
    bonds = np.zeros(s.shape[0], dtype=np.int64)
    for axis in lattice_axes:
        bonds += (s * np.roll(s, -1, axis=axis)).sum(axis=lattice_axes, dtype=np.int64)
    mag = s.sum(axis=lattice_axes, dtype=np.int64)
    return -(J * bonds + h * mag) / n_sites, mag / n_sites


def _estimates(series: np.ndarray, n_sites: int, T: float) -> np.ndarray:
    e, m = series[:, 0], series[:, 1]
    am = np.abs(m)
    e1, e2 = e.mean(), (e * e).mean()
    m1, m2, m4 = am.mean(), (m * m).mean(), (m**4).mean()
    return np.array(
        [
            e1,
            m1,
            m2,
            n_sites * (e2 - e1**2) / T**2,
            n_sites * (m2 - m1**2) / T,
            n_sites * m2 / T,
            1 - m4 / (3 * m2**2) if m2 > 0 else np.nan,
        ]
    )


@once_per_call
def ising_observables(
    config: xr.DataArray,
    *,
    temperature: float | None = None,
    J: float | None = None,
    h: float | None = None,
    max_blocks: int = 64,
) -> xr.Dataset:
    """Thermodynamic observables of one set of configurations, with error bars.

    Parameters
    ----------
    config : xarray.DataArray
        Configurations sampled at one temperature (2D or 3D), at least 16.
    temperature : float, optional
        Defaults to ``config.attrs["temperature"]``.
    J, h : float, optional
        Coupling and field (default from attrs, else 1 and 0).
    max_blocks : int
        At most this many jackknife blocks.

    Returns
    -------
    xarray.Dataset
        0-d variables named in :data:`OBSERVABLES`, each with ``<name>_err``;
        attrs ``temperature``, ``size`` (linear size), ``dim``, ``n_sites``,
        ``n_samples``, ``block_length`` (samples per jackknife block),
        ``n_blocks``, ``errors_reliable`` (1/0) and the coupling.

    Warns
    -----
    UserWarning
        When the series is too short for its autocorrelation time (the
        error bars are then lower bounds; ``errors_reliable = 0``).

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> spins = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), (200, 8, 8))
    >>> cfg = rgdata.as_configurations(spins, temperature=1e3)
    >>> obs = ising_observables(cfg)
    >>> abs(float(obs.energy)) < 4 * float(obs.energy_err)
    True
    """
    config = check_configurations(config, "config")
    if temperature is None:
        if "temperature" not in config.attrs:
            raise ValueError("config has no 'temperature' attr; pass temperature=")
        temperature = config.attrs["temperature"]
    T = check_real(temperature, "temperature", min_value=0, strict_min=True)
    max_blocks = check_int(max_blocks, "max_blocks", min_value=2)
    n = config.shape[0]
    if n < _MIN_SAMPLES:
        raise ValueError(
            f"config has {n} samples; at least {_MIN_SAMPLES} are needed for error bars"
        )
    J, h = _coupling(config, J, h)
    e, m = energy_magnetization(config, J=J, h=h)
    n_sites = int(np.prod(config.shape[1:]))
    probes = [e, e * e, np.abs(m), m * m, m**4]
    block_lengths, reliable = [], True
    for p in probes:
        _, _, bl, ok = blocking_error(p)
        block_lengths.append(bl)
        reliable &= ok
    block_length = max(block_lengths)
    n_blocks = min(max_blocks, n // block_length)
    if n_blocks < _MIN_BLOCKS:
        reliable = False
    n_blocks = max(n_blocks, 2)
    if not reliable:
        warn_user(
            f"ising_observables: {n} samples at T={T:g} are too few for their "
            f"autocorrelation (block length {block_length}, {n_blocks} jackknife blocks): "
            "error bars are lower bounds (attrs errors_reliable=0). Sample more or thin less"
        )
    series = np.stack([e, m], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        est, err = jackknife(lambda s: _estimates(s, n_sites, T), series, n_blocks)
    # the plain estimate (no bias correction) for quantities linear in the samples
    plain = _estimates(series, n_sites, T)
    for i in range(3):
        est[i] = plain[i]
    data = {}
    for i, name in enumerate(OBSERVABLES):
        data[name] = ((), est[i])
        data[f"{name}_err"] = ((), err[i])
    return xr.Dataset(
        data,
        attrs={
            "temperature": T,
            "size": int(config.shape[-1]),
            "dim": int(config.ndim - 1),
            "n_sites": n_sites,
            "n_samples": int(n),
            "J": J,
            "h": h,
            "block_length": int(block_length),
            "n_blocks": int(n_blocks),
            "errors_reliable": int(reliable),
            "error_method": "delete-one-block jackknife, block length from Jonsson (2018) "
            "automatic blocking of e, e^2, |m|, m^2, m^4",
            "susceptibility_definition": "N (<m^2> - <|m|>^2) / T",
            "specific_heat_definition": "N (<e^2> - <e>^2) / T^2",
        },
    )


def scan_observables(
    configs: Iterable[xr.DataArray], *, progress: bool = False, **options: Any
) -> xr.Dataset:
    """Observables of many configuration sets as a ``(size, temperature)`` grid.

    Parameters
    ----------
    configs : iterable of xarray.DataArray
        Configurations, each with attrs ``temperature``; sizes are the last
        lattice side. Missing (size, temperature) pairs hold NaN.
    progress : bool
        Show a progress bar.
    **options
        Passed to :func:`ising_observables`.

    Returns
    -------
    xarray.Dataset
        dims ``("size", "temperature")``; the :data:`OBSERVABLES` with
        ``_err``, plus ``n_samples``, ``block_length`` and
        ``errors_reliable``.
    """
    from .._progress import progress_bar

    rows = []
    for cfg in progress_bar(list(configs), enable=progress, desc="observables"):
        rows.append(ising_observables(cfg, **options))
    if not rows:
        raise ValueError("configs is empty; pass at least one Configurations DataArray")
    sizes = sorted({r.attrs["size"] for r in rows})
    temps = sorted({r.attrs["temperature"] for r in rows})
    shape = (len(sizes), len(temps))
    names = [f"{o}{s}" for o in OBSERVABLES for s in ("", "_err")]
    arrays = {k: np.full(shape, np.nan) for k in names}
    meta = {k: np.full(shape, -1, dtype=np.int64) for k in ("n_samples", "block_length")}
    meta["errors_reliable"] = np.full(shape, -1, dtype=np.int64)
    for r in rows:
        i, j = sizes.index(r.attrs["size"]), temps.index(r.attrs["temperature"])
        if not np.isnan(arrays["energy"][i, j]):
            raise ValueError(
                f"two configuration sets have size={sizes[i]} and temperature={temps[j]}"
            )
        for k in names:
            arrays[k][i, j] = float(r[k])
        for k in meta:
            meta[k][i, j] = r.attrs[k]
    dims = ("size", "temperature")
    data = {k: (dims, v) for k, v in arrays.items()}
    data.update({k: (dims, v) for k, v in meta.items()})
    first = rows[0].attrs
    return xr.Dataset(
        data,
        coords={"size": np.array(sizes), "temperature": np.array(temps, dtype=float)},
        attrs={
            "dim": first["dim"],
            "J": first["J"],
            "h": first["h"],
            "error_method": first["error_method"],
            "susceptibility_definition": first["susceptibility_definition"],
            "missing_value": "NaN where no configurations were given (n_samples=-1)",
        },
    )
