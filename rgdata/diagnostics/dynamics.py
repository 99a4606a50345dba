"""Dynamics across coarse-graining levels: one OU law rescaled by ``s^z``?

At every level the coarse variables (z-scored per variable) are described
by one linear-Gaussian model, the OU process ``x(t + h) = exp(-h / tau) x(t)
+ noise`` shared by all the variables of the level. Its relaxation time
``tau`` is the e-folding time of the level's autocorrelation (pooled over
variables; the first lag where it falls below ``1/e``, interpolated), which
scales exactly as ``s^z`` whenever the autocorrelations collapse under
``t -> t / s^z``, whatever their shape (a lag-1 AR fit would mix in the fast
lattice-scale modes). ``z`` is the least-squares slope of ``ln tau`` against
``ln s`` (cluster size ``K``, block side ``b``); its CI comes from a block
bootstrap over contiguous time blocks. The rescaled model tests the law
level by level: the model of level ``l - 1`` with its time stretched by
``(s_l / s_(l-1))^z`` (``tau_pred = tau_(l-1) (s_l / s_(l-1))^z``) predicts
level ``l`` at the horizon ``h_l`` = level ``l``'s own ``tau`` (rounded);
its skill ``1 - E(x(t+h) - a x(t))^2 / E x^2`` is set beside the skill of
level ``l``'s own model (``e^-2 = 0.135`` when the e-folding time is hit
exactly) and beside the own model on time-shuffled data (about ``-e^-2``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import check_array, check_int, check_option, check_random_state, describe
from .._warnings import warn_user
from ._dynamics_kernels import (
    block_autocov,
    efold_time,
    log_slope,
    ou_skill,
    phase_randomize,
    pooled_rho,
)
from ._null_bands import NULL_BAND_LEVEL, prediction_band

__all__ = ["dynamic_scaling", "MIN_TIME"]

#: fewest time points a level may have
MIN_TIME = 100
#: coverage of the bootstrap intervals
CI_LEVEL = 0.95
#: bootstrap blocks are at least this many relaxation times of the slowest level
BLOCK_TAUS = 10
#: fewest bootstrap blocks
MIN_BLOCKS = 10
#: a series shorter than this many relaxation times of its slowest level is warned about
MIN_TAUS = 50


def _check_levels(levels: Any, scales: Any) -> tuple[list[np.ndarray], np.ndarray]:
    if isinstance(levels, np.ndarray | xr.DataArray) or not isinstance(levels, Sequence):
        raise TypeError(
            f"levels must be a sequence of (unit, time) arrays, one per level, got "
            f"{describe(levels)}"
        )
    if len(levels) < 3:
        raise ValueError(f"levels must hold at least 3 levels to fit a scaling, got {len(levels)}")
    arrays = []
    for i, lv in enumerate(levels):
        arr = lv.values if isinstance(lv, xr.DataArray) else lv
        arr = check_array(arr, f"levels[{i}]", ndim=(1, 2))
        arrays.append(arr[None, :] if arr.ndim == 1 else arr)
    n_time = {a.shape[1] for a in arrays}
    if len(n_time) != 1:
        raise ValueError(f"levels must share one time axis, got lengths {sorted(n_time)}")
    t = n_time.pop()
    if t < MIN_TIME:
        raise ValueError(
            f"levels have {t} time points; the dynamics model needs at least {MIN_TIME} "
            "(and many relaxation times of the slowest level)"
        )
    s = check_array(scales, "scales", ndim=1)
    if s.size != len(arrays):
        raise ValueError(f"scales has {s.size} entries for {len(arrays)} levels")
    if np.any(s <= 0) or np.any(np.diff(s) <= 0):
        raise ValueError(f"scales must be positive and strictly increasing, got {s.tolist()}")
    return arrays, s.astype(float)


def _taus(arrays: list[np.ndarray], max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole-series pooled autocorrelations ``(level, lag)`` and e-folding times.

    (FFTs of short stretches were measured slower than one FFT of the whole
    series, benchmarks/bench_multiscale.py.)
    """
    n_time = arrays[0].shape[1]
    rho = np.stack([pooled_rho(block_autocov(a, 1, max_lag), n_time) for a in arrays])
    return rho, efold_time(rho)


