"""Step 5 of :func:`rgdata.flow.estimate_flow`: where the flow goes, and the Dataset.

:func:`attractor` iterates the fitted map from the last observed level;
:func:`reference_linearisation` linearises the map at a reference point of
interest (with resampled errors); :func:`build_flow_dataset` assembles the
result, every fitted number a variable.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._flow_fit import FlowInputs, NominalFit
from ._flow_resample import FixedPoints, Resamples
from ._polymap import apply_map, jacobian, sorted_eigenvalues, term_names

__all__ = ["attractor", "reference_linearisation", "build_flow_dataset"]


def attractor(
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


def reference_linearisation(
    reference: Any,
    C: np.ndarray,
    C_rep: np.ndarray,
    model: str,
    arr: np.ndarray,
    scale: np.ndarray,
) -> tuple[int, str, dict[str, tuple]]:
    """Shift and eigenvalues of the map at *reference*; whether the flow heads there.

    Returns ``(toward_reference, sentence, variables)``: 1 when the reference
    is a fixed point within 4 sigma, is not repelling and the last level
    moves toward it (else 0), a sentence to append to ``flows_toward``, and
    the ``reference_*`` variables of the result.
    """
    p = arr.shape[2]
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
    sentence = (
        f"; the reference {ref.tolist()} is "
        f"{'' if is_fixed else 'not '}a fixed point of the fitted map within 4 sigma "
        f"(R(ref) - ref = {np.round(shift, 6).tolist()} +- {np.round(shift_err, 6).tolist()}), "
        f"eigenvalues there {np.round(ev_ref.real, 4).tolist()} +- "
        f"{np.round(mod_ref_err, 4).tolist()}; the last level "
        f"{'moves toward' if closer else 'moves away from'} it"
    )
    variables = {
        "reference": ("parameter", ref),
        "reference_shift": ("parameter", shift),
        "reference_shift_err": ("parameter", shift_err),
        "reference_eigenvalues_real": ("mode", ev_ref.real),
        "reference_eigenvalues_imag": ("mode", ev_ref.imag),
        "reference_eigenvalues_err": ("mode", mod_ref_err),
    }
    return int(is_fixed and not_repelling and closer), sentence, variables


def build_flow_dataset(
    inp: FlowInputs,
    fit: NominalFit,
    fp: FixedPoints,
    rep: Resamples,
    summary: dict,
    extra: dict[str, tuple],
    attrs: dict[str, Any],
    model: str,
    level_dim: str,
) -> xr.Dataset:
    """The flow Dataset: inputs, coefficients, fixed points, eigenvalues, the map on a grid."""
    arr, p = inp.arr, inp.arr.shape[2]
    n_fp = len(fp.fps)
    coords = {
        "parameter": inp.names,
        "output": inp.names,
        "term": term_names(inp.names, model),
        "fixed_point": np.arange(n_fp),
        "mode": np.arange(p),
        level_dim: inp.levels,
    }
    data = {
        "params": (("trajectory", level_dim, "parameter"), arr),
        "coefficients": (("term", "output"), fit.C),
        "coefficients_err": (("term", "output"), rep.C.std(axis=0, ddof=1)),
        "fixed_points": (("fixed_point", "parameter"), fp.fps),
        "fixed_points_err": (("fixed_point", "parameter"), summary["fp_err"]),
        "fixed_point_exact": ("fixed_point", fp.exact.astype(int)),
        "fixed_point_found": ("fixed_point", summary["found"]),
        "eigenvalues_real": (("fixed_point", "mode"), fp.eig.real),
        "eigenvalues_imag": (("fixed_point", "mode"), fp.eig.imag),
        "eigenvalues_real_err": (("fixed_point", "mode"), summary["eig_err_re"]),
        "eigenvalues_imag_err": (("fixed_point", "mode"), summary["eig_err_im"]),
        "stability": ("fixed_point", np.array(summary["stability"], dtype=str)),
    }
    data.update(extra)
    if inp.err is not None:
        data["errors"] = (("trajectory", level_dim, "parameter"), inp.err)
    if p == 1:
        pad = 0.25 * fp.scale[0]
        grid_lo = min(fp.lo[0] - pad, *(fp.fps[:, 0] if n_fp else []))
        grid_hi = max(fp.hi[0] + pad, *(fp.fps[:, 0] if n_fp else []))
        gx = np.linspace(grid_lo, grid_hi, 200)
        data["map_x"] = ("map_point", gx)
        data["map_y"] = ("map_point", apply_map(fit.C, gx[:, None], model)[:, 0])
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = attrs
    return ds
