"""Parameter flows across coarse-graining levels, their fixed points and linearised eigenvalues.

Given parameters ``theta_k`` estimated at successive levels ``k`` (pairwise
couplings across PRG levels, block-spin couplings, the quartic coupling
across mode fractions...), :func:`estimate_flow` fits the RG map
``theta_{k+1} = R(theta_k)`` as a low-order polynomial by (weighted) least
squares over all consecutive pairs, finds its fixed points ``R(theta*) =
theta*`` and the eigenvalues of the Jacobian there, and propagates the
uncertainty of the input parameters to all of these by resampling.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, check_int, check_option, check_random_state, describe
from .._warnings import once_per_call
from ._flow_fit import check_inputs, fit_nominal
from ._flow_resample import nominal_fixed_points, resample_map, summarize_resamples
from ._flow_summary import attractor, build_flow_dataset, reference_linearisation
from ._polymap import MODELS, apply_map, fixed_points, jacobian

__all__ = ["estimate_flow", "find_fixed_points", "linearize", "apply_flow"]


@once_per_call
def estimate_flow(
    params: Any,
    errors: Any = None,
    *,
    covariance: Any = None,
    model: str = "linear",
    level_dim: str = "level",
    reference: Any = None,
    n_resamples: int = 300,
    random_state: Any = 0,
    progress: bool = False,
) -> xr.Dataset:
    """Fit the RG map ``theta_{k+1} = R(theta_k)``, its fixed points and eigenvalues, with errors.

    Parameters
    ----------
    params : xarray.DataArray or array-like
        Parameters per level: dims ``(level, parameter)`` (a 1-D ``(level,)``
        array is one parameter), optionally with a leading ``trajectory`` dim
        for several flows that share one map (e.g. one flow per unit or per
        starting coupling). Levels must be in RG order (finer to coarser).
        NaN entries drop the pairs they are in.
    errors : same shape as *params*, optional
        Standard errors of the parameters (independent). The map is then
        fitted by effective-variance generalised least squares (residual
        covariance ``D Sigma D^T`` with ``D = d(theta_{k+1} - R(theta_k)) /
        d theta``, so errors of ``theta_k`` count through the map's Jacobian)
        and the inputs are resampled within them. Without errors the residual
        scatter of an ordinary least-squares fit sets the noise (needs more
        pairs than coefficients).
    covariance : array-like, shape (n, n), optional
        Full covariance of the parameters flattened in ``(trajectory, level,
        parameter)`` order (``n = n_trajectory * n_level * n_parameter``), for
        errors that are correlated across levels (e.g. parameters estimated
        from the same data at every level; a jackknife over time blocks gives
        it). Resampling then draws correlated noise, and chi2 uses it.
        *errors* default to the square root of its diagonal.
    model : {"linear", "quadratic"}
        Polynomial degree of the map (``quadratic`` includes all products).
    level_dim : str
        Name of the level dim of a DataArray (e.g. ``"fraction"``).
    reference : float or array-like, optional
        A fixed point of interest (e.g. ``0``, the Gaussian fixed point of a
        quartic coupling). The map is linearised there too
        (``reference_shift = R(ref) - ref``, ``reference_eigenvalues_*``, with
        errors), and ``toward_reference`` is 1 when the reference is a fixed
        point within 4 sigma, is not repelling (no ``|lambda| - 2 sigma > 1``)
        and the last observed level moves toward it under the map.
    n_resamples : int
        Resamples for the error bars.
    random_state : None, int or numpy.random.Generator
    progress : bool
        Progress bar over resamples.

    Returns
    -------
    xarray.Dataset
        ``params`` (and ``errors``), ``coefficients`` and ``coefficients_err``
        (dims ``term``, ``output``), ``fixed_points`` and
        ``fixed_points_err`` (dims ``fixed_point``, ``parameter``),
        ``fixed_point_exact`` (0 for the ghost of a marginal 1-D fixed point),
        ``fixed_point_found`` (fraction of resamples that have it),
        ``eigenvalues_real``/``_imag`` and their ``_err``
        (dims ``fixed_point``, ``mode``, sorted by decreasing modulus),
        ``stability`` (``"stable"``, ``"unstable"`` or ``"marginal"``: every
        ``|lambda| < 1``, some ``|lambda| > 1``, or consistent with 1 within
        2 sigma), with a *reference*: ``reference``, ``reference_shift`` and
        ``reference_shift_err`` (dim ``parameter``) and
        ``reference_eigenvalues_real``/``_imag``/``_err`` (dim ``mode``), and
        for one parameter ``map_x``/``map_y`` (the fitted map on a grid, for
        plots). Every fitted number is a variable (none in attrs, no JSON),
        so the flow round-trips through netCDF. attrs: ``model``, ``n_pairs``, ``chi2_per_dof``,
        ``error_source``, ``attractor`` (index of the fixed point the last
        observed level flows to under the fitted map, -1 if none),
        ``flows_toward`` (a sentence), ``toward_reference`` (1/0, -1 when no
        reference), ``n_resamples``, ``random_state``.

    Notes
    -----
    Uncertainties: each resample perturbs the parameters by independent
    Gaussian noise of their standard errors (multiplied by
    ``sqrt(chi2/dof)`` when that exceeds 1: the Birge ratio, so a map that
    misses the data does not get error bars tighter than its residuals;
    warned above chi2/dof = 4) (or the fit residuals when no
    errors are given, perturbing ``theta_{k+1}`` only), refits the map and
    recomputes fixed points (matched to the nominal ones by nearest
    distance) and eigenvalues; the reported errors are the standard
    deviations over resamples. A fixed point outside the range of the data
    is an extrapolation of the fitted polynomial: read it with care.
    """
    check_option(model, "model", MODELS)
    n_resamples = check_int(n_resamples, "n_resamples", min_value=2)
    rng = check_random_state(random_state)
    # 1. inputs in (trajectory, level, parameter) layout, errors and covariance checked
    inp = check_inputs(params, errors, covariance, level_dim)
    # 2. the map fitted once to every usable pair of consecutive levels
    fit = fit_nominal(inp, model)
    # 3. its fixed points and the eigenvalues of the Jacobian there
    fp = nominal_fixed_points(inp, fit, model)
    # 4. error bars: refit on resampled inputs, match fixed points, label stability
    rep = resample_map(inp, fit, fp, model, n_resamples, rng, progress)
    summary = summarize_resamples(fp, rep)
    # 5. where the last level flows, the optional reference point, and the Dataset
    attractor_index, sentence = attractor(
        fit.C, model, fp.fps, inp.arr, fp.scale, summary["stability"]
    )
    toward_ref, ref_data = -1, {}
    if reference is not None:
        toward_ref, ref_sentence, ref_data = reference_linearisation(
            reference, fit.C, rep.C, model, inp.arr, fp.scale
        )
        sentence += ref_sentence
    attrs = {
        "analysis": "parameter_flow",
        "model": model,
        "level_dim": level_dim,
        "n_pairs": fit.n_pairs,
        "n_trajectories": inp.arr.shape[0],
        "chi2_per_dof": fit.chi2,
        "error_inflation": fit.inflation,
        "error_source": fit.error_source,
        "attractor": attractor_index,
        "flows_toward": sentence,
        "toward_reference": toward_ref,
        "n_resamples": n_resamples,
        "random_state": random_state if isinstance(random_state, int) else str(random_state),
    }
    return build_flow_dataset(inp, fit, fp, rep, summary, ref_data, attrs, model, level_dim)


def _coefficients(flow: xr.Dataset) -> tuple[np.ndarray, str]:
    if not isinstance(flow, xr.Dataset) or "coefficients" not in flow:
        raise TypeError(f"flow must be a Dataset from estimate_flow, got {describe(flow)}")
    return flow["coefficients"].values, str(flow.attrs["model"])


def apply_flow(flow: xr.Dataset, theta: Any) -> np.ndarray:
    """Apply the fitted map ``R`` to parameter vector(s) *theta*.

    Parameters
    ----------
    flow : xarray.Dataset
        From :func:`estimate_flow`.
    theta : array-like, shape (p,) or (n, p)

    Returns
    -------
    numpy.ndarray
        ``R(theta)`` with the shape of *theta*.
    """
    C, model = _coefficients(flow)
    t = check_array(theta, "theta", ndim=(0, 1, 2)).astype(float)
    out = apply_map(C, t.reshape(-1, C.shape[1]), model)
    return out.reshape(t.shape) if t.ndim else out[0, 0]


def find_fixed_points(flow: xr.Dataset) -> np.ndarray:
    """Fixed points ``R(theta*) = theta*`` of a fitted flow map.

    Parameters
    ----------
    flow : xarray.Dataset
        From :func:`estimate_flow`.

    Returns
    -------
    numpy.ndarray, shape (n_fixed_points, p)
        Real fixed points (for a one-parameter quadratic map with complex
        roots, the ghost at the vertex of ``R(x) - x``).
    """
    C, model = _coefficients(flow)
    arr = flow["params"].values
    finite = arr[np.all(np.isfinite(arr), axis=2)]
    return fixed_points(C, model, finite.min(axis=0), finite.max(axis=0))[0]


def linearize(flow: xr.Dataset, fixed_point: Any) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors of the Jacobian of the fitted map at *fixed_point*.

    Parameters
    ----------
    flow : xarray.Dataset
        From :func:`estimate_flow`.
    fixed_point : array-like, shape (p,)

    Returns
    -------
    eigenvalues : numpy.ndarray, shape (p,)
        Sorted by decreasing modulus; ``|lambda| > 1`` relevant, ``< 1``
        irrelevant, ``= 1`` marginal directions. With a rescaling factor
        ``b`` per step, ``y = log|lambda| / log b`` is the RG eigenvalue.
    eigenvectors : numpy.ndarray, shape (p, p)
        Columns, in the same order.
    """
    C, model = _coefficients(flow)
    fp = check_array(fixed_point, "fixed_point", ndim=(0, 1)).astype(float).reshape(-1)
    if fp.size != C.shape[1]:
        raise ValueError(f"fixed_point has {fp.size} entries; the flow has {C.shape[1]}")
    vals, vecs = np.linalg.eig(jacobian(C, fp, model))
    order = np.lexsort((-vals.real, -np.abs(vals)))
    return vals[order], vecs[:, order]
