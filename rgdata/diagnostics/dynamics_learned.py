"""Learned (nonlinear) dynamics across levels: one drift, rescaled by ``s^z``, for every level?

At every level each coarse variable is standardized (mean and SD over the
whole series, as in :func:`~rgdata.diagnostics.dynamic_scaling`) and
described by a one-step map ``x(t + 1) = Phi_1(x(t)) + noise``, where
``Phi_T`` is the flow of ``dx/dt = f(x)`` and ``f`` is a tiny network
shared by the level's variables (a linear term plus one tanh layer,
:mod:`rgdata.diagnostics._dynamics_mlp`; ML extra). The *shared law* is the
drift fitted on the finest level, integrated at level ``l`` over ``T_l = (s_1
/ s_l)^z`` steps: if level ``l`` is level 1 with its time stretched by ``(s_l
/ s_1)^z``, this predicts it as well as level ``l``'s own network.
``z_raw`` maximises the summed held-out one-step skill of the shared law on
levels 2.. (a scalar grid search with parabolic refinement); ``z`` is
``z_raw`` corrected by a parametric bootstrap of the whole procedure
(:mod:`rgdata.diagnostics._dynamics_bias`). Skills are ``1 - sum (x(t+1)
- prediction)^2 / sum x(t+1)^2`` on the held-out last part of the series, for
the shared law, each level's own network and each level's own OU (linear)
model.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import check_int, check_option, check_random_state, check_real, describe
from .._warnings import warn_user
from . import _dynamics_skill as ks
from ._dynamics_bias import MAX_SIM_UNITS, corrected_z, noise_scale, simulate_level
from ._dynamics_mlp import OPTIMIZERS, drift, fit_drift, flow_map
from ._null_bands import NULL_BAND_LEVEL, prediction_band
from .dynamics import CI_LEVEL, _check_levels, surrogate_values

__all__ = ["learned_dynamic_scaling", "MIN_TIME_LEARNED", "LEARNED_NULLS"]

#: fewest time points for the learned model (training part and held-out blocks)
MIN_TIME_LEARNED = 500
#: built-in surrogates of the finest level for the z null
LEARNED_NULLS = ("circular_shift", "phase")
#: contiguous parts of the training time resampled by a refit
_TRAIN_PARTS = 10
#: two-sided 95 % standard normal quantile
_Z95 = 1.959963984540054
_DRIFT_X = np.linspace(-3.0, 3.0, 61)
#: default iterations of each optimizer (n_steps=None)
_DEFAULT_STEPS = {"lbfgs": 200, "adam": 400}


def _fit_z(arrays, s, opts, rng) -> float:
    """The whole shared-law procedure on one set of levels: ``z`` only (for the null)."""
    std, _ = ks.standardize(arrays)
    n_pairs = min(opts["n_pairs"], std[0].shape[0] * (opts["n_train"] - 1))
    x0, x1 = ks.pairs(std[0][:, : opts["n_train"]], n_pairs, rng)
    params, _ = _fit(x0, x1, opts, int(rng.integers(2**31)))
    held = [ks.blocks(a[:, opts["n_train"] :], opts["n_blocks"]) for a in std]
    return ks.z_of(params, held, s, opts["z_grid"])


def _fit(x0: np.ndarray, x1: np.ndarray, opts: dict, seed: int) -> tuple[dict, float]:
    return fit_drift(
        x0,
        x1,
        hidden=opts["hidden"],
        n_steps=opts["n_steps"],
        learning_rate=opts["learning_rate"],
        seed=seed,
        feature="learned_dynamic_scaling",
        optimizer=opts["optimizer"],
    )


def _builtin_null(arrays: list[np.ndarray], method: str) -> Callable:
    """Every level replaced by surrogates of finest-level rows: one dynamics, no rescaling."""
    finest = np.asarray(arrays[0], dtype=np.float64)

    def build(rng: np.random.Generator) -> list[np.ndarray]:
        out = []
        for a in arrays:
            rows = rng.choice(finest.shape[0], a.shape[0], replace=a.shape[0] > finest.shape[0])
            out.append(surrogate_values(finest[rows], method, rng))
        return out

    return build


def _check_options(n_time: int, kw: dict) -> dict:
    optimizer = check_option(kw["optimizer"], "optimizer", OPTIMIZERS)
    n_steps = _DEFAULT_STEPS[optimizer] if kw["n_steps"] is None else kw["n_steps"]
    opts = {
        "optimizer": optimizer,
        "hidden": check_int(kw["hidden"], "hidden", min_value=1, max_value=256),
        "n_steps": check_int(n_steps, "n_steps", min_value=1),
        "learning_rate": check_real(
            kw["learning_rate"], "learning_rate", min_value=0.0, strict_min=True
        ),
        "max_pairs": check_int(kw["max_pairs"], "max_pairs", min_value=100),
        "n_blocks": check_int(kw["n_blocks"], "n_blocks", min_value=5),
        "n_refit": check_int(kw["n_refit"], "n_refit", min_value=3),
    }
    frac = check_real(kw["test_fraction"], "test_fraction", min_value=0.05, max_value=0.9)
    zr = kw["z_range"]
    if not (isinstance(zr, Sequence) and len(zr) == 2) or isinstance(zr, str):
        raise TypeError(f"z_range must be a pair (low, high) of numbers, got {describe(zr)}")
    lo = check_real(zr[0], "z_range[0]")
    hi = check_real(zr[1], "z_range[1]")
    if hi - lo < 10 * ks.Z_STEP:
        raise ValueError(f"z_range must have high - low >= {10 * ks.Z_STEP}, got {tuple(zr)}")
    n_test = int(round(frac * n_time))
    if n_test // opts["n_blocks"] < 3:
        raise ValueError(
            f"the held-out part ({n_test} steps, test_fraction={frac}) cut into n_blocks="
            f"{opts['n_blocks']} blocks leaves fewer than 3 steps per block; use fewer blocks, "
            "a larger test_fraction or a longer series"
        )
    opts.update(
        n_train=n_time - n_test,
        test_fraction=frac,
        z_grid=np.arange(lo, hi + ks.Z_STEP / 2, ks.Z_STEP),
    )
    return opts


def learned_dynamic_scaling(
    levels: Sequence[Any],
    scales: Any,
    *,
    null_levels: Callable[[np.random.Generator], Sequence[Any]] | None = None,
    null_name: str = "",
    null: str = "circular_shift",
    test_fraction: float = 0.3,
    hidden: int = 16,
    optimizer: str = "lbfgs",
    n_steps: int | None = None,
    learning_rate: float = 0.05,
    max_pairs: int = 4096,
    z_range: tuple[float, float] = (-1.0, 3.0),
    n_blocks: int = 20,
    n_boot: int = 200,
    n_refit: int = 5,
    n_bias: int = 10,
    n_null: int = 5,
    random_state: Any = None,
    progress: bool = False,
) -> xr.Dataset:
    """Fit a learned drift at every level and test whether one drift rescaled by ``s^z`` links them.

    The nonlinear counterpart of :func:`rgdata.diagnostics.dynamic_scaling`
    (same inputs, same names for ``z`` and its CI and null), needing the ML
    extra (JAX, optax).

    Parameters
    ----------
    levels : sequence of array-like
        One ``(unit, time)`` array (or Activity, or 1-D series) per level,
        finest first, on a common time axis of at least
        :data:`MIN_TIME_LEARNED` points; at least 3 levels.
    scales : array-like
        Scale of each level (cluster size ``K``, block side ``b``), positive
        and increasing.
    null_levels : callable, optional
        ``null_levels(rng)`` returns the levels of one surrogate of the data
        (as in :func:`~rgdata.diagnostics.dynamic_scaling`; ``prg_dynamics``
        passes unit surrogates with the clusters kept). Default: every level
        replaced by *null* surrogates of randomly chosen finest-level
        variables, i.e. one dynamics at every scale and no rescaling
        (expected ``z = 0``).
    null_name : str
        What *null_levels* does (stored in attrs).
    null : {"circular_shift", "phase"}
        Surrogate of the built-in ``z`` null (ignored with *null_levels*).
    test_fraction : float
        Last fraction of the series held out for the skills and ``z``.
    hidden : int
        Tanh units of the drift network.
    optimizer : {"lbfgs", "adam"}
        Optimizer of every network fit (full batch): L-BFGS (optax, zoom
        line search) or Adam with a cosine-decayed *learning_rate*. Adam at
        400 steps stops short of the minimum and shrinks ``z`` towards the
        OU start, a bias that no bootstrap of the procedure sees (the
        default before the bias correction; kept for comparison).
    n_steps : int, optional
        Iterations of every fit; default 200 (L-BFGS) or 400 (Adam).
    learning_rate : float
        Initial Adam learning rate (cosine-decayed; unused by L-BFGS).
    max_pairs : int
        Most one-step training pairs per fit (drawn at random from the
        training part; every level uses the same number).
    z_range : (float, float)
        Interval searched for ``z`` (grid step 0.05, parabolic refinement);
        a minimum at its ends gives NaN and a warning. A negative lower end
        costs RK4 substeps growing as ``(s_L / s_1)^(-z_low)``; a level much
        faster than one step of the finest level cannot pin ``z`` (its
        predictions saturate at the stationary mean).
    n_blocks : int
        Contiguous held-out blocks of the bootstrap.
    n_boot : int
        Bootstrap replicates (at least 20).
    n_refit : int
        Refits of the finest-level network on block-bootstrap replicates of
        the training time, for the training part of the uncorrected ``z``'s
        error (at least 3).
    n_bias : int
        Replicates of the parametric bootstrap (at least 5): levels
        simulated from the fitted finest-level SDE with the estimated ``z``,
        the whole procedure rerun on each, for the bias of ``z`` and its
        error.
    n_null : int
        Draws of the nulls (at least 5): the ``z`` null refits the whole
        procedure (finest-level network and ``z``) on surrogate levels; the
        skill null scores every level's own network on its time-shuffled
        held-out data.
    random_state : None, int or numpy.random.Generator
        Seeds the training-pair draws, the network initialisations, the
        bootstrap and the nulls.
    progress : bool
        Progress bar over the fits.

    Returns
    -------
    xarray.Dataset
        Dim ``level`` with coordinate ``scale``: ``horizon_shared`` (``T_l =
        (s_1/s_l)^z_raw``), ``skill_shared``, ``skill_learned`` (own network),
        ``skill_ou`` (own OU: least-squares one-step slope), their paired
        differences ``learned_minus_ou`` and ``shared_minus_learned``, each
        with ``_ci_low``/``_ci_high``, ``train_mse``, ``n_dropped``,
        ``null_skill (draw, level)`` with mean and 95 % prediction band, and
        the drifts ``drift_learned (level, x)`` (per step of the level) and
        ``drift_shared (level, x)`` (``T_l f_1``, the shared drift in steps
        of level ``l``). Scalars as :func:`dynamic_scaling`: ``z``, ``z_se``,
        ``z_ci_low``, ``z_ci_high``, ``z_bootstrap (boot)``, ``null_z
        (draw)``, ``null_z_mean``, ``null_z_band_low/high``, ``z_vs_null``;
        and ``z_raw``, ``z_raw_se``, ``z_se_heldout``, ``z_se_training``,
        ``z_refit (refit)``, ``z_bias``, ``z_bias_se``, ``z_se_parametric``,
        ``z_parametric (bias_draw)``, ``sim_sigma``.
        The skill CIs are percentile block bootstraps over held-out blocks
        with the networks kept fixed. ``z_raw`` is the skill-maximising
        exponent (the shared law and its skills use it); it is biased on
        nonlinear data (the one-step conditional mean of a noisy nonlinear
        SDE is not the flow of a drift, so the shared law's flow over the
        coarser levels' horizons is off): on the planted double well it
        came out 0.1 above the planted ``z``. ``z_raw_se = hypot(z_se_heldout,
        z_se_training)``: the held-out bootstrap SD of ``z_raw`` (network
        fixed) and its SD over *n_refit* refits of the finest network on
        block-bootstrap replicates of the training time. The parametric
        bootstrap (:mod:`rgdata.diagnostics._dynamics_bias`) simulates every
        level from the fitted finest-level SDE ``dx = f dt + sim_sigma dW``
        with its time stretched by ``(s_l/s_1)^z_raw``, reruns the whole
        procedure *n_bias* times (``z_parametric``) and gives ``z_bias =
        mean(z_parametric) - z_raw``, ``z_bias_se = SD / sqrt(n_bias)`` and
        ``z_se_parametric`` (the SD). ``z = z_raw - z_bias``; ``z_se =
        hypot(max(z_se_parametric, z_raw_se), z_bias_se)`` (the larger of the
        model-based and the resampling error, plus the bias estimate's own);
        the CI is ``z +- t(0.975, n_bias - 1) z_se``. At the defaults it
        covered the planted ``z = 1`` in 20 of 20 double wells (mean ``z``
        0.963, mean width 0.47; ``z_raw +- 1.96 z_raw_se``: 15 of 20) and 10
        of 10 OU trees (docs/multiscale.md). Reruns whose ``z`` lies at an
        end of *z_range* are left out of these (warned; ``n_bias`` then
        counts the others). ``z_vs_null`` compares ``z_raw`` with the null
        (both uncorrected). With the NaN ``z_raw`` of a minimum at an end of
        *z_range*, every ``z`` variable is NaN.

    Raises
    ------
    TypeError
        *levels* not a sequence of arrays, a parameter of the wrong type.
    ValueError
        Fewer than 3 levels or :data:`MIN_TIME_LEARNED` time points, levels
        of different lengths, scales not increasing, a level without a
        varying variable, bad parameter values.
    ImportError
        The ML extra (JAX, optax) is missing: ``pip install rgdata[ml]``.

    Examples
    --------
    >>> from rgdata.diagnostics._dynamics_kernels import planted_langevin_levels
    >>> lv = planted_langevin_levels([1, 2, 4], 1.0, 3.0, 4, 2000, random_state=0)
    >>> res = learned_dynamic_scaling(lv, [1, 2, 4], n_steps=150, max_pairs=1000,
    ...                               n_boot=50, n_null=5, random_state=0)
    >>> bool(res["z_ci_low"] < 1.0 < res["z_ci_high"])  # planted z = 1
    True
    """
    arrays, s = _check_levels(levels, scales)
    n_time = arrays[0].shape[1]
    if n_time < MIN_TIME_LEARNED:
        raise ValueError(
            f"levels have {n_time} time points; the learned dynamics model needs at least "
            f"{MIN_TIME_LEARNED} (a training part and held-out blocks)"
        )
    opts = _check_options(n_time, locals())
    n_boot = check_int(n_boot, "n_boot", min_value=20)
    n_bias = check_int(n_bias, "n_bias", min_value=5)
    n_null = check_int(n_null, "n_null", min_value=5)
    if null_levels is None:
        check_option(null, "null", LEARNED_NULLS)
    elif not callable(null_levels):
        raise TypeError(
            f"null_levels must be a callable rng -> levels, got {describe(null_levels)}"
        )
    from ..models import require_ml  # here: rgdata.models loads scikit-learn

    require_ml("learned_dynamic_scaling")
    rng = check_random_state(random_state)
    n_train, z_grid, n_lv = opts["n_train"], opts["z_grid"], len(arrays)
    std, dropped = ks.standardize(arrays)
    notes = [f"levels[{i}]: {d} constant variable(s) left out" for i, d in enumerate(dropped) if d]
    n_refit = opts["n_refit"]
    n_pairs = opts["n_pairs"] = min(opts["max_pairs"], min(a.shape[0] * (n_train - 1) for a in std))
    held = [ks.blocks(a[:, n_train:], opts["n_blocks"]) for a in std]
    ss = np.stack([(x1**2).sum(axis=(0, 2)) for _, x1 in held])  # level, block
    own, train_mse, sse_own, sse_ou = [], [], np.empty_like(ss), np.empty_like(ss)
    for lv in progress_bar(range(n_lv), enable=progress, desc="learned dynamics fits"):
        x0, x1 = ks.pairs(std[lv][:, :n_train], n_pairs, rng)
        params, mse = _fit(x0, x1, opts, int(rng.integers(2**31)))
        if lv == 0:
            x0_finest = x0
        own.append(params)
        train_mse.append(mse)
        tr = std[lv][:, :n_train]
        slope = float((tr[:, :-1] * tr[:, 1:]).sum() / (tr[:, :-1] ** 2).sum())
        h0, h1 = held[lv]
        sse_own[lv] = ks.block_sse(h0, h1, flow_map(params, h0, 1.0))
        sse_ou[lv] = ks.block_sse(h0, h1, slope * h0)
    sse_grid = ks.shared_sse(own[0], held, s, z_grid)  # level, block, z
    z_raw = float(ks.argmin_z(ks.z_objective(sse_grid.sum(axis=1), ss.sum(axis=1)), z_grid))
    z = z_raw
    if not np.isfinite(z):
        notes.append(f"the best z lies at an end of z_range={tuple(z_range)}: z is NaN")
    z_sim, sigma = np.full(n_bias, np.nan), np.nan
    if np.isfinite(z_raw):
        sigma = noise_scale(own[0], x0_finest, train_mse[0])
        n_sim = [min(a.shape[0], MAX_SIM_UNITS) for a in std]
        for b in progress_bar(range(n_bias), enable=progress, desc="learned dynamics bias"):
            sim = [
                simulate_level(
                    own[0], sigma, (s[0] / s[lv]) ** z_raw, n_sim[lv], n_time, std[0], rng
                )
                for lv in range(n_lv)
            ]
            z_sim[b] = _fit_z(sim, s, opts, rng)
        if np.isnan(z_sim).any():
            notes.append(
                f"{int(np.isnan(z_sim).sum())} of {n_bias} parametric-bootstrap reruns put z at "
                "an end of z_range; the bias and its error come from the others"
            )
    z_refit = np.empty(n_refit)
    for j in progress_bar(range(n_refit), enable=progress, desc="learned dynamics refits"):
        x0, x1 = ks.pairs(std[0][:, :n_train], n_pairs, rng, resample=_TRAIN_PARTS)
        z_refit[j] = ks.z_of(_fit(x0, x1, opts, int(rng.integers(2**31)))[0], held, s, z_grid)
    picks = rng.integers(0, opts["n_blocks"], size=(n_boot, opts["n_blocks"]))
    ss_b = ss[:, picks].sum(axis=-1).T  # boot, level
    grid_b = sse_grid[:, picks].sum(axis=2).transpose(1, 0, 2)  # boot, level, z
    z_b = ks.argmin_z(ks.z_objective(grid_b, ss_b), z_grid)
    iz_b = np.clip(
        np.round((np.nan_to_num(z_b, nan=z) - z_grid[0]) / ks.Z_STEP), 0, z_grid.size - 1
    )
    horizon = (s[0] / s) ** z
    sse_shared = np.full_like(ss, np.nan)
    if np.isfinite(z):
        for lv, (h0, h1) in enumerate(held):
            sse_shared[lv] = ks.block_sse(h0, h1, flow_map(own[0], h0, float(horizon[lv])))
    sh_b = np.take_along_axis(grid_b, np.nan_to_num(iz_b).astype(int)[:, None, None], -1)[..., 0]

    def skill(sse: np.ndarray) -> np.ndarray:
        return 1 - sse.sum(axis=-1) / ss.sum(axis=-1)

    def boot(sse: np.ndarray) -> np.ndarray:
        return 1 - sse[:, picks].sum(axis=-1).T / ss_b

    sk = {"shared": skill(sse_shared), "learned": skill(sse_own), "ou": skill(sse_ou)}
    sk_b = {"shared": 1 - sh_b / ss_b, "learned": boot(sse_own), "ou": boot(sse_ou)}
    sk["learned_minus_ou"] = sk["learned"] - sk["ou"]
    sk_b["learned_minus_ou"] = sk_b["learned"] - sk_b["ou"]
    sk["shared_minus_learned"] = sk["shared"] - sk["learned"]
    sk_b["shared_minus_learned"] = sk_b["shared"] - sk_b["learned"]
    null_skill = np.empty((n_null, n_lv))
    null_z = np.full(n_null, np.nan)
    build = null_levels if null_levels is not None else _builtin_null(arrays, null)
    for d in progress_bar(range(n_null), enable=progress, desc="learned dynamics nulls"):
        for lv in range(n_lv):
            h = rng.permuted(std[lv][:, n_train:], axis=1)
            h0, h1 = ks.blocks(h, opts["n_blocks"])
            err = ks.block_sse(h0, h1, flow_map(own[lv], h0, 1.0)).sum()
            null_skill[d, lv] = 1 - err / (h1**2).sum()
        surrogate, _ = _check_levels(list(build(rng)), s)
        null_z[d] = _fit_z(surrogate, s, opts, rng)
    for note in notes:
        warn_user(f"learned_dynamic_scaling: {note}", UserWarning)
    out = _dataset(
        s, z, z_b, z_refit, horizon, sk, sk_b, null_skill, null_z, own, train_mse, dropped
    )
    out = out.assign(corrected_z(float(out["z"]), float(out["z_se"]), z_sim, sigma, CI_LEVEL))
    out.attrs.update(
        {
            "analysis": "learned_dynamic_scaling",
            "model": "per level, one drift network f shared by the level's standardized "
            "variables: x(t+1) = Phi_1(x(t)) + noise, Phi_T the flow of dx/dt = f(x) (RK4, "
            "substeps <= 0.25), f(x) = a x + b + sum_k w_k tanh(u_k x + c_k)",
            "shared_definition": "the finest level's f integrated over T_l = (scale(0) / "
            "scale(l)) ** z_raw steps at level l",
            "z_definition": "z_raw maximises the summed held-out one-step skill of the shared "
            "law on levels 1.. (grid step 0.05 over z_range, parabolic refinement); z = z_raw "
            "- z_bias (ci_method)",
            "skill_definition": "1 - sum (x(t+1) - prediction)^2 / sum x(t+1)^2 over held-out "
            "one-step pairs (each variable standardized over the whole series)",
            "ou_definition": "x(t+1) = a x(t), a the least-squares slope on the training part",
            "ci_level": CI_LEVEL,
            "ci_method": f"skills: percentile block bootstrap, {n_boot} replicates of "
            f"{opts['n_blocks']} contiguous held-out blocks, networks kept fixed; z: bias-"
            f"corrected by a parametric bootstrap, z = z_raw - z_bias, z_bias = mean of z over "
            f"{n_bias} reruns of the whole procedure on levels simulated from the fitted "
            "finest-level SDE dx = f dt + sim_sigma dW (Euler-Maruyama, sim_sigma from the "
            "training residuals by the linear noise approximation) with time stretched by "
            "(scale(l) / scale(0)) ** z_raw; z +- t(0.975, n_bias - 1) z_se, z_se = "
            "hypot(max(SD of the reruns, z_raw_se), SD / sqrt(n_bias)); z_raw_se = hypot(SD "
            "of z_raw over the held-out bootstrap (z refitted on every replicate), SD of z_raw "
            f"over {opts['n_refit']} refits of the finest-level network on block-bootstrap "
            f"replicates of the training time ({_TRAIN_PARTS} contiguous parts), new "
            "initialisation each)",
            "skill_null": "time shuffle: each variable's held-out bins permuted; the level's "
            "own network",
            "z_null": null_name
            if null_levels is not None
            else f"{null} surrogates of randomly chosen finest-level variables at every level "
            "(one dynamics, no rescaling: z = 0 expected); network and z refitted per draw",
            "null_band_level": NULL_BAND_LEVEL,
            "n_time": int(n_time),
            "n_train": int(n_train),
            "n_pairs": int(n_pairs),
            "hidden": opts["hidden"],
            "optimizer": opts["optimizer"],
            "n_steps": opts["n_steps"],
            "n_bias": int(n_bias),
            "learning_rate": opts["learning_rate"],
            "z_range": np.asarray(z_range, dtype=float),
            "n_units": np.asarray([a.shape[0] for a in std], dtype=np.int64),
            "notes": json.dumps(notes),
        }
    )
    return out


def _dataset(s, z, z_b, z_refit, horizon, sk, sk_b, null_skill, null_z, own, train_mse, dropped):
    """Assemble the result (numbers as variables on named dims)."""
    lvl = ("level",)
    q = [50 * (1 - CI_LEVEL), 50 * (1 + CI_LEVEL)]
    data = {"horizon_shared": (lvl, horizon)}
    for name in ("shared", "learned", "ou", "learned_minus_ou", "shared_minus_learned"):
        key = name if "minus" in name else f"skill_{name}"
        reps = sk_b[name]
        lo, hi = np.full(len(s), np.nan), np.full(len(s), np.nan)
        ok = np.isfinite(reps).sum(axis=0) >= 2
        if np.any(ok):
            lo[ok], hi[ok] = np.nanpercentile(reps[:, ok], q, axis=0)
        data.update({key: (lvl, sk[name]), f"{key}_ci_low": (lvl, lo), f"{key}_ci_high": (lvl, hi)})
    sk_lo, sk_hi = prediction_band(null_skill, NULL_BAND_LEVEL, axis=0)
    nz_lo, nz_hi = prediction_band(null_z, NULL_BAND_LEVEL)
    se_held = float(np.nanstd(z_b, ddof=1)) if np.isfinite(z_b).sum() >= 2 else np.nan
    se_train = float(np.nanstd(z_refit, ddof=1)) if np.isfinite(z_refit).sum() >= 2 else np.nan
    z_se = float(np.hypot(se_held, se_train))
    null_sd = float(np.nanstd(null_z, ddof=1)) if np.isfinite(null_z).sum() >= 2 else np.nan
    data.update(
        {
            "train_mse": (lvl, np.asarray(train_mse)),
            "n_dropped": (lvl, np.asarray(dropped, dtype=np.int64)),
            "null_skill": (("draw", "level"), null_skill),
            "null_skill_mean": (lvl, null_skill.mean(axis=0)),
            "null_skill_band_low": (lvl, sk_lo),
            "null_skill_band_high": (lvl, sk_hi),
            "drift_learned": (("level", "x"), np.stack([drift(p, _DRIFT_X) for p in own])),
            "drift_shared": (("level", "x"), horizon[:, None] * drift(own[0], _DRIFT_X)),
            "z": ((), z),
            "z_se": ((), z_se),
            "z_ci_low": ((), z - _Z95 * z_se),
            "z_ci_high": ((), z + _Z95 * z_se),
            "z_se_heldout": ((), se_held),
            "z_se_training": ((), se_train),
            "z_bootstrap": (("boot",), z_b),
            "z_refit": (("refit",), z_refit),
            "null_z": (("draw",), null_z),
            "null_z_mean": ((), float(np.nanmean(null_z))),
            "null_z_band_low": ((), float(nz_lo)),
            "null_z_band_high": ((), float(nz_hi)),
            "z_vs_null": ((), float((z - np.nanmean(null_z)) / np.hypot(z_se, null_sd))),
        }
    )
    return xr.Dataset(
        data,
        coords={
            "level": np.arange(len(s)),
            "scale": ("level", s),
            "draw": np.arange(null_skill.shape[0]),
            "x": _DRIFT_X,
        },
    )
