"""Goodness of fit of a pairwise maximum-entropy model: predictions against data.

:func:`goodness_of_fit` compares a fitted model's means, covariances,
connected three-point correlations and count distribution P(K) with the
data's, in units of their combined error; the estimators' method
:meth:`rgdata.maxent.PairwiseMaxEnt.goodness_of_fit` calls it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_random_state
from ._enumerate import MAX_EXACT_UNITS
from ._moments import connected_three_point, data_statistics, poisson_binomial
from ._pairwise_model import PairwiseModel, prepare_data

__all__ = ["goodness_of_fit"]

_FLOOR = 1e-300


def goodness_of_fit(
    model: PairwiseModel,
    activity: xr.DataArray,
    *,
    n_triplets: int = 500,
    n_model_samples: int = 200_000,
    random_state: Any = 0,
) -> xr.Dataset:
    """Compare a fitted model's predictions with the data, in units of their combined error.

    Every z-score is ``|model - data| / sqrt(se_data^2 + se_model^2)``:
    ``se_data`` is the block standard error (20 contiguous time blocks) of
    the data's statistic; ``se_model`` is the Monte Carlo error of the
    model's prediction (0 for exact predictions, N <= 20), measured from
    the spread between the independent Gibbs chains that drew the model
    sample (the factor ``tau`` of correlated sweeps is pooled over each
    family of statistics). Without it a small model sample inflates the
    z-scores of a correct model. The independent model (same means, no
    couplings) is reported alongside as the null.

    Parameters
    ----------
    model : PairwiseMaxEnt, KPairwiseMaxEnt or IndependentMaxEnt
        A fitted model.
    activity : xarray.DataArray
        The data (usually the data the model was fitted on).
    n_triplets : int
        Number of random unit triplets for three-point correlations.
    n_model_samples : int
        Size of the Gibbs sample of the model from which three-point
        correlations are predicted when N > 20 (means, covariances and
        P(K) use the cached moments of ``model.predict_means()``).
    random_state : None, int or Generator
        Chooses the triplets.

    Returns
    -------
    xarray.Dataset
        Variables ``mean_{data,model,se,se_model}`` (unit),
        ``cov_{data,model,independent,se,se_model}`` (pair),
        ``c3_{data,model,se,se_model}`` (triplet),
        ``pk_{data,model,independent,se,se_model}`` (count); ``*_se`` is
        the data's error, ``*_se_model`` the prediction's Monte Carlo
        error. attrs hold summary z-scores (``max_z_*``, ``rms_z_*``) and
        the fit's parameters.

    Raises
    ------
    ValueError
        When *activity* has another number of units than the model, or for
        bad *n_triplets* / *n_model_samples*.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> from rgdata.maxent.goodness import goodness_of_fit
    >>> rng = np.random.default_rng(0)
    >>> act = rgdata.as_activity((rng.random((5, 4000)) < 0.3).astype(int), kind="spikes")
    >>> m = rgdata.maxent.PairwiseMaxEnt(method="exact").fit(act)
    >>> gof = goodness_of_fit(m, act, n_triplets=10)
    >>> gof.attrs["max_z_mean"] < 1e-3
    True
    """
    model._check_fitted()
    x, units, _ = prepare_data(activity, model.coding)
    t, n = x.shape
    if n != model.n_units_:
        raise ValueError(f"activity has {n} units; the model was fitted on {model.n_units_}")
    n_triplets = check_int(n_triplets, "n_triplets", min_value=0)
    n_model_samples = check_int(n_model_samples, "n_model_samples", min_value=100)
    rng = check_random_state(random_state)
    stats = data_statistics(x, model.coding)
    nb = stats["n_blocks"]
    edges = np.linspace(0, t, nb + 1).astype(np.int64)
    iu = np.triu_indices(n, 1)
    mean_d = stats["mean"]
    cov_d, cov_se = _data_covariances(x, mean_d, edges, iu)
    tri = _triplets(n, n_triplets, rng)
    c3_blocks = np.stack(
        [connected_three_point(x[edges[b] : edges[b + 1]], tri, center=mean_d) for b in range(nb)]
    )
    c3_d = connected_three_point(x, tri, center=mean_d)
    c3_se = c3_blocks.std(0, ddof=1) / np.sqrt(nb)
    mean_m = model.predict_means()
    cov_m = model.predict_correlations()[iu]
    pk_m = model.predict_count_distribution()
    mc_mean, mc_cov, mc_pk = model._moment_mc_errors(iu)
    if model._use_exact() or not len(tri):
        c3_m = model.predict_three_point(tri) if len(tri) else np.zeros(0)
        mc_c3 = np.zeros(len(tri))
    else:
        c3_m, mc_c3 = model._three_point_mc(tri, n_model_samples)
    pk_ind = poisson_binomial((x > 0).mean(0))
    se_cov = np.maximum(cov_se, stats["se_second"][iu])
    z_mean = _z(mean_m, mean_d, stats["se_mean"], mc_mean)
    z_cov = _z(cov_m, cov_d, se_cov, mc_cov)
    z_cov_ind = _z(0.0, cov_d, se_cov)
    z_c3 = _z(c3_m, c3_d, c3_se, mc_c3) if len(tri) else np.zeros(1)
    z_c3_ind = _z(0.0, c3_d, c3_se) if len(tri) else np.zeros(1)
    seen = (stats["pk"] > 0) | (pk_m > 0)
    z_pk = _z(pk_m, stats["pk"], stats["se_pk"], mc_pk)[seen]
    attrs = dict(model._params_attrs())
    attrs.update(
        {
            "max_z_mean": float(z_mean.max()),
            "rms_z_mean": _rms(z_mean),
            "max_z_cov": float(z_cov.max()),
            "rms_z_cov": _rms(z_cov),
            "rms_z_cov_independent": _rms(z_cov_ind),
            "rms_z_c3": _rms(z_c3),
            "rms_z_c3_independent": _rms(z_c3_ind),
            "frac_cov_within_2se": float(np.mean(z_cov < 2)),
            "frac_c3_within_2se": float(np.mean(z_c3 < 2)),
            "max_z_pk": float(z_pk.max()),
            "rms_z_pk": _rms(z_pk),
            "n_model_samples_c3": 0 if model._use_exact() else int(n_model_samples),
            "z_definition": "|model - data| / sqrt(se_data^2 + se_model_mc^2)",
            "n_samples_data": int(t),
            "se_method": f"block standard error over {nb} contiguous time blocks",
            "prediction": "exact enumeration"
            if model._use_exact()
            else "Monte Carlo (Gibbs) estimate",
        }
    )
    if model.n_units_ <= MAX_EXACT_UNITS:
        mi = model.multi_information_fraction(activity)
        attrs["multi_information_fraction"] = mi["fraction"]
        attrs["entropy_data_plugin"] = mi["entropy_data"]
        attrs["entropy_independent"] = mi["entropy_independent"]
        attrs["entropy_model"] = mi["entropy_model"]
    return xr.Dataset(
        {
            "mean_data": ("unit", mean_d),
            "mean_model": ("unit", mean_m),
            "mean_se": ("unit", stats["se_mean"]),
            "mean_se_model": ("unit", mc_mean),
            "cov_data": ("pair", cov_d.astype(np.float64)),
            "cov_model": ("pair", cov_m),
            "cov_independent": ("pair", np.zeros_like(cov_m)),
            "cov_se": ("pair", se_cov),
            "cov_se_model": ("pair", mc_cov),
            "c3_data": ("triplet", c3_d),
            "c3_model": ("triplet", c3_m),
            "c3_se": ("triplet", c3_se),
            "c3_se_model": ("triplet", mc_c3),
            "pk_data": ("count", stats["pk"]),
            "pk_model": ("count", pk_m),
            "pk_independent": ("count", pk_ind),
            "pk_se": ("count", stats["se_pk"]),
            "pk_se_model": ("count", mc_pk),
        },
        coords={
            "unit": units,
            "pair_i": ("pair", iu[0]),
            "pair_j": ("pair", iu[1]),
            "triplet_i": ("triplet", tri[:, 0]),
            "triplet_j": ("triplet", tri[:, 1]),
            "triplet_k": ("triplet", tri[:, 2]),
            "count": np.arange(n + 1),
        },
        attrs=attrs,
    )


def _z(a, b, se, se_model=0.0) -> np.ndarray:
    """``|a - b| / sqrt(se^2 + se_model^2)`` (the denominator floored above 0)."""
    return np.abs(a - b) / np.maximum(np.sqrt(se**2 + se_model**2), _FLOOR)


def _rms(z: np.ndarray) -> float:
    return float(np.sqrt(np.mean(z**2)))


def _data_covariances(
    x: np.ndarray, mean: np.ndarray, edges: np.ndarray, iu: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The data's covariances of the pairs *iu* and their block standard errors.

    Each block's covariance is centred at the overall means *mean*; the
    blocks are ``x[edges[b]:edges[b + 1]]``.
    """
    t = x.shape[0]
    nb = len(edges) - 1
    xc = x - mean.astype(np.float32)
    cov_blocks = np.stack(
        [
            (
                (xc[edges[b] : edges[b + 1]].T @ xc[edges[b] : edges[b + 1]])
                / (edges[b + 1] - edges[b])
            )[iu]
            for b in range(nb)
        ]
    )
    cov_d = (xc.T @ xc / t)[iu]
    return cov_d, cov_blocks.std(0, ddof=1) / np.sqrt(nb)


def _triplets(n: int, n_triplets: int, rng: np.random.Generator) -> np.ndarray:
    """All unit triplets ``(i < j < k)`` when there are at most *n_triplets*, else a random draw."""
    if n * (n - 1) * (n - 2) // 6 <= n_triplets:
        return np.array(
            [(i, j, k) for i in range(n) for j in range(i + 1, n) for k in range(j + 1, n)],
            dtype=np.int64,
        ).reshape(-1, 3)
    return np.sort(
        np.array([rng.choice(n, 3, replace=False) for _ in range(n_triplets)]), axis=1
    ).reshape(-1, 3)
