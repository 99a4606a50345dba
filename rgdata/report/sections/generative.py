"""Generative section: inverse-RG upsamplers trained on critical Ising lattices, judged exactly.

Trains the symmetric-kernel upsamplers (:class:`rgdata.models.InverseRGUpsampler`,
3x3 and 5x5 by default; numpy only) on critical 2D Ising pairs
(:func:`rgdata.models.ising_training_pairs`), generates lattices by
upsampling small random seeds repeatedly, and judges them with
:func:`rgdata.models.judge_generated` side by side with Wolff ensembles at the
same sizes (gamma/nu against 7/4, V4 against 1.1679, energy and specific heat
against Kaufman, MCRG y_t and y_h against 1 and 15/8). Sizes and counts are
modest so the section stays under a minute; ``benchmarks/bench_generative.py``
holds the 10^4-configuration runs.
"""

from __future__ import annotations

from typing import Any

from ..._progress import progress_bar
from ..._validation import check_random_state
from ...lattice import exact, sample_ising
from ...models import InverseRGUpsampler, ising_training_pairs, judge_generated
from ...viz import plot_judged_observable
from .._report import Report
from ._text import plus_minus as _fmt

__all__ = ["add_generative_section", "GENERATIVE_DEFAULTS"]

_SECTION = "Generative RG: inverse-RG upsamplers"

#: Default (full, quick) settings.
GENERATIVE_DEFAULTS = {
    False: {
        "train_size": 32,
        "train_samples": 400,
        "kernel_sizes": [3, 5],
        "sizes": {8: 2000, 16: 2000, 32: 2000, 64: 1000, 128: 400},
        "seed_size": 1,
    },
    True: {
        "train_size": 16,
        "train_samples": 100,
        "kernel_sizes": [3],
        "sizes": {8: 200, 16: 200, 32: 200},
        "seed_size": 1,
    },
}
REFERENCE_3X3 = (0.55, 0.63, 1.4)


