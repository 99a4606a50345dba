"""Report section: learned coarse-grainings (RBMs) on the recording and on critical Ising."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_int, check_random_state
from ...activity import check_activity, drop_constant_units, stack_trials
from ...coarse import prg
from ...diagnostics import fit_exponent
from ...lattice import exact, sample_ising
from ...models import RBM
from ...models.rbm_ais import rbm_log_likelihood
from ...models.rbm_measures import block_overlap, hidden_couplings, rbm_flow, receptive_fields
from ...models.rbm_neural import prg_overlap
from ...models.rbm_scan import temperature_scan
from ._text import plus_minus as _pm

__all__ = ["add_learned_section", "skip_reason"]

SECTION = "Learned coarse-grainings (RBMs)"


def skip_reason(activity: xr.DataArray) -> str | None:
    """Why the section does not apply: binary RBMs model binary (0/1 or +-1) activity."""
    v = np.asarray(activity.values)
    if ((v == 0) | (v == 1)).all() or ((v == -1) | (v == 1)).all():
        return None
    return (
        "the RBMs here have binary units and model binary activity (0/1 or +-1); "
        f"this recording (kind {activity.attrs.get('kind', 'unstated')!r}) has other values"
    )


def _held_out(
    rbm: RBM, train: xr.DataArray, held: xr.DataArray, seed: int
) -> tuple[str, dict[str, float]]:
    """Held-out log-likelihood per bin (AIS log Z) next to the independent-unit model's."""
    if held.sizes["time"] < 2:
        return (
            " No time bins are left after the training window, so no held-out likelihood.",
            {
                "held_out_log_likelihood": float("nan"),
                "held_out_log_likelihood_se": float("nan"),
                "independent_log_likelihood": float("nan"),
            },
        )
    ll = rbm_log_likelihood(rbm, held, 100, 1000, random_state=seed, data=train)
    rate = np.clip(train.values.mean(axis=1), 1e-6, 1 - 1e-6)[:, None]
    x = held.values
    indep = (x * np.log(rate) + (1 - x) * np.log1p(-rate)).sum(axis=0)
    indep_se = float(indep.std(ddof=1) / np.sqrt(len(indep)))
    text = (
        f" Held-out log-likelihood of that RBM on the next {held.sizes['time']} bins: "
        f"{_pm(float(ll.log_likelihood), float(ll.log_likelihood_se))} nats per bin (log Z by "
        f"annealed importance sampling, ± {float(ll.log_z_se):.3f}); independent units with "
        f"the training rates: {_pm(float(indep.mean()), indep_se)}."
    )
    return text, {
        "held_out_log_likelihood": float(ll.log_likelihood),
        "held_out_log_likelihood_se": float(ll.log_likelihood_se),
        "independent_log_likelihood": float(indep.mean()),
    }


