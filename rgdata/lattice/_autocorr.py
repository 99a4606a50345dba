"""Integrated autocorrelation time: Sokal's automatic windowing, its error, batch means."""

from __future__ import annotations

import math
from numbers import Integral
from typing import NamedTuple

import numpy as np

__all__ = [
    "TauEstimate",
    "integrated_autocorrelation_time",
    "tau_int_batch_means",
    "tau_int_estimate",
]


def _autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation function of a 1-D series (FFT, zero padded)."""
    x = np.asarray(x, dtype=float)
    n = x.size
    y = x - x.mean()
    size = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(y, size)
    acov = np.fft.irfft(f * np.conj(f), size)[:n]
    if acov[0] <= 0:
        return np.zeros(n)
    return acov / acov[0]


def integrated_autocorrelation_time(x, c: float = 6.0) -> tuple[float, int, bool]:
    """Integrated autocorrelation time ``tau = 1/2 + sum_{t=1}^{M} rho(t)``.

    The window ``M`` is the smallest with ``M >= c * tau(M)`` (Sokal 1997,
    "Monte Carlo methods in statistical mechanics"). With this convention an
    uncorrelated series has ``tau = 1/2`` and ``N / (2 tau)`` is the number of
    effectively independent samples.

    Parameters
    ----------
    x : array-like
        1-D series (at least 4 points).
    c : float
        Window constant (5-10 are usual).

    Returns
    -------
    tau : float
        Estimate (``0.5`` for a constant series).
    window : int
        The window ``M`` that was selected.
    reliable : bool
        ``True`` when a window was found and the series is at least
        ``50 * tau`` long (Sokal's rule of thumb); otherwise the estimate is
        a lower bound.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if n < 4:
        return 0.5, 0, False
    rho = _autocorrelation(x)
    if rho[0] == 0:
        return 0.5, 0, True
    taus = 0.5 + np.cumsum(rho[1:])
    windows = np.arange(1, n)
    ok = windows >= c * taus
    if not ok.any():
        return float(max(taus[-1], 0.5)), n - 1, False
    m = int(np.argmax(ok))
    tau = float(max(taus[m], 0.5))
    return tau, int(windows[m]), bool(n >= 50 * tau)


class TauEstimate(NamedTuple):
    """Integrated autocorrelation time with its statistical error and a reliability flag."""

    tau: float
    se: float
    window: int
    reliable: bool


def tau_int_estimate(
    x, c: float = 6.0, min_taus: float = 100.0, min_length: int = 256
) -> TauEstimate:
    """Sokal's windowed tau_int with the Madras-Sokal error and a strict reliability test.

    Parameters
    ----------
    x : array-like
        1-D series.
    c : float
        Window constant: the window ``M`` is the smallest with ``M >= c * tau(M)``.
    min_taus : float
        The series must be at least ``min_taus * tau`` long to be reliable.
    min_length : int
        ... and at least this many points: on a shorter series a truncated sum
        of a noisy autocorrelation can return ``tau = 1/2`` for a strongly
        correlated chain.

    Returns
    -------
    TauEstimate
        ``tau``, ``se = tau * sqrt(2 (2 M + 1) / N)`` (Madras & Sokal 1988),
        ``window`` ``M`` and ``reliable``: a window was found, ``M <= N / 10``,
        ``N >= min_taus * tau`` and ``N >= min_length``. An unreliable
        estimate is a lower bound.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    tau, window, _ = integrated_autocorrelation_time(x, c)
    if n < 4:
        return TauEstimate(tau, math.inf, window, False)
    if window == 0:  # constant series: no fluctuation to correlate
        return TauEstimate(0.5, 0.0, 0, n >= min_length)
    se = tau * math.sqrt(2.0 * (2 * window + 1) / n)
    found = window < n - 1  # else no window satisfied M >= c tau(M)
    reliable = bool(found and window <= n / 10 and n >= min_taus * tau and n >= min_length)
    return TauEstimate(float(tau), float(se), int(window), reliable)


def tau_int_batch_means(x, n_batches: int = 32) -> tuple[float, float]:
    """tau_int from the variance of batch means (a check independent of the windowed sum).

    With batches of ``B = N // n_batches`` points, ``var(batch mean) =
    2 tau var(x) / B`` for ``B >> tau``, so ``tau = B var(batch means) /
    (2 var(x))``. The estimate is biased low by about ``tau_exp / B``, so the
    series should be at least ``n_batches * 20 tau`` long.

    Parameters
    ----------
    x : array-like
        1-D series.
    n_batches : int
        Number of contiguous batches (at least 8).

    Returns
    -------
    tau, se : float
        Estimate and its standard error ``tau * sqrt(2 / (n_batches - 1))``
        (chi-squared spread of a variance from ``n_batches`` means).
    """
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape}")
    if isinstance(n_batches, bool) or not isinstance(n_batches, Integral) or n_batches < 8:
        raise ValueError(f"n_batches must be an int >= 8, got {n_batches!r}")
    size = x.size // n_batches
    if size < 2:
        raise ValueError(
            f"x has {x.size} points; at least 2 * n_batches = {2 * n_batches} are needed"
        )
    var = x[: size * n_batches].var()
    if var == 0:
        return 0.5, 0.0
    means = x[: size * n_batches].reshape(n_batches, size).mean(axis=1)
    tau = size * means.var(ddof=1) / (2.0 * var)
    return float(tau), float(tau * math.sqrt(2.0 / (n_batches - 1)))
