"""Plots of parameter flows, fitted RG maps with their fixed points, and the quartic g flow.

Every function takes a result Dataset (from :func:`rgdata.flow.estimate_flow`
or :func:`rgdata.maxent.fit_quartic_flow`) and an optional ``ax`` and returns
the figure; nothing here fits anything.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import describe
from ._axes import get_axes

__all__ = ["plot_flow_levels", "plot_flow_map", "plot_quartic_flow", "plot_hierarchy"]


def _check_flow(flow: Any) -> xr.Dataset:
    if not isinstance(flow, xr.Dataset) or "coefficients" not in flow or "params" not in flow:
        raise TypeError(
            f"flow must be a Dataset from rgdata.flow.estimate_flow, got {describe(flow)}"
        )
    return flow


def _parameter_index(flow: xr.Dataset, parameter: Any) -> int:
    names = [str(v) for v in flow["parameter"].values]
    if parameter is None:
        return 0
    if parameter not in names:
        raise ValueError(f"unknown parameter {parameter!r}; accepted: {names}")
    return names.index(parameter)


def _parameter_series(
    flow: Any, parameter: Any
) -> tuple[xr.Dataset, int, np.ndarray, np.ndarray | None]:
    """Check *flow*; return it, the parameter's index, its values and errors (None if absent).

    Values and errors are ``(trajectory, level)`` arrays of the one parameter.
    """
    flow = _check_flow(flow)
    i = _parameter_index(flow, parameter)
    errs = flow["errors"].values[:, :, i] if "errors" in flow else None
    return flow, i, flow["params"].values[:, :, i], errs


def plot_flow_levels(flow: xr.Dataset, parameter: str | None = None, *, ax: Any = None):
    """Parameter value against level (one line per trajectory), with error bars.

    Parameters
    ----------
    flow : xarray.Dataset
        From :func:`rgdata.flow.estimate_flow`.
    parameter : str, optional
        Which parameter (default the first).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    flow, i, vals, errs = _parameter_series(flow, parameter)
    fig, ax = get_axes(ax)
    level_dim = flow.attrs.get("level_dim", "level")
    levels = flow[level_dim].values
    n_traj = vals.shape[0]
    show = range(n_traj) if n_traj <= 30 else np.linspace(0, n_traj - 1, 30).astype(int)
    for t in show:
        ax.errorbar(
            levels,
            vals[t],
            yerr=None if errs is None else errs[t],
            marker="o",
            ms=3,
            lw=1,
            capsize=2,
            alpha=0.8 if n_traj <= 5 else 0.35,
        )
    if flow.sizes["fixed_point"]:
        for k, fp in enumerate(flow["fixed_points"].values[:, i]):
            ax.axhline(fp, color="k", ls=":", lw=1)
            ax.annotate(
                f"fixed point {k} ({flow['stability'].values[k]})",
                (levels[0], fp),
                fontsize=7,
                va="bottom",
            )
    name = str(flow["parameter"].values[i])
    ax.set_xlabel(level_dim)
    ax.set_ylabel(name)
    if level_dim == "fraction":
        ax.set_xscale("log")
        ax.invert_xaxis()
    ax.set_title(f"{name} across levels" + ("" if n_traj <= 30 else f" (30 of {n_traj} shown)"))
    return fig


