"""Choose the polynomial order of a fitted RG map: :func:`estimate_flow_auto`.

With ``model="auto"`` both the linear and the quadratic map are fitted (the
quadratic only when at least 5 pairs of levels leave it 2 spare pairs) and
the one with the smaller chi2/dof is kept; both values are stated in
``attrs["model_choice"]``. Warnings raised by each fit are recorded in its
``attrs["warnings"]`` instead of being lost.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_option
from .flows import estimate_flow

__all__ = ["estimate_flow_auto", "FLOW_MODELS"]

#: accepted ``model`` values of :func:`estimate_flow_auto`
FLOW_MODELS = ("auto", "linear", "quadratic")


def recorded(caught: list[warnings.WarningMessage]) -> list[str]:
    """The distinct messages of caught warnings, in order."""
    out: list[str] = []
    for w in caught:
        text = str(w.message)
        if text not in out:
            out.append(text)
    return out


def estimate_flow_auto(
    params: xr.DataArray,
    covariance: np.ndarray | None,
    *,
    model: str = "auto",
    level_dim: str = "level",
    random_state: Any = 0,
    **kwargs: Any,
) -> xr.Dataset | None:
    """:func:`rgdata.flow.estimate_flow` with the map order chosen by chi2/dof.

    Parameters
    ----------
    params : xarray.DataArray
        ``(trajectory, level_dim, parameter)`` parameters per level.
    covariance : ndarray or None
        Covariance of the parameters between levels (passed on).
    model : {"auto", "linear", "quadratic"}
        ``"auto"`` fits both orders when there are at least 5 pairs of levels
        and keeps the one with the smaller chi2/dof.
    level_dim : str
        Name of the level dim of *params*.
    random_state : None, int or numpy.random.Generator
        Seeds the resampling of every fit.
    **kwargs
        Passed to :func:`rgdata.flow.estimate_flow` (e.g. ``reference``).

    Returns
    -------
    xarray.Dataset or None
        The kept fit, with ``attrs["warnings"]`` (messages of its warnings,
        ``" | "``-joined) and, when two orders were compared,
        ``attrs["model_choice"]``; ``None`` when there are too few pairs of
        levels for any order (a linear map needs 2, a quadratic 3).
    """
    check_option(model, "model", FLOW_MODELS)
    n_pairs = params.sizes[level_dim] - 1
    models = {"linear": ["linear"], "quadratic": ["quadratic"]}.get(
        model, ["linear", "quadratic"] if n_pairs >= 5 else ["linear"]
    )
    fits = []
    for order in models:
        if n_pairs < (2 if order == "linear" else 3):
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            flow = estimate_flow(
                params,
                covariance=covariance,
                model=order,
                level_dim=level_dim,
                random_state=random_state,
                **kwargs,
            )
        flow.attrs["warnings"] = " | ".join(recorded(caught))
        fits.append(flow)
    if not fits:
        return None
    best = min(fits, key=lambda f: f.attrs["chi2_per_dof"])
    if len(fits) > 1:
        best.attrs["model_choice"] = "auto: " + ", ".join(
            f"{f.attrs['model']} chi2/dof = {f.attrs['chi2_per_dof']:.3g}" for f in fits
        )
    return best