def add_generative_section(
    report: Report,
    *,
    random_state: Any = 0,
    progress: bool = False,
    quick: bool = False,
    **options: Any,
) -> dict[str, Any]:
    """Train inverse-RG upsamplers at T_c, generate lattices and judge them by exact physics.

    Parameters
    ----------
    report : rgdata.report.Report
    random_state : None, int or numpy.random.Generator
        Seeds the training chain, the fits, the generation and the MCMC
        reference ensembles (one child seed each).
    progress : bool
        Progress bars.
    quick : bool
        Smaller lattices and fewer samples (a smoke test).
    **options
        Override :data:`GENERATIVE_DEFAULTS` entries: ``train_size``,
        ``train_samples``, ``kernel_sizes`` (of the symmetric kernels, 3, 5
        or 7), ``sizes`` (dict L -> number of generated and of MCMC
        configurations) and ``seed_size`` (side of the random seed lattices
        that are upsampled).

    Returns
    -------
    dict
        Headline numbers per kernel (``k3_a``..., ``k3_gamma_nu`` with
        ``_err``, ``k3_y_t``, ``k3_y_h``, ``k3_verdict``) and the MCMC
        ``mcmc_gamma_nu`` and ``mcmc_verdict``.
    """
    if not isinstance(report, Report):
        raise TypeError(f"report must be an rgdata.report.Report, got {type(report).__name__}")
    unknown = set(options) - set(GENERATIVE_DEFAULTS[False])
    if unknown:
        raise ValueError(
            f"unknown option(s) {sorted(unknown)}; accepted: {sorted(GENERATIVE_DEFAULTS[False])}"
        )
    opt = dict(GENERATIVE_DEFAULTS[bool(quick)], **options)
    rng = check_random_state(random_state)
    seeds = iter(int(s) for s in rng.integers(0, 2**31, size=100))
    tc = exact.TC_2D
    heads: dict[str, Any] = {}
    sizes = {int(L): int(n) for L, n in opt["sizes"].items()}

    fine, coarse = ising_training_pairs(
        int(opt["train_size"]), int(opt["train_samples"]), random_state=next(seeds)
    )
    mcmc = [
        sample_ising(L, tc, n, algorithm="wolff", random_state=next(seeds))
        for L, n in progress_bar(sizes.items(), enable=progress, desc="generative: MCMC")
    ]
    report.add_text(
        "Inverse renormalization group (Rancon, Rancon, Ivek & Balog; Bachtis, Aarts, Di Renzo "
        "& Lucini): a model of P(fine | coarse) learned from critical 2D Ising lattices and "
        "their 2x2 majority-rule blocks (ties by a seeded coin) generates large lattices by "
        f"upsampling random {opt['seed_size']}x{opt['seed_size']} seeds again and again. "
        f"Training: {fine.shape[0]} Wolff configurations at T_c, L = {fine.shape[-1]}. "
        "Each generated ensemble is judged by exact physics beside Wolff ensembles at the same "
        "L (the MCMC column is the null: it shows what the same analysis resolves at these "
        "sizes). A check passes when every deviation is within the Bonferroni threshold "
        "(family-wise alpha = 0.01) of its error bar.",
        section=_SECTION,
    )
    results = []
    fit_rows = []
    for k in opt["kernel_sizes"]:
        label = f"{k}x{k} kernel"
        model = InverseRGUpsampler(random_state=next(seeds), kernel_size=int(k))
        model.fit(fine, coarse=coarse)
        for name, est, se, robust in zip(
            model.param_names_, model.coef_, model.stderr_, model.stderr_robust_, strict=True
        ):
            row = {"model": label, "param": name, "estimate": est, "stderr": se}
            row["stderr_robust"] = robust
            if k == 3:
                row["reference"] = REFERENCE_3X3["abc".index(name)]
                heads[f"k3_{name}"] = float(est)
            fit_rows.append(row)
        generated = [
            model.sample(n, random_state=next(seeds), size=L, seed_size=int(opt["seed_size"]))
            for L, n in sizes.items()
        ]
        res = judge_generated(generated, mcmc, label=label, random_state=next(seeds))
        results.append(res)
        report.add_result(res, f"generative_judge_k{k}", f"Judged: {label}", section=_SECTION)
        g = res.sel(source=label)
        key = f"k{k}"
        heads[f"{key}_gamma_nu"], heads[f"{key}_gamma_nu_err"] = (
            float(g.gamma_nu),
            float(g.gamma_nu_err),
        )
        heads[f"{key}_y_t"], heads[f"{key}_y_h"] = float(g.y_t), float(g.y_h)
        heads[f"{key}_verdict"] = res.attrs["verdict_generated"]
        heads[f"{key}_matches_mcmc"] = res.attrs["matches_mcmc"]
        report.add_headline(
            f"γ/ν of lattices generated by the {k}x{k}-kernel upsampler "
            f"(judge: {res.attrs['verdict_generated']})",
            float(g.gamma_nu),
            ci_low=float(g.gamma_nu_ci_low),
            ci_high=float(g.gamma_nu_ci_high),
            reference=1.75,
            section=_SECTION,
        )
    m = results[0].sel(source="mcmc")
    heads["mcmc_gamma_nu"], heads["mcmc_verdict"] = (
        float(m.gamma_nu),
        results[0].attrs["verdict_mcmc"],
    )

    report.add_text(
        "MCRG of the generated lattices: "
        + "; ".join(
            f"{r.attrs['label']} y_t = {_fmt(float(r.y_t[0]), float(r.y_t_err[0]))}, "
            f"y_h = {_fmt(float(r.y_h[0]), float(r.y_h_err[0]))}"
            for r in results
        )
        + f"; Wolff MCMC y_t = {_fmt(float(results[0].y_t[1]), float(results[0].y_t_err[1]))}, "
        f"y_h = {_fmt(float(results[0].y_h[1]), float(results[0].y_h_err[1]))} "
        f"(exact 1 and 15/8 = 1.875; L = {results[0].attrs['mcrg_size']}, jackknife errors "
        "without the truncation error).",
        section=_SECTION,
    )

    report.add_table(
        fit_rows,
        "generative_fits",
        "Maximum-likelihood kernel weights with Fisher and sandwich (clustered by "
        "configuration) standard errors. Reference: the 3x3 kernel of the authors' public "
        "code at L = 32, (a, b, c) = (0.55, 0.63, 1.4), quoted to two digits.",
        section=_SECTION,
    )
    verdicts = "; ".join(
        f"{r.attrs['label']}: {r.attrs['verdict_generated']}"
        f" (matches MCMC at every L: {'yes' if r.attrs['matches_mcmc'] else 'no'})"
        for r in results
    )
    mcmc_line = f"Wolff MCMC: {results[0].attrs['verdict_mcmc']}"
    sources = [(r, r.attrs["label"], "failed_generated") for r in results]
    sources.append((results[0], "mcmc", "failed_mcmc"))
    rows = []
    for r, src, failed in sources:
        s = r.sel(source=src)
        rows.append(
            {
                "source": src,
                "gamma_nu": float(s.gamma_nu),
                "gamma_nu_err": float(s.gamma_nu_err),
                "c_log_slope": float(s.specific_heat_slope),
                "c_log_slope_err": float(s.specific_heat_slope_err),
                "y_t": float(s.y_t),
                "y_t_err": float(s.y_t_err),
                "y_h": float(s.y_h),
                "y_h_err": float(s.y_h_err),
                "failed": r.attrs[failed] or "none",
            }
        )
    exact_row = results[0]
    report.add_table(
        rows,
        "generative_exponents",
        "Exponents of generated and MCMC ensembles: gamma/nu from chi = L^2(<m^2> - <|m|>^2) "
        f"against L (exact 7/4), the slope of c against ln L (Kaufman at these sizes: "
        f"{float(exact_row.specific_heat_slope_exact):.3f}), MCRG y_t (exact 1) and y_h "
        f"(exact 15/8) of L = {exact_row.attrs['mcrg_size']} and its block spins. "
        f"{verdicts}. {mcmc_line}.",
        section=_SECTION,
    )
    v4_rows = []
    for L in results[0]["size"].values:
        row = {"L": int(L), "V4_exact": float(results[0].binder_v4_exact)}
        for r in results:
            s = r.sel(source=r.attrs["label"], size=L)
            row[f"V4 {r.attrs['label']}"] = _fmt(float(s.binder_v4), float(s.binder_v4_err))
        s = results[0].sel(source="mcmc", size=L)
        row["V4 MCMC"] = _fmt(float(s.binder_v4), float(s.binder_v4_err))
        v4_rows.append(row)
    report.add_table(
        v4_rows,
        "generative_binder",
        "Binder ratio V4 = <m^4>/<m^2>^2 per L (jackknife errors) against the critical torus "
        "value 1.1679 (U* = 0.61069).",
        section=_SECTION,
    )
    m = results[0].sel(source="mcmc")
    Lmax = int(results[0]["size"].values[-1])

    def per_model(fmt: Any) -> str:
        return "; ".join(
            f"{r.attrs['label']} {fmt(r.sel(source=r.attrs['label']))}" for r in results
        )

    def at_lmax(name: str) -> Any:
        return lambda g: _fmt(float(g[name].sel(size=Lmax)), float(g[f"{name}_err"].sel(size=Lmax)))

    def max_z(name: str) -> Any:
        return lambda g: f"largest |z| against exact {float(abs(g[f'{name}_z']).max()):.1f}"

    captions = {
        "binder_v4": "Binder ratio V4 = <m^4>/<m^2>^2 against L (jackknife errors), generated and "
        f"Wolff MCMC, against the critical 1.1679. At L = {Lmax}: "
        + per_model(at_lmax("binder_v4"))
        + f"; MCMC {at_lmax('binder_v4')(m)}. "
        + per_model(max_z("binder_v4")),
        "chi": "chi = L^2(<m^2> - <|m|>^2) against L (log-log): gamma/nu = "
        + per_model(lambda g: _fmt(float(g.gamma_nu), float(g.gamma_nu_err)))
        + f"; MCMC {_fmt(float(m.gamma_nu), float(m.gamma_nu_err))}; exact 7/4 = 1.75.",
        "energy": "Energy per site against L with Kaufman's exact finite-torus values "
        f"(L = {Lmax}: exact {float(results[0].energy_exact.sel(size=Lmax)):.4f}; "
        + per_model(at_lmax("energy"))
        + f"; MCMC {at_lmax('energy')(m)}). "
        + per_model(max_z("energy")),
        "specific_heat": "Specific heat per site against L with Kaufman's exact values, which "
        "grow like ln L: slope of c against ln L "
        + per_model(lambda g: _fmt(float(g.specific_heat_slope), float(g.specific_heat_slope_err)))
        + f"; MCMC {_fmt(float(m.specific_heat_slope), float(m.specific_heat_slope_err))}; "
        f"Kaufman {float(results[0].specific_heat_slope_exact):.3f}.",
    }
    for name, text in captions.items():
        report.add_figure(
            plot_judged_observable(results, name),
            f"generative_{name}",
            f"{text.rstrip('.')}. Verdicts: {verdicts}; {mcmc_line} (the null).",
            section=_SECTION,
            params={"sizes": sizes, "seed_size": opt["seed_size"]},
        )
    return heads
