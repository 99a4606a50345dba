"""Report section: real-space PRG scaling exponents with null models."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ...activity import check_activity, stack_trials
from ...coarse.prg import prg
from ...diagnostics.exponents import exponent_fit, fit_exponents
from ...diagnostics.nulls import (
    DEFAULT_N_SURROGATES,
    DEFAULT_NULLS,
    bin_width_sweep,
    run_with_nulls,
)
from ...viz.scaling import (
    plot_autocorrelation_collapse,
    plot_distribution_flow,
    plot_eigenvalue_collapse,
    plot_exponent_table,
    plot_scaling,
    spectrum_levels,
)

__all__ = ["add_scaling_section"]

_NAMES = {"alpha": "α̃", "beta": "β̃", "mu": "μ", "z": "z̃"}
_WHAT = {
    "alpha": "variance of the cluster sums ~ K^α̃ (independent units: 1, identical: 2)",
    "beta": "free energy of silence ~ K^β̃ (independent units: 1)",
    "mu": "cluster covariance spectra ~ (rank/K)^-μ",
    "z": "autocorrelation time τc ~ K^z̃",
}


def _fmt(table: xr.Dataset, cond: str, name: Any, sym: str) -> str:
    row = table.sel({cond: name, "exponent_name": sym})
    is_null = cond == "null" and name != "data"
    name = f"bin x{name}" if cond == "bin_factor" else name
    e, lo, hi = (float(row[v]) for v in ("exponent", "exponent_ci_low", "exponent_ci_high"))
    if not np.isfinite(e):
        return f"{name}: not fitted"
    if is_null:
        n = table.attrs.get("n_surrogates", "?")
        return (
            f"{name}: {_NAMES[sym]} = {e:.3f} (mean of {n} draws, "
            f"95% prediction band [{lo:.3f}, {hi:.3f}])"
        )
    ci = (
        f" [{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else " (no CI: too few independent time blocks)"
    )
    return f"{name}: {_NAMES[sym]} = {e:.3f}{ci}"


def _side_by_side(res: xr.Dataset, sym: str) -> str:
    return "; ".join(_fmt(res, "null", str(n), sym) for n in res["null"].values)


def _closest_null(res: xr.Dataset, sym: str) -> str:
    """Which null comes closest to the data, by how much, with the null's own spread."""
    nulls = [str(n) for n in res["null"].values if n != "data"]
    rows = []
    for n in nulls:
        sel = res.sel(null=n, exponent_name=sym)
        diff = float(res.sel(null="data", exponent_name=sym)["exponent"]) - float(sel["exponent"])
        if np.isfinite(diff):
            rows.append(
                (abs(diff), n, diff, float(sel["z_vs_data"]), float(sel["fraction_beyond_data"]))
            )
    if not rows:
        return ""
    _, n, diff, z, frac = min(rows)
    z_txt = (
        f"z = {z:.1f} with the data's standard error and the null's spread"
        if np.isfinite(z)
        else "no z (the data have no CI)"
    )
    return (
        f" Closest null: {n}, data - null mean = {diff:+.3f} ({z_txt}; "
        f"{frac:.0%} of its draws lie as far out as the data)."
    )


def _no_ci_note(fit: xr.Dataset) -> str:
    if fit.attrs.get("ci_note"):
        return f" No confidence interval: {fit.attrs['ci_note']}."
    return ""


def _mu_range(res: xr.Dataset, fit: xr.Dataset) -> str:
    """The mu fit range, and which drawn spectra lie outside it (drawn, not fitted)."""
    k_min, k_max = float(fit["k_min"]), float(fit["k_max"])
    if not np.isfinite(k_min):
        return ""
    sizes = res["cluster_size"].values
    drawn = [int(sizes[i]) for i in spectrum_levels(res)]  # exactly the figure's spectra
    outside = [k for k in drawn if not k_min <= k <= k_max]
    text = f" Fit range K = {k_min:g}-{k_max:g} ({fit.attrs.get('k_range_rule', 'requested')})"
    if outside:
        text += f"; the spectra at K = {outside} are drawn but not fitted"
    return text + "."


