"""Planted hierarchies: activity with a known coarse-graining tree and a known variance exponent.

:func:`planted_tree` generates units on the leaves of ``n_trees`` complete
binary trees of depth ``depth``. Every node at height ``m`` (covering
``2**m`` leaves, ``m = 1..depth``) carries its own stationary Gaussian
process of variance ``b_m``; a unit is the sum of the processes of its
ancestors plus its own noise of variance ``s^2``. The ``b_m`` and ``s^2``
are chosen so that the plain sum ``S`` of the units under a height-``l``
node has

    Var(S) = K**alpha  exactly, for K = 2**l, l = 0..depth,

namely ``R_l = sum_{m > l} b_m = (2**(alpha - 1) - 1) * 2**((alpha - 2) l)``
for ``l < depth``, ``R_depth = 0``, ``b_m = R_(m-1) - R_m`` and ``s^2 = 1 -
R_0`` (every unit has variance 1; ``1 < alpha < 2``). Two units whose lowest
common ancestor has height ``m`` have correlation ``R_(m-1)``, and two
sibling clusters at any level have correlation ``2**(alpha - 1) - 1``, while
cousins have ``2**(alpha - 2)`` times that: greedy correlation pairing
recovers the planted tree whenever that gap is large against the sampling
error of a correlation (about ``1 / sqrt(n_time)``).

``kind="spikes"`` thresholds each unit's Gaussian value at the quantile that
gives the firing probability *rate*; the planted tree is unchanged (a
correlation of thresholded Gaussians grows with theirs) and the exact
variance of a cluster sum follows from bivariate normal orthant
probabilities (Owen's T function), so the truth is exact again, though no
longer a pure power law.

Time: every node process is a stationary AR(1) with lag-1 correlation
*autocorrelation* (0: independent time points), so the planted data can
carry the autocorrelation that block confidence intervals must see.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.special import ndtr, ndtri, owens_t

from .._validation import check_int, check_option, check_random_state, check_real

__all__ = ["planted_tree", "PLANTED_KINDS"]

#: what :func:`planted_tree` generates
PLANTED_KINDS = ("continuous", "spikes")


def _tail_variances(alpha: float, depth: int) -> np.ndarray:
    """``R_l = sum_{m > l} b_m`` for ``l = 0..depth`` (``R_depth = 0``)."""
    r = (2.0 ** (alpha - 1.0) - 1.0) * 2.0 ** ((alpha - 2.0) * np.arange(depth + 1))
    r[depth] = 0.0
    return r


def _orthant(theta: float, rho: np.ndarray) -> np.ndarray:
    """``P(g_1 > theta, g_2 > theta)`` for standard normals of correlation *rho*."""
    a = np.sqrt((1.0 - rho) / (1.0 + rho))
    return ndtr(-theta) - 2.0 * owens_t(-theta, a)


def _exact_variance(
    kind: str, alpha: float, depth: int, rate: float
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``Var(S)`` of a height-``l`` cluster sum and the units' mean, per level."""
    k = 2.0 ** np.arange(depth + 1)
    if kind == "continuous":
        return k**alpha, np.zeros(depth + 1)
    r = _tail_variances(alpha, depth)
    theta = float(ndtri(1.0 - rate))
    p = rate
    # ordered pairs of distinct units whose lowest common ancestor has height m: K 2**(m-1)
    cov = _orthant(theta, r[:-1]) - p * p  # lca height m = 1..depth: correlation R_(m-1)
    var = np.empty(depth + 1)
    for lv in range(depth + 1):
        m = np.arange(1, lv + 1)
        var[lv] = k[lv] * p * (1 - p) + float(np.sum(k[lv] * 2.0 ** (m - 1) * cov[:lv]))
    return var, k * p


