"""Plots of hierarchical maximum-entropy fits (results of ``HierarchicalMaxEntFit.to_dataset``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_dataset
from ._axes import get_axes

__all__ = ["plot_hierarchical_statistics", "plot_pareto_entropies"]


def plot_hierarchical_statistics(result: xr.Dataset, *, ax: Any = None):
    """Fitted model statistics against the data's, one colour per level of the statistic.

    Parameters
    ----------
    result : xarray.Dataset
        From :meth:`rgdata.maxent.HierarchicalMaxEntFit.to_dataset` (needs
        ``data``, ``model_value``, ``data_se``, ``stat_level``, ``stat_b``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_dataset(result, ("data", "model_value", "data_se", "stat_level", "stat_b"), "result")
    fig, ax = get_axes(ax)
    data, model = result["data"].values, result["model_value"].values
    lev, b = result["stat_level"].values, result["stat_b"].values
    for level in np.unique(lev):
        for is_mean, marker in ((True, "o"), (False, "s")):
            sel = (lev == level) & ((b < 0) == is_mean)
            if sel.any():
                kind = "means" if is_mean else "products"
                ax.errorbar(
                    data[sel], model[sel], xerr=result["data_se"].values[sel], fmt=marker,
                    ms=3, lw=0.5, label=f"level {level} {kind}",
                )  # fmt: skip
    lo, hi = float(np.min(data)), float(np.max(data))
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
    ax.set_xlabel("data")
    ax.set_ylabel("fitted model")
    ax.set_title(f"Hierarchical maxent fit: largest |z| {result.attrs.get('residual', np.nan):.2g}")
    ax.legend(fontsize=7)
    return fig


def plot_pareto_entropies(entropy: xr.DataArray, *, ax: Any = None):
    """Entropy of every level for several weight vectors, relative to the first (flat) one.

    Parameters
    ----------
    entropy : xarray.DataArray
        Dims ``(weights, level)``, coordinate ``scale`` on ``level`` and a
        ``weights`` coordinate of labels; the first row is the reference.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(entropy, xr.DataArray) or set(entropy.dims) != {"weights", "level"}:
        raise TypeError("entropy must be a DataArray with dims ('weights', 'level')")
    fig, ax = get_axes(ax)
    scale = entropy["scale"].values if "scale" in entropy.coords else entropy["level"].values
    ref = entropy.isel(weights=0).values
    for k, label in enumerate(entropy["weights"].values):
        ax.plot(scale, entropy.isel(weights=k).values - ref, "o-", label=str(label))
    ax.set_xscale("log", base=2)
    ax.set_xlabel("units per variable")
    ax.set_ylabel(f"H(Y_j) - H(Y_j | {entropy['weights'].values[0]}) (nats)")
    ax.set_title("Per-level entropies along the Pareto front")
    ax.legend(fontsize=7)
    return fig
