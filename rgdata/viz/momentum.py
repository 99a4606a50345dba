"""Plots for momentum-space PCA-RG results and self-similarity scores.

Nothing here computes: each function takes a result Dataset (from
:func:`rgdata.coarse.momentum` or :func:`rgdata.diagnostics.self_similarity`)
and an optional ``ax`` and returns the figure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._validation import describe
from ._axes import get_axes, new_figure

__all__ = ["plot_fourth_moment_flow", "plot_momentum_distributions", "plot_self_similarity"]

_DIRECTION_STYLE = {
    "remove_low": ("C0", "remove low-variance modes (RG)"),
    "remove_high": ("C3", "remove high-variance modes"),
}


def _check_momentum(result: Any, name: str = "result") -> xr.Dataset:
    if not isinstance(result, xr.Dataset) or "fourth_moment" not in result:
        raise TypeError(
            f"{name} must be a rgdata.coarse.momentum result (a Dataset with fourth_moment); "
            f"got {describe(result)}"
        )
    return result


def _split_directions(result: xr.Dataset) -> list[tuple[str, xr.Dataset]]:
    if "direction" in result.dims:
        return [(str(d), result.sel(direction=d)) for d in result["direction"].values]
    direction = str(result["direction"].values) if "direction" in result.coords else ""
    return [(direction or str(result.attrs.get("direction", "")), result)]


def plot_fourth_moment_flow(
    result: xr.Dataset | Sequence[xr.Dataset],
    *,
    ax: Any = None,
    null: xr.Dataset | None = None,
    show_units: bool = True,
    yscale: str | None = None,
):
    """Fourth moment of every filtered variable against the kept fraction of modes.

    Parameters
    ----------
    result : Dataset or sequence of Datasets
        :func:`rgdata.coarse.momentum` result(s); every direction found (a
        ``direction`` dim, or several results) is drawn in its own colour.
    ax : matplotlib Axes, optional
    null : Dataset, optional
        The same analysis on a null (e.g. time-shuffled units), drawn in grey
        (median and quartiles of each of its directions).
    show_units : bool
        Draw each unit's trajectory (thin lines) under the median and the
        interquartile band.
    yscale : {"linear", "log"}, optional
        Default: log when the moments span more than a factor 10.

    Returns
    -------
    matplotlib.figure.Figure
        The fraction axis is logarithmic and inverted (coarse-graining goes to
        the right); the dashed line is the Gaussian value 3 with a band of
        +-2 ``gaussian_fourth_moment_se``.
    """
    results = [result] if isinstance(result, xr.Dataset) else list(result)
    if not results:
        raise ValueError("result is empty; give at least one momentum result")
    fig, ax = get_axes(ax)
    lo, hi = np.inf, -np.inf
    for res in results:
        _check_momentum(res)
        for direction, sub in _split_directions(res):
            color, label = _DIRECTION_STYLE.get(direction, ("C2", direction))
            frac = sub["fraction"].values
            fm = sub["fourth_moment"].transpose("level", "unit").values
            if show_units:
                ax.plot(frac, fm, color=color, alpha=min(0.3, 8.0 / fm.shape[1]), lw=0.6)
            ax.fill_between(
                frac,
                sub["fourth_moment_q25"].values,
                sub["fourth_moment_q75"].values,
                color=color,
                alpha=0.25,
                lw=0,
            )
            ax.plot(frac, sub["fourth_moment_median"].values, "o-", color=color, lw=2, label=label)
            finite = fm[np.isfinite(fm)]
            if finite.size:
                lo, hi = min(lo, finite.min()), max(hi, finite.max())
    if null is not None:
        _check_momentum(null, "null")
        for direction, sub in _split_directions(null):
            frac = sub["fraction"].values
            ax.fill_between(
                frac,
                sub["fourth_moment_q25"].values,
                sub["fourth_moment_q75"].values,
                color="0.5",
                alpha=0.25,
                lw=0,
            )
            ax.plot(
                frac,
                sub["fourth_moment_median"].values,
                "s:",
                color="0.4",
                label=f"null ({_DIRECTION_STYLE.get(direction, ('', direction))[1]})",
            )
            fm = sub["fourth_moment"].values
            finite = fm[np.isfinite(fm)]
            if finite.size:
                lo, hi = min(lo, finite.min()), max(hi, finite.max())
    se = float(results[0].attrs.get("gaussian_fourth_moment_se", 0.0))
    ax.axhline(3.0, color="k", ls="--", lw=1, label="Gaussian (3)")
    if se > 0:
        ax.axhspan(3 - 2 * se, 3 + 2 * se, color="k", alpha=0.1, lw=0)
    ax.set_xscale("log", base=2)
    if not ax.xaxis_inverted():
        ax.invert_xaxis()
    if yscale is None:
        yscale = "log" if np.isfinite(lo) and lo > 0 and hi / lo > 10 else "linear"
    ax.set_yscale(yscale)
    if yscale == "log":
        from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 3.0, 5.0)))
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("fraction of modes kept")
    ax.set_ylabel(r"$\langle\phi^4\rangle / \langle\phi^2\rangle^2$")
    ax.set_title("Momentum-space RG: fourth moments")
    ax.legend(fontsize="small")
    return fig


def plot_momentum_distributions(
    result: xr.Dataset, *, ax: Any = None, direction: str | None = None, logy: bool = True
):
    """Pooled distribution of the normalized filtered variables at every fraction.

    Parameters
    ----------
    result : xarray.Dataset
        A :func:`rgdata.coarse.momentum` result.
    ax : matplotlib Axes, optional
        With ``ax=None`` and two directions, one panel per direction.
    direction : str, optional
        The direction to draw on a given *ax* (default the first one).
    logy : bool
        Logarithmic density axis (tails are visible).

    Returns
    -------
    matplotlib.figure.Figure
        Densities coloured from the full set (dark) to the fewest modes
        (light), with the standard normal density dashed.
    """
    import matplotlib as mpl

    _check_momentum(result)
    parts = _split_directions(result)
    if direction is not None:
        parts = [p for p in parts if p[0] == direction]
        if not parts:
            raise ValueError(f"direction {direction!r} is not in the result")
    if ax is None and len(parts) > 1:
        fig = new_figure(figsize=(5.0 * len(parts), 4.0))
        axes = fig.subplots(1, len(parts), sharey=True)
    else:
        fig, ax = get_axes(ax)
        axes, parts = [ax], parts[:1]
    cmap = mpl.colormaps["viridis"]
    for axis, (name, sub) in zip(axes, parts, strict=True):
        x = sub["bin_center"].values
        n = sub.sizes["level"]
        for i, f in enumerate(sub["fraction"].values):
            k = int(sub["n_modes"].values[i])
            dens = sub["distribution"].isel(level=i).values
            dens = np.where(dens > 0, dens, np.nan) if logy else dens
            axis.plot(x, dens, color=cmap(i / max(n - 1, 1)), label=f"f={f:.3g} (K={k})")
        axis.plot(x, np.exp(-(x**2) / 2) / np.sqrt(2 * np.pi), "k--", lw=1, label="N(0,1)")
        if logy:
            axis.set_yscale("log")
        axis.set_xlabel(r"$\phi / \sigma_\phi$")
        axis.set_title(_DIRECTION_STYLE.get(name, ("", name))[1] or "distribution")
        axis.legend(fontsize="x-small")
    axes[0].set_ylabel("density (pooled over units)")
    return fig


def plot_self_similarity(scores: xr.Dataset, *, ax: Any = None, ratio: bool = False):
    """Distances between successive levels, with the sampling-noise reference if present.

    Parameters
    ----------
    scores : xarray.Dataset
        A :func:`rgdata.diagnostics.self_similarity` result.
    ax : matplotlib Axes, optional
    ratio : bool
        Plot distance / noise (needs a noise reference; 1 = within noise)
        instead of the distances.

    Returns
    -------
    matplotlib.figure.Figure
        One line per quantity (and direction); dashed lines in the same
        colour are the noise references.
    """
    if not isinstance(scores, xr.Dataset) or scores.attrs.get("analysis") != "self_similarity":
        raise TypeError(
            f"scores must be a rgdata.diagnostics.self_similarity result, got {describe(scores)}"
        )
    level_dim = scores.attrs["level_dim"]
    quantities = json.loads(scores.attrs.get("quantities", "[]"))
    if ratio and not int(scores.attrs.get("has_noise_reference", 0)):
        raise ValueError("ratio=True needs scores computed with halves= (a noise reference)")
    fig, ax = get_axes(ax)
    # a momentum result's levels are plotted against their kept fraction (a coordinate on
    # its level dim; the level dim itself in results made before the schema)
    by_fraction = level_dim == "fraction" or "fraction" in scores.coords
    x = scores["fraction" if by_fraction else level_dim].values
    color_index = 0
    for q in quantities:
        var = scores[f"{q}_ratio" if ratio else f"{q}_distance"]
        noise = None if ratio else scores.get(f"{q}_noise")
        extra = [d for d in var.dims if d != level_dim]
        groups = [((), var, noise)]
        if extra:
            stacked = var.stack(_g=extra).transpose("_g", level_dim)
            groups = []
            for j, key in enumerate(stacked["_g"].values):
                nz = None
                if noise is not None:
                    nz = noise.stack(_g=extra).transpose("_g", level_dim)[j]
                groups.append(((key,), stacked[j], nz))
        for key, line, nz in groups:
            color = f"C{color_index % 10}"
            color_index += 1
            tag = ", ".join(str(v) for v in np.atleast_1d(key[0])) if key else ""
            label = q + (f" ({tag})" if tag else "")
            metric = scores.attrs.get("metric", "") if q == "distribution" else ""
            ax.plot(
                x, line.values, "o-", color=color, label=label + (f" [{metric}]" * bool(metric))
            )
            if nz is not None:
                ax.plot(x, nz.values, ls="--", color=color, lw=1, label=f"{label} noise")
    if ratio:
        ax.axhline(1.0, color="k", ls=":", lw=1)
    if by_fraction:
        ax.set_xscale("log", base=2)
        if not ax.xaxis_inverted():
            ax.invert_xaxis()
    ax.set_yscale("log")
    ax.set_xlabel(f"{'fraction' if by_fraction else level_dim} (upper level of each pair)")
    ax.set_ylabel("distance / noise" if ratio else "distance between successive levels")
    ax.set_title("Self-similarity across coarse-graining levels")
    ax.legend(fontsize="x-small")
    return fig
