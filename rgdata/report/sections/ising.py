"""Ising section: simulations of the 2D Ising model checked against exact results.

Observables against Kaufman's finite-lattice and Onsager's infinite-lattice
results, Binder crossings, finite-size-scaling exponents, block-spin
snapshots, Monte Carlo RG eigenvalues against ``y_t = 1`` and ``y_h = 15/8``,
the flow of block-spin couplings (pseudo-likelihood) with its fixed point and
thermal eigenvalue, and the phenomenological RG (PRG) on critical configurations against the
variance exponent ``1 + (2 - eta)/d = 1.875`` of compact blocks.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_random_state
from ...lattice import (
    binder_crossings,
    block_coupling_flow,
    block_spin_levels,
    exact,
    fit_block_flow,
    fss_exponent,
    mcrg,
    mcrg_table,
    sample_ising,
    scaling_collapse,
    scan_observables,
)
from ...viz import lattice as vl
from .._report import Report

__all__ = ["add_ising_section", "ISING_DEFAULTS"]

_SECTION = "2D Ising model"

#: Default (full, quick) sizes and sample counts.
ISING_DEFAULTS = {
    False: {
        "sizes": {8: 20000, 16: 20000, 32: 15000, 64: 4000},
        "offsets": [
            -0.5,
            -0.25,
            -0.12,
            -0.06,
            -0.03,
            -0.015,
            0.0,
            0.015,
            0.03,
            0.06,
            0.12,
            0.25,
            0.5,
        ],
        "crossing_window": 0.031,
        "collapse_window": 0.125,
        "mcrg_size": 64,
        "mcrg_samples": 8000,
        "prg_size": 32,
        "prg_samples": 2000,
        "flow_offsets": [-0.06, -0.03, 0.03, 0.06],
        "flow_samples": 2000,
    },
    True: {
        "sizes": {8: 1000, 16: 500},
        "offsets": [-0.4, -0.1, -0.03, 0.0, 0.03, 0.1, 0.4],
        "crossing_window": 0.031,
        "collapse_window": 0.125,
        "mcrg_size": 32,
        "mcrg_samples": 400,
        "prg_size": 16,
        "prg_samples": 600,
        "flow_offsets": [-0.06, 0.06],
        "flow_samples": 400,
    },
}

ETA_2D = 0.25
PRG_EXPECTED = 1 + (2 - ETA_2D) / 2


def _fmt(value: float, err: float, digits: int = 3) -> str:
    return f"{value:.{digits}f} ± {err:.{digits}f}"


def add_ising_section(
    report: Report,
    *,
    random_state: Any = 0,
    progress: bool = False,
    quick: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Simulate the 2D Ising model and compare every measured number with its exact value.

    Parameters
    ----------
    report : rgdata.report.Report
    random_state : None, int or numpy.random.Generator
        Seeds every simulation (one child seed each) and the tie-breaking coins.
    progress : bool
        Progress bars.
    quick : bool
        Smaller lattices and fewer samples (a smoke test, under a minute).
    **options
        Override :data:`ISING_DEFAULTS` entries: ``sizes`` (dict L -> number
        of samples), ``offsets`` (temperatures relative to ``T_c``),
        ``crossing_window`` (half-width around ``T_c`` used for the Binder
        crossings), ``collapse_window`` (half-width used for the data collapse,
        where scaling holds), ``mcrg_size``, ``mcrg_samples``, ``prg_size``,
        ``prg_samples``, ``flow_offsets`` (temperatures relative to ``T_c``
        added to the critical MCRG run for the block-coupling flow, on the
        same ``mcrg_size`` lattice) and ``flow_samples`` (samples at each of those;
        ``T_c`` reuses the ``mcrg_samples`` critical configurations).

    Returns
    -------
    dict
        Headline numbers: Binder-crossing ``T_c`` and error, ``gamma/nu`` and
        ``beta/nu`` with CIs, MCRG ``y_t``/``y_h`` with errors, the
        block-coupling flow's fixed point ``flow_K_star`` and ``flow_y_t``
        (with errors), the PRG variance exponent with its CI and its
        shuffled null.
    """
    if not isinstance(report, Report):
        raise TypeError(f"report must be an rgdata.report.Report, got {type(report).__name__}")
    unknown = set(options) - set(ISING_DEFAULTS[False])
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)}; accepted: {sorted(ISING_DEFAULTS[False])}"
        )
    opt = dict(ISING_DEFAULTS[bool(quick)], **options)
    rng = check_random_state(random_state)
    seeds = iter(rng.integers(0, 2**31, size=1000))
    tc = exact.TC_2D
    temps = tc + np.asarray(opt["offsets"], dtype=float)
    heads: dict[str, Any] = {}

    report.add_text(
        "Ground truth for the pipeline: the 2D nearest-neighbour Ising model (J = 1, "
        f"T_c = 2/ln(1+sqrt 2) = {tc:.6f}) sampled with the Wolff cluster algorithm. Every "
        "measured number below is shown next to its exact value: Kaufman's finite-torus "
        "solution, Onsager's and Yang's infinite-lattice results, the exact exponents "
        "(gamma/nu = 7/4, beta/nu = 1/8, nu = 1, y_t = 1, y_h = 15/8) and U* = 0.61069.",
        section=_SECTION,
    )

    # ---------------------------------------------------------- observables
    configs = []
    runs = [(L, n, T) for L, n in opt["sizes"].items() for T in temps]
    from ..._progress import progress_bar

    for L, n, T in progress_bar(runs, enable=progress, desc="ising scan"):
        configs.append(
            sample_ising(int(L), float(T), int(n), algorithm="wolff", random_state=int(next(seeds)))
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scan = scan_observables(configs)
    n_unreliable = int((scan.errors_reliable == 0).sum())
    if caught or n_unreliable:
        report.add_text(
            f"{n_unreliable} (size, temperature) run(s) had too few samples for their "
            "autocorrelation; their error bars are lower bounds (errors_reliable = 0 in the "
            "result).",
            section=_SECTION,
        )
    sizes = [int(s) for s in scan["size"].values]
    fine = np.linspace(temps.min(), temps.max(), 200)
    kauf = xr.concat([exact.kaufman(fine, L) for L in sizes], dim="size").assign_coords(size=sizes)
    ons = exact.onsager(fine[np.abs(fine - tc) > 1e-3])
    ons["abs_magnetization"] = ons["magnetization"]
    i_tc = int(np.argmin(np.abs(scan["temperature"].values - tc)))
    at_tc = scan.isel(temperature=i_tc)
    lines = []
    for L in sizes:
        row = at_tc.sel(size=L)
        lines.append(
            f"L={L}: u = {_fmt(float(row.energy), float(row.energy_err), 4)} "
            f"(exact {exact.energy_per_site(tc, L):.4f}), c = "
            f"{_fmt(float(row.specific_heat), float(row.specific_heat_err), 3)} "
            f"(exact {exact.specific_heat_per_site(tc, L):.3f})"
        )
    report.add_figure(
        vl.plot_lattice_observable(scan, "energy", reference=kauf, reference_label="Kaufman"),
        "ising_energy",
        "Energy per site against T (points: Wolff simulations with jackknife error bars; "
        "lines: Kaufman's exact finite-torus result for each L). At T_c: " + "; ".join(lines),
        section=_SECTION,
        params={"sizes": opt["sizes"]},
    )
    rows = []
    for L in sizes:
        row = at_tc.sel(size=L)
        rows.append(
            {
                "L": L,
                "u": float(row.energy),
                "u_err": float(row.energy_err),
                "u_exact": float(exact.energy_per_site(tc, L)),
                "c": float(row.specific_heat),
                "c_err": float(row.specific_heat_err),
                "c_exact": float(exact.specific_heat_per_site(tc, L)),
                "U": float(row.binder),
                "U_err": float(row.binder_err),
                "n_samples": int(row.n_samples),
            }
        )
    report.add_table(
        rows,
        "ising_at_tc",
        "Measured energy and specific heat per site at T_c against Kaufman's exact values "
        "for the same torus, and the Binder cumulant (U* = 0.61069 for L -> infinity).",
        section=_SECTION,
    )
    report.add_figure(
        vl.plot_lattice_observable(
            scan, "specific_heat", reference=kauf, reference_label="Kaufman"
        ),
        "ising_specific_heat",
        "Specific heat per site against T with Kaufman's exact curves (the peak grows as "
        "(8/pi) K_c^2 ln L, the 2D Ising logarithm).",
        section=_SECTION,
    )
    report.add_figure(
        vl.plot_lattice_observable(
            scan, "abs_magnetization", reference=ons, reference_label="Yang (L = inf)"
        ),
        "ising_magnetization",
        "<|m|> against T with Yang's spontaneous magnetization of the infinite lattice "
        "(finite lattices keep <|m|> > 0 above T_c, shrinking as L^(-1/8) at T_c).",
        section=_SECTION,
    )

    # ----------------------------------------------------- Binder and FSS
    window = scan.sel(
        temperature=scan["temperature"][np.abs(scan["temperature"] - tc) <= opt["crossing_window"]]
    )
    degree = min(3, window.sizes["temperature"] - 2)
    cross = binder_crossings(window, degree=degree, random_state=int(next(seeds)))
    t_est, t_err = cross.attrs["estimate"], cross.attrs["estimate_err"]
    heads["tc_binder"], heads["tc_binder_err"] = t_est, t_err
    heads["binder_at_crossing"] = cross.attrs["estimate_value"]
    u_cross = _fmt(cross.attrs["estimate_value"], cross.attrs["estimate_value_err"], 3)
    report.add_figure(
        vl.plot_binder_crossings(window, cross, critical_temperature=tc),
        "ising_binder",
        f"Binder cumulant U = 1 - <m^4>/(3<m^2>^2) near T_c. Crossing of the two largest "
        f"sizes: T = {_fmt(t_est, t_err, 4)} (exact {tc:.4f}, difference "
        f"{t_est - tc:+.4f}); U at the crossing {u_cross} "
        "(universal U* = 0.61069). Errors: parametric bootstrap of a degree-"
        f"{degree} polynomial fit.",
        section=_SECTION,
    )
    report.add_result(cross, "ising_binder_crossings", "Binder crossings", section=_SECTION)
    t_at = float(scan["temperature"][i_tc])
    chi_fit = fss_exponent(scan, "susceptibility_m2", t_at)
    m_fit = fss_exponent(scan, "abs_magnetization", t_at)
    for key, fit in (("gamma_nu", chi_fit), ("minus_beta_nu", m_fit)):
        heads[key] = fit.attrs["exponent"]
        heads[f"{key}_ci"] = [fit.attrs["ci_low"], fit.attrs["ci_high"]]
    report.add_figure(
        vl.plot_fss_fit(chi_fit),
        "ising_gamma_nu",
        f"Susceptibility N<m^2>/T at T_c against L: slope gamma/nu = "
        f"{_fmt(chi_fit.attrs['exponent'], chi_fit.attrs['exponent_err'])} (95% CI "
        f"[{chi_fit.attrs['ci_low']:.3f}, {chi_fit.attrs['ci_high']:.3f}], {len(sizes)} sizes); "
        "exact 7/4 = 1.75.",
        section=_SECTION,
    )
    report.add_figure(
        vl.plot_fss_fit(m_fit),
        "ising_beta_nu",
        f"<|m|> at T_c against L: slope -beta/nu = "
        f"{_fmt(m_fit.attrs['exponent'], m_fit.attrs['exponent_err'])} (95% CI "
        f"[{m_fit.attrs['ci_low']:.3f}, {m_fit.attrs['ci_high']:.3f}]); exact -1/8 = -0.125.",
        section=_SECTION,
    )
    near = scan.sel(
        temperature=scan["temperature"][
            np.abs(scan["temperature"] - tc) <= opt["collapse_window"] + 1e-9
        ]
    )
    col_good = scaling_collapse(near, "susceptibility_m2", tc, 1.0, 1.75)
    col_bad = scaling_collapse(near, "susceptibility_m2", tc, 1.0, 2.0)
    heads["collapse_quality_exact"] = col_good.attrs["quality"]
    heads["collapse_quality_wrong"] = col_bad.attrs["quality"]
    report.add_figure(
        vl.plot_scaling_collapse(col_good),
        "ising_collapse",
        f"Data collapse of N<m^2>/T within |T - T_c| <= {opt['collapse_window']} with the "
        "exact exponents (T_c, nu = 1, gamma/nu = 7/4): "
        f"quality S = {col_good.attrs['quality']:.2f} (about 1 when the curves agree within "
        f"errors); with a wrong gamma/nu = 2 S = {col_bad.attrs['quality']:.1f}.",
        section=_SECTION,
    )
    report.add_result(
        scan, "ising_observables", "Observables (size x temperature)", section=_SECTION
    )

    # --------------------------------------------------------- block spins, MCRG
    Lm = int(opt["mcrg_size"])
    crit = sample_ising(
        Lm,
        tc,
        int(opt["mcrg_samples"]),
        algorithm="wolff",
        spacing=1,
        random_state=int(next(seeds)),
    )
    levels = block_spin_levels(crit, 2, levels=3, random_state=int(next(seeds)))
    mags = np.abs(crit.values.mean(axis=tuple(range(1, crit.ndim))))
    typical = int(np.argmin(np.abs(mags - np.median(mags))))
    report.add_figure(
        vl.plot_block_snapshots(levels, sample=typical),
        "ising_block_spins",
        f"A critical configuration (L = {Lm}, T = T_c, the sample with the median |m| = "
        f"{mags[typical]:.2f}) and its 2x2 majority-rule block "
        "spins (ties broken by a seeded coin): at the fixed point the blocked lattices look "
        "statistically alike.",
        section=_SECTION,
    )
    res = mcrg(crit, b=2, rule="majority", random_state=int(next(seeds)), progress=progress)
    table = mcrg_table(res)
    heads["y_t"], heads["y_t_err"] = res.attrs["y_t_estimate"], res.attrs["y_t_estimate_err"]
    heads["y_h"], heads["y_h_err"] = res.attrs["y_h_estimate"], res.attrs["y_h_estimate_err"]
    lv2 = res.sel(level=min(2, res.sizes["level"]))
    report.add_figure(
        vl.plot_mcrg_exponents(res),
        "ising_mcrg",
        f"Monte Carlo RG (Swendsen 1979), L = {Lm}, {res.attrs['n_samples']} configurations at "
        f"T_c, 2x2 majority blocks. Level {int(lv2.level)}, 2 even operators: y_t = "
        f"{_fmt(float(lv2.y_t.sel(n_even=2)), float(lv2.y_t_err.sel(n_even=2)))}; deepest "
        f"level with all operators: y_t = {_fmt(heads['y_t'], heads['y_t_err'])} (exact 1), "
        f"y_h = {_fmt(heads['y_h'], heads['y_h_err'], 4)} (exact 15/8 = 1.875). Errors: "
        "jackknife over 20 blocks of samples. Level 1 carries the largest truncation error.",
        section=_SECTION,
    )
    report.add_table(
        table.round(4),
        "ising_mcrg_table",
        "MCRG exponents by level and number of operators kept (even operators in order: "
        + ", ".join(res["even_operator"].values.tolist())
        + "; odd: "
        + ", ".join(res["odd_operator"].values.tolist())
        + ").",
        section=_SECTION,
    )
    report.add_result(res, "ising_mcrg", "MCRG eigenvalues and exponents", section=_SECTION)

    # --------------------------------------------------------- block-spin coupling flow
    heads.update(_coupling_flow_part(report, opt, tc, crit, seeds, progress))

    # --------------------------------------------------------- PRG on critical spins
    heads.update(_prg_part(report, opt, tc, seeds, progress))
    return heads


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


def _prg_part(report: Report, opt: dict, tc: float, seeds, progress: bool) -> dict[str, Any]:
    try:
        from ...coarse import prg as _prg  # noqa: F401
        from ...diagnostics.nulls import run_with_nulls
    except ImportError as err:  # pragma: no cover - depends on parallel work
        report.add_text(f"PRG on critical configurations skipped: {err}", section=_SECTION)
        return {}
    from ...activity import configurations_as_activity

    Lp = int(opt["prg_size"])
    cfg = sample_ising(
        Lp, tc, int(opt["prg_samples"]), algorithm="wolff", random_state=int(next(seeds))
    )
    act = configurations_as_activity(cfg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = run_with_nulls(
            act,
            nulls=("shuffle", "random_pairing"),
            random_state=int(next(seeds)),
            quantities=("variance",),
            progress=progress,
        )
    table = res["exponent"].sel(exponent_name="alpha")
    lo = res["exponent_ci_low"].sel(exponent_name="alpha")
    hi = res["exponent_ci_high"].sel(exponent_name="alpha")
    fig = vl.plot_prg_variance(res, expected=PRG_EXPECTED)
    alpha = float(table.sel(null="data"))
    report.add_figure(
        fig,
        "ising_prg_variance",
        f"PRG (correlation pairing) on {cfg.shape[0]} critical configurations of an L = {Lp} "
        f"lattice, sites as units: variance of the coarse-grained spins grows as K^alpha with "
        f"alpha = {alpha:.3f} (95% CI [{float(lo.sel(null='data')):.3f}, "
        f"{float(hi.sel(null='data')):.3f}]); compact blocks in 2D give 1 + (2 - eta)/d = "
        f"{PRG_EXPECTED:.3f}. Nulls: shuffled samples alpha = "
        f"{float(table.sel(null='shuffle')):.3f} (independent units: 1), random pairing "
        f"alpha = {float(table.sel(null='random_pairing')):.3f}.",
        section=_SECTION,
    )
    report.add_result(
        res, "ising_prg", "PRG with nulls on critical configurations", section=_SECTION
    )
    return {
        "prg_alpha": alpha,
        "prg_alpha_ci": [float(lo.sel(null="data")), float(hi.sel(null="data"))],
        "prg_alpha_shuffle": float(table.sel(null="shuffle")),
        "prg_alpha_expected": PRG_EXPECTED,
    }
