"""Steps 1-2 of :func:`rgdata.flow.estimate_flow`: the inputs and the nominal fit.

:func:`check_inputs` brings parameters, errors and covariance to the
``(trajectory, level, parameter)`` layout and checks them; :func:`fit_nominal`
fits the map once (ordinary, weighted or effective-variance generalised
least squares) and says how the resampling noise is to be drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, describe
from .._warnings import warn_user
from ._polymap import apply_map, fit_map, fit_map_gls, jacobian, term_pairs

__all__ = ["FlowInputs", "NominalFit", "check_inputs", "consecutive_pairs", "fit_nominal"]


@dataclass(frozen=True)
class FlowInputs:
    """Parameters, errors and covariance in ``(trajectory, level, parameter)`` layout."""

    arr: np.ndarray
    err: np.ndarray | None
    cov_full: np.ndarray | None  # flattened covariance (given, or diagonal from errors)
    correlated: bool  # a full covariance was given
    names: list[str]
    levels: np.ndarray


@dataclass(frozen=True)
class NominalFit:
    """The map fitted to the observed pairs, with what the resampling needs."""

    C: np.ndarray  # coefficients (term, output)
    W: np.ndarray | None  # GLS weight matrix (None: ordinary/weighted least squares)
    x: np.ndarray  # inputs of the usable pairs
    y: np.ndarray  # outputs of the usable pairs
    ok: np.ndarray  # which pairs are usable (no NaN)
    sy: np.ndarray | None  # errors of the outputs (weighted least squares)
    n_pairs: int
    chi2: float  # per degree of freedom; NaN without errors
    inflation: float  # Birge ratio applied to the resampling noise
    sigma_res: np.ndarray | None  # residual scatter per output (no errors given)
    error_source: str


def as_params(params: Any, level_dim: str) -> tuple[np.ndarray, dict[str, Any]]:
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


def consecutive_pairs(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Consecutive pairs (x_k, x_{k+1}) of every trajectory, dropping pairs with NaN."""
    x = arr[:, :-1].reshape(-1, arr.shape[2])
    y = arr[:, 1:].reshape(-1, arr.shape[2])
    ok = np.all(np.isfinite(x), axis=1) & np.all(np.isfinite(y), axis=1)
    return x, y, ok


def check_inputs(params: Any, errors: Any, covariance: Any, level_dim: str) -> FlowInputs:
    """Validate *params*, *errors* and *covariance*; the covariance defaults to ``diag(err**2)``."""
    arr, labels = as_params(params, level_dim)
    n_level = arr.shape[1]
    if n_level < 2:
        raise ValueError(f"params has {n_level} level(s); at least 2 are needed for a flow")
    err = None
    if errors is not None:
        if isinstance(errors, xr.DataArray):
            err, _ = as_params(errors, level_dim)
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
    return FlowInputs(
        arr=arr,
        err=err,
        cov_full=cov_full,
        correlated=covariance is not None,
        names=labels["names"],
        levels=labels["levels"],
    )


def fit_nominal(inp: FlowInputs, model: str) -> NominalFit:
    """Fit the map to the usable pairs; chi2, the Birge inflation and the noise source."""
    arr, err, cov_full = inp.arr, inp.err, inp.cov_full
    p = arr.shape[2]
    x, y, ok = consecutive_pairs(arr)
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
        _, sy, _ = consecutive_pairs(err)
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
    inflation = 1.0
    sigma_res = None
    if err is not None:
        r = resid.ravel()
        chi2 = float(r @ W @ r / (dof * p)) if dof > 0 else np.nan
        error_source = (
            "given parameter covariance (inputs resampled with correlated noise)"
            if inp.correlated
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
    return NominalFit(
        C=C,
        W=W,
        x=xo,
        y=yo,
        ok=ok,
        sy=sy,
        n_pairs=n_pairs,
        chi2=chi2,
        inflation=inflation,
        sigma_res=sigma_res,
        error_source=error_source,
    )


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
