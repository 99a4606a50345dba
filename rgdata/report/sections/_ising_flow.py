"""Ising section, coupling-flow part: block-spin couplings level by level around T_c.

Pseudo-likelihood couplings of the block spins at temperatures around
``T_c``, the fitted flow with its fixed point and thermal eigenvalue, and the
sentences that describe where each temperature flows. Called by
:func:`rgdata.report.sections.ising.add_ising_section`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr

from ...lattice import (
    block_coupling_flow,
    fit_block_flow,
    sample_ising,
)
from ...viz import lattice as vl
from .._report import Report
from ._ising_text import _SECTION, _fmt

__all__ = ["_coupling_flow_part"]


def _coupling_flow_part(
    report: Report, opt: dict, tc: float, crit: xr.DataArray, seeds, progress: bool
) -> dict[str, Any]:
    """Pseudo-likelihood couplings level by level at temperatures around T_c, and their flow."""
    from ..._progress import progress_bar

    Lm = int(opt["mcrg_size"])
    temps = sorted([tc] + [tc + float(d) for d in opt["flow_offsets"]])
    configs = {tc: crit}
    for T in progress_bar([T for T in temps if T != tc], enable=progress, desc="coupling flow"):
        configs[T] = sample_ising(
            Lm, T, int(opt["flow_samples"]), algorithm="wolff", random_state=int(next(seeds))
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        flows = [block_coupling_flow(configs[T], random_state=int(next(seeds))) for T in temps]
        try:
            fit = fit_block_flow(flows, ("nn", "nnn"), random_state=int(next(seeds)))
        except (ValueError, np.linalg.LinAlgError) as err:
            fit = None
            report.add_text(f"Block-coupling flow fit skipped: {err}", section=_SECTION)
    notes = sorted({str(w.message).split(";")[0] for w in caught})
    n_lev = flows[0].sizes["level"]
    names = [str(c) for c in flows[0]["coupling"].values]
    rows = []
    for T, f in zip(temps, flows, strict=True):
        for lev in range(n_lev):
            row = {"T": round(T, 5), "level": lev, "side": int(f["side"].values[lev])}
            for c in names:
                row[f"K_{c}"] = round(float(f["couplings"].sel(level=lev, coupling=c)), 5)
                row[f"K_{c}_err"] = round(float(f["couplings_err"].sel(level=lev, coupling=c)), 5)
            rows.append(row)
    heads: dict[str, Any] = {}
    kc = math.log(1 + math.sqrt(2)) / 2
    if fit is not None and fit.attrs["fixed_point_index"] >= 0:
        # the fit's numbers are variables (K_star on the fitted couplings, the rest scalars)
        got = {name: fit[name].values.tolist() for name in ("K_star", "K_star_err")}
        for name in ("y_t", "y_t_err", "lambda_t", "lambda_t_err"):
            got[name] = float(fit[name])
        heads.update({f"flow_{name}": value for name, value in got.items()})
        ks, ks_err = got["K_star"], got["K_star_err"]
        nnn_sign = _sign_text(ks[1], ks_err[1])
        fixed = (
            f"Linear map of (K_nn, K_nnn) fitted to all {fit.attrs['n_pairs']} pairs of "
            f"consecutive levels (rgdata.flow.estimate_flow, jackknife covariance across levels; "
            f"chi2/dof = {fit.attrs['chi2_per_dof']:.2f}): fixed point K*_nn = "
            f"{_fmt(ks[0], ks_err[0])}, K*_nnn = {_fmt(ks[1], ks_err[1])}; leading eigenvalue "
            f"lambda_t = {_fmt(got['lambda_t'], got['lambda_t_err'], 2)} = 2^y_t, "
            f"y_t = {_fmt(got['y_t'], got['y_t_err'], 2)} (exact y_t = 1, "
            "lambda_t = 2). The truncation to a few couplings and a linear map biases y_t "
            "low by about 0.02-0.05 (docs/lattice.md), and the seed-to-seed spread is up to "
            "about twice the quoted error. K_c = ln(1 + sqrt 2)/2 = "
            f"{kc:.4f} is the critical nearest-neighbour coupling of the ORIGINAL lattice "
            "(level 0); the block-spin fixed point is another point in coupling space (here "
            f"with K*_nnn {nnn_sign}), specific to the block rule and to the truncation."
        )
    else:
        fixed = "No fixed point of the fitted flow map was found."
    fig = vl.plot_block_coupling_flow(flows, fit, critical_coupling=kc)
    ref = flows[0].attrs
    b = int(ref["block_factor"])
    ties = (
        "seeded coin ties"
        if ref["block_rule"] == "majority" and ref["tie_break"] == "random"
        else f"ties: {ref['tie_break']}"
    )
    n_samples = [int(f.attrs["n_samples"]) for f in flows]
    samples = "; ".join(
        f"{_t_label(T, tc)}: {n}"
        + (" (the critical MCRG configurations, mcrg_samples)" if T == tc else "")
        for T, n in zip(temps, n_samples, strict=True)
    )
    level0 = "; ".join(_level0_text(T, f, tc) for T, f in zip(temps, flows, strict=True))
    direction = "; ".join(_direction_text(T, f, tc) for T, f in zip(temps, flows, strict=True))
    n_failed = sum(int(f.attrs.get("n_failed_replicates", 0)) for f in flows)
    failed = (
        f" {n_failed} jackknife replicate(s) failed to converge and were left out of the errors."
        if n_failed
        else ""
    )
    report.add_figure(
        fig,
        "ising_coupling_flow",
        f"Block-spin couplings by maximum pseudo-likelihood (couplings {', '.join(names)}; "
        f"jackknife errors over {int(ref['n_jackknife'])} contiguous sample blocks), L = {Lm}, "
        f"{b}x{b} {ref['block_rule']} blocks ({ties}). Samples per temperature: {samples}. "
        f"Level 0 K_nn against the exact 1/T (z = difference / error): {level0}. "
        f"Measured direction of the flow (K_nn from the first block level to the deepest; "
        f"'grows'/'shrinks' when the change exceeds 2 jackknife errors of the change, "
        f"else 'no significant change'): {direction}.{failed} " + fixed,
        section=_SECTION,
        params={
            "size": Lm,
            "temperatures": temps,
            "n_samples": n_samples,
            "flow_samples": int(opt["flow_samples"]),
            "mcrg_samples": int(opt["mcrg_samples"]),
        },
    )
    report.add_table(
        rows,
        "ising_coupling_flow_table",
        "Block-spin couplings (P(s) ~ exp(sum_a K_a S_a), S_a summed over sites and "
        "lattice-symmetry images) at every level and temperature, with jackknife errors. "
        "NaN: an operator too wide for the blocked lattice."
        + (" Notes: " + "; ".join(notes) + "." if notes else ""),
        section=_SECTION,
    )
    stacked = xr.concat(
        [f.drop_vars("side") for f in flows], dim="temperature", combine_attrs="drop_conflicts"
    ).assign_coords(temperature=temps, side=flows[0]["side"])
    report.add_result(
        stacked, "ising_block_couplings", "Block-spin couplings by level", section=_SECTION
    )
    if fit is not None:
        report.add_result(
            fit, "ising_coupling_flow", "Flow of block-spin couplings (fit)", section=_SECTION
        )
    return heads


def _t_label(T: float, tc: float) -> str:
    return "T_c" if T == tc else f"T_c {T - tc:+.2f}"


def _sign_text(value: float, err: float) -> str:
    """'> 0', '< 0' or 'consistent with 0' at two standard errors."""
    if not (np.isfinite(value) and np.isfinite(err)):
        return "undetermined (NaN)"
    if abs(value) <= 2 * err:
        return f"= {_fmt(value, err)}, consistent with 0"
    return f"= {_fmt(value, err)} {'> 0' if value > 0 else '< 0'}"


def _level0_text(T: float, flow: xr.Dataset, tc: float) -> str:
    k = float(flow["couplings"].sel(level=0, coupling="nn"))
    e = float(flow["couplings_err"].sel(level=0, coupling="nn"))
    return f"{_t_label(T, tc)}: {k:.4f} vs {1 / T:.4f} (z = {(k - 1 / T) / e:+.1f})"


def _flow_change(flow: xr.Dataset) -> tuple[int, int, float, float]:
    """Change of K_nn from level 1 (0 when there are only 2 levels) to the deepest finite level.

    The error is the jackknife error of the difference (the same sample blocks serve
    every level), over the replicates finite at both levels.
    """
    k = flow["couplings"].sel(coupling="nn").values
    reps = flow["couplings_jackknife"].sel(coupling="nn").transpose("jackknife", "level").values
    start = 1 if len(k) >= 3 else 0
    finite = [lev for lev in range(start + 1, len(k)) if np.isfinite(k[lev])]
    if not np.isfinite(k[start]) or not finite:
        return start, start, np.nan, np.nan
    end = finite[-1]
    d = reps[:, end] - reps[:, start]
    d = d[np.isfinite(d)]
    n = len(d)
    err = math.sqrt((n - 1) / n * float(np.sum((d - d.mean()) ** 2))) if n >= 2 else np.nan
    return start, end, float(k[end] - k[start]), err


def _direction_text(T: float, flow: xr.Dataset, tc: float) -> str:
    start, end, delta, err = _flow_change(flow)
    if not np.isfinite(delta):
        return f"{_t_label(T, tc)}: undetermined (too few finite levels)"
    if np.isfinite(err) and abs(delta) > 2 * err:
        word = "grows" if delta > 0 else "shrinks"
    else:
        word = "no significant change"
    return f"{_t_label(T, tc)}: levels {start}->{end} {delta:+.4f} ± {err:.4f}, {word}"
