"""A null's distribution over its draws: the 95 % prediction band and the data-vs-null summary.

:func:`run_with_nulls` (:mod:`rgdata.diagnostics.nulls`) fits every draw of
every null; this module turns the per-draw exponents into the variables it
returns (mean, prediction band, spread, ``z_vs_data``, share of draws beyond
the data).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .._validation import describe

__all__ = ["NULL_BAND_LEVEL", "prediction_band"]

#: probability that one more draw of a null falls inside its band
NULL_BAND_LEVEL = 0.95
_SYMBOLS = ("alpha", "beta", "mu", "z")


def prediction_band(
    draws: np.ndarray, level: float = NULL_BAND_LEVEL, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Student-t prediction band for one more draw, from the finite draws along *axis*.

    ``mean +- t_{n-1, (1 + level) / 2} * sd * sqrt(1 + 1/n)`` with ``n`` the
    number of finite draws and ``sd`` their standard deviation (``ddof=1``);
    exact for Gaussian draws. The 2.5-97.5 percentiles of ``n`` draws hold
    one more draw only ``0.95 (n - 1) / (n + 1)`` of the time (78% for
    ``n = 10``), which is why the percentile band is not used.

    Parameters
    ----------
    draws : numpy.ndarray
        Draws; NaN entries (draws where the exponent was not fitted) are left
        out.
    level : float
        Probability, in (0, 1), that one more draw falls inside the band.
    axis : int
        Axis along the draws.

    Returns
    -------
    low, high : numpy.ndarray
        The band's bounds; NaN where fewer than 2 draws are finite.

    Raises
    ------
    ValueError
        *level* outside (0, 1).

    Examples
    --------
    Draws 1, 2, 3: mean 2, sd 1, ``t_{2, 0.975} = 4.303``, half-width
    ``4.303 * sqrt(4/3) = 4.968``:

    >>> low, high = prediction_band(np.array([1.0, 2.0, 3.0]))
    >>> round(float(low), 3), round(float(high), 3)
    (-2.968, 6.968)
    """
    if not (isinstance(level, float | int) and 0 < level < 1):
        raise ValueError(f"level must be a probability in (0, 1), got {describe(level)}")
    x = np.asarray(draws, dtype=float)
    n = np.isfinite(x).sum(axis=axis)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # fewer than 2 finite draws: NaN
        mean = np.nanmean(x, axis=axis)
        sd = np.nanstd(x, axis=axis, ddof=1)
        from scipy.special import stdtrit  # = scipy.stats.t.ppf, without importing scipy.stats

        t = stdtrit(np.where(n >= 2, n - 1, np.nan), 0.5 + level / 2)
        half = t * sd * np.sqrt(1 + 1 / np.maximum(n, 1))
    half = np.where(n >= 2, half, np.nan)
    return mean - half, mean + half


def _null_summary(tables: dict, names: tuple, n_draws: int) -> dict[str, Any]:
    """Exponent variables of run_with_nulls from the per-run tables.

    A null's ``exponent_ci_low`` / ``_high`` is its 95% prediction band
    (:func:`prediction_band` over its draws); the data's is its block CI.
    """
    dims = ("null", "exponent_name")
    n_null, n_sym = len(names), len(_SYMBOLS)
    draws = np.full((n_null, n_draws, n_sym), np.nan)
    exp = np.full((n_null, n_sym), np.nan)
    lo, hi, bsd, se, nsd, z, frac = (np.full((n_null, n_sym), np.nan) for _ in range(7))
    data = tables["data"][0]
    for i, name in enumerate(names):
        tab = np.stack(tables[name])  # (draws, symbols, columns)
        if name == "data":
            exp[i], lo[i], hi[i], bsd[i], se[i] = data.T
            continue
        draws[i] = tab[:, :, 0]
        lo[i], hi[i] = prediction_band(tab[:, :, 0], NULL_BAND_LEVEL, axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN symbols (not fitted)
            exp[i] = np.nanmean(tab[:, :, 0], axis=0)
            bsd[i] = np.nanmean(tab[:, :, 3], axis=0)
            nsd[i] = np.nanstd(tab[:, :, 0], axis=0, ddof=1)
            z[i] = (data[:, 0] - exp[i]) / np.sqrt(data[:, 4] ** 2 + nsd[i] ** 2)
            side = np.sign(data[:, 0] - exp[i])
            beyond = (
                side[None, :] * (tab[:, :, 0] - exp[i][None, :])
                >= np.abs(data[:, 0] - exp[i])[None, :]
            )
            n_ok = np.isfinite(tab[:, :, 0]).sum(axis=0)
            frac[i] = np.where(
                (n_ok > 0) & np.isfinite(data[:, 0]),
                beyond.sum(axis=0) / np.maximum(n_ok, 1),
                np.nan,
            )
    band = f"{100 * NULL_BAND_LEVEL:.0f}% prediction band of {n_draws} draws"
    kind = ["95% CI (time blocks)"] + [band] * (n_null - 1)
    return {
        "exponent": (dims, exp),
        "exponent_ci_low": (dims, lo),
        "exponent_ci_high": (dims, hi),
        "exponent_block_sd": (dims, bsd),
        "exponent_se": (dims, se),
        "exponent_null_sd": (dims, nsd),
        "z_vs_data": (dims, z),
        "fraction_beyond_data": (dims, frac),
        "null_exponent": (("null", "draw", "exponent_name"), draws),
        "interval_kind": (("null",), np.asarray(kind)),
    }
