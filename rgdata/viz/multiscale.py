"""Plots of the multi-scale diagnostics: MS3D per scale, dynamic scaling, prediction skill."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._axes import get_axes

__all__ = ["plot_ms3d", "plot_dynamic_scaling", "plot_prediction_skill"]


def plot_ms3d(result: xr.Dataset, *, ax: Any = None, label: str = "data") -> Any:
    """Dissimilarity ``D`` per scale with its CI, beside the null's band and expectation.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`rgdata.diagnostics.ms3d` or :func:`rgdata.diagnostics.ms3d_tree`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a new figure otherwise).
    label : str
        Legend label of the data.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = get_axes(ax)
    scale = result["scale"].values
    d = result["dissimilarity"].values
    err = np.vstack(
        [d - result["dissimilarity_ci_low"].values, result["dissimilarity_ci_high"].values - d]
    )
    ax.errorbar(scale, d, yerr=err, marker="o", capsize=3, label=label)
    ax.fill_between(
        scale,
        result["null_dissimilarity_band_low"].values,
        result["null_dissimilarity_band_high"].values,
        color="0.8",
        label="shuffled null, 95% band",
    )
    ax.plot(scale, result["null_expected"].values, "k--", lw=1, label="null expectation")
    ax.set_xscale("log", base=2)
    ax.set_xlabel(str(result.attrs.get("scale_name", "scale")).replace("_", " "))
    ax.set_ylabel("variance removed by block averaging, D")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize="small")
    return fig


def plot_dynamic_scaling(result: xr.Dataset, *, ax: Any = None) -> Any:
    """Relaxation time per level with its CI, and the level below rescaled by ``s^z``.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`rgdata.diagnostics.dynamic_scaling` (or ``prg_dynamics``,
        ``block_dynamics``).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = get_axes(ax)
    scale = result["scale"].values
    tau = result["tau"].values
    err = np.vstack([tau - result["tau_ci_low"].values, result["tau_ci_high"].values - tau])
    z = float(result["z"])
    ax.errorbar(
        scale,
        tau,
        yerr=np.clip(err, 0, None),
        marker="o",
        capsize=3,
        label=f"tau (z = {z:.2f} [{float(result['z_ci_low']):.2f}, "
        f"{float(result['z_ci_high']):.2f}])",
    )
    ax.plot(scale, result["tau_predicted"].values, "x", ms=8, label="level below x (ratio)^z")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("scale")
    ax.set_ylabel("relaxation time tau (time steps)")
    ax.legend(fontsize="small")
    return fig


def plot_prediction_skill(result: xr.Dataset, *, ax: Any = None) -> Any:
    """Prediction skill per level: own model, rescaled model from the level below, null band.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`rgdata.diagnostics.dynamic_scaling`.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = get_axes(ax)
    scale = result["scale"].values
    for var, marker in (("skill_own", "o"), ("skill_transfer", "s")):
        v = result[var].values
        err = np.vstack([v - result[f"{var}_ci_low"].values, result[f"{var}_ci_high"].values - v])
        ax.errorbar(
            scale,
            v,
            yerr=np.clip(np.nan_to_num(err), 0, None),
            marker=marker,
            capsize=3,
            label="own model" if var == "skill_own" else "level below, rescaled",
        )
    ax.fill_between(
        scale,
        result["null_skill_band_low"].values,
        result["null_skill_band_high"].values,
        color="0.8",
        label="time-shuffled null, 95% band",
    )
    ax.axhline(np.exp(-2), color="k", ls=":", lw=1, label="OU at its own tau: e^-2")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("scale")
    ax.set_ylabel("prediction skill at horizon tau")
    ax.legend(fontsize="small")
    return fig
