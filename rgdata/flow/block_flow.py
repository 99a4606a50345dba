"""Fixed point and thermal eigenvalue of block-spin coupling flows across temperatures.

:func:`fit_block_flow` feeds the couplings of several
:func:`rgdata.lattice.block_coupling_flow` trajectories (one per temperature)
into :func:`rgdata.flow.estimate_flow` to get the fixed point of the flow and
the thermal eigenvalue ``lambda_t = b^{y_t}``. The fitted numbers are data
variables (``K_star(parameter)``, ``lambda_t``, ``y_t`` and their errors), so
the result round-trips through netCDF.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, describe
from .._warnings import once_per_call, warn_user

__all__ = ["fit_block_flow"]


def _flow_label(flow: xr.Dataset) -> str:
    T = flow.attrs.get("temperature")
    return f"temperature {float(T):g}" if T is not None else "no temperature in attrs"


def _check_compatible_flows(flows: list | tuple) -> None:
    """Every flow must have the same couplings, levels, sides and block rule as ``flows[0]``."""
    ref = flows[0]

    def signature(f: xr.Dataset) -> dict[str, Any]:
        side = f["side"].values.tolist() if "side" in f.coords else None
        return {
            "couplings": [str(c) for c in f["coupling"].values],
            "levels": [int(v) for v in f["level"].values],
            "side": side,
            "block_factor": f.attrs.get("block_factor"),
            "block_rule": f.attrs.get("block_rule"),
            "tie_break": f.attrs.get("tie_break"),
        }

    want = signature(ref)
    diffs = []
    for i, f in enumerate(flows[1:], start=1):
        got = signature(f)
        for key, value in want.items():
            if got[key] != value:
                diffs.append(f"flows[{i}] {key} {got[key]} vs {value} in flows[0]")
    if diffs:
        raise ValueError(
            "the flows are not compatible: every flow must come from block_coupling_flow with "
            "the same couplings (operators, field), levels, lattice side, block factor b, rule "
            "and tie_break; differences: " + "; ".join(diffs)
        )


def _check_flow_couplings(couplings: Any, available: list[str]) -> list[str]:
    accepted = f"a coupling name or a non-empty sequence of distinct names out of {available}"
    if isinstance(couplings, str):
        names = [couplings]
    elif isinstance(couplings, list | tuple | np.ndarray):
        names = list(couplings)
        if not names:
            raise ValueError(f"couplings is empty; give {accepted}")
        bad = [n for n in names if not isinstance(n, str | np.str_)]
        if bad:
            raise TypeError(
                f"couplings must hold names (str), got {', '.join(describe(n) for n in bad)}; "
                f"give {accepted}"
            )
        names = [str(n) for n in names]
    else:
        raise TypeError(f"couplings must be {accepted}, got {describe(couplings)}")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"couplings names {repeated} more than once (a repeated coupling makes the map "
            f"singular); give {accepted}"
        )
    unknown = [n for n in names if n not in available]
    if unknown:
        raise ValueError(f"the flows have no coupling(s) {unknown}; give {accepted}")
    return names


@once_per_call
def fit_block_flow(
    flows: Any,
    couplings: Any = ("nn", "nnn"),
    *,
    first_level: int = 0,
    model: str = "linear",
    n_resamples: int = 300,
    random_state: Any = 0,
) -> xr.Dataset:
    """Fixed point and thermal eigenvalue from block-coupling flows at several temperatures.

    The pairs ``(K^(l), K^(l+1))`` of every flow (one trajectory per
    temperature) are fitted by :func:`rgdata.flow.estimate_flow` with the
    jackknife covariance of each flow across levels (flows from independent
    simulations are independent). The leading eigenvalue of the fitted map
    at its fixed point is ``lambda_t = b^{y_t}``.

    Parameters
    ----------
    flows : sequence of xarray.Dataset
        Results of :func:`block_coupling_flow` with the same coupling list,
        levels, lattice side, block factor, block rule and tie rule (typically
        one per temperature near ``T_c``).
    couplings : str or sequence of str
        The couplings the map acts on: one name or a non-empty sequence of
        distinct names held by the flows. The default ``("nn", "nnn")`` fits the
        two-coupling linear map: the flow from the nearest-neighbour line
        (``K_nnn = 0`` at level 0) onto the block-spin manifold (``K_nnn``
        about 0.09 at ``T_c``) is then part of the map, so level 0 can be
        used. A single name is the one-parameter projection: near the fixed
        point every coupling's deviation grows by ``lambda_t`` per level once
        the irrelevant directions have decayed, so the slope of ``K^(l+1)``
        against ``K^(l)`` across temperatures estimates ``lambda_t``; but the
        drift of the irrelevant couplings between levels enters as a shift of
        the intercept and biases the pooled slope (low, strongly so when the
        temperatures are close to ``T_c``); use ``first_level >= 1`` with it.
        More couplings make the map ill-conditioned: flows started on the
        nearest-neighbour line stay close to a surface of low dimension in
        coupling space, so the map's derivatives off it are poorly
        determined (``attrs["design_condition"]`` says how much; warned
        above 1e4).
    first_level : int
        Levels before it are left out (level 0 of a nearest-neighbour model
        lies off the block-spin manifold: its further couplings are exactly
        0; a map that includes ``nnn`` describes that step, a projection on
        ``nn`` alone does not).
    model : {"linear", "quadratic"}
        Polynomial map (see :func:`rgdata.flow.estimate_flow`).
    n_resamples : int
        Resamples for the errors.
    random_state : None, int or numpy.random.Generator

    Returns
    -------
    xarray.Dataset
        The :func:`rgdata.flow.estimate_flow` result (with a ``trajectory``
        coord holding the temperatures when known; the fitted couplings are
        its ``parameter`` coord) plus the data variables ``K_star``,
        ``K_star_err`` (dim ``parameter``: the fixed point nearest the data
        and its error), ``lambda_t``, ``lambda_t_err``, ``y_t``, ``y_t_err``
        (scalars; ``y_t = ln lambda_t / ln b``, error by the delta method;
        all NaN when the map has no fixed point) and attrs
        ``fixed_point_index`` (-1 when none), ``block_factor``,
        ``first_level``, ``projection``, ``design_condition``.

    Raises
    ------
    TypeError
        *flows* is not a list of :func:`block_coupling_flow` results;
        *couplings* is not a name or a sequence of names.
    ValueError
        Incompatible flows (the differences are listed); empty, repeated or
        unknown coupling names; a finite coupling without a usable jackknife
        error (fewer than 2 finite replicates: the flow and level are named).

    Warns
    -----
    UserWarning
        When some jackknife replicates of a flow are NaN (the covariance then
        uses the others), and when a multi-coupling map is ill-conditioned.
    """
    from ..lattice._pseudolikelihood import _jackknife  # here: rgdata.lattice imports this module
    from .flows import estimate_flow

    if isinstance(flows, xr.Dataset) or not isinstance(flows, list | tuple):
        raise TypeError(
            f"flows must be a list of block_coupling_flow results (one per temperature), got "
            f"{describe(flows)}"
        )
    if len(flows) < 1:
        raise ValueError("flows is empty; give at least one block_coupling_flow result")
    for i, f in enumerate(flows):
        if not isinstance(f, xr.Dataset) or f.attrs.get("analysis") != "block_coupling_flow":
            raise TypeError(f"flows[{i}] must be a block_coupling_flow result, got {describe(f)}")
    ref = flows[0]
    _check_compatible_flows(flows)
    names = _check_flow_couplings(couplings, [str(c) for c in ref["coupling"].values])
    first_level = check_int(first_level, "first_level", min_value=0)
    n_lev = ref.sizes["level"] - first_level
    if n_lev < 2:
        raise ValueError(
            f"first_level={first_level} leaves {n_lev} level(s); at least 2 are needed"
        )
    b = int(ref.attrs["block_factor"])
    p = len(names)
    levels = ref["level"].values[first_level:]
    params = np.empty((len(flows), n_lev, p))
    blocks = []
    for t, f in enumerate(flows):
        sub = f.sel(coupling=names).isel(level=slice(first_level, None))
        params[t] = sub["couplings"].transpose("level", "coupling").values
        reps = sub["couplings_jackknife"].transpose("jackknife", "level", "coupling").values
        _, cov_t, n_eff = _jackknife(reps)
        # a finite coupling needs a finite error: otherwise (fewer than 2 finite jackknife
        # replicates) its weight in the fit is unknown
        no_err = np.isfinite(params[t].ravel()) & ~(np.diag(cov_t) > 0)
        if no_err.any():
            lev_i, c_i = np.unravel_index(np.flatnonzero(no_err), (n_lev, p))
            where = ", ".join(
                f"level {int(levels[a])} {names[c]}" for a, c in zip(lev_i, c_i, strict=True)
            )
            raise ValueError(
                f"flows[{t}] ({_flow_label(f)}) has no usable jackknife error at {where}: "
                f"{n_eff} of {reps.shape[0]} replicates are finite at every level used "
                "(at least 2 are needed, and a positive variance); rerun with more samples, or "
                "leave the failing levels out (first_level, or fewer levels)"
            )
        if n_eff < reps.shape[0]:
            warn_user(
                f"flows[{t}] ({_flow_label(f)}): {reps.shape[0] - n_eff} of {reps.shape[0]} "
                "jackknife replicates are NaN at some level used; the covariance across levels "
                f"comes from the {n_eff} replicates finite at all of them",
                UserWarning,
            )
        blocks.append(cov_t)
    n_flat = params.size
    cov = np.zeros((n_flat, n_flat))
    step = n_lev * p
    for t, blk in enumerate(blocks):
        cov[t * step : (t + 1) * step, t * step : (t + 1) * step] = blk
    # NaN couplings (left out, or a failed fit at that level) have NaN covariance rows: give
    # them a unit diagonal (estimate_flow drops NaN parameters)
    bad = ~np.isfinite(cov)
    if bad.any():
        cov[bad] = 0.0
        idx = np.flatnonzero(~np.isfinite(params.ravel()))
        cov[idx, idx] = 1.0
    temps = [float(f.attrs.get("temperature", np.nan)) for f in flows]
    da = xr.DataArray(
        params,
        dims=("trajectory", "level", "parameter"),
        coords={"level": levels, "parameter": names},
    )
    x = params[:, :-1].reshape(-1, p)
    x = x[np.all(np.isfinite(x), axis=1)]
    design = np.column_stack([np.ones(len(x)), x])
    design_cond = float(np.linalg.cond(design)) if len(x) >= design.shape[1] else np.inf
    if p > 1 and design_cond > 1e4:
        warn_user(
            f"the multi-coupling map is ill-conditioned (condition number of the design "
            f"{design_cond:.3g}): the trajectories lie close to one curve in coupling space, so "
            "the map's derivatives off that curve are poorly determined; the one-parameter "
            "projection couplings='nn' is the robust estimate",
            UserWarning,
        )
    res = estimate_flow(
        da, covariance=cov, model=model, n_resamples=n_resamples, random_state=random_state
    )
    res = res.assign_coords(trajectory=("trajectory", np.asarray(temps)))
    res["trajectory"].attrs["long_name"] = "temperature"
    out: dict[str, Any] = {
        "block_factor": b,
        "first_level": first_level,
        "projection": (
            "one-parameter projection on " + names[0]
            if p == 1
            else "multi-coupling map on " + ", ".join(names)
        ),
        "design_condition": design_cond,
        "fixed_point_index": -1,
    }
    k_star = np.full(p, np.nan)
    k_star_err = np.full(p, np.nan)
    lam = lam_err = y_t = y_t_err = np.nan
    if res.sizes["fixed_point"]:
        fps = res["fixed_points"].values
        dist = np.linalg.norm(fps - np.nanmean(params.reshape(-1, p), axis=0), axis=1)
        i = int(np.argmin(dist))
        out["fixed_point_index"] = i
        k_star, k_star_err = fps[i], res["fixed_points_err"].values[i]
        lam = float(res["eigenvalues_real"].values[i, 0])
        lam_err = float(res["eigenvalues_real_err"].values[i, 0])
        if lam > 0:
            y_t = math.log(lam) / math.log(b)
            y_t_err = lam_err / (abs(lam) * math.log(b))
    res["K_star"] = ("parameter", np.asarray(k_star, dtype=float))
    res["K_star_err"] = ("parameter", np.asarray(k_star_err, dtype=float))
    res["K_star"].attrs["long_name"] = "fixed point nearest the data (attrs fixed_point_index)"
    for var, value in (
        ("lambda_t", lam),
        ("lambda_t_err", lam_err),
        ("y_t", y_t),
        ("y_t_err", y_t_err),
    ):
        res[var] = ((), float(value))
    res["lambda_t"].attrs["long_name"] = "leading eigenvalue of the map at K_star, b**y_t"
    res.attrs.update(out)
    return res