def _skills(rho: np.ndarray, tau: np.ndarray, tau_pred: np.ndarray, horizon: np.ndarray):
    rho_h = np.take_along_axis(rho, horizon[..., None], axis=-1)[..., 0]
    return ou_skill(rho_h, tau, horizon), ou_skill(rho_h, tau_pred, horizon)


def _predicted(tau: np.ndarray, ratio: np.ndarray, z: np.ndarray) -> np.ndarray:
    pred = np.full(tau.shape, np.nan)
    pred[..., 1:] = tau[..., :-1] * ratio ** np.asarray(z)[..., None]
    return pred


def dynamic_scaling(
    levels: Sequence[Any],
    scales: Any,
    *,
    null_levels: Callable[[np.random.Generator], Sequence[Any]] | None = None,
    null_name: str = "",
    n_boot: int = 200,
    max_lag: int | None = None,
    n_null: int = 10,
    random_state: Any = None,
    progress: bool = False,
) -> xr.Dataset:
    """Fit an OU model at every level and test whether one law rescaled by ``s^z`` links them.

    Parameters
    ----------
    levels : sequence of array-like
        One ``(unit, time)`` array (or Activity, or 1-D series) per level,
        on a common time axis of at least :data:`MIN_TIME` points, finest
        first.
    scales : array-like
        The scale of each level (cluster size ``K``, block side ``b``,
        lattice size ``L``), positive and increasing.
    null_levels : callable, optional
        ``null_levels(rng)`` returns the levels of one surrogate of the data
        (e.g. every unit circularly shifted, the levels rebuilt with the same
        clusters): the null distribution of ``z``. Without it no ``z`` null
        is reported.
    null_name : str
        What *null_levels* does (stored in attrs).
    n_boot : int
        Bootstrap replicates (at least 20).
    max_lag : int, optional
        Longest lag of the autocorrelations (default: 256, multiplied by 4
        until every level's autocorrelation has fallen below ``1/e``, at
        most a third of the series). A level whose autocorrelation stays above ``1/e`` up to it
        raises ``ValueError``.
    n_null : int
        Draws of each null (at least 2): the time-shuffled skill null (each
        variable's time bins permuted) and, with *null_levels*, the ``z``
        null.
    random_state : None, int or numpy.random.Generator
        Seeds the bootstrap and the nulls.
    progress : bool
        Progress bar over the null draws.

    Returns
    -------
    xarray.Dataset
        Dim ``level`` with coordinate ``scale``: ``tau`` (e-folding time, in
        time steps) with ``tau_ci_low``/``_high``, ``tau_predicted`` (the
        level below rescaled by ``(s_l / s_(l-1))^z``), ``horizon``,
        ``skill_own`` and ``skill_transfer`` (NaN at the first level) with
        ``_ci_low``/``_high``, ``null_skill (draw, level)`` with its mean and
        95 % prediction band. Scalars: ``z`` with ``z_se``, ``z_ci_low``,
        ``z_ci_high`` (percentile bootstrap), ``z_bootstrap (boot)``, and with
        *null_levels* ``null_z (draw)``, ``null_z_mean``,
        ``null_z_band_low/high`` and ``z_vs_null``.

    Raises
    ------
    TypeError
        *levels* not a sequence of arrays.
    ValueError
        Fewer than 3 levels or :data:`MIN_TIME` time points, levels of
        different lengths, scales not increasing, a level whose
        autocorrelation does not fall below ``1/e`` within *max_lag*.

    Examples
    --------
    >>> from rgdata.diagnostics._dynamics_kernels import planted_ou_tree
    >>> levels, sizes, expected = planted_ou_tree(4, 1.0, 1.0, 8000, random_state=0)
    >>> res = dynamic_scaling(levels, sizes, n_boot=50, n_null=2, random_state=0)
    >>> bool(abs(res["z"].item() - 1.0) < 0.2)  # planted z = 1
    True
    """
    arrays, s = _check_levels(levels, scales)
    n_boot = check_int(n_boot, "n_boot", min_value=20)
    n_null = check_int(n_null, "n_null", min_value=2)
    n_time = arrays[0].shape[1]
    rng = check_random_state(random_state)
    log_s, ratio = np.log(s), s[1:] / s[:-1]
    if max_lag is None:  # grow the lag range until every level has crossed 1/e
        max_lag = min(256, n_time // 3)
        rho, tau = _taus(arrays, max_lag)
        while not np.all(np.isfinite(tau)) and max_lag < n_time // 3:
            max_lag = min(4 * max_lag, n_time // 3)
            rho, tau = _taus(arrays, max_lag)
    else:
        max_lag = check_int(max_lag, "max_lag", min_value=2, max_value=n_time // 2)
        rho, tau = _taus(arrays, max_lag)
    bad = np.flatnonzero(~np.isfinite(tau))
    if bad.size:
        raise ValueError(
            f"the autocorrelation at level(s) {bad.tolist()} (scales {s[bad].tolist()}) does "
            f"not fall below 1/e within max_lag={max_lag} steps (or already at lag 1): no "
            "relaxation time; use a longer series, a larger max_lag or a finer time step"
        )
    z = float(log_slope(log_s, np.log(tau)))
    tau_pred = _predicted(tau, ratio, np.asarray(z))
    horizon = np.maximum(1, np.round(tau)).astype(int)
    skill_own, skill_transfer = _skills(rho, tau, tau_pred, horizon)
    notes = []
    tau_max = float(tau.max())
    if n_time < MIN_TAUS * tau_max:
        notes.append(
            f"the series ({n_time} steps) is shorter than {MIN_TAUS} relaxation times of the "
            f"slowest level (tau = {tau_max:.1f}): its tau and z are noisy"
        )
    n_blocks = max(MIN_BLOCKS, min(50, int(n_time // (BLOCK_TAUS * tau_max))))
    length = n_time // n_blocks
    if length < BLOCK_TAUS * tau_max:
        notes.append(
            f"bootstrap blocks of {length} steps are shorter than {BLOCK_TAUS} tau_max = "
            f"{BLOCK_TAUS * tau_max:.0f} steps (at least {MIN_BLOCKS} blocks are used): the "
            "intervals may be too narrow"
        )
    for note in notes:
        warn_user(f"dynamic_scaling: {note}", UserWarning)
    boot_lag = int(min(max_lag, length - 1, max(4 * tau_max, horizon.max()) + 1))
    block_sums = np.stack([block_autocov(a, n_blocks, boot_lag) for a in arrays])
    picks = rng.integers(0, n_blocks, size=(n_boot, n_blocks))
    rho_b = pooled_rho(block_sums[:, picks].transpose(1, 0, 2, 3), length)  # boot, level, lag
    tau_b = efold_time(rho_b)
    z_b = log_slope(log_s, np.log(tau_b))
    h_b = np.broadcast_to(np.minimum(horizon, boot_lag), tau_b.shape)
    own_b, tr_b = _skills(rho_b, tau_b, _predicted(tau_b, ratio, z_b), h_b)
    beyond = horizon > boot_lag  # no bootstrap skill at horizons past the block length
    own_b[:, beyond] = np.nan
    tr_b[:, beyond] = np.nan
    q = [50 * (1 - CI_LEVEL), 50 * (1 + CI_LEVEL)]

    def ci(reps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = np.full((2, *reps.shape[1:]), np.nan)
        ok = np.isfinite(reps).sum(axis=0) >= 2
        if np.any(ok):
            out[:, ok] = np.nanpercentile(reps[:, ok], q, axis=0)
        return out[0], out[1]

    null_skill = np.empty((n_null, len(arrays)))
    null_z = np.full(n_null, np.nan)
    for d in progress_bar(range(n_null), enable=progress, desc="dynamics nulls"):
        for i, a in enumerate(arrays):
            shuffled = rng.permuted(a, axis=1)
            r = pooled_rho(block_autocov(shuffled, 1, int(horizon[i])), n_time)
            null_skill[d, i] = ou_skill(r[horizon[i]], tau[i], horizon[i])
        if null_levels is not None:
            surrogate_levels, _ = _check_levels(list(null_levels(rng)), s)
            null_z[d] = log_slope(log_s, np.log(_taus(surrogate_levels, max_lag)[1]))
    lvl = ("level",)
    tau_lo, tau_hi = ci(tau_b)
    own_lo, own_hi = ci(own_b)
    tr_lo, tr_hi = ci(tr_b)
    z_lo, z_hi = ci(z_b[:, None])
    sk_lo, sk_hi = prediction_band(null_skill, NULL_BAND_LEVEL, axis=0)
    z_se = float(np.nanstd(z_b, ddof=1))
    out = xr.Dataset(
        {
            "tau": (lvl, tau),
            "tau_ci_low": (lvl, tau_lo),
            "tau_ci_high": (lvl, tau_hi),
            "tau_predicted": (lvl, tau_pred),
            "horizon": (lvl, horizon),
            "skill_own": (lvl, skill_own),
            "skill_own_ci_low": (lvl, own_lo),
            "skill_own_ci_high": (lvl, own_hi),
            "skill_transfer": (lvl, skill_transfer),
            "skill_transfer_ci_low": (lvl, tr_lo),
            "skill_transfer_ci_high": (lvl, tr_hi),
            "null_skill": (("draw", "level"), null_skill),
            "null_skill_mean": (lvl, null_skill.mean(axis=0)),
            "null_skill_band_low": (lvl, sk_lo),
            "null_skill_band_high": (lvl, sk_hi),
            "z": ((), z),
            "z_se": ((), z_se),
            "z_ci_low": ((), float(z_lo[0])),
            "z_ci_high": ((), float(z_hi[0])),
            "z_bootstrap": (("boot",), z_b),
        },
        coords={
            "level": np.arange(len(arrays)),
            "scale": ("level", s),
            "draw": np.arange(n_null),
        },
    )
    if null_levels is not None:
        nz_lo, nz_hi = prediction_band(null_z, NULL_BAND_LEVEL)
        null_sd = float(np.nanstd(null_z, ddof=1))
        out["null_z"] = (("draw",), null_z)
        out["null_z_mean"] = ((), float(np.nanmean(null_z)))
        out["null_z_band_low"] = ((), float(nz_lo))
        out["null_z_band_high"] = ((), float(nz_hi))
        out["z_vs_null"] = ((), float((z - np.nanmean(null_z)) / np.hypot(z_se, null_sd)))
    out.attrs = {
        "analysis": "dynamic_scaling",
        "model": "OU per level, shared by the level's z-scored variables: "
        "x(t+h) = exp(-h/tau) x(t) + noise",
        "tau_definition": "e-folding time of the pooled autocorrelation (first lag below 1/e, "
        "log-linear interpolation), in time steps",
        "z_definition": "least-squares slope of ln tau against ln scale",
        "transfer_definition": "tau_pred(l) = tau(l-1) * (scale(l) / scale(l-1)) ** z, z fitted "
        "on all levels",
        "skill_definition": "1 - E(x(t+h) - a x(t))^2 / E x^2 = 2 a rho(h) - a^2, a = "
        "exp(-h / tau_model), h = horizon (own tau, rounded)",
        "ci_level": CI_LEVEL,
        "ci_method": f"percentile block bootstrap, {n_boot} replicates of {n_blocks} contiguous "
        f"blocks of {length} steps",
        "n_blocks": int(n_blocks),
        "block_length": int(length),
        "max_lag": int(max_lag),
        "n_time": int(n_time),
        "n_units": np.asarray([a.shape[0] for a in arrays], dtype=np.int64),
        "skill_null": "time shuffle: each variable's time bins permuted; the level's own model",
        "z_null": null_name if null_levels is not None else "none",
        "null_band_level": NULL_BAND_LEVEL,
        "notes": json.dumps(notes),
    }
    return out


def surrogate_values(values: np.ndarray, method: str, rng: np.random.Generator) -> np.ndarray:
    """``(unit, time)`` values with each unit circularly shifted or phase-randomised on its own.

    Both keep every unit's autocorrelation (the circular shift exactly, up to
    the wrap; phase randomisation its power spectrum) and destroy the
    alignment between units.
    """
    check_option(method, "null", ("circular_shift", "phase"))
    if method == "phase":
        return phase_randomize(values, rng)
    shifts = rng.integers(0, values.shape[1], size=values.shape[0])
    out = np.empty_like(values)
    for u, sh in enumerate(shifts):
        out[u] = np.roll(values[u], int(sh))
    return out
