"""Report section: pairwise and K-pairwise maximum-entropy fits of binary activity."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_int, check_random_state
from ...activity import check_activity, drop_constant_units, stack_trials
from ...diagnostics.count_fit import count_distribution_z
from ...maxent.pairwise import IndependentMaxEnt, KPairwiseMaxEnt, PairwiseMaxEnt

__all__ = ["add_maxent_section", "skip_reason"]

SECTION = "Maximum-entropy models"


def skip_reason(activity: xr.DataArray) -> str | None:
    """Why the section does not apply: pairwise models describe binary (0/1 or +-1) data."""
    v = np.asarray(activity.values)
    if ((v == 0) | (v == 1)).all() or ((v == -1) | (v == 1)).all():
        return None
    other = v[(v != 0) & (v != 1) & (v != -1)]
    kind = activity.attrs.get("kind", "unstated")
    return (
        "pairwise and K-pairwise maximum-entropy models describe binary activity (0/1 or "
        f"+-1), and this recording (kind {kind!r}) has other values (e.g. {other.flat[0]:.4g}); "
        "binarize it first (e.g. events above a threshold) to fit them"
    )


def _choose_units(activity: xr.DataArray, n_units: int, rng: np.random.Generator) -> xr.DataArray:
    """Random subset (seeded) of the units that are not constant, in their order."""
    varying = drop_constant_units(activity)
    if n_units >= varying.sizes["unit"]:
        return varying
    return varying.isel(unit=np.sort(rng.choice(varying.sizes["unit"], n_units, replace=False)))


def _fmt_fit(model: PairwiseMaxEnt) -> str:
    state = "converged" if model.converged_ else "NOT converged"
    noise = f" + Monte Carlo {model.mc_allowance_:.2f}" if model.mc_allowance_ else ""
    fam = model.residual_families_
    bad = (fam.rms_z >= model.tol_rms) | (
        abs(fam.bias) >= fam.attrs["bias_tol"] + fam.bias_allowance
    )
    failing = [str(f) for f in fam.family.values[bad.values]]
    why = f"; failing on its own: {', '.join(failing)}" if failing else ""
    return (
        f"{model.method_} fit {state}: largest mismatch of means and second moments "
        f"{model.residual_:.2f} standard errors (tol {model.tol}{noise}), rms "
        f"{model.residual_rms_:.2f} (tol {model.tol_rms}){why}"
    )


def add_maxent_section(
    report: Any,
    activity: xr.DataArray,
    *,
    random_state: Any = 0,
    progress: bool = False,
    n_units: int = 20,
    k_pairwise: bool = True,
    l2: float = 0.0,
    name: str = "maxent",
) -> dict:
    """Fit independent, pairwise and K-pairwise models and add figures and results.

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Binary Activity (0/1 spikes or +-1 spins); trials are stacked.
    random_state : int or Generator
        Chooses the unit subsets and seeds the samplers.
    progress : bool
        Progress bars for Boltzmann learning.
    n_units : int
        Size of the random unit subset that is fitted (stated in the
        captions); all units if the activity has fewer. Up to 20 units the
        fits are exact (enumeration: exact predictions and the fraction of
        multi-information captured); more units use Boltzmann learning,
        whose Monte Carlo cost grows with the number of time bins.
    k_pairwise : bool
        Also fit the K-pairwise model.
    l2 : float
        L2 penalty. The default 0 gives moment matching; statistics never
        seen in the data (pairs that never co-fire, counts K never reached)
        then put their parameters at the ±20 bound, with a warning.
    name : str
        Prefix of figure and result names.

    Returns
    -------
    dict
        Headline numbers: residuals, rms z-scores of covariances and
        three-point correlations (model and independent null), the
        multi-information fraction.
    """
    activity = check_activity(activity, binary=True, allow_constant=True)
    if "trial" in activity.dims:
        activity = stack_trials(activity)
    n_units = check_int(n_units, "n_units", min_value=3)
    rng = check_random_state(random_state)
    out: dict[str, Any] = {}

    sub = _choose_units(activity, n_units, rng)
    n_sub = sub.sizes["unit"]
    if sub.attrs["n_dropped_constant_units"]:
        report.add_text(
            f"{sub.attrs['n_dropped_constant_units']} constant unit(s) are not fitted: "
            f"{sub.attrs['dropped_constant_units']}.",
            section=SECTION,
        )
    n_total = activity.sizes["unit"]
    t = activity.sizes["time"]
    subset_txt = (
        f"{n_sub} of {n_total} units (random subset, seed {random_state})"
        if n_sub < n_total
        else f"all {n_total} units"
    )
    seed = int(rng.integers(2**31))
    pair = PairwiseMaxEnt(method="auto", l2=l2, random_state=seed, progress=progress).fit(sub)
    gof = pair.goodness_of_fit(sub, random_state=seed)
    ind = IndependentMaxEnt().fit(sub)
    params = pair.to_dataset()
    report.add_result(params, f"{name}_pairwise_parameters", _fmt_fit(pair), section=SECTION)
    report.add_result(gof, f"{name}_pairwise_goodness_of_fit", section=SECTION)
    from ...viz.maxent import (
        plot_count_distribution,
        plot_couplings,
        plot_maxent_summary,
        plot_predicted_vs_observed,
    )

    a = gof.attrs
    caption = (
        f"Pairwise maximum-entropy model of {subset_txt}, {t} time bins, "
        f"l2={l2}. {_fmt_fit(pair)}. Covariances: rms z {a['rms_z_cov']:.2f} "
        f"(independent null {a['rms_z_cov_independent']:.1f}); three-point connected "
        f"correlations (not fitted, {gof.sizes['triplet']} random triplets): rms z "
        f"{a['rms_z_c3']:.2f} (independent null {a['rms_z_c3_independent']:.2f}); "
        "z = |model - data| / block standard error of the data."
    )
    if n_sub < n_total:
        caption += (
            f" Only a subset is fitted: Boltzmann learning of all {n_total} units does not yet "
            "reach the data's sampling error (docs/maxent.md, Performance)."
        )
    report.add_figure(
        plot_maxent_summary(params, gof), f"{name}_pairwise_summary", caption, section=SECTION
    )
    fig = plot_couplings(params, kind="matrix")
    report.add_figure(
        fig,
        f"{name}_pairwise_couplings",
        f"Couplings J_ij (0/1 coding, positive = co-activation favoured), {subset_txt}.",
        section=SECTION,
    )
    out.update(
        pairwise_residual=pair.residual_,
        pairwise_converged=bool(pair.converged_),
        rms_z_cov=a["rms_z_cov"],
        rms_z_cov_independent=a["rms_z_cov_independent"],
        rms_z_c3=a["rms_z_c3"],
        rms_z_c3_independent=a["rms_z_c3_independent"],
        n_units_fitted=n_sub,
        independent_log_likelihood=ind.log_likelihood_,
    )

    if k_pairwise:
        kp = KPairwiseMaxEnt(method="auto", l2=l2, random_state=seed, progress=progress).fit(sub)
        gof_k = kp.goodness_of_fit(sub, random_state=seed)
        report.add_result(
            kp.to_dataset(), f"{name}_kpairwise_parameters", _fmt_fit(kp), section=SECTION
        )
        report.add_result(gof_k, f"{name}_kpairwise_goodness_of_fit", section=SECTION)
        from matplotlib.figure import Figure

        fig = Figure(figsize=(10, 4), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2)
        plot_count_distribution(gof, ax=ax1)
        ax1.set_title("pairwise", fontsize=9)
        plot_count_distribution(gof_k, ax=ax2)
        ax2.set_title("K-pairwise", fontsize=9)
        z_pair, z_k, z_ind = (
            count_distribution_z(gof),
            count_distribution_z(gof_k),
            count_distribution_z(gof, "pk_independent"),
        )
        report.add_figure(
            fig,
            f"{name}_count_distribution",
            f"Distribution of the number K of active units among {subset_txt}: data "
            f"(bars: block SE) against the independent model (rms z {z_ind:.1f}), the "
            f"pairwise model (rms z {z_pair:.1f}, P(K) not fitted) and the K-pairwise model "
            f"(rms z {z_k:.1f}, P(K) fitted). {_fmt_fit(kp)}.",
            section=SECTION,
        )
        fig = Figure(figsize=(5, 4), layout="constrained")
        plot_predicted_vs_observed(gof_k, "c3", ax=fig.add_subplot())
        report.add_figure(
            fig,
            f"{name}_kpairwise_three_point",
            "K-pairwise model: predicted against observed connected three-point correlations "
            f"(not fitted), rms z {gof_k.attrs['rms_z_c3']:.2f}.",
            section=SECTION,
        )
        out.update(
            kpairwise_residual=kp.residual_,
            rms_z_pk_pairwise=z_pair,
            rms_z_pk_kpairwise=z_k,
            rms_z_pk_independent=z_ind,
        )

    if "multi_information_fraction" in a:
        frac = a["multi_information_fraction"]
        report.add_text(
            f"Exact pairwise fit of {subset_txt}: it captures {100 * frac:.1f}% of the "
            "multi-information (S_ind - S_pair) / (S_ind - S_data), with "
            f"S_ind = {a['entropy_independent']:.4f}, S_pair = {a['entropy_model']:.4f}, "
            f"S_data = {a['entropy_data_plugin']:.4f} nats (plug-in estimate from {t} samples; "
            "biased low for small samples, which lowers the fraction).",
            section=SECTION,
        )
        out["multi_information_fraction"] = frac
    return out
