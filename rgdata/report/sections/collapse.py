"""Report section: PRG exponents by scaling collapse, beside the log-log slopes and nulls."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_int, check_random_state
from ...activity import check_activity, stack_trials
from ...coarse.prg import prg
from ...diagnostics.collapse_data import prg_collapse
from ...diagnostics.exponents import fit_exponent
from ...diagnostics.nulls import surrogate
from ...viz.collapse import plot_collapse

__all__ = ["add_collapse_section", "COLLAPSE_NULLS"]

#: nulls drawn once each (each costs one PRG run): the circular shift keeps each unit's
#: autocorrelation and destroys the correlations between units, the baseline for mu; the
#: shuffle (also accepted) destroys the autocorrelation too, so z has nothing to collapse
COLLAPSE_NULLS = ("circular_shift",)
_ROWS = (("mu", "eigenvalues", "eigenvalues"), ("z", "autocorrelation", "tau_c"))
_SYM = {"mu": "μ", "z": "z̃"}
_MIN_CLUSTERS, _FALLBACK_CLUSTERS = 8, 4
_LABELS = {
    "mu": ("log rank", "log eigenvalue − μ log K"),
    "z": ("lag · K^−z̃ (samples)", "autocorrelation C"),
}


def _quiet(func, *args, **kwargs):
    """Run a library call, returning (result or None, the reason it failed, warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out, why = func(*args, **kwargs), ""
        except ValueError as err:
            out, why = None, str(err)
    return out, why, [str(w.message) for w in caught]


def _numbers(res: xr.Dataset, n_boot: int, seed: int) -> tuple[dict, dict]:
    """Collapse and slope exponents of one PRG result (NaN where not defined)."""
    rows, figs = {}, {}
    for sym, quantity, slope_q in _ROWS:
        col, why, _ = _quiet(prg_collapse, res, quantity, n_boot=n_boot, random_state=seed)
        used_min = _MIN_CLUSTERS
        if col is None and quantity == "eigenvalues" and "clusters" in why:
            # few units: levels of >= 4 clusters and K >= 2, said in the caption
            enough = res["n_clusters"].values >= _FALLBACK_CLUSTERS
            k_max = float(res["cluster_size"].values[enough].max()) if enough.any() else 1.0
            col, why2, _ = _quiet(
                prg_collapse,
                res,
                quantity,
                k_range=(2.0, max(k_max, 2.0)),
                n_boot=n_boot,
                random_state=seed,
            )
            if col is not None:
                used_min = _FALLBACK_CLUSTERS
                why = (
                    f"fewer than 3 levels of K >= 4 are averaged over >= {_MIN_CLUSTERS} "
                    f"clusters, so K = 2-{k_max:g} (>= {_FALLBACK_CLUSTERS} clusters) were "
                    "used; their cluster-to-cluster scatter is not in the errors"
                )
            else:
                why = why2
        fit, _, _ = _quiet(fit_exponent, res, slope_q)
        row = dict.fromkeys(
            ("collapse", "collapse_ci_low", "collapse_ci_high", "quality", "slope", "slope_ci_low")
            + ("slope_ci_high",),
            np.nan,
        )
        row["n_points"] = 0
        row["min_clusters"] = used_min
        row["note"] = why
        if col is not None:
            row.update(
                collapse=float(col["value"][0]),
                collapse_ci_low=float(col["ci_low"][0]),
                collapse_ci_high=float(col["ci_high"][0]),
                quality=float(col["quality"]),
                n_points=int(col["n_points"]),
            )
            figs[sym] = col
        if fit is not None:
            row.update(
                slope=float(fit["exponent"]),
                slope_ci_low=float(fit["ci_low"]),
                slope_ci_high=float(fit["ci_high"]),
            )
        rows[sym] = row
    return rows, figs


def _iv(row: dict, key: str) -> str:
    """``value [low, high]`` of *key* in a table row ("not defined" when NaN)."""
    v, lo, hi = (float(row.get(k, np.nan)) for k in (key, f"{key}_ci_low", f"{key}_ci_high"))
    if not np.isfinite(v):
        return "not defined"
    return f"{v:.3f} [{lo:.3f}, {hi:.3f}]" if np.isfinite(lo) else f"{v:.3f} (no CI)"


def add_collapse_section(
    report: Any,
    activity: xr.DataArray,
    *,
    random_state: Any = 0,
    progress: bool = False,
    nulls: tuple[str, ...] = COLLAPSE_NULLS,
    n_boot: int = 100,
    n_levels: int | None = None,
    section: str = "Scaling collapse",
    name: str = "collapse",
    **prg_options: Any,
) -> dict[str, float]:
    """Add the PRG exponents fitted by collapse quality, beside the slopes and nulls.

    Runs :func:`rgdata.coarse.prg` on the data and on one draw of each
    null (:func:`rgdata.diagnostics.surrogate`), then
    :func:`rgdata.diagnostics.prg_collapse` (``mu`` from the spectra at
    fixed rank, ``z`` from the autocorrelation functions) and
    :func:`rgdata.diagnostics.fit_exponent` (the log-log slopes) on each.

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Activity (trials are stacked into time; nulls are drawn before
        stacking).
    random_state : int or numpy.random.Generator
        Seeds the nulls and the bootstraps.
    progress : bool
        Progress bar over the runs.
    nulls : tuple of str
        Surrogates, one draw each (cheap: the scaling section has the
        10-draw null distributions of the slopes).
    n_boot : int
        Bootstrap replicas of each collapse interval.
    n_levels : int, optional
        PRG levels.
    section, name : str
        Heading; prefix of figure/result names.
    **prg_options
        Passed to :func:`rgdata.coarse.prg`.

    Returns
    -------
    dict
        ``mu_collapse``, ``mu_collapse_ci_low``/``_ci_high``,
        ``mu_collapse_quality``, ``mu_slope``, the same for ``z``, and
        ``<sym>_collapse_<null>`` for each null.
    """
    from ..._progress import progress_bar

    act = check_activity(activity)
    n_boot = check_int(n_boot, "n_boot", min_value=0)
    rng = check_random_state(random_state)
    seeds = [int(s) for s in rng.integers(0, 2**31, size=2 * (len(nulls) + 1))]
    runs = [("data", act)] + [(n, None) for n in nulls]
    tables, figs = {}, {}
    for i, (run, src) in enumerate(progress_bar(runs, enable=progress, desc="collapse runs")):
        if src is None:
            src = surrogate(act, run, seeds[2 * i])
        stacked = stack_trials(src) if "trial" in src.dims else src
        res, why, _ = _quiet(prg, stacked, n_levels=n_levels, random_state=0, **prg_options)
        if res is None:
            tables[run] = {s: {"note": why} for s, _, _ in _ROWS}
            continue
        tables[run], found = _numbers(res, n_boot, seeds[2 * i + 1])
        if run == "data":
            figs = found
    syms = [s for s, _, _ in _ROWS]
    runs_names = [r for r, _ in runs]
    fields = (
        "collapse collapse_ci_low collapse_ci_high quality slope slope_ci_low slope_ci_high"
    ).split()
    data = {
        f: (
            ("run", "exponent_name"),
            [[float(tables[r][s].get(f, np.nan)) for s in syms] for r in runs_names],
        )
        for f in fields
    }
    data["n_points"] = (
        ("run", "exponent_name"),
        [[int(tables[r][s].get("n_points", 0)) for s in syms] for r in runs_names],
    )
    data["min_clusters"] = (
        ("run", "exponent_name"),
        [[int(tables[r][s].get("min_clusters", _MIN_CLUSTERS)) for s in syms] for r in runs_names],
    )
    data["note"] = (
        ("run", "exponent_name"),
        [[str(tables[r][s].get("note", "")) for s in syms] for r in runs_names],
    )
    out = xr.Dataset(
        data,
        coords={"run": runs_names, "exponent_name": syms},
        attrs={
            "analysis": "PRG exponents by scaling collapse",
            "n_boot": n_boot,
            "nulls": list(nulls),
            "null_draws": 1,
            "collapse_method": "rgdata.diagnostics.prg_collapse (Houdayer-Hartmann quality, "
            "bootstrap over block errors, times sqrt(S) when S > 1)",
            "slope_method": "rgdata.diagnostics.fit_exponent (log-log slope, time-block CI)",
        },
    )
    report.add_text(
        "The PRG exponents fitted a second way: by the quality of a scaling collapse "
        "(Houdayer-Hartmann S, the reduced chi² of each point against the other cluster "
        "sizes' local master curve; S ≈ 1 is a collapse within the time-block errors). μ: "
        "spectra at fixed rank r, log λ_K(r) − μ log K against log r (how each rank's "
        "eigenvalue grows with K; the slope fit instead uses how the pooled spectrum falls "
        "with r/K). z̃: autocorrelations C_K(t) against t K^−z̃ over lags until C < 0.1 (the "
        "slope fit uses only τc). Intervals: bootstrap over the points' errors (95%), the "
        "errors scaled by √S in the redraws when S > 1; a large S says the curves do not "
        "collapse onto one, and the exponent is then only the least-bad rescaling. "
        "Nulls: one draw each of " + ", ".join(nulls) + " (the scaling "
        "section gives the slopes' 10-draw null distributions).",
        section=section,
    )
    summary: dict[str, float] = {}
    for sym in syms:
        d = tables["data"][sym]
        null_txt = "; ".join(
            f"{n}: collapse {_iv(tables[n][sym], 'collapse')}, slope {_iv(tables[n][sym], 'slope')}"
            for n in nulls
        )
        caption = (
            f"{_SYM[sym]} by collapse: {_iv(d, 'collapse')} (S = {d.get('quality', np.nan):.2f}, "
            f"{int(d.get('n_points', 0))} points); by log-log slope: {_iv(d, 'slope')}. "
            f"Nulls (one draw each): {null_txt}." + (f" Note: {d['note']}" if d.get("note") else "")
        )
        if sym in figs:
            xl, yl = _LABELS[sym]
            fig = plot_collapse(figs[sym], xlabel=xl, ylabel=yl)
            report.add_figure(fig, f"{name}_{sym}", caption, section=section)
        else:
            report.add_text(caption, section=section)
        summary[f"{sym}_collapse"] = float(d.get("collapse", np.nan))
        if np.isfinite(float(d.get("collapse", np.nan))):
            report.add_headline(
                f"{_SYM[sym]} by scaling collapse (quality S = {d.get('quality', np.nan):.2f})",
                float(d["collapse"]),
                ci_low=float(d.get("collapse_ci_low", np.nan)),
                ci_high=float(d.get("collapse_ci_high", np.nan)),
                note=f"log-log slope {_iv(d, 'slope')}; nulls: one draw each, in the caption",
                section=section,
            )
        summary[f"{sym}_collapse_ci_low"] = float(d.get("collapse_ci_low", np.nan))
        summary[f"{sym}_collapse_ci_high"] = float(d.get("collapse_ci_high", np.nan))
        summary[f"{sym}_collapse_quality"] = float(d.get("quality", np.nan))
        summary[f"{sym}_slope"] = float(d.get("slope", np.nan))
        for n in nulls:
            summary[f"{sym}_collapse_{n}"] = float(tables[n][sym].get("collapse", np.nan))
    rows = [
        {"run": r, "exponent": s, **{f: float(out[f].sel(run=r, exponent_name=s)) for f in fields}}
        for r in runs_names
        for s in syms
    ]
    report.add_table(rows, f"{name}_exponents", "Collapse and slope exponents", section=section)
    report.add_result(out, f"{name}_exponents", "Collapse and slope exponents", section=section)
    return summary
