"""Steps 3-5 of :func:`rgdata.coarse.prg`: block-wise warnings, cluster spectra, the Dataset.

:func:`warn_block_notes` reports what the block pass found (autocorrelations
that never decay, too few blocks, constant variables); :func:`spectra_table`
computes the covariance (or correlation) spectra of the clusters on the
levels where they are meaningful; :func:`build_result` assembles the result
Dataset and its attrs (the schema in ``docs/results.md``).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._warnings import warn_user
from ._ann import APPROX_OPTIONS
from ._blocks import BLOCK_TAUS, MIN_BLOCKS, MIN_FIT_CLUSTERS
from ._memory import GIB
from ._prg_levels import LevelPass
from ._prg_setup import OBSERVABLES, PrgData, PrgOptions, seed_attr
from ._prg_stats import cluster_spectra

__all__ = ["warn_block_notes", "spectra_table", "build_result"]


def warn_block_notes(lp: LevelPass, blk: dict, auto_lag: bool) -> None:
    """Warn about lower-bound ``tau_c``, a short block count and constant variables."""
    max_lag = blk["max_lag"]
    tau_notes = [f"level {lv} (K={int(lp.sizes[lv])})" for lv in np.flatnonzero(blk["tau_lb"])]
    if tau_notes:
        warn_user(
            f"prg: the autocorrelation never dropped below 1/e within max_lag={max_lag} at "
            + ", ".join(tau_notes)
            + "; tau_c there is max_lag, a lower bound (tau_c_lower_bound is True)"
            + ("" if auto_lag else "; use max_lag='auto' or a larger max_lag"),
            UserWarning,
        )
    if blk["block_note"]:
        warn_user("prg: " + blk["block_note"], UserWarning)
    if np.any(lp.n_const > 0):
        warn_user(
            "prg: some coarse-grained variables are constant in the pairing samples (e.g. "
            "perfectly anti-correlated pairs, or a unit silent in the pairing half with "
            "holdout=True); they were given zero correlation with all others. Counts per level: "
            f"{lp.n_const.astype(int).tolist()}",
            UserWarning,
        )


def spectra_table(
    lp: LevelPass, data: PrgData, opts: PrgOptions, block_edges: np.ndarray, n_blocks: int
) -> dict[str, np.ndarray]:
    """Rank-ordered cluster spectra ``(level, rank)`` and their block copies, NaN where skipped."""
    sizes, n_levels, t_eval = lp.sizes, opts.n_levels, opts.t_eval
    if "spectra" not in opts.observables:  # not asked for: NaN, nothing skipped or warned
        k_max = int(sizes[-1])
        return {
            "eig": np.full((n_levels + 1, k_max), np.nan),
            "eig_b": np.full((n_levels + 1, k_max, n_blocks), np.nan),
            "skipped": [],
            "skipped_b": [],
        }
    eig_levels = [lv for lv in range(n_levels + 1) if sizes[lv] <= opts.max_eigen_size]
    eig_levels = [lv for lv in eig_levels if t_eval / sizes[lv] > 10]
    eig_block_levels = [lv for lv in eig_levels if np.diff(block_edges).min() / sizes[lv] > 10]
    skipped = sorted(set(range(n_levels + 1)) - set(eig_levels))
    skipped_b = sorted(set(range(n_levels + 1)) - set(eig_block_levels))
    if skipped:
        warn_user(
            f"prg: eigenvalues not computed at levels {skipped} (K="
            f"{[int(sizes[lv]) for lv in skipped]}): they need T/K > 10 (T={t_eval}) and "
            f"K <= max_eigen_size={opts.max_eigen_size}",
            UserWarning,
        )
    spectra, spectra_b = cluster_spectra(
        data.x,
        lp.clusters,
        lp.membership,
        eig_levels,
        eig_block_levels,
        block_edges,
        correlation=opts.spectrum == "correlation",
    )
    k_max = int(sizes[-1])
    eig = np.full((n_levels + 1, k_max), np.nan)
    eig_b = np.full((n_levels + 1, k_max, n_blocks), np.nan)
    for lv, ev in spectra.items():
        eig[lv, : ev.size] = ev
    for lv, ev in spectra_b.items():
        eig_b[lv, : ev.shape[0]] = ev
    return {"eig": eig, "eig_b": eig_b, "skipped": skipped, "skipped_b": skipped_b}


def build_result(
    act: xr.DataArray,
    opts: PrgOptions,
    data: PrgData,
    lp: LevelPass,
    blk: dict,
    eig: dict[str, np.ndarray],
) -> xr.Dataset:
    """The PRG result Dataset: per-level quantities, block copies, membership and attrs."""
    max_lag, n_blocks, block_edges = blk["max_lag"], blk["n_blocks"], blk["block_edges"]
    n_levels, edges, t_split = opts.n_levels, lp.edges, opts.t_split
    k_max = int(lp.sizes[-1])
    acf = lp.acf_long[:, : max_lag + 1]
    if "autocorrelation" not in opts.observables:
        acf = np.full(acf.shape, np.nan)
    ds = xr.Dataset(
        {
            "variance": ("level", lp.variance),
            "variance_blocks": (("level", "block"), blk["var_blocks"]),
            "silence_free_energy": ("level", lp.free),
            "silence_free_energy_blocks": (("level", "block"), blk["free_blocks"]),
            "eigenvalues": (("level", "rank"), eig["eig"]),
            "eigenvalues_blocks": (("level", "rank", "block"), eig["eig_b"]),
            "autocorrelation": (("level", "lag"), acf),
            "autocorrelation_blocks": (("level", "lag", "block"), blk["acf_blocks"]),
            "tau_c": ("level", blk["tau"]),
            "tau_c_blocks": (("level", "block"), blk["tau_blocks"]),
            "tau_c_lower_bound": ("level", blk["tau_lb"]),
            "tau_int": ("level", blk["tau_int"]),
            "tau_int_lower_bound": ("level", blk["tau_int_lb"]),
            "distribution": (("level", "bin"), lp.dist),
            "zero_fraction": ("level", lp.zero),
            "out_of_range": ("level", lp.oor),
            "n_clusters": ("level", lp.n_clusters),
            "n_left_out": ("level", lp.n_left.astype(np.int64)),
            "n_constant": ("level", lp.n_const.astype(np.int64)),
            "membership": (("level", "unit"), lp.membership[:, np.argsort(data.canon)]),
        },
        coords={
            "level": np.arange(n_levels + 1),
            "cluster_size": ("level", lp.sizes.astype(np.int64)),
            # the schema's scale coordinate (docs/results.md); cluster_size is kept as an alias
            "scale": ("level", lp.sizes.astype(np.int64)),
            "unit": act["unit"].values,
            "rank": np.arange(1, k_max + 1),
            "lag": np.arange(max_lag + 1),
            "bin": np.arange(opts.n_bins),
            "bin_center": ("bin", 0.5 * (edges[1:] + edges[:-1])),
            "bin_width": ("bin", np.diff(edges)),
            "block": np.arange(n_blocks),
            "block_start": ("block", block_edges[:-1] + t_split),
            "block_stop": ("block", block_edges[1:] + t_split),
        },
        attrs=_attrs(act, opts, data, lp, blk, eig),
    )
    ds["scale"].attrs["long_name"] = "cluster size K = 2**level (units per cluster)"
    ds.attrs["scale_name"] = "cluster_size"
    if opts.pairing == "approximate":
        _add_approx_quality(ds, lp)
    return ds


def _add_approx_quality(ds: xr.Dataset, lp: LevelPass) -> None:
    """Per-level estimates of the approximate pairing's quality (NaN: exact step or none)."""
    n = ds.sizes["level"]
    names = {
        "identical_fraction": "pairing_identical_fraction",
        "correlation_loss": "pairing_correlation_loss",
        "n_sample": "pairing_quality_units",
    }
    for key, name in names.items():
        vals = np.full(n, np.nan)
        for lv, q in enumerate(lp.approx_quality):
            if q:
                vals[lv] = q[key]
        ds[name] = ("level", vals)
    ds["pairing_identical_fraction"].attrs["long_name"] = (
        "share of a random sample of the level's approximate pairs that were the exact greedy "
        "choice when formed (both variables had no better still-free partner, exact "
        "correlations with all the level's variables); NaN where the step was exact"
    )
    ds["pairing_correlation_loss"].attrs["long_name"] = (
        "1 - (summed correlation of the sampled pairs) / (summed correlation of their variables' "
        "best still-free partners), same sample"
    )
    ds["pairing_quality_units"].attrs["long_name"] = "variables checked (both ends of each pair)"
    ds.attrs["approximate_pairing"] = (
        f"k={APPROX_OPTIONS['k']} approximate candidates per variable (pynndescent NN-descent "
        "in memory; the best partners in a seeded random projection on a dask-backed "
        "activity, see input_storage) with exact values and refills, at levels with more "
        f"than {APPROX_OPTIONS['min_units']} variables; a sample of the pairs checked exactly "
        f"against all the variables, warned below {APPROX_OPTIONS['warn_below']:.0%} greedy "
        "choices"
    )


