"""Descriptive summary of an Activity: per-unit statistics, pairwise
correlations and the correlation spectrum, each next to a shuffled null."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._gram import gram
from .._validation import check_int, check_random_state
from ..activity import check_activity, stack_trials

__all__ = ["summarize", "marchenko_pastur_edges"]


def marchenko_pastur_edges(n_units: int, n_time: int) -> tuple[float, float]:
    """Edges of the Marchenko-Pastur law for the correlation matrix of
    independent units: ``(1 -+ sqrt(N/T))**2``.

    This is the null expectation for the eigenvalues of a sample correlation
    matrix of ``n_units`` independent, finite-variance units observed
    ``n_time`` times (in the limit of large N and T).
    """
    q = n_units / n_time
    return (1 - np.sqrt(q)) ** 2, (1 + np.sqrt(q)) ** 2


def _correlation(x: np.ndarray) -> np.ndarray:
    z = x - x.mean(axis=1, keepdims=True)
    z /= np.sqrt((z * z).mean(axis=1, keepdims=True))
    return gram(z) / z.shape[1]


def summarize(activity: xr.DataArray, *, n_bins: int = 60, random_state=None) -> xr.Dataset:
    """Per-unit statistics, correlation distribution and spectrum, with a null.

    The null is the same data with each unit's time points permuted
    independently (correlations destroyed, per-unit statistics kept), so the
    correlation histogram and eigenvalue spectrum of the data can be read
    against what independent units with the same marginals give.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity ``(unit, time)``; repeated trials are stacked into time.
    n_bins : int
        Bins of the pairwise-correlation histogram on [-1, 1].
    random_state : None, int or numpy.random.Generator
        Seeds the shuffle null.

    Returns
    -------
    xarray.Dataset
        ``mean(unit)``, ``std(unit)``, ``correlation_density(kind, corr_bin)``
        with ``kind`` in ("data", "shuffled"), ``eigenvalues(kind, rank)`` of
        the correlation matrix, and attrs ``mean_abs_correlation``,
        ``mean_abs_correlation_shuffled``, ``mp_upper_edge`` (Marchenko-Pastur
        upper edge for independent units), ``n_eigen_above_mp``.
    """
    activity = stack_trials(check_activity(activity))
    n_bins = check_int(n_bins, "n_bins", min_value=2)
    rng = check_random_state(random_state)
    x = np.asarray(activity.values, dtype=np.float64)
    n_unit, n_time = x.shape
    shuffled = rng.permuted(x, axis=1)
    edges = np.linspace(-1, 1, n_bins + 1)
    iu = np.triu_indices(n_unit, k=1)
    dens, eig, mean_abs = [], [], []
    for arr in (x, shuffled):
        c = _correlation(arr)
        pairs = c[iu]
        dens.append(np.histogram(pairs, bins=edges, density=True)[0])
        eig.append(np.sort(np.linalg.eigvalsh(c))[::-1])
        mean_abs.append(float(np.mean(np.abs(pairs))))
    lo, hi = marchenko_pastur_edges(n_unit, n_time)
    ds = xr.Dataset(
        {
            "mean": ("unit", x.mean(axis=1)),
            "std": ("unit", x.std(axis=1)),
            "correlation_density": (("kind", "corr_bin"), np.array(dens)),
            "eigenvalues": (("kind", "rank"), np.array(eig)),
        },
        coords={
            "unit": activity["unit"].values,
            "kind": ["data", "shuffled"],
            "corr_bin": 0.5 * (edges[1:] + edges[:-1]),
            "rank": np.arange(1, n_unit + 1),
        },
        attrs={
            "analysis": "summary",
            "kind_of_data": str(activity.attrs.get("kind", "")),
            "source": str(activity.attrs.get("source", "")),
            "n_units": n_unit,
            "n_time": n_time,
            "mean_abs_correlation": mean_abs[0],
            "mean_abs_correlation_shuffled": mean_abs[1],
            "mp_lower_edge": float(lo),
            "mp_upper_edge": float(hi),
            "n_eigen_above_mp": int(np.sum(eig[0] > hi)),
            "null": "independent per-unit time permutation",
        },
    )
    for key in ("bin_width", "units"):
        if key in activity.attrs:
            ds.attrs[key] = activity.attrs[key]
    return ds
