"""Figures for maximum-entropy fits: couplings, predicted vs observed statistics, P(K).

Inputs are the Datasets made by :meth:`rgdata.maxent.PairwiseMaxEnt.to_dataset`
(parameters) and :meth:`~rgdata.maxent.PairwiseMaxEnt.goodness_of_fit`
(data vs model with standard errors); nothing here fits anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_dataset, check_option
from ._axes import get_axes, new_figure

__all__ = [
    "plot_couplings",
    "plot_predicted_vs_observed",
    "plot_count_distribution",
    "plot_maxent_summary",
]

_STATS = {
    "mean": ("mean_data", "mean_model", "mean_se", "means"),
    "cov": ("cov_data", "cov_model", "cov_se", "covariances"),
    "c3": ("c3_data", "c3_model", "c3_se", "connected 3-point correlations"),
}


def plot_couplings(params: xr.Dataset, *, kind: str = "matrix", ax: Any = None):
    """Show the fitted couplings J as a matrix or a histogram.

    Parameters
    ----------
    params : xarray.Dataset
        From ``model.to_dataset()`` (variables ``h``, ``J``).
    kind : {"matrix", "histogram"}
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    params = check_dataset(params, ("J",), "params")
    check_option(kind, "kind", ("matrix", "histogram"))
    fig, ax = get_axes(ax)
    J = params["J"].values
    coding = params.attrs.get("coding", "")
    if kind == "matrix":
        lim = float(np.max(np.abs(J))) or 1.0
        im = ax.imshow(J, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        fig.colorbar(im, ax=ax, label=f"J ({coding} coding)")
        ax.set_xlabel("unit j")
        ax.set_ylabel("unit i")
    else:
        iu = np.triu_indices(J.shape[0], 1)
        vals = J[iu]
        ax.hist(vals, bins=min(80, max(10, vals.size // 20)), color="0.3")
        ax.set_yscale("log")
        ax.set_xlabel(f"J_ij ({coding} coding)")
        ax.set_ylabel("number of pairs")
        ax.set_title(f"mean {vals.mean():.3f}, sd {vals.std():.3f}", fontsize=9)
    return fig


def plot_predicted_vs_observed(gof: xr.Dataset, which: str = "cov", *, ax: Any = None):
    """Model prediction against the data, with the data's standard errors as bars.

    Parameters
    ----------
    gof : xarray.Dataset
        From ``model.goodness_of_fit(activity)``.
    which : {"mean", "cov", "c3"}
        Means, covariances or connected three-point correlations.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_option(which, "which", tuple(_STATS))
    data_v, model_v, se_v, label = _STATS[which]
    gof = check_dataset(gof, (data_v, model_v, se_v), "gof")
    fig, ax = get_axes(ax)
    obs = gof[data_v].values
    pred = gof[model_v].values
    se = gof[se_v].values
    ax.errorbar(obs, pred, xerr=se, fmt="o", ms=2.5, lw=0.6, alpha=0.6, color="C0")
    if obs.size:
        lo = float(min(obs.min(), pred.min()))
        hi = float(max(obs.max(), pred.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        z = np.abs(pred - obs) / np.maximum(se, 1e-300)
        ax.set_title(
            f"{label}: rms z = {np.sqrt(np.mean(z**2)):.2f}, "
            f"{100 * np.mean(z < 2):.0f}% within 2 SE",
            fontsize=9,
        )
    ax.set_xlabel(f"observed {label} (bars: data SE)")
    ax.set_ylabel(f"model {label}")
    return fig


def plot_count_distribution(gof: xr.Dataset, *, ax: Any = None):
    """P(K), the distribution of the number of active units: data, model and independent null.

    Log scale; counts never observed are not drawn for the data.

    Returns
    -------
    matplotlib.figure.Figure
    """
    gof = check_dataset(gof, ("pk_data", "pk_model", "pk_se"), "gof")
    fig, ax = get_axes(ax)
    k = gof["count"].values
    pk = gof["pk_data"].values
    se = gof["pk_se"].values
    seen = pk > 0
    ax.errorbar(k[seen], pk[seen], yerr=se[seen], fmt="o", ms=3, color="k", label="data")
    ax.plot(k, gof["pk_model"].values, "-", color="C0", label=gof.attrs.get("model", "model"))
    if "pk_independent" in gof:
        ax.plot(k, gof["pk_independent"].values, ":", color="C3", label="independent")
    ax.set_yscale("log")
    floor = pk[seen].min() / 10 if seen.any() else 1e-12
    ax.set_ylim(bottom=floor)
    ax.set_xlim(-0.5, k[seen].max() + 3 if seen.any() else k.max())
    ax.set_xlabel("K (number of active units)")
    ax.set_ylabel("P(K)")
    ax.legend(fontsize=8)
    return fig


def plot_maxent_summary(params: xr.Dataset, gof: xr.Dataset, *, fig: Any = None):
    """Four panels: coupling histogram, covariances, three-point correlations, P(K).

    Parameters
    ----------
    params : xarray.Dataset
        From ``model.to_dataset()``.
    gof : xarray.Dataset
        From ``model.goodness_of_fit(activity)``.
    fig : matplotlib Figure, optional
        An empty figure (or subfigure) to draw the 2 x 2 panels into; a new
        one by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if fig is None:
        fig = new_figure(figsize=(10, 8))
    axes = fig.subplots(2, 2)
    plot_couplings(params, kind="histogram", ax=axes[0, 0])
    plot_predicted_vs_observed(gof, "cov", ax=axes[0, 1])
    plot_predicted_vs_observed(gof, "c3", ax=axes[1, 0])
    plot_count_distribution(gof, ax=axes[1, 1])
    return fig
