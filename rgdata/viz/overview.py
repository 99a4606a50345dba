"""Plots of the data itself and of :func:`rgdata.diagnostics.summarize` results."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._axes import get_axes

__all__ = [
    "plot_activity",
    "plot_unit_statistics",
    "plot_correlation_distribution",
    "plot_spectrum",
]


def plot_activity(activity: xr.DataArray, *, ax: Any = None, max_time: int = 500):
    """Raster (binary data) or heatmap (continuous data) of the first time points.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity ``(unit, time)`` (trials: the first trial is shown).
    ax : matplotlib Axes, optional
    max_time : int
        How many time points to show.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.ticker import MaxNLocator

    fig, ax = get_axes(ax, figsize=(8, 4))
    if "trial" in activity.dims:
        activity = activity.isel(trial=0)
    act = activity.transpose("unit", "time").isel(time=slice(0, max_time))
    values = np.asarray(act.values, dtype=float)
    kind = activity.attrs.get("kind", "")
    x, xlabel, is_date = _time_axis(act)
    if kind in ("spikes", "spins"):
        uu, tt = np.nonzero(values > 0)
        ax.scatter(x[tt], uu, s=2, marker="|", color="k", linewidths=0.6)
        ax.set_xlim(x[0], x[-1] + (x[-1] - x[0]) / max(len(x) - 1, 1))
    else:
        lim = np.nanpercentile(np.abs(values), 99) or 1.0
        half = (x[-1] - x[0]) / max(len(x) - 1, 1) / 2
        im = ax.imshow(
            values,
            aspect="auto",
            cmap="RdBu_r",
            vmin=-lim,
            vmax=lim,
            interpolation="nearest",
            extent=(x[0] - half, x[-1] + half, values.shape[0] - 0.5, -0.5),
        )
        fig.colorbar(im, ax=ax, label=activity.attrs.get("units", "value"))
    if is_date:
        ax.xaxis_date()
        fig.autofmt_xdate()
    labels = act["unit"].values
    if len(labels) <= 30 and labels.dtype.kind in "UO":  # tickers, named cells
        ax.set_yticks(np.arange(len(labels)), [str(v) for v in labels], fontsize="x-small")
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("unit")
    ax.set_xlabel(xlabel)
    ax.set_title(f"{activity.attrs.get('source', '')} {kind}".strip())
    return fig


def _time_axis(act: xr.DataArray) -> tuple[np.ndarray, str, bool]:
    """x positions of the time points, the axis label, and whether they are dates.

    Dates (a datetime64 ``time`` coordinate) are drawn as dates; a numeric
    coordinate with ``attrs["units"]`` (or an Activity with ``bin_width``) in
    its time unit; otherwise the time index.
    """
    time = act["time"].values
    if np.issubdtype(time.dtype, np.datetime64):
        import matplotlib.dates as mdates

        return np.asarray(mdates.date2num(time)), "date", True
    step = act.attrs.get("bin_width")
    unit = act["time"].attrs.get("units") or act.attrs.get("time_units")
    index = np.arange(len(time))
    if np.issubdtype(time.dtype, np.number) and not np.array_equal(time, index):
        return time.astype(float), f"time ({unit})" if unit else "time", False
    if step:
        return index * float(step), f"time ({unit or 's'})", False
    return index.astype(float), "time index", False


def plot_unit_statistics(summary: xr.Dataset, *, ax: Any = None, statistic: str = "auto"):
    """Histogram of a per-unit statistic: spike probability per bin or volatility.

    ``statistic="auto"`` shows the mean for spikes (probability per bin) and the
    standard deviation (volatility) otherwise.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = get_axes(ax)
    kind = summary.attrs.get("kind_of_data", "")
    if statistic == "auto":
        statistic = "mean" if kind == "spikes" else "std"
    values = np.asarray(summary[statistic].values)
    positive = values[values > 0]
    if positive.size and positive.max() / positive.min() > 20:
        bins = np.logspace(np.log10(positive.min()), np.log10(positive.max()), 30)
        ax.set_xscale("log")
    else:
        bins = 30
    ax.hist(values, bins=bins, color="0.4")
    label = {
        ("mean", "spikes"): "spike probability per bin",
        ("std", "returns"): "volatility (std of log return)",
    }.get((statistic, kind), statistic)
    ax.set_xlabel(label)
    ax.set_ylabel("units")
    return fig


def plot_correlation_distribution(summary: xr.Dataset, *, ax: Any = None):
    """Density of pairwise correlations, data against the shuffled null.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = get_axes(ax)
    x = summary["corr_bin"].values
    for kind, style in (("data", {"color": "C0"}), ("shuffled", {"color": "0.5", "ls": "--"})):
        ax.step(
            x,
            summary["correlation_density"].sel(kind=kind).values,
            where="mid",
            label=kind,
            **style,
        )
    ax.set_yscale("log")
    ax.set_xlabel("pairwise correlation coefficient")
    ax.set_ylabel("density")
    ax.legend()
    return fig


def plot_spectrum(summary: xr.Dataset, *, ax: Any = None):
    """Rank-ordered eigenvalues of the correlation matrix with the shuffled null
    and the Marchenko-Pastur upper edge for independent units.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = get_axes(ax)
    rank = summary["rank"].values
    ax.loglog(rank, summary["eigenvalues"].sel(kind="data").values, "o", ms=3, label="data")
    ax.loglog(
        rank, summary["eigenvalues"].sel(kind="shuffled").values, "-", color="0.5", label="shuffled"
    )
    ax.axhline(summary.attrs["mp_upper_edge"], color="r", ls=":", label="Marchenko-Pastur edge")
    ax.set_xlabel("rank")
    ax.set_ylabel("eigenvalue of correlation matrix")
    ax.legend()
    return fig
