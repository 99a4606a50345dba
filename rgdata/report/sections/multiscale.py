"""Report section: multi-scale self-dissimilarity (MS3D) along the PRG tree and the dynamics
across PRG levels, each against its null."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_random_state
from ...activity import check_activity, drop_constant_units, stack_trials
from ...coarse.prg import prg
from ...diagnostics.dynamics_levels import prg_dynamics
from ...diagnostics.ms3d import ms3d_tree
from ...viz.multiscale import plot_dynamic_scaling, plot_ms3d, plot_prediction_skill

__all__ = ["add_multiscale_section"]


def _ci(ds: xr.Dataset, var: str, digits: int = 3) -> str:
    v, lo, hi = (float(ds[k]) for k in (var, f"{var}_ci_low", f"{var}_ci_high"))
    return f"{v:.{digits}g} (95% CI {lo:.{digits}g} to {hi:.{digits}g})"


def _ms3d_caption(ms: xr.Dataset) -> str:
    d = ms["dissimilarity"].values
    k = ms["scale"].values
    per_scale = "; ".join(
        f"K={int(s)}: {v:.3f} +- {e:.3f} (null {m:.3f}, band {lo:.3f}-{hi:.3f})"
        for s, v, e, m, lo, hi in zip(
            k,
            d,
            ms["dissimilarity_se"].values,
            ms["null_dissimilarity_mean"].values,
            ms["null_dissimilarity_band_low"].values,
            ms["null_dissimilarity_band_high"].values,
            strict=True,
        )
    )
    left = ms.attrs["n_left_out"]
    left_txt = (
        f" {left} unit(s) that odd cluster counts leave out of the top level are left out of "
        f"every level ({ms.attrs['n_units']} scored)."
        if left
        else ""
    )
    return (
        "Multi-scale structural self-dissimilarity along the PRG tree: at time t the field is "
        "the vector of z-scored units, the blocks are the PRG clusters of K units, and D(K) is "
        "the fraction of the across-unit variance removed by replacing each unit by its "
        "cluster mean (0: units move together inside clusters; M(1 - 1/K)/(M - 1) for "
        f"independent units in random clusters). MS3D = sum over K = {_ci(ms, 'ms3d')}; null "
        f"({ms.attrs['null']}; {ms.attrs['n_null']} draws, so the null carries the selection "
        "bias of greedy pairing) "
        f"{float(ms['null_ms3d_mean']):.3g} (95% prediction band "
        f"{float(ms['null_ms3d_band_low']):.3g} to {float(ms['null_ms3d_band_high']):.3g}). "
        f"Per scale (+- jackknife SE over {ms.attrs['ci_method'].split(' over ')[1]}): "
        f"{per_scale}.{left_txt}"
    )


def _dynamics_caption(dyn: xr.Dataset) -> str:
    tau = dyn["tau"].values
    k = dyn["scale"].values
    taus = ", ".join(
        f"K={int(s)}: {t:.3g} [{lo:.3g}, {hi:.3g}]"
        for s, t, lo, hi in zip(
            k, tau, dyn["tau_ci_low"].values, dyn["tau_ci_high"].values, strict=True
        )
    )
    null = ""
    if "null_z" in dyn:
        null = (
            f" Null ({dyn.attrs['z_null']}, {dyn.sizes['draw']} draws): z = "
            f"{float(dyn['null_z_mean']):.2f} (95% band {float(dyn['null_z_band_low']):.2f} to "
            f"{float(dyn['null_z_band_high']):.2f}); data vs null z-score "
            f"{float(dyn['z_vs_null']):.1f}."
        )
    return (
        "Dynamics across PRG levels: one OU model per level (shared by its z-scored cluster "
        "sums), tau = e-folding time of the pooled autocorrelation, in time bins. "
        f"tau ~ K^z with z = {_ci(dyn, 'z')} (bootstrap SE {float(dyn['z_se']):.2g}, "
        f"{dyn.attrs['ci_method']}). tau per level [95% CI]: {taus}.{null}"
    )


def _skill_caption(dyn: xr.Dataset) -> str:
    rows = []
    fast = int((dyn["tau"].values < 1).sum())
    for i in range(1, dyn.sizes["level"]):
        rows.append(
            f"K={int(dyn['scale'].values[i])}: own {dyn['skill_own'].values[i]:.3f}, "
            f"rescaled {dyn['skill_transfer'].values[i]:.3f} "
            f"[{dyn['skill_transfer_ci_low'].values[i]:.3f}, "
            f"{dyn['skill_transfer_ci_high'].values[i]:.3f}], null "
            f"{dyn['null_skill_mean'].values[i]:.3f}"
        )
    return (
        "Prediction skill 1 - MSE/variance at the horizon of each level's own tau: the level's "
        "own OU model against the model of the level below with its time rescaled by "
        "(K ratio)^z (one law for all levels), and against the own model on time-shuffled data "
        "(no dynamics: about -e^-2 = -0.135). An exact OU at its own tau scores e^-2 = 0.135; "
        "a rescaled model as good as the own one means the levels follow one rescaled law. "
        + (
            f"{fast} level(s) decorrelate within one time bin (tau < 1): there the horizon is "
            "one bin and the OU map predicts little (negative skill = worse than predicting "
            "the mean). "
            if fast
            else ""
        )
        + "; ".join(rows)
        + "."
    )


def add_multiscale_section(
    report: Any,
    activity: xr.DataArray,
    *,
    random_state: Any = 0,
    progress: bool = False,
    n_levels: int | None = None,
    n_null: int = 10,
    n_boot: int = 200,
    max_time: int | None = 20000,
    section: str = "Multi-scale self-similarity",
    name: str = "multiscale",
    **options: Any,
) -> dict[str, float]:
    """Add MS3D along the PRG tree and the dynamic scaling across PRG levels to *report*.

    Runs :func:`rgdata.coarse.prg` (correlation pairing), then
    :func:`rgdata.diagnostics.ms3d_tree` (shuffled null) and
    :func:`rgdata.diagnostics.prg_dynamics` (circular-shift null for ``z``,
    time-shuffled null for the skills), with figures, captions stating
    every number with its error bar and null, and both result Datasets. A
    diagnostic that does not apply (too few levels, no relaxation) is
    stated in the text instead.

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Activity; trials are stacked into time, constant units dropped
        (warned and stated).
    random_state : int or numpy.random.Generator
        Seeds PRG's tie-breaking, the nulls and the bootstrap.
    progress : bool
        Progress bars.
    n_levels : int, optional
        PRG levels (default as :func:`rgdata.coarse.prg`).
    n_null, n_boot : int
        Null draws and bootstrap replicates.
    max_time : int or None
        Analyse the first *max_time* time points only (after stacking
        trials; stated in the text), which keeps the section under a minute
        on the shipped data; None: all of them.
    section, name : str
        Heading and file-name stem.
    **options
        Passed to :func:`rgdata.diagnostics.prg_dynamics` (``null``, ``max_lag``).

    Returns
    -------
    dict
        ``ms3d``, ``ms3d_se``, ``null_ms3d``, ``z_dynamic``, ``z_dynamic_ci_low``,
        ``z_dynamic_ci_high``, ``null_z_dynamic`` (NaN where not computed).
    """
    rng = check_random_state(random_state)
    act = check_activity(activity, allow_constant=True)
    if "trial" in act.dims:
        act = stack_trials(act)
    n_total = act.sizes["time"]
    if max_time is not None and n_total > max_time:
        act = act.isel(time=slice(0, max_time))
    act = drop_constant_units(act)
    n_dropped = int(act.attrs.get("n_dropped_constant_units", 0))
    res = prg(act, n_levels=n_levels, random_state=int(rng.integers(2**31)))
    out = dict.fromkeys(
        ("ms3d", "ms3d_se", "null_ms3d", "z_dynamic", "z_dynamic_ci_low", "z_dynamic_ci_high"),
        float("nan"),
    )
    out["null_z_dynamic"] = float("nan")
    used = act.sizes["time"]
    intro = (
        f"{act.sizes['unit']} units, "
        + (
            f"the first {used} of {n_total} time points"
            if used < n_total
            else f"all {used} time points"
        )
        + (" (trials stacked into time)" if "trial" in activity.dims else "")
        + f"; PRG levels K = {', '.join(str(int(k)) for k in res['cluster_size'].values)}."
    )
    if n_dropped:
        intro += f" {n_dropped} constant unit(s) dropped first."
    report.add_text(intro, section=section)
    try:
        ms = ms3d_tree(act, res, n_null=n_null, random_state=rng, progress=progress)
    except ValueError as err:
        report.add_text(f"MS3D not computed: {err}", section=section)
    else:
        report.add_figure(
            plot_ms3d(ms),
            f"{name}_ms3d",
            _ms3d_caption(ms),
            section=section,
            params={"n_null": n_null},
        )
        report.add_result(ms, f"{name}_ms3d", "MS3D along the PRG tree.", section=section)
        report.add_headline(
            "MS3D: variance removed by coarse-graining, summed over PRG levels",
            float(ms["ms3d"]),
            ci_low=float(ms["ms3d_ci_low"]),
            ci_high=float(ms["ms3d_ci_high"]),
            nulls=[
                {
                    "name": str(ms.attrs["null"]),
                    "mean": float(ms["null_ms3d_mean"]),
                    "band_low": float(ms["null_ms3d_band_low"]),
                    "band_high": float(ms["null_ms3d_band_high"]),
                }
            ],
            section=section,
        )
        out.update(
            ms3d=float(ms["ms3d"]),
            ms3d_se=float(ms["ms3d_se"]),
            null_ms3d=float(ms["null_ms3d_mean"]),
        )
    try:
        dyn = prg_dynamics(
            act,
            res,
            n_null=n_null,
            n_boot=n_boot,
            random_state=rng,
            progress=progress,
            **options,
        )
    except ValueError as err:
        report.add_text(f"Dynamics across levels not computed: {err}", section=section)
        return out
    params = {"n_null": n_null, "n_boot": n_boot, **options}
    report.add_figure(
        plot_dynamic_scaling(dyn),
        f"{name}_dynamic_scaling",
        _dynamics_caption(dyn),
        section=section,
        params=params,
    )
    report.add_figure(
        plot_prediction_skill(dyn),
        f"{name}_prediction_skill",
        _skill_caption(dyn),
        section=section,
        params=params,
    )
    report.add_result(dyn, f"{name}_dynamics", "Dynamics across PRG levels.", section=section)
    report.add_headline(
        "z (dynamics): relaxation time across PRG levels ~ K^z",
        float(dyn["z"]),
        ci_low=float(dyn["z_ci_low"]),
        ci_high=float(dyn["z_ci_high"]),
        nulls=[
            {
                "name": str(dyn.attrs["z_null"]),
                "mean": float(dyn["null_z_mean"]),
                "band_low": float(dyn["null_z_band_low"]),
                "band_high": float(dyn["null_z_band_high"]),
            }
        ]
        if "null_z_mean" in dyn
        else None,
        section=section,
    )
    out.update(
        z_dynamic=float(dyn["z"]),
        z_dynamic_ci_low=float(dyn["z_ci_low"]),
        z_dynamic_ci_high=float(dyn["z_ci_high"]),
        null_z_dynamic=float(dyn["null_z_mean"]) if "null_z_mean" in dyn else float("nan"),
    )
    if np.isfinite(out["z_dynamic"]):
        report.add_text(
            f"Dynamic exponent z = {out['z_dynamic']:.2f} (95% CI {out['z_dynamic_ci_low']:.2f} "
            f"to {out['z_dynamic_ci_high']:.2f}) against {out['null_z_dynamic']:.2f} for "
            "independently shifted units.",
            section=section,
        )
    return out
