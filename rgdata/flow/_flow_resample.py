"""Steps 3-4 of :func:`rgdata.flow.estimate_flow`: fixed points, resampling, stability.

:func:`nominal_fixed_points` finds the fixed points of the fitted map and the
eigenvalues of its Jacobian there; :func:`resample_map` refits the map on
perturbed inputs (correlated noise, independent errors, or the residual
scatter) and matches each resample's fixed points to the nominal ones;
:func:`summarize_resamples` turns the resamples into error bars and a
stable/unstable/marginal label per fixed point.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .._progress import progress_bar
from .._warnings import warn_user
from ._flow_fit import FlowInputs, NominalFit, consecutive_pairs
from ._polymap import apply_map, fit_map, fit_map_gls, fixed_points, jacobian, sorted_eigenvalues

__all__ = [
    "FixedPoints",
    "Resamples",
    "nominal_fixed_points",
    "resample_map",
    "summarize_resamples",
]


@dataclass(frozen=True)
class FixedPoints:
    """Fixed points of the fitted map, the data range, and the Jacobian's eigenvalues there."""

    fps: np.ndarray  # (fixed_point, parameter)
    exact: np.ndarray  # 0 for the ghost of a marginal 1-D fixed point
    eig: np.ndarray  # (fixed_point, mode), complex, sorted by decreasing modulus
    lo: np.ndarray  # smallest finite parameter values
    hi: np.ndarray  # largest finite parameter values
    scale: np.ndarray  # hi - lo (at least 1e-12), the distance unit


@dataclass(frozen=True)
class Resamples:
    """Coefficients, matched fixed points and eigenvalues of every resample."""

    C: np.ndarray  # (resample, term, output)
    fps: np.ndarray  # (resample, fixed_point, parameter), NaN where not found
    eig: np.ndarray  # (resample, fixed_point, mode), complex


def nominal_fixed_points(inp: FlowInputs, fit: NominalFit, model: str) -> FixedPoints:
    """Fixed points of the nominal map within (an extension of) the data range."""
    arr = inp.arr
    p = arr.shape[2]
    finite = arr[np.all(np.isfinite(arr), axis=2)]
    lo, hi = finite.min(axis=0), finite.max(axis=0)
    scale = np.maximum(hi - lo, 1e-12)
    fps, exact = fixed_points(fit.C, model, lo, hi)
    n_fp = len(fps)
    eig = np.array([sorted_eigenvalues(jacobian(fit.C, fp, model)) for fp in fps]).reshape(n_fp, p)
    return FixedPoints(fps=fps, exact=exact, eig=eig, lo=lo, hi=hi, scale=scale)


def resample_map(
    inp: FlowInputs,
    fit: NominalFit,
    fp: FixedPoints,
    model: str,
    n_resamples: int,
    rng: np.random.Generator,
    progress: bool,
) -> Resamples:
    """Refit the map *n_resamples* times on perturbed inputs; match their fixed points."""
    arr, err, C, ok = inp.arr, inp.err, fit.C, fit.ok
    p = arr.shape[2]
    n_fp = len(fp.fps)
    C_rep = np.empty((n_resamples,) + C.shape)
    fp_rep = np.full((n_resamples, n_fp, p), np.nan)
    eig_rep = np.full((n_resamples, n_fp, p), np.nan, dtype=complex)
    if inp.correlated:
        finite_flat = np.isfinite(arr).ravel()
        sub = inp.cov_full[np.ix_(finite_flat, finite_flat)]
        w_eig, v_eig = np.linalg.eigh(sub)
        root = v_eig * np.sqrt(np.clip(w_eig, 0, None))  # sub = root @ root.T
    for r in progress_bar(range(n_resamples), enable=progress, desc="flow resamples"):
        if inp.correlated:
            noise = np.zeros(arr.size)
            noise[finite_flat] = root @ rng.standard_normal(root.shape[1])
            arr_r = arr + fit.inflation * noise.reshape(arr.shape)
            xr_, yr_, _ = consecutive_pairs(arr_r)
            xr_, yr_ = xr_[ok], yr_[ok]
        elif err is not None:
            arr_r = arr + fit.inflation * err * rng.standard_normal(arr.shape)
            xr_, yr_, _ = consecutive_pairs(arr_r)
            xr_, yr_ = xr_[ok], yr_[ok]
        else:
            xr_ = fit.x
            yr_ = apply_map(C, fit.x, model) + fit.sigma_res * rng.standard_normal(fit.y.shape)
        if fit.W is None:
            Cr = fit_map(xr_, yr_, fit.sy, model)
        else:
            Cr = fit_map_gls(xr_, yr_, fit.W, model)
        C_rep[r] = Cr
        if n_fp:
            cand, _ = fixed_points(Cr, model, fp.lo, fp.hi, starts=fp.fps if p > 1 else None)
            matched = _match(fp.fps, cand, fp.scale)
            fp_rep[r] = matched
            for i, point in enumerate(matched):
                if np.all(np.isfinite(point)):
                    eig_rep[r, i] = sorted_eigenvalues(jacobian(Cr, point, model))
    return Resamples(C=C_rep, fps=fp_rep, eig=eig_rep)


def _match(nominal: np.ndarray, candidates: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """For each nominal fixed point, the nearest candidate (NaN row if none)."""
    out = np.full_like(nominal, np.nan)
    if len(candidates) == 0:
        return out
    for i, fp in enumerate(nominal):
        d = np.sqrt(np.sum(((candidates - fp) / scale) ** 2, axis=1))
        out[i] = candidates[np.argmin(d)]
    return out


def summarize_resamples(fp: FixedPoints, rep: Resamples) -> dict[str, np.ndarray | list[str]]:
    """Error bars over resamples, the share of resamples with each fixed point, stability."""
    n_fp, p = fp.eig.shape
    found = np.mean(np.all(np.isfinite(rep.fps), axis=2), axis=0) if n_fp else np.empty(0)
    if np.any(found < 0.9):
        warn_user(
            f"fixed point(s) {np.flatnonzero(found < 0.9).tolist()} exist in only "
            f"{np.round(found[found < 0.9], 2).tolist()} of the resamples: their error bars "
            "come from the resamples that have them (fixed_point_found)",
            UserWarning,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fp_err = np.nanstd(rep.fps, axis=0, ddof=1) if n_fp else np.empty((0, p))
        eig_err_re = np.nanstd(rep.eig.real, axis=0, ddof=1) if n_fp else np.empty((0, p))
        eig_err_im = np.nanstd(rep.eig.imag, axis=0, ddof=1) if n_fp else np.empty((0, p))
        mod_err = np.nanstd(np.abs(rep.eig), axis=0, ddof=1) if n_fp else np.empty((0, p))
    stability = []
    for i in range(n_fp):
        mod = np.abs(fp.eig[i])
        if np.any(mod - 2 * mod_err[i] > 1):
            stability.append("unstable")
        elif np.all(mod + 2 * mod_err[i] < 1):
            stability.append("stable")
        else:
            stability.append("marginal")
    if n_fp and np.any(fp.exact == 0):
        warn_user(
            "the fitted one-parameter map has no real fixed point; the point of closest "
            "approach (vertex of R(x) - x) is reported as the ghost of a marginal fixed point "
            "(fixed_point_exact = 0)",
            UserWarning,
        )
    return {
        "found": found,
        "fp_err": fp_err,
        "eig_err_re": eig_err_re,
        "eig_err_im": eig_err_im,
        "stability": stability,
    }
