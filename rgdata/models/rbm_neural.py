"""RBM hidden units on recordings, measured against PRG clusters."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_dataset, check_int, describe
from ._protocol import RGModel
from .rbm import RBM

__all__ = ["prg_overlap"]


def prg_overlap(
    rbm: RBM, prg_result: xr.Dataset, level: int, *, n_null: int = 200, random_state: Any = None
) -> xr.Dataset:
    """Overlap of each hidden unit's receptive field with the best-matching PRG cluster.

    A hidden unit's receptive field at cluster size ``K`` is the set of the
    ``K`` visible units with the largest ``|W|``; its overlap with a PRG cluster
    of ``K`` units (``membership`` of *prg_result* at *level*) is the fraction
    of shared units; ``best_overlap`` is the largest over clusters. The null is
    the same best overlap of random ``K``-unit sets.

    Parameters
    ----------
    rbm : RBM
        Fitted on the Activity that :func:`rgdata.coarse.prg` ran on (units
        matched by position: the same unit order).
    prg_result : xarray.Dataset
        The result of :func:`rgdata.coarse.prg`.
    level : int
        PRG level (``K = 2**level``), at least 1.
    n_null : int
        Random ``K``-sets in the null.
    random_state : None, int or numpy.random.Generator
        Seeds the null draws.

    Returns
    -------
    xarray.Dataset
        On ``hidden``: ``best_overlap`` and ``best_cluster``; scalars
        ``overlap_mean`` with ``overlap_err`` (standard error over hidden
        units), ``null_mean``, ``null_low`` and ``null_high`` (2.5 and 97.5
        percentiles of the null's mean over as many random sets as there are
        hidden units).

    Examples
    --------
    >>> import numpy as np
    >>> import xarray as xr
    >>> rbm = RBM(n_hidden=2, n_epochs=1).fit(np.random.default_rng(0).integers(0, 2, (40, 4)))
    >>> rbm.weights_ = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    >>> res = xr.Dataset({"membership": (("level", "unit"), [[0, 1, 2, 3], [0, 0, 1, 1]])})
    >>> prg_overlap(rbm, res, level=1, random_state=0).best_overlap.values.tolist()
    [1.0, 1.0]
    """
    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be a fitted rgdata.models.RBM, got {describe(rbm)}")
    rbm._check_fitted()
    check_dataset(prg_result, ["membership"], "prg_result")
    membership = np.asarray(prg_result["membership"].values, dtype=np.int64)
    level = check_int(level, "level", min_value=1, max_value=membership.shape[0] - 1)
    n_null = check_int(n_null, "n_null", min_value=1)
    n_v, n_h = rbm.weights_.shape
    if membership.shape[1] != n_v:
        raise ValueError(
            f"prg_result has {membership.shape[1]} units, the RBM {n_v} visible units; "
            "accepted: the PRG result of the Activity the RBM was fitted on"
        )
    labels = membership[level]
    clusters = np.unique(labels[labels >= 0])
    K = int(np.bincount(labels[labels >= 0]).max())
    onehot = (labels[:, None] == clusters[None, :]).astype(np.float64)  # (unit, cluster)

    def best(sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Best overlap of each row's K-set (indices) with any cluster."""
        counts = onehot[sets].sum(axis=1)  # (set, cluster)
        return counts.max(axis=1) / K, clusters[counts.argmax(axis=1)]

    top = np.argsort(-np.abs(rbm.weights_), axis=0)[:K].T  # (hidden, K)
    overlap, cluster = best(top)
    rng, seed = RGModel._seeded_rng(random_state)
    null_means = np.empty(n_null)
    for i in range(n_null):
        sets = np.argsort(rng.random((n_h, n_v)), axis=1)[:, :K]
        null_means[i] = best(sets)[0].mean()
    err = overlap.std(ddof=1) / np.sqrt(n_h) if n_h > 1 else np.nan

    def var(dims, values, description, units="1"):
        return xr.Variable(dims, np.asarray(values), {"units": units, "description": description})

    return xr.Dataset(
        {
            "best_overlap": var("hidden", overlap, "largest shared fraction with a PRG cluster"),
            "best_cluster": var("hidden", cluster, "that cluster's index", "cluster"),
            "overlap_mean": var((), overlap.mean(), "mean best overlap over hidden units"),
            "overlap_err": var((), err, "standard error of overlap_mean"),
            "null_mean": var((), null_means.mean(), "mean best overlap of random K-sets"),
            "null_low": var((), np.percentile(null_means, 2.5), "2.5% of the null's mean"),
            "null_high": var((), np.percentile(null_means, 97.5), "97.5% of the null's mean"),
        },
        coords={"hidden": np.arange(n_h)},
        attrs={"analysis": "prg_overlap", "level": level, "K": K, "seed": seed},
    )