def plot_flow_map(flow: xr.Dataset, parameter: str | None = None, *, ax: Any = None):
    """``theta_{k+1}`` against ``theta_k`` with the diagonal, the fitted map and fixed points.

    Fixed points are marked with their error bars and labelled with the
    linearised eigenvalue(s) and errors.

    Parameters
    ----------
    flow : xarray.Dataset
        From :func:`rgdata.flow.estimate_flow`.
    parameter : str, optional
        Which parameter (default the first); the fitted map curve is drawn
        for one-parameter flows.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    flow, i, vals, errs = _parameter_series(flow, parameter)
    fig, ax = get_axes(ax)
    x, y = vals[:, :-1].ravel(), vals[:, 1:].ravel()
    ex, ey = (None, None) if errs is None else (errs[:, :-1].ravel(), errs[:, 1:].ravel())
    ax.errorbar(x, y, xerr=ex, yerr=ey, fmt="o", ms=3, alpha=0.6, capsize=2, label="data")
    pts = np.concatenate([x[np.isfinite(x)], y[np.isfinite(y)]])
    if "map_x" in flow:
        ax.plot(
            flow["map_x"], flow["map_y"], color="C1", lw=1.5, label=f"{flow.attrs['model']} map"
        )
        pts = np.concatenate([pts, flow["map_x"].values])
    lo, hi = float(np.min(pts)), float(np.max(pts))
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--", label="diagonal")
    for k in range(flow.sizes["fixed_point"]):
        fp = flow["fixed_points"].values[k, i]
        err = flow["fixed_points_err"].values[k, i]
        lam = flow["eigenvalues_real"].values[k]
        lam_err = flow["eigenvalues_real_err"].values[k]
        ax.errorbar(fp, fp, xerr=err, yerr=err, fmt="s", color="C3", ms=6, capsize=3)
        text = ", ".join(f"{v:.3g}±{s:.2g}" for v, s in zip(lam, lam_err, strict=True))
        ghost = "" if flow["fixed_point_exact"].values[k] else " (ghost)"
        ax.annotate(
            f"θ*={fp:.3g}±{err:.2g}{ghost}\nλ={text} ({flow['stability'].values[k]})",
            (fp, fp),
            textcoords="offset points",
            xytext=(6, -18),
            fontsize=7,
        )
    if "reference" in flow:
        ref = float(flow["reference"].values[i])
        ax.plot(ref, ref, "D", color="k", mfc="none", ms=8, label=f"reference fixed point {ref:g}")
    name = str(flow["parameter"].values[i])
    ax.set_xlabel(f"{name} at level k")
    ax.set_ylabel(f"{name} at level k+1")
    ax.set_title("RG map and fixed points")
    ax.legend(fontsize=7, loc="best")
    return fig


def plot_quartic_flow(
    result: xr.Dataset, *, ax: Any = None, cumulant: bool = True, multi: bool = True
):
    """Quartic coupling ``g`` against the kept fraction of modes, with the Gaussian fixed point.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`rgdata.maxent.fit_quartic_flow`.
    ax : matplotlib Axes, optional
    cumulant : bool
        Also draw the signed perturbative coupling ``g_cumulant``.
    multi : bool
        Also draw the multivariate first-order coupling ``g_multi`` (the
        quartic vertex on every site with the propagator of the kept modes),
        where the result has finite values of it.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(result, xr.Dataset) or "g" not in result or "fraction" not in result.dims:
        raise TypeError(
            f"result must be a Dataset from rgdata.maxent.fit_quartic_flow, got {describe(result)}"
        )
    fig, ax = get_axes(ax)
    f = result["fraction"].values
    ax.errorbar(f, result["g"], yerr=result["g_err"], marker="o", capsize=3, label="g (MLE, g≥0)")
    if cumulant and "g_cumulant" in result:
        ax.errorbar(
            f,
            result["g_cumulant"],
            yerr=result["g_cumulant_err"],
            marker="s",
            capsize=3,
            ls="--",
            label="g from 4th cumulant (1st order)",
        )
    if multi and "g_multi" in result and np.isfinite(result["g_multi"].values).any():
        ax.errorbar(
            f,
            result["g_multi"],
            yerr=result["g_multi_err"],
            marker="D",
            capsize=3,
            ls="-.",
            label="g_multi: multivariate, propagator of kept modes (1st order)",
        )
    boundary = result["at_boundary"].values.astype(bool)
    if boundary.any():
        ax.plot(
            f[boundary],
            result["g"].values[boundary],
            "x",
            color="k",
            ms=8,
            label="g held at 0 (heavy tails)",
        )
    ax.axhline(0.0, color="k", lw=0.8, ls=":", label="Gaussian fixed point g*=0")
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("fraction of modes kept")
    ax.set_ylabel("quartic coupling g (unit variance)")
    ax.set_title("phi^4 coupling along momentum-space RG")
    ax.legend(fontsize=7)
    return fig


def plot_hierarchy(result: xr.Dataset, *, ax: Any = None):
    """Entropy of each level of a hierarchical maximum-entropy solution, with its weight.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`rgdata.maxent.hierarchical_maxent`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    if not isinstance(result, xr.Dataset) or "entropy" not in result or "weight" not in result:
        raise TypeError(
            "result must be a Dataset from rgdata.maxent.hierarchical_maxent, got "
            f"{describe(result)}"
        )
    fig, ax = get_axes(ax)
    levels = result["level"].values
    ent = result["entropy"].values
    ax.bar(levels, ent, color="C0", alpha=0.7)
    for lev, h, w, cw in zip(
        levels, ent, result["weight"].values, result["cumulative_weight"].values, strict=True
    ):
        ax.annotate(f"w={w:.3g}\nW={cw:.3g}", (lev, h), ha="center", va="bottom", fontsize=7)
    ax.set_xticks(levels)
    ax.set_xlabel("level j (1 = finest)")
    ax.set_ylabel("H(Y_j) (nats)")
    ax.set_title(
        f"Hierarchical maxent: beta={result.attrs.get('beta', float('nan')):.3g}, "
        f"objective={result.attrs.get('objective', float('nan')):.4g}"
    )
    return fig
