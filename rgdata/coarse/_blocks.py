"""Time blocks for the confidence intervals of real-space PRG, chosen from the data.

The exponent CIs of :func:`rgdata.diagnostics.fit_exponent` are batch means:
the exponent is refitted on each of ``B`` contiguous time blocks and the
Student-t quantile on ``B - 1`` degrees of freedom scales the standard error
of the block exponents. That is honest only when the blocks are close to
independent, i.e. each block spans several integrated autocorrelation times
of the coarse-grained variables. This module measures that time and turns it
into a number of blocks:

* :func:`integrated_time` -- ``tau_int = 1 + 2 sum_{t=1}^{M} C(t)`` with the
  automatic window of Sokal (smallest ``M >= WINDOW_C * tau_int(M)``); when
  the window does not close within the computed lags the value is a lower
  bound.
* :func:`choose_n_blocks` -- blocks of at least ``BLOCK_TAUS * tau_int``
  samples, at most ``MAX_BLOCKS`` of them.
* :func:`block_level_stats` -- recompute the block-wise statistics of every
  level from the pairs chosen in the first pass (sums are cheap; the pairing,
  which is not, is not repeated).

The constants were chosen from the coverage simulation in
``benchmarks/coverage_prg_ci.py`` (table in ``docs/coarse_graining.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ._prg_stats import level_stats, pair_rows, tau_from_acf

if TYPE_CHECKING:
    from ._prg_setup import PrgData

__all__ = [
    "BLOCK_TAUS",
    "MIN_BLOCKS",
    "MAX_BLOCKS",
    "MIN_FIT_CLUSTERS",
    "WINDOW_C",
    "integrated_time",
    "choose_n_blocks",
    "auto_max_lag",
    "enough_lags",
    "block_level_stats",
    "blocks_and_taus",
]

#: each block must span at least this many integrated autocorrelation times
BLOCK_TAUS = 3.0
#: fewer blocks than this (of the needed length) give no 95% interval (NaN bounds)
MIN_BLOCKS = 5
#: more blocks add little (t quantile 2.26 at 10 blocks vs 1.96) and shorten the blocks
MAX_BLOCKS = 10
#: default fit range: levels averaged over at least this many clusters
MIN_FIT_CLUSTERS = 8
#: Sokal's automatic-window constant
WINDOW_C = 5.0
#: the automatic max_lag is at least this (the old default), at most T/4
_MIN_AUTO_LAG = 100


def integrated_time(acf: np.ndarray) -> tuple[float, bool]:
    """Integrated autocorrelation time of a normalized autocorrelation.

    Parameters
    ----------
    acf : numpy.ndarray
        ``C(0..L)`` with ``C(0) = 1``.

    Returns
    -------
    tau_int : float
        ``1 + 2 sum_{t=1}^{M} C(t)`` (in samples; 1 for white noise, about
        ``2 tau`` for an AR(1) with ``C(t) = exp(-t / tau)``), with ``M`` the
        smallest lag such that ``M >= WINDOW_C * tau_int(M)`` (Sokal's window).
        NaN when ``acf`` is not finite at lag 0.
    lower_bound : bool
        True when the window never closed within the ``L`` lags: the true
        time is larger than the value returned.
    """
    acf = np.asarray(acf, dtype=float)
    if acf.size == 0 or not np.isfinite(acf[0]):
        return float("nan"), False
    c = np.nan_to_num(acf[1:], nan=0.0)
    if c.size == 0:
        return 1.0, True
    tau = 1.0 + 2.0 * np.cumsum(c)
    lags = np.arange(1, c.size + 1)
    closed = np.flatnonzero(lags >= WINDOW_C * tau)
    if closed.size:
        return float(max(tau[closed[0]], 1e-12)), False
    return float(max(tau.max(), 1.0)), True


def enough_lags(acf: np.ndarray, need_tau: bool, max_lag: int | None) -> bool:
    """Whether the lags of *acf* give every number the full ``long_lag`` range would.

    True when ``tau_int``'s window closed within them (:func:`integrated_time`)
    and, with *need_tau*, the autocorrelation fell below ``1/e`` and the lags
    reach the reported ``max_lag`` (the requested one, or the automatic
    ``max(100, ceil(3 tau_c))`` of :func:`auto_max_lag`). A level whose
    autocorrelation is undefined (constant clusters) needs no more lags.
    """
    if acf.size == 0 or not np.isfinite(acf[0]):
        return True
    if integrated_time(acf)[1]:
        return False
    if not need_tau:
        return True
    lags = acf.size - 1
    if max_lag is not None:
        return lags >= max_lag
    tau = tau_from_acf(acf)
    return bool(np.isfinite(tau)) and lags >= max(_MIN_AUTO_LAG, int(np.ceil(3 * tau)))


def choose_n_blocks(n_samples: int, tau_int: float) -> int:
    """Number of contiguous blocks of at least ``BLOCK_TAUS * tau_int`` samples.

    At most ``MAX_BLOCKS``; may be below ``MIN_BLOCKS`` (then no confidence
    interval is given) and is never below 2 (block copies are still stored
    for plots).
    """
    if not np.isfinite(tau_int):
        return MAX_BLOCKS
    need = BLOCK_TAUS * max(float(tau_int), 1.0)
    return int(min(MAX_BLOCKS, max(2, np.floor(n_samples / need))))


def auto_max_lag(acfs: np.ndarray, n_samples: int) -> int:
    """Largest lag to keep: enough to see every level's autocorrelation fall below 1/e.

    ``min(n_samples // 4, max(100, ceil(3 * max tau_c)))``; ``n_samples // 4``
    when some level never falls below 1/e within it.
    """
    cap = max(1, n_samples // 4)
    taus = [tau_from_acf(a[: cap + 1]) for a in acfs]
    if not all(np.isfinite(t) for t in taus):
        return cap
    return int(min(cap, max(_MIN_AUTO_LAG, np.ceil(3 * max(taus, default=0.0)))))


def block_level_stats(
    data: PrgData,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    block_edges: np.ndarray,
    max_lag: int,
    with_acf: bool = True,
) -> dict[str, np.ndarray]:
    """Block-wise variance, silence probability and autocorrelation of every level.

    Parameters
    ----------
    data : PrgData
        The prepared activity: ``data.x`` the ``(unit, time)`` samples the
        quantities are measured on, ``data.sum_dtype`` the dtype of the
        cluster sums, ``data.silent_of`` ``K -> silent value`` (None:
        silence undefined).
    pairs : list of (numpy.ndarray, numpy.ndarray)
        For each coarse-graining step, the row indices summed (``a``, ``b``).
    block_edges : numpy.ndarray
        ``B + 1`` sample indices of the contiguous blocks.
    max_lag : int
        Lags of the block autocorrelations (cut to the block length - 1, the
        rest NaN).
    with_acf : bool
        Compute the block autocorrelations (False: NaN).

    Returns
    -------
    dict
        ``var (level, B)``, ``p0 (level, cluster, B)`` as a list per level,
        ``acf (level, max_lag + 1, B)``.
    """
    n_levels = len(pairs) + 1
    n_blocks = block_edges.size - 1
    lag_b = int(min(max_lag, np.diff(block_edges).min() - 1))
    var = np.full((n_levels, n_blocks), np.nan)
    acf = np.full((n_levels, max_lag + 1, n_blocks), np.nan)
    p0 = []
    raw = np.ascontiguousarray(data.x)
    with_acf = with_acf and lag_b >= 1
    for level in range(n_levels):
        k = 2**level
        st = level_stats(
            raw, data.silent_of(k), block_edges, max(lag_b, 1), with_acf=with_acf, full=False
        )
        var[level] = st["var_blocks"].mean(axis=0)
        p0.append(st["p0_blocks"])
        if with_acf:
            acf[level, : lag_b + 1] = st["acf_blocks"]
        if level < n_levels - 1:
            a, b = pairs[level]
            raw = pair_rows(raw, a, b, np.empty((a.size, raw.shape[1]), dtype=data.sum_dtype))
    return {"var": var, "p0": p0, "acf": acf}


def blocks_and_taus(
    data: PrgData,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    acf_long: np.ndarray,
    n_clusters: np.ndarray,
    n_samples: int,
    n_blocks: int | None,
    max_lag: int | None,
    with_acf: bool = True,
    block_stats: Callable[[np.ndarray, int, bool], dict] | None = None,
) -> dict:
    """Choose ``max_lag`` and the blocks, then compute every block-wise quantity.

    Parameters
    ----------
    data, pairs
        As in :func:`block_level_stats`.
    acf_long : numpy.ndarray
        ``(level, lag)`` cluster-averaged autocorrelation of the whole
        recording, over up to ``n_samples // 4`` lags (or the requested
        ``max_lag`` when larger).
    n_clusters : numpy.ndarray
        Clusters per level.
    n_samples : int
        Samples the quantities are measured on.
    n_blocks, max_lag : int or None
        Requested values; None: chosen from the data.
    with_acf : bool
        The autocorrelation is reported. False: ``tau_c``, its blocks and the
        block autocorrelations are NaN (``tau_int``, which sizes the blocks, is
        still computed) and an automatic ``max_lag`` is 0.
    block_stats : callable, optional
        ``block_stats(block_edges, max_lag, with_acf)`` returning what
        :func:`block_level_stats` returns, for data not held in ``data.x``
        (a dask-backed activity, :mod:`rgdata.coarse._prg_lazy`); default
        :func:`block_level_stats` on *data* and *pairs*.

    Returns
    -------
    dict
        ``max_lag``, ``n_blocks``, ``block_edges``, ``tau`` and ``tau_lb``
        (tau_c per level and whether it is a lower bound), ``tau_int`` and
        ``tau_int_lb``, ``tau_need`` (the tau_int the blocks were sized on),
        ``var_blocks``, ``free_blocks``, ``tau_blocks`` (level, B),
        ``acf_blocks`` (level, lag, B), ``block_note`` ("" or why no 95%
        interval can be given).
    """
    n_lev = acf_long.shape[0]
    if max_lag is None:
        max_lag = auto_max_lag(acf_long, n_samples) if with_acf else 0
    if with_acf:
        tau = np.array([tau_from_acf(a[: max_lag + 1]) for a in acf_long])
        tau_lb = ~np.isfinite(tau) & np.isfinite(acf_long[:, 0])
        tau[tau_lb] = float(max_lag)
    else:
        tau, tau_lb = np.full(n_lev, np.nan), np.zeros(n_lev, dtype=bool)
    ti = [integrated_time(a) for a in acf_long]
    tau_int = np.array([t for t, _ in ti])
    tau_int_lb = np.array([lb for _, lb in ti], dtype=bool)
    fit_levels = np.flatnonzero(n_clusters >= MIN_FIT_CLUSTERS)
    if fit_levels.size == 0:
        fit_levels = np.arange(n_lev)
    need = tau_int[fit_levels]
    tau_need = float(np.nanmax(need)) if np.any(np.isfinite(need)) else 1.0
    requested = n_blocks
    if n_blocks is None:
        n_blocks = choose_n_blocks(n_samples, tau_need)
    n_blocks = int(max(2, min(n_blocks, n_samples // 10)))
    edges = np.linspace(0, n_samples, n_blocks + 1).astype(np.int64)
    block_len = int(np.diff(edges).min())
    note = ""
    short = block_len < BLOCK_TAUS * tau_need or bool(np.any(tau_int_lb[fit_levels]))
    if requested is not None and requested < MIN_BLOCKS:
        note = (
            f"n_blocks={requested} is fewer than the {MIN_BLOCKS} blocks needed for a 95% "
            "confidence interval; fit_exponent will return NaN bounds"
        )
    elif n_blocks < MIN_BLOCKS or (requested is None and short):
        fit_lv = int(fit_levels[np.nanargmax(np.where(np.isfinite(need), need, -1))])
        n_fit = int(n_samples // max(BLOCK_TAUS * tau_need, 1.0))
        note = (
            f"the recording ({n_samples} samples) holds {n_fit} block(s) of "
            f">= {BLOCK_TAUS:g} tau_int = {BLOCK_TAUS * tau_need:.0f} samples (tau_int = "
            f"{tau_need:.1f}{' or more' if tau_int_lb[fit_lv] else ''} at level {fit_lv}), "
            f"fewer than the {MIN_BLOCKS} needed for a 95% confidence interval; "
            "fit_exponent will return NaN bounds"
        )
    if block_stats is None:
        st = block_level_stats(data, pairs, edges, max_lag, with_acf=with_acf)
    else:
        st = block_stats(edges, max_lag, with_acf)
    free = np.full((n_lev, n_blocks), np.nan)
    for level, p0 in enumerate(st["p0"]):
        if data.silent_of(2**level) is None:
            continue
        with np.errstate(divide="ignore"):
            f_blocks = -np.log(p0)
        ok_b = np.all(np.isfinite(f_blocks), axis=0)
        free[level] = np.where(ok_b, np.where(ok_b, f_blocks, 0).mean(axis=0), np.nan)
    tau_b = np.array(
        [[tau_from_acf(st["acf"][lv, :, b]) for b in range(n_blocks)] for lv in range(n_lev)]
    )
    return {
        "max_lag": int(max_lag),
        "n_blocks": n_blocks,
        "block_edges": edges,
        "tau": tau,
        "tau_lb": tau_lb,
        "tau_int": tau_int,
        "tau_int_lb": tau_int_lb,
        "tau_need": tau_need,
        "var_blocks": st["var"],
        "free_blocks": free,
        "tau_blocks": tau_b,
        "acf_blocks": st["acf"],
        "block_note": note,
    }
