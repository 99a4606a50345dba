"""Flow section: the quartic coupling along momentum-space RG and pairwise couplings across PRG
levels, each with its fitted RG map, fixed points and linearised eigenvalues."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_int, check_option, check_random_state
from ...activity import check_activity, drop_constant_units, stack_trials
from ...diagnostics.nulls import surrogate
from ...flow.model_choice import FLOW_MODELS, estimate_flow_auto, recorded
from ...flow.prg_flow import MAX_CLUSTERS, coupling_levels, prg_coupling_flow, prg_couplings
from ...maxent.quartic import fit_quartic_flow
from ...viz import flow as vf
from .._report import Report
from ._text import plus_minus_sig as _pm

__all__ = ["add_flow_section"]

SECTION = "Parameter flows and fixed points"


def _flow_sentence(flow: xr.Dataset) -> str:
    parts = []
    for k in range(flow.sizes["fixed_point"]):
        fp = flow["fixed_points"].values[k, 0]
        fe = flow["fixed_points_err"].values[k, 0]
        lam = flow["eigenvalues_real"].values[k, 0]
        le = flow["eigenvalues_real_err"].values[k, 0]
        ghost = "" if flow["fixed_point_exact"].values[k] else " (ghost of a marginal point)"
        parts.append(
            f"fixed point {_pm(fp, fe)}{ghost} with eigenvalue {_pm(lam, le)} "
            f"({flow['stability'].values[k]})"
        )
    fixed = "; ".join(parts) if parts else "no fixed point"
    chi2 = flow.attrs["chi2_per_dof"]
    fit = (
        f" (chi2/dof = {chi2:.3g}; errors inflated by sqrt(chi2/dof))"
        if chi2 > 1
        else (f" (chi2/dof = {chi2:.3g})" if np.isfinite(chi2) else "")
    )
    choice = f" [{flow.attrs['model_choice']}]" if "model_choice" in flow.attrs else ""
    misfit = (
        " The polynomial map does not describe the flow within the error bars: read the fixed "
        "point and eigenvalue as indicative only."
        if chi2 > 4
        else ""
    )
    return (
        f"{flow.attrs['model']} map{fit}{choice}: {fixed}. "
        f"The fit {flow.attrs['flows_toward']}.{misfit}"
    )


def add_flow_section(
    report: Report,
    activity: xr.DataArray,
    *,
    name: str = "flow",
    random_state: Any = 0,
    progress: bool = False,
    fractions: Any = None,
    n_blocks: int = 20,
    flow_model: str = "auto",
    n_clusters: int = 10,
    coupling_blocks: int = 10,
    **options: Any,
) -> dict[str, Any]:
    """Quartic-coupling flow (any data) and PRG pairwise-coupling flow (binary data).

    1. :func:`rgdata.maxent.fit_quartic_flow` gives ``g`` of the unit-variance
       momentum-space coarse-grained variables at each kept fraction of
       modes (block-jackknife errors). The flow ``g_{k+1} = R(g_k)`` is fitted
       with :func:`rgdata.flow.estimate_flow` using the jackknife covariance
       between fractions (reference: the Gaussian fixed point ``g* = 0``).
       When the data are heavier-tailed than any ``g >= 0`` model at every
       fraction, the signed first-order coupling
       ``g_cumulant = -(kurtosis - 3) / 24`` is followed instead (said in the
       caption). Null: the same analysis after independent circular time
       shifts of every unit. Beside it, ``g_multi``: the first-order coupling
       of the multivariate model with the propagator of the kept modes (see
       :func:`rgdata.maxent.fit_quartic_flow`), with its jackknife errors.
    2. Binary data only: the PRG (:func:`rgdata.coarse.prg`) cluster tree; at
       every level with at least *n_clusters* clusters, *n_clusters* random
       clusters are binarised ("cluster active" = any spike) and an exact
       pairwise maximum-entropy model is fitted; the mean coupling ``J`` per
       level (jackknife over *coupling_blocks* time blocks, with its
       covariance between levels) and its fitted flow with fixed points.

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Activity; trials are stacked, constant units dropped (noted).
    name : str
        Prefix of figure and result names.
    random_state : None, int or Generator
        Seeds the null shifts, cluster choice and flow resampling.
    progress : bool
    fractions : array-like, optional
        Kept fractions of modes (default halvings down to 2 modes).
    n_blocks : int
        Time blocks of the quartic-flow jackknife.
    flow_model : {"auto", "linear", "quadratic"}
        Polynomial order of the fitted RG maps; ``"auto"`` fits both when
        there are at least 5 pairs of levels and keeps the smaller chi2/dof
        (both are stated in the caption).
    n_clusters : int
        Clusters per PRG level in the pairwise fits (2 to 16).
    coupling_blocks : int
        Time blocks of the coupling jackknife.
    **options
        Passed to :func:`rgdata.coarse.prg`.

    Returns
    -------
    dict
        Headline numbers: ``g_variable``, ``g_first``/``g_last`` with
        errors, ``g_multi_first``/``g_multi_last`` with errors and
        ``g_multi_null_last``, the g-flow fixed points/eigenvalues, ``toward_gaussian``,
        and for binary data ``J_levels``, ``J_fixed_points``,
        ``J_eigenvalues``.
    """
    check_option(flow_model, "flow_model", FLOW_MODELS)
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31))
    n_clusters = check_int(n_clusters, "n_clusters", min_value=2, max_value=MAX_CLUSTERS)
    activity = stack_trials(check_activity(activity, allow_constant=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # stated in the report just below
        activity = drop_constant_units(activity)
    n_const = activity.attrs["n_dropped_constant_units"]
    activity = check_activity(activity, allow_trials=False)
    kind = str(activity.attrs.get("kind", ""))
    out: dict[str, Any] = {}
    if n_const:
        report.add_text(
            f"{n_const} constant unit(s) dropped before the flow analyses.", section=SECTION
        )
    # ------------------------------------------------------------------ quartic flow
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quartic = fit_quartic_flow(activity, fractions, n_blocks=n_blocks, progress=progress)
        null = fit_quartic_flow(
            surrogate(activity, "circular_shift", random_state=rng),
            quartic["fraction"].values,
            n_blocks=n_blocks,
        )
    notes = recorded(caught)
    quartic.attrs["warnings"] = " | ".join(notes)
    use_cumulant = bool(np.all(quartic["at_boundary"].values == 1))
    var = "g_cumulant" if use_cumulant else "g"
    g, ge = quartic[var].values, quartic[f"{var}_err"].values
    ok = np.isfinite(g) & (ge > 0)
    g_da = xr.DataArray(
        g[ok][None, :, None],
        dims=("trajectory", "fraction", "parameter"),
        coords={"fraction": quartic["fraction"].values[ok], "parameter": [var]},
    )
    g_cov = quartic[f"{var}_cov"].values[np.ix_(ok, ok)]
    gflow = estimate_flow_auto(
        g_da, g_cov, model=flow_model, level_dim="fraction", random_state=seed, reference=0.0
    )
    n_null = null[var].values
    f_lo = quartic["fraction"].values[-1]
    caption = (
        f"Quartic coupling of the momentum-space coarse-grained variables (unit variance) "
        f"against the kept fraction of modes. {var} at fraction 1: {_pm(g[0], ge[0])}; at "
        f"fraction {f_lo:.3g}: {_pm(g[-1], ge[-1])}. Null (units shifted independently in "
        f"time): {_pm(n_null[0], null[f'{var}_err'].values[0])} and "
        f"{_pm(n_null[-1], null[f'{var}_err'].values[-1])}. Kurtosis goes from "
        f"{quartic['kurtosis'].values[0]:.3g} to {quartic['kurtosis'].values[-1]:.3g} "
        "(Gaussian: 3). Error bars: block jackknife over "
        f"{n_blocks} contiguous time blocks (their covariance between fractions enters the "
        "map fit)."
    )
    if use_cumulant:
        caption += (
            " The data are heavier-tailed than a Gaussian at every fraction, where the "
            "maximum-likelihood g (>= 0) sits at its boundary 0; the flow follows the signed "
            "first-order coupling g_cumulant = -(kurtosis - 3)/24 instead."
        )
    gm, gme = quartic["g_multi"].values, quartic["g_multi_err"].values
    gm_null, gme_null = null["g_multi"].values, null["g_multi_err"].values
    caption += (
        " Diamonds: g_multi, the coupling of the multivariate model (Bradde & Bialek 2017) with "
        "Gaussian couplings on the kept eigenmodes and one quartic coupling g on every unit, "
        "estimated to first order in g from kappa4_i = -24 g sum_j G_ij^4 (G the correlation "
        "matrix of the coarse-grained variables) by least squares over all units: "
        f"{_pm(gm[0], gme[0])} at fraction 1 and {_pm(gm[-1], gme[-1])} at fraction "
        f"{f_lo:.3g} (null {_pm(gm_null[0], gme_null[0])} and {_pm(gm_null[-1], gme_null[-1])}); "
        "same jackknife errors. Unlike g_cumulant it accounts for the propagator coupling the "
        "units, which grows as modes are removed. The null is not zero by construction: "
        "shifting the units independently in time keeps each unit's tails, and independent "
        "units give g_multi(f) = g_multi(1) f^2 (the kinematic fall from projecting them on "
        "fewer modes, docs/flows.md): compare the data with this null, not with 0."
    )
    if np.nanmax(np.abs(gm)) > 0.01:
        caption += (
            f" |g_multi| reaches {np.nanmax(np.abs(gm)):.2g}, where the first-order relation is "
            "not quantitative (relative bias about -40 g): read it there as a measure of "
            "non-Gaussianity normalised by the propagator, not as the model's coupling."
        )
    params = {"n_blocks": n_blocks, "flow_model": flow_model, "random_state": str(random_state)}
    report.add_figure(
        vf.plot_quartic_flow(quartic), f"{name}_quartic_g", caption, section=SECTION, params=params
    )
    report.add_result(quartic, f"{name}_quartic", "Quartic flow (g per fraction)", section=SECTION)
    report.add_result(
        null, f"{name}_quartic_null", "Quartic flow of the shifted null", section=SECTION
    )
    out.update(
        g_variable=var,
        g_first=float(g[0]),
        g_first_err=float(ge[0]),
        g_last=float(g[-1]),
        g_last_err=float(ge[-1]),
        g_null_last=float(n_null[-1]),
        g_multi_first=float(gm[0]),
        g_multi_first_err=float(gme[0]),
        g_multi_last=float(gm[-1]),
        g_multi_last_err=float(gme[-1]),
        g_multi_null_last=float(gm_null[-1]),
    )
    if gflow is not None:
        report.add_figure(
            vf.plot_flow_map(gflow),
            f"{name}_quartic_map",
            f"RG map of {var} between successive halvings of the kept modes. "
            + _flow_sentence(gflow),
            section=SECTION,
            params=params,
        )
        report.add_result(gflow, f"{name}_quartic_flow", f"Fitted flow of {var}", section=SECTION)
        out.update(
            g_fixed_points=gflow["fixed_points"].values[:, 0].tolist(),
            g_fixed_points_err=gflow["fixed_points_err"].values[:, 0].tolist(),
            g_eigenvalues=gflow["eigenvalues_real"].values[:, 0].tolist(),
            g_eigenvalues_err=gflow["eigenvalues_real_err"].values[:, 0].tolist(),
            toward_gaussian=int(gflow.attrs["toward_reference"]),
        )
    else:
        report.add_text(
            f"Too few finite {var} values ({int(ok.sum())}) to fit a flow map.", section=SECTION
        )
    # ------------------------------------------------------------------ PRG couplings
    if kind not in ("spikes", "spins"):
        report.add_text(
            "Pairwise couplings across PRG levels are computed for binary data only "
            f"(this activity is {kind!r}).",
            section=SECTION,
        )
        return out
    out.update(
        _coupling_flow(
            report,
            activity,
            name,
            rng,
            seed,
            n_clusters,
            coupling_blocks,
            flow_model,
            progress,
            options,
        )
    )
    return out


def _coupling_flow(
    report: Report,
    activity: xr.DataArray,
    name: str,
    rng: np.random.Generator,
    seed: int,
    n_clusters: int,
    coupling_blocks: int,
    flow_model: str,
    progress: bool,
    options: dict[str, Any],
) -> dict[str, Any]:
    n_unit = activity.sizes["unit"]
    if coupling_levels(n_unit, n_clusters) < 2:
        report.add_text(
            f"Only {n_unit} units: fewer than 3 PRG levels with {n_clusters} clusters; "
            "the coupling flow is skipped.",
            section=SECTION,
        )
        return {}
    couplings = prg_couplings(
        activity,
        n_clusters=n_clusters,
        n_blocks=coupling_blocks,
        random_state=rng,
        progress=progress,
        **options,
    )
    for lev in couplings.attrs["skipped_levels"]:
        report.add_text(
            f"PRG level {lev}: a chosen cluster is never or always active; level skipped.",
            section=SECTION,
        )
    report.add_result(
        couplings, f"{name}_prg_couplings", "Pairwise couplings per PRG level", section=SECTION
    )
    J_mean, J_err = couplings["mean_J"].values, couplings["mean_J_err"].values
    J_null, J_null_err = couplings["mean_J_null"].values, couplings["mean_J_null_err"].values
    sizes = couplings["cluster_size"].values
    ok = np.isfinite(J_mean) & (J_err > 0)
    result = {
        "J_levels": J_mean.tolist(),
        "J_levels_err": J_err.tolist(),
        "J_null_levels": [float(v) for v in J_null],
    }
    jflow = prg_coupling_flow(couplings, model=flow_model, random_state=seed)
    if jflow is None:
        report.add_text("Too few PRG levels with couplings to fit a flow map.", section=SECTION)
        return result
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4), layout="constrained")
    axes = fig.subplots(1, 2)
    vf.plot_flow_levels(jflow, ax=axes[0])
    vf.plot_flow_map(jflow, ax=axes[1])
    caption = (
        f"Mean pairwise coupling J of {n_clusters} random PRG clusters per level "
        "(cluster active = any spike; exact pairwise maximum entropy, 0/1 coding) for cluster "
        f"sizes {sizes[ok].tolist()}: "
        + ", ".join(_pm(v, e) for v, e in zip(J_mean[ok], J_err[ok], strict=True))
        + ". Null (same clusters, units shifted independently in time): "
        + ", ".join(_pm(v, e) for v, e in zip(J_null[ok], J_null_err[ok], strict=True))
        + ". (Sparse clusters have few coincidences, which makes J noisy and biased low; the "
        "null shows that floor.)"
        + f" Right: its RG map. {_flow_sentence(jflow)} Error bars: jackknife over "
        f"{coupling_blocks} time blocks (with their covariance between levels in the map fit)."
    )
    report.add_figure(
        fig,
        f"{name}_prg_couplings",
        caption,
        section=SECTION,
        params={"n_clusters": n_clusters, "flow_model": flow_model},
    )
    report.add_result(jflow, f"{name}_prg_coupling_flow", "Fitted flow of mean J", section=SECTION)
    result.update(
        J_fixed_points=jflow["fixed_points"].values[:, 0].tolist(),
        J_fixed_points_err=jflow["fixed_points_err"].values[:, 0].tolist(),
        J_eigenvalues=jflow["eigenvalues_real"].values[:, 0].tolist(),
        J_eigenvalues_err=jflow["eigenvalues_real_err"].values[:, 0].tolist(),
    )
    return result