def _rebin_text(act: xr.DataArray, bin_counts: str) -> str:
    """How adjacent bins were merged, in the words that fit the data kind."""
    kind = act.attrs.get("kind", "continuous")
    if kind == "spikes":
        merged = "spike counts clipped to 0/1" if bin_counts == "clip" else "kept as counts"
        return f"adjacent bins summed, factor 1 = original; {merged}"
    if kind == "spins":
        return "adjacent samples summed, factor 1 = original; spins become sums"
    return f"adjacent time points summed ({kind} values), factor 1 = original"


def add_scaling_section(
    report: Any,
    activity: xr.DataArray,
    *,
    random_state: Any = 0,
    progress: bool = False,
    nulls: tuple[str, ...] | None = None,
    n_surrogates: int = DEFAULT_N_SURROGATES,
    n_levels: int | None = None,
    bin_factors: tuple[int, ...] | None = (1, 2, 4),
    bin_counts: str = "clip",
    holdout_check: bool = True,
    fit_kwargs: dict[str, Any] | None = None,
    section: str = "Real-space PRG scaling",
    name: str = "prg",
    **prg_options: Any,
) -> dict[str, float]:
    """Add the real-space PRG analysis of *activity* to *report*.

    Runs :func:`rgdata.diagnostics.run_with_nulls` (PRG + exponent fits on the
    data and each null), optionally :func:`bin_width_sweep`, and adds the
    scaling plots (variance, free energy, spectra collapse, autocorrelation
    collapse, distributions, exponent table) with captions stating every
    exponent with its confidence interval next to the nulls' values, plus the
    result Datasets and a table.

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Activity; trials are stacked into time for the data (and the
        ``trial_shuffle`` null is included by default).
    random_state : int or numpy.random.Generator
        Seeds the nulls.
    progress : bool
        Progress bars.
    nulls : tuple of str, optional
        Default ``("shuffle", "circular_shift", "random_pairing")`` plus
        ``"trial_shuffle"`` when *activity* has trials; each null runs over
        *n_surrogates* draws.
    n_surrogates : int
        Draws per null (at least 2), see
        :func:`rgdata.diagnostics.run_with_nulls`.
    n_levels : int, optional
        PRG levels (default: as :func:`rgdata.coarse.prg`).
    bin_factors : tuple of int or None
        Bin-width sweep factors (``None`` or a single factor: no sweep).
    bin_counts : {"clip", "count"}
        Spike rebinning rule of the sweep.
    holdout_check : bool
        Also run PRG with ``holdout=True`` (pairs chosen on the first half,
        quantities measured on the second) and report its exponents: free of
        the selection bias of greedy pairing.
    fit_kwargs : dict, optional
        Passed to :func:`rgdata.diagnostics.fit_exponent`.
    section, name : str
        Heading in the report; prefix of figure/result names.
    **prg_options
        Passed to :func:`rgdata.coarse.prg`.

    Returns
    -------
    dict
        ``{symbol: exponent, symbol_ci_low, symbol_ci_high, symbol_<null>
        (mean over draws), symbol_<null>_z (data vs null, see run_with_nulls),
        symbol_holdout}`` for alpha, beta, mu, z (where fitted).
    """
    act = check_activity(activity)
    has_trials = "trial" in act.dims
    if nulls is None:
        nulls = DEFAULT_NULLS + (("trial_shuffle",) if has_trials else ())
    res = run_with_nulls(
        act,
        tuple(nulls),
        n_surrogates=n_surrogates,
        random_state=random_state,
        fit_kwargs=fit_kwargs,
        progress=progress,
        n_levels=n_levels,
        **prg_options,
    )
    data = res.sel(null="data")
    fits = {
        str(s): exponent_fit(data, str(s))
        for s in data["exponent_name"].values
        if str(data["exponent_quantity"].sel(exponent_name=s).values)
    }
    fitted = [s for s in ("alpha", "beta", "mu", "z") if s in fits]
    t_note = " Trials were stacked into one time axis." if has_trials else ""
    ci_note = (
        "CIs come from fits on contiguous time blocks "
        f"({res.attrs['n_blocks']} blocks of {res.attrs['block_length']} samples, Student-t "
        "on the block exponents); they are given only when at least 5 blocks of at least "
        "3 integrated autocorrelation times of the coarse-grained variables fit in the "
        "recording."
        + (f" Here: {res.attrs['block_note']}." if res.attrs.get("block_note") else "")
        + f" Each null is {res.attrs['n_surrogates']} seeded draws, shown as their mean and "
        "95% prediction band (mean +- t sd sqrt(1 + 1/n): where one more draw would fall)."
    )
    report.add_text(
        f"Real-space phenomenological RG (Meshulam et al. 2019): the most correlated units "
        f"are paired greedily, summed and renormalized ({res.attrs['normalization']}), "
        f"giving clusters of K = 1 ... {int(data['cluster_size'][-1])} units from "
        f"{res.attrs['n_units']} units x {res.attrs['n_time']} time bins.{t_note} Each null "
        f"is analysed by the same pipeline: {', '.join(nulls)}. {ci_note} Under greedy "
        "pairing, independent units give alpha slightly above 1 (chance correlations are "
        "selected, O(sqrt(ln N / T_eff)) with T_eff the number of independent samples). The "
        "shuffle also destroys each unit's autocorrelation (T_eff = T), so it understates "
        "that baseline on autocorrelated data; the circular shift keeps each unit's "
        "autocorrelation and is the baseline to read the data against there.",
        section=section,
    )
    params = {
        "n_levels": res.attrs["n_levels"],
        "normalization": res.attrs["normalization"],
        "nulls": list(nulls),
        "random_state": res.attrs["random_state"],
    }
    for quantity, sym in (("variance", "alpha"), ("silence_free_energy", "beta"), ("tau_c", "z")):
        if sym not in fitted:
            continue
        fig = plot_scaling(res, quantity)
        fit = fits[sym]
        significant = bool(fit["curvature_significant"])
        report.add_figure(
            fig,
            f"{name}_{quantity}",
            f"{_WHAT[sym]}. {_side_by_side(res, sym)}.{_closest_null(res, sym)}"
            f"{_no_ci_note(fit)} Fit range K = {float(fit['k_min']):g}-"
            f"{float(fit['k_max']):g} ({fit.attrs['k_range_rule']}), "
            f"R² = {float(fit['r2']):.3f}; curvature "
            f"{'significant' if significant else 'not significant'} "
            f"(quadratic term {float(fit['curvature']):.3g}"
            + (
                f"; slopes {float(fit['slope_lower_half']):.3f} over the lower and "
                f"{float(fit['slope_upper_half']):.3f} over the upper half of the range"
                if significant
                else ""
            )
            + "). Error bars: sd across time blocks.",
            section=section,
            params=params,
        )
    if "mu" in fitted:
        fig = plot_eigenvalue_collapse(res)
        report.add_figure(
            fig,
            f"{name}_eigenvalue_collapse",
            f"Rank-ordered covariance spectra of the clusters vs rank/K. {_WHAT['mu']}. "
            f"{_side_by_side(res, 'mu')}.{_closest_null(res, 'mu')}"
            f"{_no_ci_note(fits['mu'])}{_mu_range(res, fits['mu'])}",
            section=section,
            params=params,
        )
    fig = plot_autocorrelation_collapse(res)
    report.add_figure(
        fig,
        f"{name}_autocorrelation_collapse",
        "Cluster-averaged autocorrelation vs lag / τc(K) (τc: first drop below 1/e, "
        f"in samples; levels where it never fell below 1/e within max_lag = "
        f"{res.attrs['max_lag']} give only a lower bound and are left out of the z̃ fit). "
        f"{_side_by_side(res, 'z')}.",
        section=section,
        params=params,
    )
    fig = plot_distribution_flow(res)
    report.add_figure(
        fig,
        f"{name}_distributions",
        "Distribution of the normalized coarse-grained variables at each level "
        f"({res.attrs['distribution_definition']}).",
        section=section,
        params=params,
    )
    fig = plot_exponent_table(res)
    report.add_figure(
        fig,
        f"{name}_exponents",
        "Exponents with confidence intervals (data) and 95% prediction bands over draws (nulls), "
        "side by side: " + " | ".join(f"{_NAMES[s]}: {_side_by_side(res, s)}" for s in fitted),
        section=section,
        params=params,
    )
    rows = []
    for n in res["null"].values:
        row = {"run": str(n)}
        for s in fitted:
            sel = res.sel(null=n, exponent_name=s)
            row[s] = float(sel["exponent"])
            row[f"{s}_ci_low"] = float(sel["exponent_ci_low"])
            row[f"{s}_ci_high"] = float(sel["exponent_ci_high"])
        rows.append(row)
    report.add_table(rows, f"{name}_exponents", "PRG exponents (data and nulls)", section=section)
    report.add_result(
        res, f"{name}_nulls", "PRG levels and exponents, data and nulls", section=section
    )

    summary: dict[str, float] = {}
    for s in fitted:
        d = res.sel(null="data", exponent_name=s)
        summary[s] = float(d["exponent"])
        summary[f"{s}_ci_low"] = float(d["exponent_ci_low"])
        summary[f"{s}_ci_high"] = float(d["exponent_ci_high"])
        for n in nulls:
            summary[f"{s}_{n}"] = float(res.sel(null=n, exponent_name=s)["exponent"])
            summary[f"{s}_{n}_z"] = float(res.sel(null=n, exponent_name=s)["z_vs_data"])
        report.add_headline(
            f"{_NAMES[s]}: {_WHAT[s]}",
            float(d["exponent"]),
            ci_low=float(d["exponent_ci_low"]),
            ci_high=float(d["exponent_ci_high"]),
            nulls=[
                {
                    "name": str(n),
                    "mean": float(res.sel(null=n, exponent_name=s)["exponent"]),
                    "band_low": float(res.sel(null=n, exponent_name=s)["exponent_ci_low"]),
                    "band_high": float(res.sel(null=n, exponent_name=s)["exponent_ci_high"]),
                }
                for n in nulls
            ],
            note=str(d["exponent_status"].values) if "exponent_status" in d else "",
            section=section,
        )

    if holdout_check:
        stacked = stack_trials(act) if has_trials else act
        held = prg(stacked, n_levels=n_levels, holdout=True, **prg_options)
        held = fit_exponents(
            held, tuple(fits[s].attrs["quantity"] for s in fitted), **(fit_kwargs or {})
        )
        parts = []
        for s in fitted:
            row = held.sel(exponent_name=s)
            e, lo, hi = (float(row[v]) for v in ("exponent", "exponent_ci_low", "exponent_ci_high"))
            summary[f"{s}_holdout"] = e
            ci = (
                f"[{lo:.3f}, {hi:.3f}]"
                if np.isfinite(lo)
                else "(no CI: too few independent time blocks in the held-out half)"
            )
            parts.append(f"{_NAMES[s]} = {e:.3f} {ci}")
        report.add_text(
            "Hold-out check (pairs chosen on the first half of the recording, every quantity "
            "measured on the second half, so chance correlations cannot be selected): "
            + "; ".join(parts)
            + ". Same-data values: "
            + ", ".join(f"{_NAMES[s]} = {summary[s]:.3f}" for s in fitted)
            + ".",
            section=section,
        )
        report.add_result(
            held, f"{name}_holdout", "PRG with hold-out pairing (data)", section=section
        )

    if bin_factors is not None and len(bin_factors) > 1:
        sweep = bin_width_sweep(
            act,
            tuple(bin_factors),
            counts=bin_counts,
            random_state=random_state,
            fit_kwargs=fit_kwargs,
            progress=progress,
            n_levels=n_levels,
            **prg_options,
        )
        fig = plot_exponent_table(sweep)
        text = " | ".join(
            f"{_NAMES[s]}: "
            + "; ".join(_fmt(sweep, "bin_factor", int(f), s) for f in sweep["bin_factor"].values)
            for s in fitted
        )
        report.add_figure(
            fig,
            f"{name}_bin_width",
            f"Exponents vs time-bin width ({_rebin_text(act, bin_counts)}). {text}",
            section=section,
            params=dict(params, bin_factors=list(bin_factors)),
        )
        report.add_result(sweep, f"{name}_bin_width", "Exponents vs bin width", section=section)
    return summary
