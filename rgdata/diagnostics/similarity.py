"""Self-similarity scores: how far successive coarse-graining levels are from collapsing.

"The flow reaches a fixed point" becomes a number: a distance between the
distributions, spectra or autocorrelations at successive levels, small when
they collapse onto one curve. Conventions:

* Levels are taken in the order they are stored along the level dim (PRG:
  increasing cluster size; momentum: decreasing fraction of kept modes). The
  distance between levels ``k`` and ``k+1`` is indexed by the *upper*
  (coarser) level ``k+1``; the lower level is in the coordinate
  ``lower_<level_dim>``.
* Distributions (``distribution(level, bin)`` densities with coordinate
  ``bin_center``) are compared as histograms on the common bin grid with
  ``metric="js"`` (Jensen-Shannon divergence in nats, 0 for identical, at
  most ln 2), ``"wasserstein"`` (earth mover's distance W1, in the units of
  the bins) or ``"l2"`` (L2 distance between the densities).
* Spectra (``eigenvalues(level, rank)``, NaN-padded, cluster sizes ``K``)
  are compared as ``ln(lambda)`` against ``ln(rank / K)``, linearly
  interpolated on a common log grid over the overlapping range; the score is
  the RMS difference of ``ln(lambda)`` (power laws ``A (rank/K)^-mu``
  collapse exactly; a spectrum multiplied by ``c`` is at distance ``|ln c|``).
* Autocorrelations (``autocorrelation(level, lag)``, correlation times
  ``tau_c``) are compared against ``lag / tau_c`` with cubic-spline
  interpolation on a common grid; the score is the RMS difference.
* A sampling-noise reference comes from two results computed on two halves
  of the data (:func:`self_similarity` ``halves=``): the distance between the
  halves at the same level, scaled to the expected distance between two
  independent full-size estimates (divided by sqrt(2) for the linear
  metrics, by 2 for the quadratic JS divergence). ``*_ratio`` = distance /
  noise: about 1 or below means "collapsed within noise", well above 1 means
  "still flowing".

The per-quantity distances along the level dim are in ``_level_distances.py``;
this module combines them with the half-vs-half noise reference.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from .._validation import check_option, describe
from . import _level_distances
from ._level_distances import (  # re-exported
    METRICS,
    _bin_centers,
    _curve_distance,
    autocorrelation_distances,
    distribution_distance,
    level_distances,
    spectrum_distances,
)

__all__ = [*_level_distances.__all__, "split_distances", "self_similarity"]

# how the half-vs-half distance scales to the noise of one full-size estimate
_NOISE_SCALE = {"js": 0.5, "wasserstein": 2**-0.5, "l2": 2**-0.5, "spectrum": 2**-0.5}
_NOISE_SCALE["autocorrelation"] = 2**-0.5


def _level_dim(result: xr.Dataset) -> str:
    dim = result.attrs.get("level_dim")
    if isinstance(dim, str) and dim in result.dims:
        return dim
    for cand in ("level", "fraction"):
        if cand in result.dims:
            return cand
    raise ValueError(
        f"result has dims {tuple(result.dims)}; expected a 'level' (PRG) or 'fraction' "
        "(momentum) dim, or attrs['level_dim'] naming one"
    )


def _applicable(result: xr.Dataset, level_dim: str) -> list[str]:
    found = []
    if "distribution" in result and {level_dim, "bin"} <= set(result["distribution"].dims):
        found.append("distribution")
    ev = result.get("eigenvalues")
    if ev is not None and set(ev.dims) == {level_dim, "rank"} and "cluster_size" in ev.coords:
        found.append("spectrum")
    ac = result.get("autocorrelation")
    if (
        ac is not None
        and set(ac.dims) == {level_dim, "lag"}
        and ("tau_c" in result or "tau_c" in ac.coords)
    ):
        found.append("autocorrelation")
    return found


def _same_level_distance(a: xr.Dataset, b: xr.Dataset, quantity: str, level_dim: str, metric):
    """Distance between two results at the same level (e.g. two halves of the data)."""
    if quantity == "distribution":
        da, db = a["distribution"], b["distribution"]
        if da.sizes != db.sizes:
            raise ValueError(
                f"halves have distribution sizes {dict(da.sizes)} and {dict(db.sizes)}; "
                "compute both with the same fractions/levels and bins"
            )
        other = [d for d in da.dims if d not in (level_dim, "bin")]
        x = _bin_centers(da, "bin", None)
        va = da.transpose(*other, level_dim, "bin").values
        vb = db.transpose(*other, level_dim, "bin").values
        return distribution_distance(va, vb, x, metric)
    if a.sizes[level_dim] != b.sizes[level_dim]:
        raise ValueError(
            f"halves have {a.sizes[level_dim]} and {b.sizes[level_dim]} {level_dim}s; "
            "they must have the same levels"
        )
    out = []
    for i in range(a.sizes[level_dim]):
        if quantity == "spectrum":
            curves = []
            for r in (a, b):
                ev = r["eigenvalues"].transpose(level_dim, "rank")
                k = float(ev["cluster_size"].values[i])
                v = ev.values[i].astype(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    lv = np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
                curves += [np.asarray(ev["rank"].values, float) / k, lv]
            out.append(_curve_distance(*curves, log_x=True, n_grid=64, hi_cap=None))
        else:
            curves = []
            for r in (a, b):
                ac = r["autocorrelation"].transpose(level_dim, "lag")
                tau = r["tau_c"] if "tau_c" in r else ac["tau_c"]
                t = float(np.asarray(tau.values)[i])
                lags = np.asarray(ac["lag"].values, float)
                curves += [lags / t if t > 0 else lags * np.nan, ac.values[i].astype(float)]
            out.append(_curve_distance(*curves, log_x=False, n_grid=64, hi_cap=None))
    return np.asarray(out)


def split_distances(half_a: xr.Dataset, half_b: xr.Dataset, *, metric: str = "js") -> xr.Dataset:
    """Distances between two results at the same level (sampling-noise reference).

    Parameters
    ----------
    half_a, half_b : xarray.Dataset
        The same analysis run on two halves of the data (e.g. the first and
        second half of the time axis, which keeps temporal correlations),
        with the same levels/fractions and bins.
    metric : {"js", "wasserstein", "l2"}
        Metric for the distributions.

    Returns
    -------
    xarray.Dataset
        ``<quantity>_split(level)`` for every quantity present in both.
    """
    for name, r in (("half_a", half_a), ("half_b", half_b)):
        if not isinstance(r, xr.Dataset):
            raise TypeError(f"{name} must be an xarray.Dataset result, got {describe(r)}")
    check_option(metric, "metric", METRICS)
    level_dim = _level_dim(half_a)
    quantities = [q for q in _applicable(half_a, level_dim) if q in _applicable(half_b, level_dim)]
    out = xr.Dataset(attrs={"metric": metric, "level_dim": level_dim})
    for q in quantities:
        d = _same_level_distance(half_a, half_b, q, level_dim, metric)
        if q == "distribution":
            other = [x for x in half_a["distribution"].dims if x not in (level_dim, "bin")]
            out[f"{q}_split"] = ((*other, level_dim), d)
        else:
            out[f"{q}_split"] = ((level_dim,), d)
    out = out.assign_coords({level_dim: half_a[level_dim].values})
    return out


def self_similarity(
    result: xr.Dataset,
    *,
    metric: str = "js",
    halves: tuple[xr.Dataset, xr.Dataset] | None = None,
    n_grid: int = 64,
) -> xr.Dataset:
    """All the self-similarity scores that apply to a PRG or momentum result.

    Parameters
    ----------
    result : xarray.Dataset
        A PRG result (``level`` dim with ``distribution``, ``eigenvalues`` +
        ``cluster_size``, ``autocorrelation`` + ``tau_c``) or a momentum
        result (``fraction`` dim with ``distribution``); whatever is present
        is scored.
    metric : {"js", "wasserstein", "l2"}
        Metric for the distributions.
    halves : (Dataset, Dataset), optional
        The same analysis on two halves of the data. Adds
        ``<quantity>_noise`` (expected distance between two independent
        full-size estimates of the same level: the larger of the two levels'
        half-vs-half distances, times 1/sqrt(2), or 1/2 for JS) and
        ``<quantity>_ratio`` = distance / noise.
    n_grid : int
        Grid size for spectra and autocorrelations.

    Returns
    -------
    xarray.Dataset
        ``<quantity>_distance`` over the upper level of each successive pair
        (``distribution``, ``spectrum``, ``autocorrelation``), the coordinate
        ``lower_<level_dim>``, and attrs ``metric``, ``level_dim``,
        ``quantities`` (JSON list).

    Raises
    ------
    ValueError
        No level dim, fewer than two levels, or nothing to score.
    """
    if not isinstance(result, xr.Dataset):
        raise TypeError(f"result must be an xarray.Dataset, got {describe(result)}")
    check_option(metric, "metric", METRICS)
    level_dim = _level_dim(result)
    quantities = _applicable(result, level_dim)
    if not quantities:
        raise ValueError(
            "result has nothing to score: expected 'distribution' (level, bin), "
            "'eigenvalues' (level, rank) with a 'cluster_size' coordinate, or "
            f"'autocorrelation' (level, lag) with 'tau_c'; got variables {list(result.data_vars)}"
        )
    scores = {}
    for q in quantities:
        if q == "distribution":
            d = level_distances(result["distribution"], level_dim, "bin", metric)
        elif q == "spectrum":
            d = spectrum_distances(result["eigenvalues"], level_dim=level_dim, n_grid=n_grid)
        else:
            ac = result["autocorrelation"]
            tau = result["tau_c"] if "tau_c" in result else ac["tau_c"]
            d = autocorrelation_distances(ac, tau, level_dim=level_dim, n_grid=n_grid)
        scores[f"{q}_distance"] = d
    out = xr.Dataset(scores)
    if halves is not None:
        if not isinstance(halves, tuple | list) or len(halves) != 2:
            raise TypeError(f"halves must be a pair of results, got {describe(halves)}")
        split = split_distances(halves[0], halves[1], metric=metric)
        if split.sizes.get(level_dim) != result.sizes[level_dim]:
            raise ValueError(
                f"halves have {split.sizes.get(level_dim)} {level_dim}s, result has "
                f"{result.sizes[level_dim]}"
            )
        for q in quantities:
            if f"{q}_split" not in split:
                continue
            s = split[f"{q}_split"].values
            pair = np.fmax(s[..., :-1], s[..., 1:])
            scale = _NOISE_SCALE[metric if q == "distribution" else q]
            dims = out[f"{q}_distance"].dims
            out[f"{q}_noise"] = (dims, pair * scale)
            with np.errstate(divide="ignore", invalid="ignore"):
                out[f"{q}_ratio"] = (dims, out[f"{q}_distance"].values / (pair * scale))
            out[f"{q}_split"] = (
                (*dims[:-1], f"{level_dim}_all"),
                s,
            )
        out = out.assign_coords({f"{level_dim}_all": result[level_dim].values})
    out.attrs = {
        "analysis": "self_similarity",
        "metric": metric,
        "level_dim": level_dim,
        "quantities": json.dumps(quantities),
        "has_noise_reference": int(halves is not None),
        "source_analysis": str(result.attrs.get("analysis", "")),
        "convention": "distance between levels k and k+1 indexed by the upper level k+1",
    }
    return out