def _recording(report: Any, activity: xr.DataArray, seeds: np.ndarray, opts: dict) -> dict:
    act = drop_constant_units(activity)
    n_all = act.sizes["time"]
    held = act.isel(time=slice(opts["max_time_bins"], opts["max_time_bins"] * 6 // 5))
    if n_all > opts["max_time_bins"]:
        act = act.isel(time=slice(0, opts["max_time_bins"]))
    n_units, n_time = act.sizes["unit"], act.sizes["time"]
    level = opts["level"]
    K = 2**level
    res = prg(act, random_state=int(seeds[0]))
    fit = dict(n_epochs=opts["n_epochs"], l1=opts["l1"], learning_rate=0.05)
    rbm = RBM(n_hidden=max(2, n_units // K), coding="01", random_state=int(seeds[1]), **fit)
    rbm.fit(act)
    ov = prg_overlap(rbm, res, level, random_state=int(seeds[2]))
    report.add_result(ov, "learned_prg_overlap", section=SECTION)
    report.add_headline(
        f"RBM receptive field ∩ PRG cluster (K = {K})",
        float(ov.overlap_mean),
        ci_low=float(ov.overlap_mean - 1.96 * ov.overlap_err),
        ci_high=float(ov.overlap_mean + 1.96 * ov.overlap_err),
        nulls=[
            {
                "name": f"random {K}-unit sets",
                "mean": float(ov.null_mean),
                "band_low": float(ov.null_low),
                "band_high": float(ov.null_high),
            }
        ],
        section=SECTION,
    )
    wide = RBM(n_hidden=opts["n_hidden_prg"], coding="01", random_state=int(seeds[3]), **fit)
    hidden = wide.fit(act).transform(act, mode="sample", random_state=int(seeds[4]))
    hres = prg(drop_constant_units(hidden), random_state=int(seeds[5]))
    alpha = fit_exponent(hres, "variance")
    alpha_data = fit_exponent(res, "variance")
    held_text, held_out = _held_out(wide, act, held, int(seeds[6]))
    report.add_result(hres, "learned_hidden_prg", section=SECTION)
    report.add_text(
        f"Recording: {n_units} units, first {n_time} time bins (of {activity.sizes['time']}). "
        f"An RBM with {rbm.weights_.shape[1]} hidden units (0/1, l1 = {opts['l1']}, "
        f"{opts['n_epochs']} epochs, PCD-1) has receptive fields (its {K} strongest units) "
        f"sharing {_pm(float(ov.overlap_mean), float(ov.overlap_err))} of their units with the "
        f"best-matching PRG cluster of K = {K} (mean ± SE over hidden units); random {K}-unit "
        f"sets share {float(ov.null_mean):.3f} (95% band {float(ov.null_low):.3f} to "
        f"{float(ov.null_high):.3f}). PRG on the sampled hidden layer of a "
        f"{opts['n_hidden_prg']}-unit RBM: variance exponent α̃ = {float(alpha.exponent):.3f} "
        f"(95% CI {float(alpha.ci_low):.3f} to {float(alpha.ci_high):.3f}; independent units "
        f"give 1, perfectly correlated ones 2), against {float(alpha_data.exponent):.3f} "
        f"(95% CI {float(alpha_data.ci_low):.3f} to {float(alpha_data.ci_high):.3f}) on the "
        "recording itself." + held_text,
        section=SECTION,
    )
    return {
        "prg_overlap": float(ov.overlap_mean),
        "hidden_alpha": float(alpha.exponent),
        **held_out,
    }


def _ising(report: Any, seeds: np.ndarray, opts: dict) -> dict:
    L, b = opts["L"], 2
    fit = dict(n_epochs=opts["n_epochs_ising"], l1=opts["l1_ising"], learning_rate=0.05)
    temps = [opts["t_low"], float(exact.TC_2D), opts["t_high"]]
    scan = temperature_scan(
        temps, L=L, n_samples=opts["n_samples"], b=b, rbm_params=fit, random_state=int(seeds[0])
    )
    report.add_result(scan, "learned_temperature_scan", section=SECTION)
    rows = [
        {
            "T": f"{t:.3f}",
            "locality (2x2)": _pm(float(r.locality_mean), float(r.locality_err)),
            "spread": _pm(float(r.spread_mean), float(r.spread_err)),
            "block overlap": _pm(float(r.overlap_mean), float(r.overlap_err)),
            "overlap null": f"{float(r.overlap_null):.3f}",
        }
        for t, r in zip(temps, (scan.isel(temperature=i) for i in range(3)), strict=True)
    ]
    report.add_table(
        rows,
        "learned_rf_vs_temperature",
        f"Receptive fields of RBMs ({(L // b) ** 2} hidden units) trained on {opts['n_samples']} "
        f"Wolff configurations of the {L}x{L} Ising model below, at and above T_c (mean ± SE "
        f"over hidden units). Nulls: uniform weights have locality "
        f"{float(scan.locality_null):.4f} and spread {float(scan.spread_null):.3f}; the overlap "
        "null pairs each hidden unit with the block half a lattice away.",
        section=SECTION,
    )
    cfg = sample_ising(
        L, float(exact.TC_2D), opts["n_samples"], algorithm="wolff", random_state=int(seeds[1])
    )
    rbm = RBM(n_hidden=(L // b) ** 2, random_state=int(seeds[2]), **fit).fit(cfg)
    rf = receptive_fields(rbm, b)
    ov = block_overlap(rbm, cfg, b, random_state=int(seeds[3]))
    cp = hidden_couplings(rbm, cfg, b, operators=["nn"], random_state=int(seeds[4]))
    report.add_headline(
        f"RBM hidden ∩ majority 2x2 block spins, Ising T_c, L = {L}",
        float(ov.overlap_mean),
        ci_low=float(ov.overlap_mean - 1.96 * ov.overlap_err),
        ci_high=float(ov.overlap_mean + 1.96 * ov.overlap_err),
        nulls=[
            {
                "name": "block half a lattice away",
                "mean": float(ov.overlap_null),
                "band_low": float(ov.overlap_null - 1.96 * ov.overlap_null_err),
                "band_high": float(ov.overlap_null + 1.96 * ov.overlap_null_err),
            }
        ],
        section=SECTION,
    )
    flows = {}
    for name, t0 in (("cold", opts["t_low"]), ("hot", opts["t_high"])):
        start = sample_ising(L, t0, 200, algorithm="wolff", random_state=int(seeds[5]))
        flows[name] = rbm_flow(rbm, start, n_steps=opts["flow_steps"], random_state=int(seeds[6]))
        report.add_result(flows[name], f"learned_flow_{name}", section=SECTION)
    final = {k: (float(f.temperature[-1]), float(f.temperature_err[-1])) for k, f in flows.items()}
    report.add_headline(
        f"RBM flow from T = {opts['t_high']}: T after {opts['flow_steps']} steps (L = {L})",
        final["hot"][0],
        ci_low=final["hot"][0] - 1.96 * final["hot"][1],
        ci_high=final["hot"][0] + 1.96 * final["hot"][1],
        reference=float(exact.TC_2D),
        reference_name="T_c (Onsager)",
        section=SECTION,
    )
    k_h, k_b = (cp.couplings.sel(layer=x, coupling="nn") for x in ("hidden", "block"))
    e_h, e_b = (cp.couplings_err.sel(layer=x, coupling="nn") for x in ("hidden", "block"))
    report.add_text(
        f"RBM trained at T_c = {float(exact.TC_2D):.4f} ({L}x{L}, {(L // b) ** 2} hidden units, "
        f"l1 = {opts['l1_ising']}, {opts['n_epochs_ising']} epochs): locality "
        f"{_pm(float(rf.locality_mean), float(rf.locality_err))} (uniform null "
        f"{float(rf.locality_null):.4f}); overlap of its sign-aligned hidden samples with "
        f"majority 2x2 block spins {_pm(float(ov.overlap_mean), float(ov.overlap_err))} (null "
        f"{_pm(float(ov.overlap_null), float(ov.overlap_null_err))}); nearest-neighbour "
        f"coupling of the hidden layer {_pm(float(k_h), float(e_h))} against "
        f"{_pm(float(k_b), float(e_b))} for the block spins (pseudo-likelihood, jackknife). "
        f"RBM flow ({opts['flow_steps']} reconstructions, temperature read from the exact "
        f"L = {L} energy): from T = {opts['t_low']} to {_pm(*final['cold'])}, from "
        f"T = {opts['t_high']} to {_pm(*final['hot'])}; T_c = {float(exact.TC_2D):.4f}.",
        section=SECTION,
    )
    return {"ising_overlap": float(ov.overlap_mean), "flow_hot": final["hot"][0]}


def add_learned_section(
    report: Any,
    activity: xr.DataArray,
    *,
    random_state: Any = 0,
    progress: bool = False,
    n_epochs: int = 5,
    l1: float = 1e-4,
    level: int = 3,
    n_hidden_prg: int = 64,
    max_time_bins: int = 60_000,
    ising: bool = True,
    L: int = 8,
    n_samples: int = 1000,
    n_epochs_ising: int = 20,
    l1_ising: float = 1e-3,
    t_low: float = 1.8,
    t_high: float = 3.5,
    flow_steps: int = 10,
) -> dict:
    """RBMs on the recording (against PRG) and on the 2D Ising model (against block spins).

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Binary Activity; trials are stacked, constant units dropped.
    random_state : int or Generator
        Seeds every sampler and RBM.
    progress : bool
        Unused (the fits are short).
    n_epochs, l1 : int, float
        RBM training on the recording.
    level : int
        PRG level whose clusters (``K = 2**level``) the receptive fields are
        compared with; the RBM has ``n_units // K`` hidden units.
    n_hidden_prg : int
        Hidden units of the RBM whose sampled layer PRG analyses.
    max_time_bins : int
        The recording's first time bins used (keeps the section cheap); the
        next ``max_time_bins / 5`` bins, where there are any, are held out
        for the RBM's log-likelihood.
    ising : bool
        Add the Ising part (temperature scan, block overlap, couplings, flow).
    L, n_samples, n_epochs_ising, l1_ising, t_low, t_high, flow_steps
        Ising lattice side (even, at least 6), configurations per temperature, training, the
        temperatures below and above T_c, reconstruction steps of the flow.

    Returns
    -------
    dict
        Headline numbers.
    """
    activity = check_activity(activity, binary=True, allow_constant=True)
    if "trial" in activity.dims:
        activity = stack_trials(activity)
    opts = {
        "n_epochs": check_int(n_epochs, "n_epochs", min_value=1),
        "l1": l1,
        "level": check_int(level, "level", min_value=1),
        "n_hidden_prg": check_int(n_hidden_prg, "n_hidden_prg", min_value=4),
        "max_time_bins": check_int(max_time_bins, "max_time_bins", min_value=100),
        "L": check_int(L, "L", min_value=6),
        "n_samples": check_int(n_samples, "n_samples", min_value=10),
        "n_epochs_ising": check_int(n_epochs_ising, "n_epochs_ising", min_value=1),
        "l1_ising": l1_ising,
        "t_low": float(t_low),
        "t_high": float(t_high),
        "flow_steps": check_int(flow_steps, "flow_steps", min_value=1),
    }
    rng = check_random_state(random_state)
    seeds = rng.integers(0, 2**31, size=16)
    out = _recording(report, activity, seeds[:8], opts)
    if ising:
        out |= _ising(report, seeds[8:], opts)
    return out
