"""Plots of the tensor-network models: MPS test error against chi, TTN retained fraction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ._axes import get_axes

__all__ = ["plot_mps_error", "plot_ttn_retained", "plot_retained_comparison"]


def plot_mps_error(
    chis: Sequence[int],
    errors: Sequence[float],
    stderr: Sequence[float],
    *,
    baselines: dict[str, float] | None = None,
    ax: Any = None,
) -> Any:
    """Test error against bond dimension, with error bars and horizontal baseline lines.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure, axes = get_axes(ax)
    axes.errorbar(list(chis), np.asarray(errors), yerr=np.asarray(stderr), marker="o", label="MPS")
    for i, (name, value) in enumerate((baselines or {}).items()):
        axes.axhline(value, color=f"C{i + 1}", ls="--", label=name)
    axes.set(xlabel="bond dimension chi", ylabel="test error", xscale="log")
    axes.legend()
    return figure


def plot_ttn_retained(
    retained: xr.Dataset,
    *,
    block: tuple[float, float] | None = None,
    ax: Any = None,
) -> Any:
    """Mean retained fraction per tree level (``TreeTensorNetwork.to_dataset()``).

    *block* is ``(mean, stderr)`` of the block-spin subspace at level 1, drawn beside it.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure, axes = get_axes(ax)
    axes.plot(retained["level"].values, retained["retained_mean"].values, marker="o", label="TTN")
    if block is not None:
        axes.errorbar([1], [block[0]], yerr=[block[1]], fmt="s", color="C3", label="block spin")
    axes.set(xlabel="tree level", ylabel="retained fraction")
    axes.legend()
    return figure


def plot_retained_comparison(comparison: xr.Dataset, *, ax: Any = None) -> Any:
    """Retained variance per level for each scheme of ``compare_retained``.

    Mean ± standard error over nodes against the cluster size ``K = 2**level``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    figure, axes = get_axes(ax)
    for scheme in comparison["scheme"].values:
        r = comparison.sel(scheme=scheme)
        ok = np.isfinite(r["retained_variance"].values)
        axes.errorbar(
            comparison["scale"].values[ok],
            r["retained_variance"].values[ok],
            yerr=r["retained_variance_se"].values[ok],
            marker="o",
            label=str(scheme),
        )
    axes.set(xlabel="cluster size K", ylabel="retained variance", xscale="log")
    axes.legend()
    return figure
