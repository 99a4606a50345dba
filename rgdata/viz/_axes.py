"""Shared plotting plumbing: get an axes to draw on."""

from __future__ import annotations

from typing import Any


def get_axes(ax: Any = None, *, figsize: tuple[float, float] = (5.0, 4.0)):
    """Return ``(fig, ax)``: the given axes and its figure, or a new pair."""
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()
