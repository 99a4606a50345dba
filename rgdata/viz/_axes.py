"""Shared plotting plumbing: new figures, and an axes to draw on."""

from __future__ import annotations

from typing import Any

_DISPLAY_READY = False


def _register_notebook_display() -> None:
    """In IPython/Jupyter, show a returned Figure as an image (once per process).

    rgdata draws on :class:`matplotlib.figure.Figure` objects that pyplot does
    not manage (nothing leaks in loops, nothing pops up in scripts); IPython
    shows such a Figure as an image only once its figure formatter is set,
    which otherwise happens only when pyplot's inline backend is loaded.
    """
    global _DISPLAY_READY
    if _DISPLAY_READY:
        return
    _DISPLAY_READY = True
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    from IPython.core.pylabtools import select_figure_formats

    select_figure_formats(shell, {"png"})


def new_figure(**kwargs: Any):
    """A pyplot-free :class:`~matplotlib.figure.Figure` (constrained layout by default)."""
    from matplotlib.figure import Figure

    _register_notebook_display()
    kwargs.setdefault("layout", "constrained")
    return Figure(**kwargs)


def get_axes(ax: Any = None, *, figsize: tuple[float, float] = (5.0, 4.0)):
    """Return ``(fig, ax)``: the given axes and its figure, or a new pair."""
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(figsize=figsize)
    return fig, fig.add_subplot()
