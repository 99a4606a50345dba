"""Plots of the tensor-network models: MPS test error against chi, TTN retained fraction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ._axes import get_axes

__all__ = ["plot_mps_error", "plot_ttn_retained"]


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
