"""The parameter flow implied by a hierarchical maximum-entropy fit.

:func:`hierarchical_flow` feeds the per-level couplings of a fitted
:class:`rgdata.maxent.HierarchicalMaxEntFit` (``flow_parameters``) to
:func:`rgdata.flow.estimate_flow`, with their jackknife covariance across
levels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .hierarchical_fit import HierarchicalMaxEntFit

__all__ = ["hierarchical_flow"]


def hierarchical_flow(
    fit: HierarchicalMaxEntFit, parameters: Any = None, **kwargs: Any
) -> xr.Dataset:
    """Parameter flow of a hierarchical fit: :func:`rgdata.flow.estimate_flow` on its levels.

    Parameters
    ----------
    fit : HierarchicalMaxEntFit
        A fitted estimator.
    parameters : list of str, optional
        Which of :meth:`HierarchicalMaxEntFit.flow_parameters` to follow
        (default all).
    **kwargs
        Passed to :func:`rgdata.flow.estimate_flow` (``model``, ``reference``,
        ``n_resamples``, ``random_state``).

    Returns
    -------
    xarray.Dataset
        The flow (fixed points, eigenvalues with errors) of the levels with a
        finite ``sibling`` coupling; the jackknife covariance across levels
        is passed as ``covariance``.
    """
    from ..flow import estimate_flow

    if not isinstance(fit, HierarchicalMaxEntFit):
        raise TypeError(f"fit must be a fitted HierarchicalMaxEntFit, got {type(fit).__name__}")
    par = fit.flow_parameters()
    names = [str(p) for p in par["parameter"].values]
    chosen = names if parameters is None else list(parameters)
    unknown = [p for p in chosen if p not in names]
    if unknown or not chosen:
        raise ValueError(f"parameters must be a non-empty list of {names}, got {parameters!r}")
    cols = np.array([names.index(p) for p in chosen])
    ok = np.all(np.isfinite(par["params"].values[:, cols]), axis=1)
    levels = np.flatnonzero(ok)
    if levels.size < 3:
        raise ValueError(
            f"the tree gives {levels.size} level(s) with couplings; a flow needs at least 3"
        )
    n_par = par.sizes["parameter"]
    idx = (levels[:, None] * n_par + cols[None, :]).ravel()
    cov = par["covariance"].values[np.ix_(idx, idx)]
    params = par["params"].isel(level=levels, parameter=cols)
    return estimate_flow(params, covariance=cov, **kwargs)
