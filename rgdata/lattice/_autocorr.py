"""Integrated autocorrelation time with Sokal's automatic windowing."""

from __future__ import annotations

import numpy as np

__all__ = ["integrated_autocorrelation_time"]


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