def planted_tree(
    depth: int,
    n_time: int,
    *,
    n_trees: int = 1,
    alpha: float = 1.4,
    kind: str = "continuous",
    rate: float = 0.1,
    autocorrelation: float = 0.0,
    random_state: Any = None,
) -> tuple[xr.DataArray, xr.Dataset]:
    """Activity on the leaves of planted binary trees, with the exact truth to check PRG against.

    Parameters
    ----------
    depth : int
        Height of each tree (``2**depth`` units per tree, 1 to 20).
    n_time : int
        Time points (at least 2).
    n_trees : int
        Independent trees side by side (``n_trees * 2**depth`` units), e.g.
        5 trees of depth 12 for 20,480 units.
    alpha : float
        Variance exponent, ``1 < alpha < 2``: a height-``l`` cluster sum of
        the continuous units has variance ``(2**l)**alpha`` exactly.
    kind : {"continuous", "spikes"}
        Gaussian float32 units (variance 1), or int8 0/1 spikes that
        threshold them at firing probability *rate*.
    rate : float
        Firing probability of each spiking unit (``kind="spikes"``).
    autocorrelation : float
        Lag-1 correlation of every node's AR(1) process, in ``[0, 1)``.
    random_state : None, int or numpy.random.Generator
        Seeds the processes and the random order of the units.

    Returns
    -------
    activity : xarray.DataArray
        Dims ``("unit", "time")``; the units are in a random order (labels
        ``0..N-1``), so neither the labels nor their order carry the tree.
    truth : xarray.Dataset
        Dim ``level`` (``0..depth``) with coordinate ``cluster_size``
        (``2**level``): ``variance`` (the exact expected variance of a
        planted cluster's plain sum, which is what :func:`~rgdata.coarse.prg`
        averages over clusters), ``mean`` (of the sum), ``log2_variance_slope``
        (between consecutive levels); dims ``(level, unit)``: ``membership``
        (planted cluster of every unit label at every level). Attrs hold the
        parameters, ``sibling_correlation`` and, for continuous units, the
        exact exponent ``alpha``.

    Raises
    ------
    TypeError, ValueError
        A parameter of the wrong type or outside its range.

    Examples
    --------
    >>> act, truth = planted_tree(4, 2000, random_state=0)
    >>> act.sizes["unit"], round(float(truth["variance"][-1]), 6)  # 16 units, 16**1.4
    (16, 48.50293)
    """
    depth = check_int(depth, "depth", min_value=1, max_value=20)
    n_time = check_int(n_time, "n_time", min_value=2)
    n_trees = check_int(n_trees, "n_trees", min_value=1)
    alpha = check_real(alpha, "alpha", min_value=1.0, max_value=2.0, strict_min=True)
    if alpha >= 2.0:
        raise ValueError(f"alpha must be < 2, got {alpha}")
    kind = check_option(kind, "kind", PLANTED_KINDS)
    rate = check_real(rate, "rate", min_value=0.0, max_value=1.0, strict_min=True)
    if rate >= 1.0:
        raise ValueError(f"rate must be < 1, got {rate}")
    phi = check_real(autocorrelation, "autocorrelation", min_value=0.0, max_value=1.0)
    if phi >= 1.0:
        raise ValueError(f"autocorrelation must be < 1, got {phi}")
    rng = check_random_state(random_state)
    r = _tail_variances(alpha, depth)
    b = r[:-1] - r[1:]  # b_m for m = 1..depth
    noise_sd = float(np.sqrt(1.0 - r[0]))
    theta = float(ndtri(1.0 - rate))
    leaves = 2**depth
    n_units = n_trees * leaves
    order = rng.permutation(n_units)  # planted position -> unit label
    dtype = np.float32 if kind == "continuous" else np.int8
    out = np.empty((n_units, n_time), dtype=dtype)

    from scipy.signal import lfilter  # noqa: PLC0415  (scipy.signal is slow to import)

    def process(n: int, sd: float) -> np.ndarray:
        z = rng.standard_normal((n, n_time), dtype=np.float32)
        if phi > 0.0:  # stationary AR(1) of variance sd**2
            z[:, 0] /= np.sqrt(1.0 - phi * phi)
            z = lfilter([np.sqrt(1.0 - phi * phi)], [1.0, -phi], z, axis=1).astype(np.float32)
        z *= np.float32(sd)
        return z

    for tree in range(n_trees):
        g = process(1, float(np.sqrt(b[depth - 1])))
        for m in range(depth - 1, 0, -1):  # heights depth-1 .. 1: children of the nodes above
            g = np.repeat(g, 2, axis=0)
            g += process(g.shape[0], float(np.sqrt(b[m - 1])))
        g = np.repeat(g, 2, axis=0)
        g += process(leaves, noise_sd)
        rows = order[tree * leaves : (tree + 1) * leaves]
        out[rows] = g if kind == "continuous" else (g > theta)
    var, mean = _exact_variance(kind, alpha, depth, rate)
    levels = np.arange(depth + 1)
    membership = np.empty((depth + 1, n_units), dtype=np.int64)
    position = np.arange(n_units)
    for lv in levels:
        membership[lv, order] = position >> lv
    from ..activity import as_activity  # noqa: PLC0415

    act = as_activity(
        out,
        kind=kind,
        unit=np.arange(n_units),
        source="planted_tree",
    )
    slope = np.full(depth + 1, np.nan)
    slope[1:] = np.diff(np.log2(var))
    truth = xr.Dataset(
        {
            "variance": ("level", var),
            "mean": ("level", mean),
            "log2_variance_slope": ("level", slope),
            "membership": (("level", "unit"), membership),
        },
        coords={"level": levels, "cluster_size": ("level", 2**levels), "unit": np.arange(n_units)},
        attrs={
            "model": "planted_tree",
            "kind": kind,
            "depth": depth,
            "n_trees": n_trees,
            "alpha": alpha if kind == "continuous" else np.nan,
            "alpha_parameter": alpha,
            "rate": rate if kind == "spikes" else np.nan,
            "autocorrelation": phi,
            "sibling_correlation": float(r[0]),
            "cousin_correlation": float(r[1]) if depth > 1 else np.nan,
        },
    )
    return act, truth
