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

import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import check_array, check_int, check_option, check_random_state, describe
from .._warnings import once_per_call, warn_user
from ._polymap import (
    MODELS,
    apply_map,
    fit_map,
    fit_map_gls,
    fixed_points,
    jacobian,
    sorted_eigenvalues,
    term_names,
    term_pairs,
)

__all__ = ["estimate_flow", "find_fixed_points", "linearize", "apply_flow"]


def _as_params(params: Any, level_dim: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Bring *params* to shape (trajectory, level, parameter) and collect labels."""
    if isinstance(params, xr.DataArray):
        dims = params.dims
        if level_dim not in dims:
            raise ValueError(
                f"params has dims {dims}; it needs a {level_dim!r} dim (pass level_dim= to "
                "name another one, e.g. level_dim='fraction')"
            )
        extra = [d for d in dims if d not in (level_dim, "parameter", "trajectory")]
        if extra:
            raise ValueError(
                f"params has unexpected dims {extra}; accepted: ({level_dim!r}, 'parameter') "
                "with an optional leading 'trajectory'"
            )
        order = [d for d in ("trajectory", level_dim, "parameter") if d in dims]
        da = params.transpose(*order)
        arr = check_array(da.values, "params", finite=False).astype(float)
        if "parameter" not in dims:
            arr = arr[..., None]
        if "trajectory" not in dims:
            arr = arr[None]
        names = (
            [str(v) for v in da["parameter"].values]
            if "parameter" in da.coords
            else [f"theta{i}" for i in range(arr.shape[2])]
        )
        levels = da[level_dim].values if level_dim in da.coords else np.arange(arr.shape[1])
        return arr, {"names": names, "levels": levels}
    if isinstance(params, xr.Dataset | dict | str):
        raise TypeError(
            f"params must be an xarray.DataArray with dims ({level_dim!r}, 'parameter') or an "
            f"array of shape (level,) / (level, parameter); got {describe(params)}"
        )
    arr = check_array(params, "params", ndim=(1, 2, 3), finite=False).astype(float)
    if arr.ndim == 1:
        arr = arr[None, :, None]
    elif arr.ndim == 2:
        arr = arr[None]
    names = [f"theta{i}" for i in range(arr.shape[2])]
    return arr, {"names": names, "levels": np.arange(arr.shape[1])}


def _pairs(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Consecutive pairs (x_k, x_{k+1}) of every trajectory, dropping pairs with NaN."""
    x = arr[:, :-1].reshape(-1, arr.shape[2])
    y = arr[:, 1:].reshape(-1, arr.shape[2])
    ok = np.all(np.isfinite(x), axis=1) & np.all(np.isfinite(y), axis=1)
    return x, y, ok


def _match(nominal: np.ndarray, candidates: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """For each nominal fixed point, the nearest candidate (NaN row if none)."""
    out = np.full_like(nominal, np.nan)
    if len(candidates) == 0:
        return out
    for i, fp in enumerate(nominal):
        d = np.sqrt(np.sum(((candidates - fp) / scale) ** 2, axis=1))
        out[i] = candidates[np.argmin(d)]
    return out


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
    inflation = 1.0
    arr, labels = _as_params(params, level_dim)
    n_traj, n_level, p = arr.shape
    if n_level < 2:
        raise ValueError(f"params has {n_level} level(s); at least 2 are needed for a flow")
    err = None
    if errors is not None:
        if isinstance(errors, xr.DataArray):
            err, _ = _as_params(errors, level_dim)
        else:
            err = check_array(errors, "errors", finite=False).astype(float)
            err = err.reshape(arr.shape) if err.size == arr.size else err
        if err.shape != arr.shape:
            raise ValueError(f"errors has shape {err.shape}; it must match params {arr.shape}")
        bad = np.isfinite(arr) & ~(np.isfinite(err) & (err > 0))
        if bad.any():
            raise ValueError(
                f"errors must be finite and > 0 where params are finite; {int(bad.sum())} "
                "entries are not (a zero error would give infinite weight)"
            )
    if np.isinf(arr).any():
        raise ValueError("params contains inf values; NaN marks a missing value, inf is refused")
    cov_full = None
    if covariance is not None:
        cov_full = check_array(covariance, "covariance", ndim=2).astype(float)
        n_flat = arr.size
        if cov_full.shape != (n_flat, n_flat):
            raise ValueError(
                f"covariance has shape {cov_full.shape}; it must be ({n_flat}, {n_flat}) for "
                f"params of shape {arr.shape} flattened in (trajectory, level, parameter) order"
            )
        if not np.allclose(cov_full, cov_full.T, rtol=1e-8, atol=1e-14 * np.abs(cov_full).max()):
            raise ValueError("covariance must be symmetric")
        diag = np.diag(cov_full).reshape(arr.shape)
        if np.any(np.isfinite(arr) & ~(diag > 0)):
            raise ValueError("covariance must have a positive diagonal where params are finite")
        if err is None:
            err = np.sqrt(np.maximum(diag, 0))
    if err is not None and cov_full is None:
        cov_full = np.diag(np.where(np.isfinite(arr), err, 0.0).ravel() ** 2)
    x, y, ok = _pairs(arr)
    n_terms = len(term_pairs(p, model))
    n_pairs = int(ok.sum())
    if n_pairs < n_terms or (err is None and n_pairs == n_terms):
        need = n_terms + (1 if err is None else 0)
        raise ValueError(
            f"only {n_pairs} consecutive pairs of levels without NaN for a {model} map with "
            f"{n_terms} coefficients per parameter; at least {need} are needed (add levels or "
            "trajectories, use model='linear', or pass errors=)"
        )
    if (~ok).any():
        warn_user(
            f"{int((~ok).sum())} pair(s) of levels hold NaN parameters and were left out",
            UserWarning,
        )
    sy = None
    if err is not None:
        _, sy, _ = _pairs(err)
        sy = sy[ok]
    xo, yo = x[ok], y[ok]
    C = fit_map(xo, yo, sy, model)
    W = None
    if cov_full is not None:
        # effective-variance GLS: residual covariance from the inputs' covariance through the
        # map's Jacobian, refined twice (the Jacobian depends on the fit)
        for _ in range(2):
            W = np.linalg.pinv(_residual_covariance(C, model, arr, ok, cov_full), rcond=1e-12)
            C = fit_map_gls(xo, yo, W, model)
    resid = yo - apply_map(C, xo, model)
    dof = n_pairs - n_terms
    if err is not None:
        r = resid.ravel()
        chi2 = float(r @ W @ r / (dof * p)) if dof > 0 else np.nan
        error_source = (
            "given parameter covariance (inputs resampled with correlated noise)"
            if covariance is not None
            else "given parameter errors (inputs resampled within them)"
        )
        if np.isfinite(chi2) and chi2 > 1:
            inflation = float(np.sqrt(chi2))
            error_source += f", inflated by sqrt(chi2/dof) = {inflation:.3g}"
            if chi2 > 4:
                warn_user(
                    f"the {model} map does not describe the flow within the given errors "
                    f"(chi2/dof = {chi2:.3g} with {dof * p} degrees of freedom); the resampling "
                    f"noise is inflated by sqrt(chi2/dof) = {inflation:.3g}, and the map itself "
                    "may be the wrong model (try another model or parameter)",
                    UserWarning,
                )
    else:
        chi2 = np.nan
        sigma_res = np.sqrt(np.sum(resid**2, axis=0) / dof)
        error_source = "fit residuals (outputs resampled with the residual scatter)"
    finite = arr[np.all(np.isfinite(arr), axis=2)]
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    scale = np.maximum(hi - lo, 1e-12)
    fps, exact = fixed_points(C, model, lo, hi)
    n_fp = len(fps)
    eig = np.array([sorted_eigenvalues(jacobian(C, fp, model)) for fp in fps]).reshape(n_fp, p)
    # resampling
    C_rep = np.empty((n_resamples,) + C.shape)
    fp_rep = np.full((n_resamples, n_fp, p), np.nan)
    eig_rep = np.full((n_resamples, n_fp, p), np.nan, dtype=complex)
    if covariance is not None:
        finite_flat = np.isfinite(arr).ravel()
        sub = cov_full[np.ix_(finite_flat, finite_flat)]
        w_eig, v_eig = np.linalg.eigh(sub)
        root = v_eig * np.sqrt(np.clip(w_eig, 0, None))  # sub = root @ root.T
    for r in progress_bar(range(n_resamples), enable=progress, desc="flow resamples"):
        if covariance is not None:
            noise = np.zeros(arr.size)
            noise[finite_flat] = root @ rng.standard_normal(root.shape[1])
            arr_r = arr + inflation * noise.reshape(arr.shape)
            xr_, yr_, _ = _pairs(arr_r)
            xr_, yr_ = xr_[ok], yr_[ok]
        elif err is not None:
            arr_r = arr + inflation * err * rng.standard_normal(arr.shape)
            xr_, yr_, _ = _pairs(arr_r)
            xr_, yr_ = xr_[ok], yr_[ok]
        else:
            xr_ = xo
            yr_ = apply_map(C, xo, model) + sigma_res * rng.standard_normal(yo.shape)
        Cr = fit_map(xr_, yr_, sy, model) if W is None else fit_map_gls(xr_, yr_, W, model)
        C_rep[r] = Cr
        if n_fp:
            cand, _ = fixed_points(Cr, model, lo, hi, starts=fps if p > 1 else None)
            matched = _match(fps, cand, scale)
            fp_rep[r] = matched
            for i, fp in enumerate(matched):
                if np.all(np.isfinite(fp)):
                    eig_rep[r, i] = sorted_eigenvalues(jacobian(Cr, fp, model))
    found = np.mean(np.all(np.isfinite(fp_rep), axis=2), axis=0) if n_fp else np.empty(0)
    if np.any(found < 0.9):
        warn_user(
            f"fixed point(s) {np.flatnonzero(found < 0.9).tolist()} exist in only "
            f"{np.round(found[found < 0.9], 2).tolist()} of the resamples: their error bars "
            "come from the resamples that have them (fixed_point_found)",
            UserWarning,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fp_err = np.nanstd(fp_rep, axis=0, ddof=1) if n_fp else np.empty((0, p))
        eig_err_re = np.nanstd(eig_rep.real, axis=0, ddof=1) if n_fp else np.empty((0, p))
        eig_err_im = np.nanstd(eig_rep.imag, axis=0, ddof=1) if n_fp else np.empty((0, p))
        mod_err = np.nanstd(np.abs(eig_rep), axis=0, ddof=1) if n_fp else np.empty((0, p))
    stability = []
    for i in range(n_fp):
        mod = np.abs(eig[i])
        if np.any(mod - 2 * mod_err[i] > 1):
            stability.append("unstable")
        elif np.all(mod + 2 * mod_err[i] < 1):
            stability.append("stable")
        else:
            stability.append("marginal")
    if n_fp and np.any(exact == 0):
        warn_user(
            "the fitted one-parameter map has no real fixed point; the point of closest "
            "approach (vertex of R(x) - x) is reported as the ghost of a marginal fixed point "
            "(fixed_point_exact = 0)",
            UserWarning,
        )
    attractor, sentence = _attractor(C, model, fps, arr, scale, stability)
    toward_ref = -1
    ref_data: dict[str, Any] = {}
    if reference is not None:
        ref = np.broadcast_to(np.asarray(reference, dtype=float), (p,)).copy()
        if not np.all(np.isfinite(ref)):
            raise ValueError(f"reference must be finite, got {ref.tolist()}")
        # linearise at the reference point itself: linear in the coefficients, so its
        # error bars stay well behaved even where fitted fixed points are ill-defined
        shift = apply_map(C, ref, model)[0] - ref
        shift_rep = np.array([apply_map(Cr, ref, model)[0] - ref for Cr in C_rep])
        ev_ref = sorted_eigenvalues(jacobian(C, ref, model))
        ev_rep = np.array([sorted_eigenvalues(jacobian(Cr, ref, model)) for Cr in C_rep])
        shift_err = shift_rep.std(axis=0, ddof=1)
        mod_ref_err = np.abs(ev_rep).std(axis=0, ddof=1)
        is_fixed = bool(np.all(np.abs(shift) <= 4 * np.maximum(shift_err, 1e-300)))
        not_repelling = bool(np.all(np.abs(ev_ref) - 2 * mod_ref_err <= 1))
        last = arr[:, -1][np.all(np.isfinite(arr[:, -1]), axis=1)].mean(axis=0)
        closer = bool(
            np.linalg.norm((apply_map(C, last, model)[0] - ref) / scale)
            <= np.linalg.norm((last - ref) / scale)
        )
        toward_ref = int(is_fixed and not_repelling and closer)
        sentence += (
            f"; the reference {ref.tolist()} is "
            f"{'' if is_fixed else 'not '}a fixed point of the fitted map within 4 sigma "
            f"(R(ref) - ref = {np.round(shift, 6).tolist()} +- {np.round(shift_err, 6).tolist()}), "
            f"eigenvalues there {np.round(ev_ref.real, 4).tolist()} +- "
            f"{np.round(mod_ref_err, 4).tolist()}; the last level "
            f"{'moves toward' if closer else 'moves away from'} it"
        )
        ref_data = {
            "reference": ("parameter", ref),
            "reference_shift": ("parameter", shift),
            "reference_shift_err": ("parameter", shift_err),
            "reference_eigenvalues_real": ("mode", ev_ref.real),
            "reference_eigenvalues_imag": ("mode", ev_ref.imag),
            "reference_eigenvalues_err": ("mode", mod_ref_err),
        }
    terms = term_names(labels["names"], model)
    coords = {
        "parameter": labels["names"],
        "output": labels["names"],
        "term": terms,
        "fixed_point": np.arange(n_fp),
        "mode": np.arange(p),
        level_dim: labels["levels"],
    }
    data = {
        "params": (("trajectory", level_dim, "parameter"), arr),
        "coefficients": (("term", "output"), C),
        "coefficients_err": (("term", "output"), C_rep.std(axis=0, ddof=1)),
        "fixed_points": (("fixed_point", "parameter"), fps),
        "fixed_points_err": (("fixed_point", "parameter"), fp_err),
        "fixed_point_exact": ("fixed_point", exact.astype(int)),
        "fixed_point_found": ("fixed_point", found),
        "eigenvalues_real": (("fixed_point", "mode"), eig.real),
        "eigenvalues_imag": (("fixed_point", "mode"), eig.imag),
        "eigenvalues_real_err": (("fixed_point", "mode"), eig_err_re),
        "eigenvalues_imag_err": (("fixed_point", "mode"), eig_err_im),
        "stability": ("fixed_point", np.array(stability, dtype=str)),
    }
    data.update(ref_data)
    if err is not None:
        data["errors"] = (("trajectory", level_dim, "parameter"), err)
    if p == 1:
        pad = 0.25 * scale[0]
        grid_lo = min(lo[0] - pad, *(fps[:, 0] if n_fp else []))
        grid_hi = max(hi[0] + pad, *(fps[:, 0] if n_fp else []))
        gx = np.linspace(grid_lo, grid_hi, 200)
        data["map_x"] = ("map_point", gx)
        data["map_y"] = ("map_point", apply_map(C, gx[:, None], model)[:, 0])
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {
        "analysis": "parameter_flow",
        "model": model,
        "level_dim": level_dim,
        "n_pairs": n_pairs,
        "n_trajectories": n_traj,
        "chi2_per_dof": chi2,
        "error_inflation": inflation,
        "error_source": error_source,
        "attractor": attractor,
        "flows_toward": sentence,
        "toward_reference": toward_ref,
        "n_resamples": n_resamples,
        "random_state": random_state if isinstance(random_state, int) else str(random_state),
    }
    return ds


def _residual_covariance(
    C: np.ndarray, model: str, arr: np.ndarray, ok: np.ndarray, cov: np.ndarray
) -> np.ndarray:
    """Covariance of the residuals ``r = theta_{k+1} - R(theta_k)`` (pair-major, then output).

    ``Cov(r) = D Sigma D^T`` with ``D = d r / d theta`` linearised at the
    observed parameters: errors of the inputs ``theta_k`` count through the
    Jacobian of the map, and correlations between levels are kept.
    """
    n_traj, n_level, p = arr.shape
    pair_t, pair_l = np.divmod(np.arange(n_traj * (n_level - 1)), n_level - 1)
    rows = np.flatnonzero(ok)
    D = np.zeros((rows.size * p, arr.size))
    for a, i in enumerate(rows):
        t, lev = pair_t[i], pair_l[i]
        J = jacobian(C, arr[t, lev], model)
        for k in range(p):
            D[a * p + k, (t * n_level + lev + 1) * p + k] += 1.0
            D[a * p + k, (t * n_level + lev) * p : (t * n_level + lev + 1) * p] -= J[k]
    return D @ cov @ D.T


def _attractor(
    C: np.ndarray,
    model: str,
    fps: np.ndarray,
    arr: np.ndarray,
    scale: np.ndarray,
    stability: list[str],
) -> tuple[int, str]:
    """Iterate the fitted map from the last observed level; say where it goes."""
    last = arr[:, -1]
    last = last[np.all(np.isfinite(last), axis=1)]
    if len(last) == 0:
        return -1, "no finite parameters at the last level"
    x = last.mean(axis=0)
    start = x.copy()
    with np.errstate(all="ignore"):
        for _ in range(500):
            x = apply_map(C, x, model)[0]
            if not np.all(np.isfinite(x)) or np.any(np.abs(x) > 1e6 * (1 + np.abs(start))):
                return -1, "the fitted map sends the last level off to infinity (no attractor)"
    if len(fps):
        d = np.sqrt(np.sum(((fps - x) / scale) ** 2, axis=1))
        i = int(np.argmin(d))
        if d[i] < 1e-3:
            where = ", ".join(f"{v:.4g}" for v in fps[i])
            return i, f"flows toward fixed point {i} at ({where}), {stability[i]}"
    return -1, "the fitted map from the last level does not settle on a fixed point (cycle?)"


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
