"""The PRG coupling flow: coarse-grain, fit pairwise models per level, fit the RG map.

:func:`prg_couplings` runs (or takes) a real-space PRG result
(:func:`rgdata.coarse.prg`), rebuilds the clusters of every level through
:func:`rgdata.coarse.coarse_activity`, binarises *n_clusters* randomly chosen
clusters ("cluster active" = any unit of the cluster active,
:func:`cluster_indicators`), fits an exact pairwise maximum-entropy model
(:class:`rgdata.maxent.PairwiseMaxEnt`, 0/1 coding) and jackknifes its mean
coupling over contiguous time blocks from the fitted model's own
enumeration. The same clusters of a surrogate (independent circular time
shifts of every unit, :func:`rgdata.diagnostics.surrogate`) give the null.
:func:`prg_coupling_flow` fits the RG map of the mean coupling across levels
(:func:`rgdata.flow.estimate_flow_auto`) with the jackknife covariance
between levels.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from .._jackknife import jackknife_covariance, jackknife_error
from .._validation import check_int, check_random_state, describe
from ..activity import as_activity, check_activity
from ._prg_couplings import MAX_UNITS, offdiag_mean, pairwise_with_jackknife
from .model_choice import estimate_flow_auto, recorded

__all__ = [
    "MAX_CLUSTERS",
    "coupling_levels",
    "cluster_indicators",
    "prg_couplings",
    "prg_coupling_flow",
]

#: most clusters per level in one exact pairwise fit
MAX_CLUSTERS = MAX_UNITS


def coupling_levels(n_units: int, n_clusters: int) -> int:
    """Number of PRG levels above 0 that still hold *n_clusters* clusters of *n_units* units.

    ``floor(log2(n_units / n_clusters))``; the coupling flow needs at least 2.
    """
    n_units = check_int(n_units, "n_units", min_value=1)
    n_clusters = check_int(n_clusters, "n_clusters", min_value=2, max_value=MAX_CLUSTERS)
    return int(np.floor(np.log2(n_units / n_clusters)))


def cluster_indicators(
    result: xr.Dataset,
    activity: xr.DataArray,
    level: int,
    clusters: Any = None,
    *,
    data: xr.DataArray | None = None,
) -> xr.DataArray:
    """Binary cluster variables of a PRG level: 1 where any unit of the cluster is active.

    Parameters
    ----------
    result : xarray.Dataset
        A :func:`rgdata.coarse.prg` result.
    activity : xarray.DataArray
        The ``(unit, time)`` data *result* was computed on (checked by
        :func:`rgdata.coarse.coarse_activity`, which also gives the members of
        every cluster).
    level : int
        PRG level (clusters of ``2**level`` units).
    clusters : array-like of int, optional
        Cluster indices to keep (default: all, in order).
    data : xarray.DataArray, optional
        Apply the clusters of *activity* to these values instead: data with
        the same units and number of time points, e.g. a surrogate of
        *activity* (:func:`rgdata.diagnostics.surrogate`), which
        ``coarse_activity`` itself refuses because its values differ.

    Returns
    -------
    xarray.DataArray
        Activity ``(unit, time)`` of kind ``"spikes"``, int8 0/1; ``unit`` is
        the cluster index. A unit is active when its value is > 0 (a spike,
        a count >= 1 or an up spin). attrs: ``level``, ``cluster_size``,
        ``clusters``, ``cluster_rule`` and ``surrogate`` when *data* was one.
    """
    from ..coarse import coarse_activity

    coarse = coarse_activity(result, activity, level)
    size = int(coarse.attrs["cluster_size"])
    members = np.asarray(coarse.attrs["members"], dtype=np.int64).reshape(-1, size)
    n_clusters = members.shape[0]
    if clusters is None:
        clusters = np.arange(n_clusters)
    clusters = np.asarray(clusters)
    if clusters.ndim != 1 or not np.issubdtype(clusters.dtype, np.integer):
        raise TypeError(f"clusters must be a 1-D array of int, got {describe(clusters)}")
    if clusters.size and (clusters.min() < 0 or clusters.max() >= n_clusters):
        raise ValueError(
            f"clusters must lie in 0..{n_clusters - 1} (the clusters of level {level}), "
            f"got {clusters.min()}..{clusters.max()}"
        )
    source = activity if data is None else _same_layout(data, activity)
    x = source.sel(unit=result["unit"].values).values > 0
    values = np.zeros((clusters.size, x.shape[1]), dtype=np.int8)
    for k, c in enumerate(clusters):
        values[k] = np.any(x[members[c]], axis=0)
    attrs = {
        "level": int(level),
        "cluster_size": size,
        "clusters": clusters.astype(np.int64),
        "cluster_rule": "1 where any unit of the cluster is > 0 in the bin",
    }
    if data is not None and "surrogate" in data.attrs:
        attrs["surrogate"] = data.attrs["surrogate"]
    return as_activity(
        xr.DataArray(
            values,
            dims=("unit", "time"),
            coords={"unit": clusters, "time": activity["time"].values},
            attrs=attrs,
        ),
        kind="spikes",
        allow_constant=True,
    )


def _same_layout(data: Any, activity: xr.DataArray) -> xr.DataArray:
    data = check_activity(data, allow_trials=False, allow_constant=True, name="data")
    same_units = data.sizes["unit"] == activity.sizes["unit"] and set(
        data["unit"].values.tolist()
    ) == set(activity["unit"].values.tolist())
    if not same_units or data.sizes["time"] != activity.sizes["time"]:
        raise ValueError(
            f"data must have the units and time points of activity ({activity.sizes['unit']} "
            f"units x {activity.sizes['time']} time points), got {data.sizes['unit']} x "
            f"{data.sizes['time']}; accepted: a surrogate of activity"
        )
    return data


def _fit_level(spk: xr.DataArray, n_blocks: int) -> tuple[dict[str, Any], list[str]]:
    """Exact pairwise fit (it draws no random numbers) and its jackknife; warnings kept."""
    from ..maxent import PairwiseMaxEnt

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PairwiseMaxEnt(method="exact", coding="01", random_state=0).fit(spk)
        res = pairwise_with_jackknife(model, spk.values, n_blocks)
    return res, recorded(caught)


def prg_couplings(
    activity: xr.DataArray,
    *,
    n_clusters: int = 10,
    n_blocks: int = 10,
    result: xr.Dataset | None = None,
    random_state: Any = None,
    progress: bool = False,
    **prg_options: Any,
) -> xr.Dataset:
    """Mean pairwise coupling of random PRG clusters at every level, with its null.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity ``(unit, time)`` of spikes (0/1 or counts) or +-1 spins; a unit is
        active in a bin where its value is > 0.
    n_clusters : int
        Clusters per level in each exact pairwise fit (2 to :data:`MAX_CLUSTERS`).
    n_blocks : int
        Contiguous time blocks of the jackknife.
    result : xarray.Dataset, optional
        A :func:`rgdata.coarse.prg` result of *activity*; default: run prg
        with :func:`coupling_levels` levels and *prg_options*.
    random_state : None, int or numpy.random.Generator
        Seeds the surrogate (drawn first) and then the cluster choice of
        each level.
    progress : bool
        Progress bar of prg.
    **prg_options
        Passed to :func:`rgdata.coarse.prg` (only without *result*).

    Returns
    -------
    xarray.Dataset
        On dim ``level`` (coord ``cluster_size``): ``mean_J``, ``mean_J_err``,
        ``mean_h``, ``mean_h_err``, ``mean_rate``, ``mean_J_null``,
        ``mean_J_null_err``, ``mean_J_replicates (level, block)`` (the
        jackknife replicates, from which the covariance between levels
        follows) and ``clusters (level, cluster)``. A level where a chosen
        cluster is never or always active is NaN and listed in
        ``attrs["skipped_levels"]``; warnings of prg and of the fits are in
        ``attrs["prg_warnings"]`` and ``attrs["fit_warnings"]``.

    Raises
    ------
    ValueError
        Fewer than 2 PRG levels above 0 hold *n_clusters* clusters.
    """
    from ..coarse import prg
    from ..diagnostics import surrogate

    act = check_activity(activity, allow_trials=False, allow_constant=True)
    n_blocks = check_int(n_blocks, "n_blocks", min_value=2)
    n_levels = coupling_levels(act.sizes["unit"], n_clusters)
    rng = check_random_state(random_state)
    prg_notes: list[str] = []
    if result is None:
        if n_levels < 2:
            raise ValueError(
                f"n_clusters={n_clusters} leaves fewer than 3 PRG levels for "
                f"{act.sizes['unit']} units; accepted: n_clusters <= {act.sizes['unit'] // 4}"
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = prg(act, n_levels, progress=progress, **prg_options)
        prg_notes = recorded(caught)
    elif prg_options:
        raise ValueError(
            f"prg options {sorted(prg_options)} were given with result=; accepted: one or the other"
        )
    membership = result["membership"].values
    null = surrogate(act, "circular_shift", random_state=rng)
    rows: dict[str, list[Any]] = {k: [] for k in ("J", "J_err", "h", "h_err", "rate")}
    rows.update(J_null=[], J_null_err=[], reps=[], chosen=[])
    skipped, fit_notes = [], []
    for lev in range(membership.shape[0]):
        ids = np.unique(membership[lev][membership[lev] >= 0])
        pick = np.sort(rng.choice(ids, size=n_clusters, replace=False))
        rows["chosen"].append(pick)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            spk = cluster_indicators(result, act, lev, pick)
            spk_null = cluster_indicators(result, act, lev, pick, data=null)
        fit_notes += recorded(caught)
        rate = spk.values.mean(axis=1)
        if np.any(rate == 0) or np.any(rate == 1):
            skipped.append(lev)
            for key in ("J", "J_err", "h", "h_err", "rate", "J_null", "J_null_err"):
                rows[key].append(np.nan)
            rows["reps"].append(np.full(n_blocks, np.nan))
            continue
        res, notes = _fit_level(spk, n_blocks)
        res_null, notes_null = _fit_level(spk_null, n_blocks)
        fit_notes += notes + notes_null
        reps = offdiag_mean(res["J_rep"])
        rows["J"].append(offdiag_mean(res["J"]))
        rows["J_err"].append(jackknife_error(reps))
        rows["reps"].append(reps)
        rows["h"].append(res["h"].mean())
        rows["h_err"].append(jackknife_error(res["h_rep"].mean(axis=1)))
        rows["rate"].append(rate.mean())
        rows["J_null"].append(offdiag_mean(res_null["J"]))
        rows["J_null_err"].append(jackknife_error(offdiag_mean(res_null["J_rep"])))

    def col(key: str) -> tuple[str, np.ndarray]:
        return ("level", np.array(rows[key], float))

    return xr.Dataset(
        {
            "mean_J": col("J"),
            "mean_J_err": col("J_err"),
            "mean_h": col("h"),
            "mean_h_err": col("h_err"),
            "mean_rate": col("rate"),
            "mean_J_null": col("J_null"),
            "mean_J_null_err": col("J_null_err"),
            "mean_J_replicates": (("level", "block"), np.array(rows["reps"], float)),
            "clusters": (("level", "cluster"), np.array(rows["chosen"])),
        },
        coords={
            "level": np.arange(membership.shape[0]),
            "cluster_size": ("level", result["cluster_size"].values),
        },
        attrs={
            "analysis": "prg_pairwise_couplings",
            "model": "exact pairwise maxent, 0/1 coding, cluster active = any spike",
            "n_clusters": int(n_clusters),
            "n_blocks": int(n_blocks),
            "error_method": f"delete-one-block jackknife over {n_blocks} time blocks "
            "(one Newton step from the full fit per block)",
            "null": "same clusters after independent circular time shifts of every unit",
            "skipped_levels": np.asarray(skipped, dtype=np.int64),
            "prg_warnings": " | ".join(prg_notes),
            "fit_warnings": " | ".join(dict.fromkeys(fit_notes)),
        },
    )


def prg_coupling_flow(
    couplings: xr.Dataset, *, model: str = "auto", random_state: Any = 0
) -> xr.Dataset | None:
    """Fit the RG map of the mean coupling across PRG levels.

    Parameters
    ----------
    couplings : xarray.Dataset
        What :func:`prg_couplings` returned.
    model : {"auto", "linear", "quadratic"}
        Map order (see :func:`rgdata.flow.estimate_flow_auto`).
    random_state : None, int or numpy.random.Generator
        Seeds the resampling of the flow fit.

    Returns
    -------
    xarray.Dataset or None
        :func:`rgdata.flow.estimate_flow` of ``mean_J`` over the levels with
        a finite coupling and a positive error, using the jackknife
        covariance of ``mean_J_replicates`` between them; ``None`` when too
        few levels remain.
    """
    if not isinstance(couplings, xr.Dataset) or "mean_J_replicates" not in couplings:
        raise TypeError(
            "couplings must be the xarray.Dataset of rgdata.flow.prg_couplings (with "
            f"'mean_J_replicates'), got {describe(couplings)}"
        )
    J, err = couplings["mean_J"].values, couplings["mean_J_err"].values
    ok = np.isfinite(J) & (err > 0)
    params = xr.DataArray(
        J[ok][None, :, None],
        dims=("trajectory", "level", "parameter"),
        coords={"level": couplings["level"].values[ok], "parameter": ["mean_J"]},
    )
    cov = jackknife_covariance(couplings["mean_J_replicates"].values[ok], axis=1)
    return estimate_flow_auto(params, cov, model=model, random_state=random_state)
