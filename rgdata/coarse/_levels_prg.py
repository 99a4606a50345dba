"""Rebuild the cluster variables of a :func:`rgdata.coarse.prg` result at one level.

The result's ``membership (level, unit)`` gives every unit's cluster index
at every level (``-1``: left out). A cluster at level ``l`` is the union of
two clusters at level ``l - 1``; its units are taken as the leaves of that
merge tree from left to right (``members``), and the sums are rebuilt level
by level exactly as prg forms them (pairwise sums of adjacent rows in its
``sum_dtype``, :func:`tree_sums`; IEEE addition is commutative, so the
order inside a pair does not matter), and the normalized variables by the
same :func:`normalize_rows` kernel prg uses (:func:`tree_normalized`).
A dask-backed activity is not loaded: its rows are gathered and reduced by
tasks, block by block of whole clusters (:mod:`._levels_prg_lazy`), and
only the level's values come back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_option
from .._warnings import warn_user
from ..activity import KINDS, check_activity
from ._prg_lazy_input import _check_dims, is_lazy
from ._prg_stats import normalize_rows
from .levels import check_level_index, check_same_time, level_attrs, unit_positions
from .prg import LEFT_OUT_WARN_FRACTION

__all__ = ["prg_level", "prg_children"]

VARIABLES = ("sum", "normalized")
#: relative tolerance of the variance check that the activity is the result's data
_RTOL = 1e-9

_VALUES = {
    "01": "counts: sums of K binary (0/1) units, integers in [0, K]",
    "counts": "counts: sums of K units' non-negative integer counts",
    "pm1": "cluster magnetizations: sums of K +-1 spins, integers in [-K, K]",
    "continuous": "sums of K units' values",
}


def prg_children(membership: np.ndarray, level: int) -> np.ndarray:
    """The two level-``level - 1`` clusters of each cluster at *level*, ``(n_clusters, 2)``.

    Lower child index first. Raises ``ValueError`` when *membership* is not a
    binary merge tree (each cluster made of exactly two whole clusters below).
    """
    parent = membership[level]
    child = membership[level - 1]
    mask = parent >= 0
    n_par = int(parent.max()) + 1 if mask.any() else 0
    n_child = int(child.max()) + 1 if (child >= 0).any() else 0
    ok = bool(np.all(child[mask] >= 0))
    parent_of = np.full(n_child, -1, dtype=np.int64)
    if ok:
        parent_of[child[mask]] = parent[mask]
        ok = bool(np.all(parent_of[child[mask]] == parent[mask]))
        valid = np.flatnonzero(parent_of >= 0)
        ok = ok and bool(np.all(np.bincount(parent_of[valid], minlength=n_par) == 2))
    if not ok:
        raise ValueError(
            f"result's membership at level {level} is not a pairing of the clusters at level "
            f"{level - 1} (each cluster must be two whole clusters of the level below); "
            "accepted: the membership prg wrote, unmodified"
        )
    return valid[np.argsort(parent_of[valid], kind="stable")].reshape(n_par, 2)


def prg_level(
    result: xr.Dataset, activity: Any, level: Any, variables: str
) -> tuple[np.ndarray, dict[str, Any], dict[str, Any], str]:
    """Values, coords, attrs and kind of the PRG cluster variables at *level*."""
    check_option(variables, "variables", VARIABLES)
    lazy = is_lazy(activity)
    if lazy:  # checked without loading; the variance checks below catch other data
        act = _check_dims(activity)
    else:
        act = check_activity(activity, allow_trials=False, allow_constant=True)
    membership = np.asarray(result["membership"].values, dtype=np.int64)
    n_lev = membership.shape[0]
    level = check_level_index(level, n_lev, f"prg levels 0..{n_lev - 1}, clusters of 2**level")
    n_time = check_same_time(result, act)
    pos = unit_positions(result, act)
    t0, t1 = (int(v) for v in np.ravel(result.attrs.get("measured_samples", [0, n_time])))
    p0, p1 = (int(v) for v in np.ravel(result.attrs.get("pairing_samples", [0, n_time])))

    order0 = np.argsort(membership[0], kind="stable")  # units in level-0 cluster order
    members = order0[:, None]
    for lv in range(1, level + 1):
        ch = prg_children(membership, lv)
        members = np.concatenate([members[ch[:, 0]], members[ch[:, 1]]], axis=1)
    sum_dtype = np.dtype(result.attrs.get("sum_dtype", "float64"))
    norm = str(result.attrs.get("normalization", ""))
    dtype = np.dtype(result.attrs.get("corr_dtype", "float32"))

    if lazy:
        from ._levels_prg_lazy import lazy_level_values  # noqa: PLC0415 (dask: only when lazy)

        arr = act.data.astype(np.int8) if act.dtype == bool else act.data
        values, var0, var_k = lazy_level_values(
            arr, pos[members.ravel()], members.shape[1], variables,
            sum_dtype=sum_dtype, norm=norm, dtype=dtype, measured=(t0, t1), paired=(p0, p1),
        )  # fmt: skip
        _compare_variance(var0, result, 0)
        if variables == "sum" and level:
            _compare_variance(var_k, result, level)
    else:
        x = act.values[pos]
        if x.dtype == bool:
            x = x.view(np.int8)
        _check_variance(x[:, t0:t1], result, 0)
        leaves = x[members.ravel()]
        if variables == "sum":
            values = tree_sums(leaves, members.shape[1], sum_dtype)
            if level:
                _check_variance(values[:, t0:t1], result, level)
        else:
            values = tree_normalized(leaves[:, p0:p1], members.shape[1], norm, dtype)
    if variables == "sum":
        time = act["time"].values
        samples = [0, n_time]
    else:
        time = act["time"].values[p0:p1]
        samples = [p0, p1]

    # the schema's scale coordinate; results made before it carry only cluster_size = 2**level
    k = int(result["scale"].values[level]) if "scale" in result.coords else 2**level
    left = np.flatnonzero(membership[level] < 0)
    if left.size > LEFT_OUT_WARN_FRACTION * pos.size:
        warn_user(
            f"coarse_activity: level {level} (K={k}) of this prg result leaves {left.size} of "
            f"{pos.size} units out (odd numbers of clusters); their positions are in "
            "attrs['left_out_units']",
            UserWarning,
        )
    coding = str(result.attrs.get("data_coding", "continuous"))
    in_kind = str(act.attrs.get("kind", "continuous"))
    kind = in_kind if level == 0 and variables == "sum" and in_kind in KINDS else "continuous"
    attrs = level_attrs(
        act,
        level=level,
        scale=k,
        scale_name="cluster_size",
        cluster_size=k,
        variables=variables,
        coarse_values=(
            _VALUES.get(coding, _VALUES["continuous"]).replace("K", str(k))
            if variables == "sum"
            else f"normalized variables ({result.attrs['normalization']}) prg paired on"
        ),
        members=members.ravel().astype(np.int64),
        members_definition=(
            "row-major (unit, K) positions into the result's unit coord: "
            "members.reshape(-1, cluster_size)[c] are the original units of cluster c"
        ),
        left_out_units=left.astype(np.int64),
        n_left_out=int(left.size),
        samples=np.asarray(samples, dtype=np.int64),
        measured_samples=np.asarray([t0, t1], dtype=np.int64),
        pairing_samples=np.asarray([p0, p1], dtype=np.int64),
        normalization=str(result.attrs.get("normalization", "")),
        source_analysis=str(result.attrs.get("analysis", "")),
    )
    coords = {"unit": np.arange(values.shape[0]), "time": time}
    return values, coords, attrs, kind


def tree_sums(block: np.ndarray, k: int, sum_dtype: np.dtype) -> np.ndarray:
    """Sums of consecutive groups of *k* rows, pairwise as prg forms them (*k* = 1: the rows).

    The rows of each group are the leaves of its cluster's merge tree from
    left to right, so siblings are adjacent at every level:
    ``s[2i] + s[2i + 1]`` in *sum_dtype*, lower child first, level after level.

    Examples
    --------
    >>> tree_sums(np.arange(8).reshape(4, 2), 2, np.dtype("int64")).tolist()
    [[2, 4], [10, 12]]
    """
    s = block
    while s.shape[0] > block.shape[0] // k:
        s = s[0::2].astype(sum_dtype) + s[1::2].astype(sum_dtype)
    return s


def tree_normalized(block: np.ndarray, k: int, norm: str, dtype: np.dtype) -> np.ndarray:
    """The normalized variables of consecutive groups of *k* rows, as prg forms them.

    :func:`normalize_rows` of the rows, then of every pair's sum, level after
    level (the rows ordered as in :func:`tree_sums`).
    """
    y = np.empty(block.shape, dtype=dtype)
    normalize_rows(block, norm, y)
    while y.shape[0] > block.shape[0] // k:
        y_sum = y[0::2] + y[1::2]
        y = np.empty(y_sum.shape, dtype=dtype)
        normalize_rows(y_sum, norm, y)
    return y


def _check_variance(s: np.ndarray, result: xr.Dataset, level: int) -> None:
    """The mean cluster variance must equal the result's: else the data differ."""
    got = float(s.astype(np.float64).var(axis=1).mean()) if s.size else float("nan")
    _compare_variance(got, result, level)


def _compare_variance(got: float, result: xr.Dataset, level: int) -> None:
    """:func:`_check_variance` with the mean variance already computed."""
    expected = float(result["variance"].values[level])
    if np.isfinite(expected) and not np.isclose(got, expected, rtol=_RTOL, atol=0.0):
        raise ValueError(
            f"activity is not the data the result came from: the mean cluster variance at level "
            f"{level} is {got:.12g} from this activity, {expected:.12g} in the result. Accepted: "
            "the activity prg was run on (same values; units in any order)"
        )
