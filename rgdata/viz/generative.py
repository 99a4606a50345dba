"""Plots of generated lattices judged by exact physics (:func:`rgdata.models.judge_generated`).

Every function takes the judge's Dataset and an optional ``ax``; nothing here
measures or fits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_dataset, check_option
from ._axes import get_axes

__all__ = ["plot_judged_observable"]

_LABELS = {
    "energy": "energy per site $u$",
    "abs_magnetization": r"$\langle |m| \rangle$",
    "specific_heat": "specific heat per site $c$",
    "chi": r"$\chi = L^2(\langle m^2\rangle - \langle |m|\rangle^2)$",
    "binder_v4": r"$V_4 = \langle m^4\rangle / \langle m^2\rangle^2$",
}
_EXACT = {
    "energy": ("energy_exact", "Kaufman (exact, same torus)"),
    "specific_heat": ("specific_heat_exact", "Kaufman (exact, same torus)"),
    "binder_v4": ("binder_v4_exact", "critical value 1.1679"),
}


def plot_judged_observable(res: Any, name: str, *, ax: Any = None):
    """One observable against ``L`` for every source (generated, MCMC) with its exact value.

    Parameters
    ----------
    res : xarray.Dataset or list of xarray.Dataset
        From :func:`rgdata.models.judge_generated` (one per model; a source
        met twice, such as the shared ``"mcmc"``, is drawn once).
    name : {"energy", "abs_magnetization", "specific_heat", "chi", "binder_v4"}
        Observable.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
        Points with jackknife error bars per source; the exact curve or
        constant where there is one; log axes for ``chi``, log ``L``
        otherwise.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> res = xr.Dataset(
    ...     {"binder_v4": (("source", "size"), [[1.1, 1.2]]),
    ...      "binder_v4_err": (("source", "size"), [[0.01, 0.01]]),
    ...      "binder_v4_exact": ((), 1.167923)},
    ...     coords={"source": ["generated"], "size": [8, 16]})
    >>> fig = plot_judged_observable(res, "binder_v4")
    """
    check_option(name, "name", tuple(_LABELS))
    results = [res] if isinstance(res, xr.Dataset) else list(res)
    results = [check_dataset(r, (name, f"{name}_err"), "res") for r in results]
    fig, ax = get_axes(ax)
    drawn: list[str] = []
    for r in results:
        for source in r["source"].values:
            if str(source) in drawn:
                continue
            k = len(drawn)
            drawn.append(str(source))
            L = r["size"].values
            ax.errorbar(
                L * (1 + 0.03 * k),  # side by side on the log axis
                r[name].sel(source=source),
                yerr=r[f"{name}_err"].sel(source=source),
                fmt="osd^v<>"[k % 7],
                capsize=3,
                label=str(source),
            )
    res = results[0]
    L = res["size"].values
    if name in _EXACT and _EXACT[name][0] in res:
        var, label = _EXACT[name]
        exact = np.broadcast_to(res[var].values, L.shape)
        ax.plot(L, exact, "k--", label=label)
    ax.set_xscale("log", base=2)
    if name == "chi":
        ax.set_yscale("log")
    ax.set_xlabel("linear size $L$")
    ax.set_ylabel(_LABELS[name])
    ax.legend(fontsize=8)
    return fig
