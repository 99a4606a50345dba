"""Data overview section: what the recording looks like before any RG."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr

from ...activity import check_activity
from ...diagnostics.summary import summarize
from ...viz import overview as vo
from .._report import Report

__all__ = ["add_overview_section"]


def _add_loader_record(report: Report, attrs: dict[str, Any], *, name: str, section: str) -> None:
    """State what the loader corrected, removed or flagged.

    Counts (``n_*`` attrs) and policies go into one paragraph; every attr that
    holds a JSON list of records (corrected events, dropped dates, flagged
    moves) becomes a table, so nothing a loader did is hidden from the reader.
    """
    counts = [f"{k[2:].replace('_', ' ')}: {v}" for k, v in attrs.items() if k.startswith("n_")]
    policies = [f"{k}={attrs[k]}" for k in ("missing", "corrections", "returns") if k in attrs]
    if counts or policies:
        report.add_text("Loader record: " + "; ".join(policies + counts) + ".", section=section)
    for key, value in attrs.items():
        if not (isinstance(value, str) and value.startswith("[")):
            continue
        try:
            records = json.loads(value)
        except ValueError:
            continue
        if records and all(isinstance(r, dict) for r in records):
            report.add_table(
                records,
                f"{name}_{key}",
                f"{key.replace('_', ' ')} ({len(records)} rows, from the loader)",
                section=section,
            )
        elif records:
            report.add_text(
                f"{key.replace('_', ' ')}: {', '.join(map(str, records))}", section=section
            )


def time_step_text(activity: xr.DataArray) -> str:
    """How the time axis is sampled, in words: the bin width with its unit, the dates, or
    that neither is stated (never the value units in place of the time unit)."""
    bin_width = activity.attrs.get("bin_width")
    if bin_width is not None:
        unit = activity.attrs.get("time_units", "(time unit not stated)")
        return f"bin width {bin_width} {unit}"
    time = activity["time"].values if "time" in activity.coords else None
    if time is not None and np.issubdtype(time.dtype, np.datetime64) and time.size > 1:
        days = np.median(np.diff(time)) / np.timedelta64(1, "D")
        first, last = (np.datetime_as_string(t, unit="D") for t in (time[0], time[-1]))
        return f"time points dated {first} to {last} (median spacing {days:g} days)"
    return "time step not stated (time points indexed 0 to T-1)"


def add_overview_section(
    report: Report,
    activity: xr.DataArray,
    *,
    name: str = "data",
    random_state: Any = 0,
    progress: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Add raster/heatmap, per-unit statistics, correlations and spectrum.

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Activity (trials are stacked for the statistics).
    name : str
        Prefix of the figure and result names.
    random_state : None, int or Generator
        Seeds the shuffled null.
    **options
        Passed to :func:`rgdata.diagnostics.summarize`.

    Returns
    -------
    dict
        Headline numbers (mean |correlation| of data and null, number of
        eigenvalues above the Marchenko-Pastur edge).
    """
    activity = check_activity(activity)
    section = "Data overview"
    summary = summarize(activity, random_state=random_state, **options)
    kind = activity.attrs.get("kind", "")
    shape = " x ".join(f"{activity.sizes[d]} {d}s" for d in activity.dims)
    units = activity.attrs.get("units")
    report.add_text(
        f"{activity.attrs.get('source', 'data')}: {shape}, kind {kind!r}, "
        f"{time_step_text(activity)}; values: {units or 'units not stated'}.",
        section=section,
    )
    _add_loader_record(report, activity.attrs, name=name, section=section)
    params = {"random_state": random_state}
    report.add_figure(
        vo.plot_activity(activity),
        f"{name}_activity",
        "Raster of the first 500 bins of the first trial."
        if kind in ("spikes", "spins")
        else "Heatmap of the first 500 time points (colour clipped at the 99th percentile).",
        section=section,
        params=params,
    )
    stat = "spike probability per bin" if kind == "spikes" else "standard deviation"
    values = summary["mean" if kind == "spikes" else "std"].values
    report.add_figure(
        vo.plot_unit_statistics(summary),
        f"{name}_unit_statistics",
        f"Distribution over units of the {stat}: median {np.median(values):.3g}, "
        f"range {values.min():.3g} to {values.max():.3g}.",
        section=section,
    )
    a = summary.attrs
    report.add_figure(
        vo.plot_correlation_distribution(summary),
        f"{name}_correlations",
        f"Pairwise correlation coefficients: mean |c| = {a['mean_abs_correlation']:.3g} in the "
        f"data vs {a['mean_abs_correlation_shuffled']:.3g} after shuffling each unit's time "
        "points independently (the null for independent units).",
        section=section,
        params=params,
    )
    report.add_figure(
        vo.plot_spectrum(summary),
        f"{name}_spectrum",
        f"Eigenvalues of the correlation matrix: {a['n_eigen_above_mp']} of {a['n_units']} lie "
        f"above the Marchenko-Pastur edge {a['mp_upper_edge']:.3g} expected for independent "
        "units; the shuffled data shows the finite-sample null.",
        section=section,
        params=params,
    )
    report.add_result(
        summary, f"{name}_summary", "Per-unit statistics, correlations, spectrum.", section=section
    )
    return {
        "mean_abs_correlation": a["mean_abs_correlation"],
        "mean_abs_correlation_shuffled": a["mean_abs_correlation_shuffled"],
        "n_eigen_above_mp": a["n_eigen_above_mp"],
    }
