"""Plots of multilevel-sampler validation results (:func:`rgdata.models.validate_multilevel`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_dataset
from ._axes import get_axes

__all__ = ["plot_multilevel_ess", "plot_multilevel_deviation"]

_LABELS = {"heat_bath": "heat-bath multilevel", "learned": "learned (CNN) multilevel"}


def plot_multilevel_ess(result: xr.Dataset, *, ax: Any = None) -> Any:
    """ESS fraction ``<w>^2 / <w^2>`` against ``L`` per sampler, with RiGCS's published values.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`rgdata.models.validate_multilevel`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_dataset(result, ["ess_fraction", "rigcs_ess_fraction"], "result")
    fig, ax = get_axes(ax)
    sizes = result["size"].values
    for sampler in result["sampler"].values:
        ess = result["ess_fraction"].sel(sampler=sampler).values
        ok = np.isfinite(ess)
        if ok.any():
            ax.plot(sizes[ok], ess[ok], "o-", label=_LABELS.get(str(sampler), str(sampler)))
    ref = result["rigcs_ess_fraction"].values
    ok = np.isfinite(ref)
    if ok.any():
        ax.plot(sizes[ok], ref[ok], "s--", mfc="none", color="0.4", label="RiGCS (published)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("L")
    ax.set_ylabel("ESS / n")
    ax.legend(fontsize="small")
    return fig


def plot_multilevel_deviation(
    result: xr.Dataset, variable: str = "beta_free_energy", *, ax: Any = None
) -> Any:
    """Estimate minus exact value of *variable* against ``L``, with one-standard-error bars.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`rgdata.models.validate_multilevel`.
    variable : str
        A variable with ``*_err`` and ``*_exact`` companions (``"beta_free_energy"``,
        ``"energy"``, ``"log_z"``).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_dataset(result, [variable, f"{variable}_err", f"{variable}_exact"], "result")
    fig, ax = get_axes(ax)
    sizes = result["size"].values.astype(float)
    for k, sampler in enumerate(result["sampler"].values):
        diff = (result[variable] - result[f"{variable}_exact"]).sel(sampler=sampler).values
        err = result[f"{variable}_err"].sel(sampler=sampler).values
        ok = np.isfinite(diff)
        if ok.any():
            ax.errorbar(
                sizes[ok] * (1 + 0.04 * k),
                diff[ok],
                yerr=err[ok],
                fmt="o",
                capsize=3,
                label=_LABELS.get(str(sampler), str(sampler)),
            )
    ax.axhline(0.0, color="0.4", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("L")
    ax.set_ylabel(f"{variable} - exact")
    ax.legend(fontsize="small")
    return fig
