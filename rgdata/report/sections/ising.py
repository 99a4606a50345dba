"""Ising section: simulations of the 2D Ising model checked against exact results.

Observables against Kaufman's finite-lattice and Onsager's infinite-lattice
results, Binder crossings, finite-size-scaling exponents, block-spin
snapshots, Monte Carlo RG eigenvalues against ``y_t = 1`` and ``y_h = 15/8``,
the flow of block-spin couplings (pseudo-likelihood) with its fixed point and
thermal eigenvalue, and the phenomenological RG (PRG) on critical configurations against the
variance exponent ``1 + (2 - eta)/d = 1.875`` of compact blocks.

The block-coupling flow part is in ``_ising_flow.py``; the section title and
number format shared by both are in ``_ising_text.py``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_random_state
from ...lattice import (
    binder_crossings,
    block_spin_levels,
    exact,
    fss_exponent,
    mcrg,
    mcrg_table,
    sample_ising,
    scaling_collapse,
    scan_observables,
)
from ...viz import lattice as vl
from .._report import Report
from ._ising_flow import _coupling_flow_part
from ._ising_text import _SECTION, _fmt

__all__ = ["add_ising_section", "ISING_DEFAULTS"]


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
    against_exact = [
        (
            "specific_heat",
            kauf,
            "Kaufman",
            "ising_specific_heat",
            "Specific heat per site against T with Kaufman's exact curves (the peak grows as "
            "(8/pi) K_c^2 ln L, the 2D Ising logarithm).",
        ),
        (
            "abs_magnetization",
            ons,
            "Yang (L = inf)",
            "ising_magnetization",
            "<|m|> against T with Yang's spontaneous magnetization of the infinite lattice "
            "(finite lattices keep <|m|> > 0 above T_c, shrinking as L^(-1/8) at T_c).",
        ),
    ]
    for observable, reference, label, fig_name, caption in against_exact:
        report.add_figure(
            vl.plot_lattice_observable(
                scan, observable, reference=reference, reference_label=label
            ),
            fig_name,
            caption,
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
    for key, fit, label, exact_value in (
        ("gamma_nu", chi_fit, "γ/ν: susceptibility at T_c ~ L^(γ/ν)", 1.75),
        ("minus_beta_nu", m_fit, "-β/ν: <|m|> at T_c ~ L^(-β/ν)", -0.125),
    ):
        heads[key] = fit.attrs["exponent"]
        heads[f"{key}_ci"] = [fit.attrs["ci_low"], fit.attrs["ci_high"]]
        report.add_headline(
            label,
            fit.attrs["exponent"],
            ci_low=fit.attrs["ci_low"],
            ci_high=fit.attrs["ci_high"],
            reference=exact_value,
            section=_SECTION,
        )
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
    for sym, label, exact_value in (
        ("y_t", "y_t: MCRG thermal eigenvalue exponent", 1.0),
        ("y_h", "y_h: MCRG magnetic eigenvalue exponent", 15 / 8),
    ):
        est, err = heads[sym], heads[f"{sym}_err"]  # err: jackknife standard error
        report.add_headline(
            label,
            est,
            ci_low=est - 1.96 * err,
            ci_high=est + 1.96 * err,
            reference=exact_value,
            section=_SECTION,
        )
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
