"""Bare-array kernels of the dynamics-across-levels diagnostic.

Every level is reduced to the autocovariance of its coarse variables
(z-scored per variable over the whole series), pooled over variables and
summed within contiguous time blocks: ``S[block, lag]``. The pooled
autocorrelation, the e-folding (relaxation) time, the prediction skills
and the block bootstrap all work on these sums, so resampling is cheap.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "block_autocov",
    "pooled_rho",
    "efold_time",
    "ou_skill",
    "log_slope",
    "phase_randomize",
    "ou_series",
    "planted_ou_tree",
    "planted_langevin_levels",
]


def block_autocov(x: np.ndarray, n_blocks: int, max_lag: int, chunk: int = 128) -> np.ndarray:
    """``(n_blocks, max_lag + 1)``: sums of ``z_i(t) z_i(t + lag)`` within each time block.

    ``z`` is every row of *x* z-scored over the whole series; the series is
    cut into *n_blocks* equal contiguous blocks (the last ``T mod n_blocks``
    steps are left out) and only pairs inside one block are summed. Rows are
    converted to float64 *chunk* at a time.
    """
    x = np.asarray(x)
    length = x.shape[1] // n_blocks
    size = 1 << int(np.ceil(np.log2(length + max_lag)))  # no wrap-around up to max_lag
    out = np.zeros((n_blocks, max_lag + 1))
    for start in range(0, x.shape[0], chunk):
        part = x[start : start + chunk].astype(np.float64)
        sd = part.std(axis=1, keepdims=True)
        z = (part - part.mean(axis=1, keepdims=True)) / np.where(sd > 0, sd, 1.0)
        z = z[:, : n_blocks * length].reshape(z.shape[0], n_blocks, length)
        f = np.fft.rfft(z, size, axis=-1)
        acov = np.fft.irfft(f * np.conj(f), size, axis=-1)[..., : max_lag + 1]
        out += acov.sum(axis=0)
    return out


def pooled_rho(sums: np.ndarray, length: int) -> np.ndarray:
    """Autocorrelation from block sums ``(..., block, lag)``: per-pair means over lag 0."""
    total = np.asarray(sums).sum(axis=-2)
    lags = np.arange(total.shape[-1])
    per_pair = total / (length - lags)
    return per_pair / per_pair[..., :1]


def efold_time(rho: np.ndarray) -> np.ndarray:
    """First lag where ``rho`` falls below ``1/e`` (log-linear interpolation); NaN if never."""
    rho = np.asarray(rho, dtype=float)
    flat = rho.reshape(-1, rho.shape[-1])
    out = np.full(flat.shape[0], np.nan)
    for i, r in enumerate(flat):
        below = np.flatnonzero(r < np.exp(-1))
        if below.size == 0 or below[0] == 0:
            continue
        k = below[0]
        hi, lo = r[k - 1], r[k]
        if lo > 0:
            out[i] = (k - 1) + (np.log(hi) + 1) / (np.log(hi) - np.log(lo))
        else:
            out[i] = (k - 1) + (hi - np.exp(-1)) / (hi - lo)
    return out.reshape(rho.shape[:-1])


def ou_skill(rho_h: np.ndarray, tau_model: np.ndarray, horizon: np.ndarray) -> np.ndarray:
    """Skill ``1 - E(x(t+h) - a x(t))^2 / E x^2 = 2 a rho(h) - a^2`` of ``a = e^(-h/tau)``."""
    a = np.exp(-np.asarray(horizon, float) / np.asarray(tau_model, float))
    return 2 * a * np.asarray(rho_h) - a**2


def log_slope(log_scale: np.ndarray, log_tau: np.ndarray) -> np.ndarray:
    """Least-squares slope of ``log_tau`` against ``log_scale`` (last axis); NaN if any is NaN."""
    x = np.asarray(log_scale, dtype=float)
    y = np.asarray(log_tau, dtype=float)
    xc = x - x.mean()
    return ((y - y.mean(axis=-1, keepdims=True)) * xc).sum(axis=-1) / (xc**2).sum()


def phase_randomize(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row with its Fourier amplitudes kept and phases drawn uniformly (independent rows).

    Keeps every unit's power spectrum (hence its autocorrelation, circularly)
    and its mean, and destroys the alignment between units.
    """
    x = np.asarray(x, dtype=np.float64)
    f = np.fft.rfft(x, axis=-1)
    g = np.abs(f) * np.exp(1j * rng.uniform(0, 2 * np.pi, size=f.shape))
    g[..., 0] = f[..., 0]  # the mean
    if x.shape[-1] % 2 == 0:
        g[..., -1] = f[..., -1]  # the Nyquist term is real
    return np.fft.irfft(g, x.shape[-1], axis=-1)


def ou_series(tau: np.ndarray, n_time: int, rng: np.random.Generator) -> np.ndarray:
    """Stationary unit-variance OU processes sampled at unit steps, one row per ``tau``."""
    tau = np.atleast_1d(np.asarray(tau, dtype=float))
    out = np.empty((tau.size, n_time))
    for i, t in enumerate(tau):
        a = np.exp(-1.0 / t)
        eps = rng.standard_normal(n_time)
        eps[0] /= np.sqrt(1 - a**2)  # start from the stationary law
        import scipy.signal  # imported here: scipy.signal loads scipy.stats

        out[i] = scipy.signal.lfilter([np.sqrt(1 - a**2)], [1.0, -a], eps)
    return out