def _attrs(
    act: xr.DataArray,
    opts: PrgOptions,
    data: PrgData,
    lp: LevelPass,
    blk: dict,
    eig: dict,
) -> dict:
    norm, block_edges, t_len = data.norm, blk["block_edges"], data.n_time
    time_step = act.attrs.get("bin_width", act.attrs.get("sampling", 1.0))
    attrs = {
        "analysis": "real-space PRG (Meshulam et al. 2019)",
        "normalization": norm,
        "normalization_requested": opts.normalization,
        "pairing": opts.pairing,
        "n_levels": int(opts.n_levels),
        "n_blocks": int(blk["n_blocks"]),
        "n_blocks_requested": str(opts.n_blocks_requested),
        "block_length": int(np.diff(block_edges).min()),
        "block_rule": f"blocks of >= {BLOCK_TAUS:g} tau_int of the coarse-grained variables "
        f"at levels with >= {MIN_FIT_CLUSTERS} clusters; >= {MIN_BLOCKS} such blocks "
        "for a 95% interval",
        "tau_int_for_blocks": float(blk["tau_need"]),
        "block_note": blk["block_note"],
        "max_lag": int(blk["max_lag"]),
        "max_lag_requested": "auto" if opts.max_lag is None else int(blk["max_lag"]),
        "max_eigen_size": int(opts.max_eigen_size),
        "peak_memory_estimate_gib": round(data.needed / GIB, 4),
        "sum_dtype": str(data.sum_dtype),
        "spectrum": opts.spectrum,
        "corr_dtype": opts.corr_dtype,
        # only random pairing draws numbers: greedy pairing (ties included) is deterministic
        "random_state": seed_attr(opts.random_state)
        if opts.pairing in ("random", "approximate")
        else "not used (greedy pairing is deterministic)",
        "data_coding": data.coding,
        "n_units": int(data.n_units),
        "n_time": int(t_len),
        "holdout": int(opts.holdout),
        "pairing_samples": np.asarray([0, opts.t_split if opts.holdout else t_len], dtype=np.int64),
        "measured_samples": np.asarray([opts.t_split, t_len], dtype=np.int64),
        "activity_kind": str(act.attrs.get("kind", "")),
        "activity_source": str(act.attrs.get("source", "")),
        "time_step": time_step if isinstance(time_step, int | float | str) else str(time_step),
        "lag_unit": "samples",
        "tau_c_definition": "first lag where the cluster-averaged autocorrelation < 1/e, "
        "linearly interpolated (in samples); max_lag where it never drops within max_lag "
        "(tau_c_lower_bound)",
        "tau_int_definition": "1 + 2 sum_{t<=M} C(t) of the cluster-averaged autocorrelation, "
        "Sokal window M >= 5 tau_int (in samples; tau_int_lower_bound where it never closed)",
        "variance_ddof": 0,
        # what was computed (the other quantities are NaN), in the order of OBSERVABLES
        "observables": ", ".join(o for o in OBSERVABLES if o in opts.observables),
        "eigenvalues_skipped_levels": np.asarray(eig["skipped"], dtype=np.int64),
        "eigenvalues_blocks_skipped_levels": np.asarray(eig["skipped_b"], dtype=np.int64),
        "left_out": json.dumps(lp.left_out_notes),
        "silence_notes": json.dumps(lp.free_notes),
        "distribution_range": np.asarray([lp.edges[0], lp.edges[-1]]),
        "distribution_definition": (
            "density of non-zero normalized values on (0, 5]; zeros in zero_fraction"
            if norm == "nonzero_mean"
            else "density of z-scored coarse variables on [-5, 5]"
        ),
        "version": _version(),
    }
    if data.silent_of(1) is None:
        attrs["silence_notes"] = json.dumps(
            ["silence_free_energy undefined for continuous data (NaN)"]
        )
    return attrs


def _version() -> str:
    from .. import __version__

    return __version__
