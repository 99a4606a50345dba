"""Report section: momentum-space PCA-RG (fourth-moment flows) with a shuffled null and
self-similarity scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..._validation import check_option, check_random_state
from ..._warnings import warn_user
from ...activity import check_activity, stack_trials
from ...coarse.momentum import momentum
from ...diagnostics.nulls import surrogate
from ...diagnostics.similarity import METRICS, self_similarity
from ...viz.momentum import (
    plot_fourth_moment_flow,
    plot_momentum_distributions,
    plot_self_similarity,
)

__all__ = ["add_momentum_section"]

_LABEL = {"remove_low": "removing low-variance modes (RG)", "remove_high": "removing top modes"}


def _spread(sub: xr.Dataset, i: int) -> str:
    med = float(sub["fourth_moment_median"].values[i])
    q25 = float(sub["fourth_moment_q25"].values[i])
    q75 = float(sub["fourth_moment_q75"].values[i])
    return f"{med:.2f} (quartiles {q25:.2f}-{q75:.2f})"


def add_momentum_section(
    report: Any,
    activity: xr.DataArray,
    *,
    random_state: Any = 0,
    progress: bool = False,
    fractions: Any = None,
    matrix: str = "correlation",
    metric: str = "js",
    section: str = "Momentum-space RG",
    name: str = "momentum",
    **options: Any,
) -> dict[str, float]:
    """Add the momentum-space PCA-RG analysis of *activity* to *report*.

    Runs :func:`rgdata.coarse.momentum` in both directions on the data, on
    the two halves of the recording (first and second half of time, the
    sampling-noise reference of the self-similarity scores) and, for the RG
    direction, on a per-unit time-shuffled null (each unit's bins permuted
    independently: no correlations between units, so every mode mixes
    independent units). Adds the fourth-moment flow (data and null), the
    distributions per fraction and the self-similarity scores, with captions
    stating the numbers, and the result Datasets.

    Parameters
    ----------
    report : rgdata.report.Report
    activity : xarray.DataArray
        Activity; trials are stacked into time first. Constant units are
        dropped (with a warning, stated in the text).
    random_state : int or numpy.random.Generator
        Seeds the shuffled null.
    progress : bool
        Progress bars.
    fractions : array-like, optional
        Kept fractions (default ``1, 1/2, 1/4, ...`` down to 2 modes).
    matrix : {"correlation", "covariance"}
        Modes of the correlation (default) or covariance matrix.
    metric : {"js", "wasserstein", "l2"}
        Distance between successive distributions.
    section, name : str
        Heading and file-name stem of the items added.
    **options
        Passed to :func:`rgdata.coarse.momentum` (``n_bins``, ``bin_range``,
        ``dtype``, ``chunk_size``).

    Returns
    -------
    dict
        Headline numbers: for each direction ``d`` the median fourth moment
        at the full set and at the smallest fraction (``fourth_moment_full``,
        ``fourth_moment_smallest_<d>``, with ``_q25``/``_q75``), the null's
        median at the smallest fraction (``null_fourth_moment_smallest``),
        ``smallest_fraction``, ``n_modes_smallest``, and the last
        self-similarity distance and its ratio to the noise
        (``distribution_distance_last_<d>``, ``distribution_ratio_last_<d>``).
    """
    check_option(metric, "metric", METRICS)
    rng = check_random_state(random_state)
    activity = stack_trials(check_activity(activity, allow_constant=True))
    values = activity.values
    const = np.flatnonzero(values.min(axis=1) == values.max(axis=1))
    dropped = ""
    if const.size:
        labels = [str(u) for u in activity["unit"].values[const]]
        dropped = (
            f"{const.size} constant unit(s) dropped before the analysis (zero variance): "
            + ", ".join(labels[:10])
            + (", ..." if const.size > 10 else "")
        )
        warn_user(dropped, UserWarning)
        activity = activity.isel(unit=np.setdiff1d(np.arange(activity.sizes["unit"]), const))
    n_time = activity.sizes["time"]
    kw = dict(matrix=matrix, progress=progress, **options)
    res = momentum(activity, fractions, direction="both", **kw)
    fr = [float(f) for f in res["fraction"].values]
    half = n_time // 2
    halves = tuple(
        momentum(activity.isel(time=sl), fr, direction="both", **kw)
        for sl in (slice(0, half), slice(half, None))
    )
    shuffled = surrogate(activity, "shuffle", random_state=rng)
    null = momentum(shuffled, fr, direction="remove_low", **kw)
    null.attrs["null"] = "shuffle: each unit's time bins permuted independently"
    sim = self_similarity(res, metric=metric, halves=halves) if len(fr) > 1 else None
    if dropped:
        res.attrs["dropped_units"] = dropped

    smallest = len(fr) - 1
    k_small = int(res["n_modes"].values[-1])
    se = res.attrs["gaussian_fourth_moment_se"]
    null_txt = _spread(null, smallest)
    out: dict[str, float] = {
        "fourth_moment_full": float(res["fourth_moment_median"].values[0, 0]),
        "fourth_moment_full_q25": float(res["fourth_moment_q25"].values[0, 0]),
        "fourth_moment_full_q75": float(res["fourth_moment_q75"].values[0, 0]),
        "null_fourth_moment_smallest": float(null["fourth_moment_median"].values[smallest]),
        "smallest_fraction": float(fr[-1]),
        "n_modes_smallest": float(k_small),
        "gaussian_fourth_moment_se": float(se),
    }
    parts = []
    for d in res["direction"].values:
        sub = res.sel(direction=d)
        out[f"fourth_moment_smallest_{d}"] = float(sub["fourth_moment_median"].values[smallest])
        out[f"fourth_moment_smallest_{d}_q25"] = float(sub["fourth_moment_q25"].values[smallest])
        out[f"fourth_moment_smallest_{d}_q75"] = float(sub["fourth_moment_q75"].values[smallest])
        parts.append(f"{_LABEL[str(d)]}: {_spread(sub, smallest)}")
        if sim is not None:
            dist = sim["distribution_distance"].sel(direction=d).values
            ratio = sim["distribution_ratio"].sel(direction=d).values
            out[f"distribution_distance_last_{d}"] = float(dist[-1])
            out[f"distribution_ratio_last_{d}"] = float(ratio[-1])

    n_units = res.attrs["n_units"]
    fig = plot_fourth_moment_flow(res, null=null)
    report.add_figure(
        fig,
        f"{name}_fourth_moment_flow",
        (
            f"Momentum-space RG ({matrix} modes, {n_units} units, {n_time} time points): "
            "normalized fourth moment <phi^4>/<phi^2>^2 of every unit filtered to the kept "
            f"modes. All {res.attrs['rank']} modes (the data themselves): median "
            f"{_spread(res.sel(direction='remove_low'), 0)}. Keeping {k_small} modes "
            f"(fraction {fr[-1]:.3g}), " + "; ".join(parts) + ". "
            "Shuffled null (each unit's bins permuted independently): same distribution per "
            "unit (same value with all modes) but no correlations, so its modes mix many "
            "independent units and its fourth moment falls towards 3 by the central-limit "
            f"theorem alone; removing low-variance modes it gives {null_txt} at the smallest "
            "fraction, and the data's excess over the null is what the correlations add. "
            f"Gaussian value 3, sampling error sqrt(24/T) = {se:.3g} for independent "
            "samples (larger for temporally correlated data)."
        ),
        section=section,
        params={"fractions": fr, "matrix": matrix, "direction": "both", **options},
    )
    fig = plot_momentum_distributions(res)
    out_frac = float(np.max(res["outside_fraction"].values))
    report.add_figure(
        fig,
        f"{name}_distributions",
        (
            "Distributions of the normalized filtered variables phi/sd(phi), pooled over units, "
            f"at each kept fraction ({res.attrs['n_bins']} bins on +-{res.attrs['bin_range']} "
            f"sd; at most {out_frac:.2%} of the values fall outside). Dashed: standard normal."
        ),
        section=section,
    )
    if sim is not None:
        fig = plot_self_similarity(sim)
        lines = []
        for d in res["direction"].values:
            dist = sim["distribution_distance"].sel(direction=d).values
            noise = sim["distribution_noise"].sel(direction=d).values
            lines.append(
                f"{_LABEL[str(d)]}: last step {dist[-1]:.3g} vs noise {noise[-1]:.3g} "
                f"(ratio {dist[-1] / noise[-1]:.2g}); largest step {np.nanmax(dist):.3g}"
            )
        report.add_figure(
            fig,
            f"{name}_self_similarity",
            (
                f"Self-similarity: {metric} distance between the distributions at successive "
                "fractions (indexed by the smaller fraction); dashed: the sampling-noise "
                "reference from the two halves of the recording (expected distance between two "
                "independent full-size estimates). Ratio about 1 or below: collapsed within "
                "noise; well above 1: still flowing. " + "; ".join(lines) + "."
            ),
            section=section,
        )
    if dropped:
        report.add_text(dropped, section=section)
    report.add_result(
        res,
        f"{name}",
        "Momentum-space RG, both directions (fourth moments, distributions).",
        section=section,
    )
    report.add_result(null, f"{name}_null_shuffle", "Shuffled null, RG direction.", section=section)
    if sim is not None:
        report.add_result(
            sim, f"{name}_self_similarity", "Self-similarity scores.", section=section
        )
    return out
