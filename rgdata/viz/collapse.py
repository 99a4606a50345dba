"""Plot a scaling collapse: the rescaled curves of every scale on one axes.

Takes the Dataset of :func:`rgdata.diagnostics.scaling_collapse` (or of
:func:`~rgdata.diagnostics.fss_collapse` / :func:`~rgdata.diagnostics.prg_collapse`)
and draws its stored collapsed points; nothing is fitted here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_dataset
from ._axes import get_axes

__all__ = ["plot_collapse"]


def plot_collapse(
    collapse: xr.Dataset,
    *,
    ax: Any = None,
    xlabel: str = "X (rescaled x)",
    ylabel: str = "Y (rescaled y)",
) -> Any:
    """Draw ``y_scaled`` against ``x_scaled`` with error bars, one colour per scale.

    Parameters
    ----------
    collapse : xarray.Dataset
        From :func:`rgdata.diagnostics.scaling_collapse`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (default: a new figure).
    xlabel, ylabel : str
        Axis labels.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on; the axes' title gives the fitted parameters with their intervals
        and the quality ``S``.

    Examples
    --------
    >>> import numpy as np
    >>> from rgdata.diagnostics import scaling_collapse
    >>> L, x = np.array([8.0, 16.0, 32.0]), np.linspace(-0.2, 0.2, 21)
    >>> y = np.tanh(x[None, :] * L[:, None])
    >>> res = scaling_collapse(x, y, 0.01 + 0 * y, L, fixed=("x_c", "a"), n_boot=0)
    >>> fig = plot_collapse(res)
    >>> len(fig.axes[0].containers)  # one errorbar set per scale
    3
    """
    check_dataset(
        collapse, ["x_scaled", "y_scaled", "dy_scaled", "point_scale", "value"], "collapse"
    )
    fig, ax = get_axes(ax)
    scales = collapse["point_scale"].values
    levels = np.unique(scales)
    import matplotlib as mpl

    colors = mpl.colormaps["viridis"](np.linspace(0.0, 0.9, levels.size))
    for color, s in zip(colors, levels, strict=True):
        sel = scales == s
        order = np.argsort(collapse["x_scaled"].values[sel])
        ax.errorbar(
            collapse["x_scaled"].values[sel][order],
            collapse["y_scaled"].values[sel][order],
            yerr=collapse["dy_scaled"].values[sel][order],
            color=color,
            lw=0.8,
            ms=2.5,
            marker="o",
            label=f"scale {s:g}",
        )
    parts = []
    for name in collapse["parameter"].values:
        row = collapse.sel(parameter=name)
        v, lo, hi = (float(row[k]) for k in ("value", "ci_low", "ci_high"))
        if bool(row["fixed"]):
            parts.append(f"{name}={v:.3g} (fixed)")
        elif np.isfinite(lo):
            parts.append(f"{name}={v:.3f} [{lo:.3f}, {hi:.3f}]")
        else:
            parts.append(f"{name}={v:.3f}")
    ax.set_title(f"{', '.join(parts)}; S={float(collapse['quality']):.2f}", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=7)
    return fig
