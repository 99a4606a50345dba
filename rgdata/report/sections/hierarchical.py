"""Report section: hierarchical maximum entropy fitted on the PRG tree, and the flow it implies."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_int, check_random_state
from ...activity import check_activity, drop_constant_units, stack_trials
from ...coarse import prg
from ...diagnostics.nulls import surrogate
from ...maxent import HierarchicalMaxEntFit, hierarchical_flow, prg_tree
from ...viz import flow as vf
from ...viz import hierarchical as vh
from .._report import Report
from ._text import plus_minus_sig as _pm

__all__ = ["add_hierarchical_section"]

SECTION = "Hierarchical maximum entropy"


def _fit(activity, tree, weights, n_blocks, binary):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = HierarchicalMaxEntFit(
            weights, statistics="tree" if binary else "pairwise", n_blocks=n_blocks
        ).fit(activity, tree=tree)
    return fit, [str(w.message) for w in caught]


def _flow(fit, seed):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            flow = hierarchical_flow(
                fit, parameters=["sibling"], n_resamples=200, random_state=seed
            )
        except ValueError as err:
            return None, [str(err)]
    return flow, [str(w.message) for w in caught]


def _fixed_sentence(flow: xr.Dataset | None) -> str:
    if flow is None:
        return "too few levels with couplings to fit a flow map (at least 3 are needed)"
    if flow.sizes["fixed_point"] == 0:
        return "no fixed point of the fitted linear map"
    fp, fe = flow["fixed_points"].values[0, 0], flow["fixed_points_err"].values[0, 0]
    lam, le = flow["eigenvalues_real"].values[0, 0], flow["eigenvalues_real_err"].values[0, 0]
    chi2 = flow.attrs["chi2_per_dof"]
    return (
        f"fixed point {_pm(fp, fe)} with eigenvalue {_pm(lam, le)} "
        f"({flow['stability'].values[0]}; chi2/dof {chi2:.3g})"
    )


def add_hierarchical_section(
    report: Report,
    activity: xr.DataArray,
    *,
    name: str = "hierarchical",
    random_state: Any = 0,
    progress: bool = False,
    n_blocks: int = 10,
    **options: Any,
) -> dict[str, Any]:
    """Hierarchical maxent on the PRG tree: fit per level, Pareto front, coupling flow, null.

    The PRG tree (:func:`rgdata.coarse.prg`, down to the deepest level that
    keeps every unit: ``prg_tree(result, max_level="auto")``) gives the
    coarse-graining; :class:`rgdata.maxent.HierarchicalMaxEntFit`
    fits binary data with the tree statistics (means and sibling products of
    counts, exact per cluster) and continuous data with the full covariance
    (Gaussian closed form). Three weight vectors trace the Pareto front: flat
    ``(1, 0, ..., 0)`` (ordinary maximum entropy), uniform ``(1, ..., 1)``
    (the main fit) and coarse-heavy ``(1, 2, 4, ...)``. The dimensionless
    sibling coupling per level (``flow_parameters``) is fed to
    :func:`rgdata.flow.estimate_flow` (jackknife covariance across levels)
    for the flat and uniform weights; the null is the uniform fit of the
    recording with every unit shuffled in time, on the same tree.

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Activity; trials are stacked, constant units dropped (noted).
    name : str
        Prefix of figure and result names.
    random_state : None, int or Generator
        Seeds PRG, the shuffle and the flow resampling.
    progress : bool
        Unused (the fits are short); accepted for the common signature.
    n_blocks : int
        Time blocks of the jackknife errors (10, the most the PRG exponent CIs use:
        rgdata.coarse MAX_BLOCKS).
    **options
        Passed to :func:`rgdata.coarse.prg`.

    Returns
    -------
    dict
        Headline numbers: ``residual``, ``sibling_first``/``_last`` with
        errors, ``null_sibling_last``, the flow's ``fixed_point``,
        ``eigenvalue`` (with errors) for the uniform weights.
    """
    del progress
    n_blocks = check_int(n_blocks, "n_blocks", min_value=2)
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31))
    activity = stack_trials(check_activity(activity, allow_constant=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # stated below
        activity = drop_constant_units(activity)
    n_const = activity.attrs["n_dropped_constant_units"]
    activity = check_activity(activity, allow_trials=False)
    v = np.asarray(activity.values)
    binary = bool(np.all((v == 0) | (v == 1)) or np.all((v == -1) | (v == 1)))
    result = prg(activity, random_state=seed, **options)
    tree = prg_tree(result, max_level="auto")
    n_lev = len(tree.maps) + 1
    level = n_lev - 1
    weights = {
        "flat (1, 0, ...)": np.r_[1.0, np.zeros(level)],
        "uniform (1, 1, ...)": np.ones(n_lev),
        "coarse-heavy (1, 2, 4, ...)": 2.0 ** np.arange(n_lev),
    }
    fits, notes = {}, []
    for label, w in weights.items():
        blocks = n_blocks if label != "coarse-heavy (1, 2, 4, ...)" else 2
        fits[label], caught = _fit(activity, tree, w, blocks, binary)
        notes += [f"{label}: {m}" for m in caught]
    main = fits["uniform (1, 1, ...)"]
    flat = fits["flat (1, 0, ...)"]
    shuffled = surrogate(activity, "shuffle", random_state=rng)
    null, caught = _fit(shuffled, tree, weights["uniform (1, 1, ...)"], n_blocks, binary)
    notes += [f"null: {m}" for m in caught]
    flow, caught = _flow(main, seed)
    notes += [f"flow: {m}" for m in caught]
    flat_flow, caught = _flow(flat, seed)
    notes += [f"flat flow: {m}" for m in caught]
    ds = main.to_dataset()
    model = (
        "binary (means and sibling products of counts, exact per cluster)"
        if binary
        else ("Gaussian (full covariance, closed form)")
    )
    out: dict[str, Any] = {"residual": main.residual_, "n_levels": n_lev}
    if n_const:
        report.add_text(f"{n_const} constant unit(s) dropped.", section=SECTION)
    dropped = int(np.size(main.dropped_units_))
    report.add_figure(
        vh.plot_hierarchical_statistics(ds),
        f"{name}_statistics",
        f"Hierarchical maximum-entropy model ({model}) on the PRG tree down to clusters of "
        f"{2**level} units ({main.tree_.sizes[0]} units"
        + (f"; {dropped} left out by PRG" if dropped else "")
        + f"), weights (1, ..., 1): fitted statistics against the data's, every level. Largest "
        f"residual {main.residual_:.2g} and rms {main.residual_rms_:.2g} data standard errors "
        f"(block errors, {n_blocks} contiguous time blocks); {len(main.beta_)} statistics, "
        f"{main.n_at_bound_} multiplier(s) at the bound ±20 W_L (statistics at the edge of their "
        "range).",
        section=SECTION,
        params={"n_blocks": n_blocks, "random_state": str(random_state), "prg_level": level},
    )
    report.add_result(ds, f"{name}_fit", "Uniform-weight fit per level", section=SECTION)
    ent = xr.DataArray(
        np.array([f.entropies_ for f in fits.values()]),
        dims=("weights", "level"),
        coords={"weights": list(weights), "level": ds["level"].values, "scale": ds["scale"]},
        name="entropy",
    )
    d_first = ent.values[:, 0] - ent.values[0, 0]
    d_last = ent.values[:, -1] - ent.values[0, -1]
    if binary:
        report.add_figure(
            vh.plot_pareto_entropies(ent),
            f"{name}_pareto",
            "Entropy of every level for three entropy weightings, relative to the flat one "
            "(ordinary maximum entropy of the same statistics). Level 1 (units) changes by "
            f"{d_first[1]:+.3g} (uniform) and {d_first[2]:+.3g} nats (coarse-heavy), the top "
            f"level by {d_last[1]:+.3g} and {d_last[2]:+.3g} nats: weighting coarse levels buys "
            "coarse-level entropy with fine-level entropy at fixed statistics (the entropies are "
            "of the fitted model; no error bars are drawn, the weights are not estimated).",
            section=SECTION,
        )
    else:
        report.add_text(
            "Pareto front: with the full covariance constrained, every weighting gives the same "
            "optimum, the Gaussian of the data's covariance (each level's entropy is at its "
            "Gaussian bound), so the per-level entropies are equal for all three weightings "
            f"(largest difference {np.max(np.abs(ent.values - ent.values[0])):.2g} nats); only "
            "the multipliers, and so the couplings and their flow, depend on the weights.",
            section=SECTION,
        )
    report.add_result(ent.to_dataset(), f"{name}_pareto", "Per-level entropies", section=SECTION)
    par, par_flat, par_null = (f.flow_parameters() for f in (main, flat, null))
    sib = par["params"].sel(parameter="sibling").values
    sib_e = par["errors"].sel(parameter="sibling").values
    ok = np.flatnonzero(np.isfinite(sib))
    first, last = ok[0], ok[-1]
    null_sib = par_null["params"].sel(parameter="sibling").values
    null_e = par_null["errors"].sel(parameter="sibling").values
    flat_sib = par_flat["params"].sel(parameter="sibling").values
    flat_e = par_flat["errors"].sel(parameter="sibling").values
    caption = (
        "Sibling coupling J_ab sd_a sd_b (mean over the pairs of variables that merge at the "
        "next level; the level's Boltzmann exponent -g_j / W_j in the basis h_a y_a + J_ab y_a "
        "y_b + J_aa y_a^2 / 2) against cluster size. Uniform weights: "
        f"{_pm(sib[first], sib_e[first])} at level {first + 1} and "
        f"{_pm(sib[last], sib_e[last])} at level {last + 1}; "
        f"{_fixed_sentence(flow)}. Flat weights (ordinary maximum entropy, levels by exact "
        f"marginalisation): {_pm(flat_sib[first], flat_e[first])} and "
        f"{_pm(flat_sib[last], flat_e[last])}; {_fixed_sentence(flat_flow)}. Null (every unit "
        f"shuffled in time, same tree, uniform weights): {_pm(null_sib[first], null_e[first])} "
        f"and {_pm(null_sib[last], null_e[last])}: nonzero because the weights alone induce "
        "couplings, so compare the data with this null, not with 0. Errors: block jackknife "
        f"({n_blocks} blocks), whose covariance across levels enters the map fit."
    )
    if flow is not None:
        import matplotlib.figure

        fig = matplotlib.figure.Figure(figsize=(10, 4), layout="constrained")
        axes = fig.subplots(1, 2)
        vf.plot_flow_levels(flow, ax=axes[0])
        if flat_flow is not None:
            vf.plot_flow_levels(flat_flow, ax=axes[0])
        vf.plot_flow_map(flow, ax=axes[1])
        report.add_figure(fig, f"{name}_flow", caption, section=SECTION)
        report.add_result(flow, f"{name}_flow", "Flow of the sibling coupling", section=SECTION)
        out.update(
            fixed_point=flow["fixed_points"].values[:, 0].tolist(),
            fixed_point_err=flow["fixed_points_err"].values[:, 0].tolist(),
            eigenvalue=flow["eigenvalues_real"].values[:, 0].tolist(),
            eigenvalue_err=flow["eigenvalues_real_err"].values[:, 0].tolist(),
        )
    else:
        report.add_text(caption, section=SECTION)
    if notes:
        report.add_text("Notes from the fits: " + " | ".join(sorted(set(notes))), section=SECTION)
    out.update(
        sibling_first=float(sib[first]),
        sibling_first_err=float(sib_e[first]),
        sibling_last=float(sib[last]),
        sibling_last_err=float(sib_e[last]),
        null_sibling_last=float(null_sib[last]),
    )
    return out