def planted_ou_tree(
    n_levels: int, z: float, tau0: float, n_time: int, *, q: float = 0.05, random_state: Any = None
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """A Haar tree of OU processes whose level sums relax on ``tau_l = tau0 * 2^(z (l + 1))``.

    ``2^n_levels`` leaves. Every node ``n`` at height ``m >= 1`` carries an OU
    process ``eta_n`` (``tau_m = tau0 2^(z m)``, amplitude ``q^(m/2)``) that
    enters its left subtree with ``+`` and its right subtree with ``-``; the
    root also carries a common process (``tau = tau0 2^(z (n_levels + 1))``).
    Summing the leaves of a height-``l`` cluster cancels every process at
    height ``<= l``, so the level-``l`` sum is ``2^l`` times the processes of
    its ancestors, dominated (weight ``~1 - q``) by the height-``l + 1``
    parent.

    Returns
    -------
    levels : list of numpy.ndarray
        ``(2^(n_levels - l), n_time)`` cluster sums for ``l = 0..n_levels - 1``.
    cluster_size : numpy.ndarray
        ``2^l``.
    expected_tau : numpy.ndarray
        The exact e-folding time of every level's autocorrelation, the
        variance-weighted mixture of its ancestors' ``exp(-t / tau)``.
    """
    rng = np.random.default_rng(random_state)
    n_leaf = 2**n_levels
    taus = {m: tau0 * 2.0 ** (z * m) for m in range(1, n_levels + 2)}
    leaves = np.zeros((n_leaf, n_time))
    for m in range(1, n_levels + 1):
        n_nodes = n_leaf // 2**m
        eta = ou_series(np.full(n_nodes, taus[m]), n_time, rng) * q ** (m / 2)
        sign = np.tile(np.repeat([1.0, -1.0], 2 ** (m - 1)), n_nodes)
        leaves += np.repeat(eta, 2**m, axis=0) * sign[:, None]
    root = ou_series([taus[n_levels + 1]], n_time, rng)[0] * q ** ((n_levels + 1) / 2)
    leaves += root
    levels, sizes, expected = [], [], []
    for lv in range(n_levels):
        k = 2**lv
        levels.append(leaves.reshape(n_leaf // k, k, n_time).sum(axis=1))
        sizes.append(k)
        heights = np.arange(lv + 1, n_levels + 2)
        weights = q ** heights.astype(float)
        tau_m = np.array([taus[m] for m in heights])
        w = weights / weights.sum()
        expected.append(
            _brentq()(
                lambda t, w=w, tau_m=tau_m: float(w @ np.exp(-t / tau_m)) - np.exp(-1),
                0.0,
                10 * tau_m.max(),
            )
        )
    return levels, np.asarray(sizes), np.asarray(expected)


def planted_langevin_levels(
    scales: Any,
    z: float,
    tau1: float,
    n_units: int,
    n_time: int,
    *,
    temperature: float = 0.25,
    n_sub: int = 20,
    random_state: Any = None,
) -> list[np.ndarray]:
    """Double-well Langevin processes whose relaxation time grows as ``scale^z``.

    Level ``l`` holds *n_units* independent copies of ``dx = -(1 / tau_l)
    (x^3 - x) dt + sqrt(2 T / tau_l) dW`` (``T`` = *temperature*) with
    ``tau_l = tau1 * (s_l / s_1)^z``, sampled at unit steps (Euler-Maruyama
    with *n_sub* substeps per step, started in the stationary regime after a
    burn-in of ``10 tau_l``). Every level is the level-1 process with its
    time stretched by ``(s_l / s_1)^z`` (the same stationary law
    ``exp(-(x^4/4 - x^2/2) / T)``), so a drift learned at level 1 and
    integrated over ``(s_1 / s_l)^z`` steps predicts level ``l``; the drift is
    nonlinear, so an OU (linear) model mis-fits it.

    Returns
    -------
    list of numpy.ndarray
        ``(n_units, n_time)`` per level.
    """
    s = np.asarray(scales, dtype=float)
    tau = tau1 * (s / s[0]) ** z
    rng = np.random.default_rng(random_state)
    rate = np.repeat(1.0 / tau, n_units)
    h = 1.0 / n_sub
    kick = np.sqrt(2 * temperature * rate * h)
    x = rng.choice([-1.0, 1.0], size=rate.size)
    n_burn = int(np.ceil(10 * tau.max()))
    out = np.empty((rate.size, n_time))
    for t in range(-n_burn, n_time):
        noise = rng.standard_normal((n_sub, rate.size))
        for k in range(n_sub):
            x = x - rate * h * (x**3 - x) + kick * noise[k]
        if t >= 0:
            out[:, t] = x
    return [out[i * n_units : (i + 1) * n_units] for i in range(s.size)]


def _brentq():
    """scipy.optimize.brentq, imported on first use (scipy.optimize loads scipy.stats)."""
    from scipy.optimize import brentq

    return brentq
