"""Multi-scale structural self-dissimilarity (MS3D) of fields and of activity along a PRG tree.

Definition adopted (docs/multiscale.md): for a field ``x`` on ``N`` sites,
centred on its own mean, and a block side ``b``, ``P_b x`` is the block
average brought back to the fine grid (every site gets the mean of its
``b^d`` block). The dissimilarity at scale ``b`` pools the samples ``s``:

``D_b = sum_s ||x_s - P_b x_s||^2 / sum_s ||x_s - mean(x_s)||^2``,

the fraction of the field's variance that block averaging at scale ``b``
removes (0: the field is constant on blocks; ``(N/b^d - 1)/(N - 1)`` kept for
white noise). ``MS3D = sum_b D_b``. Along a PRG tree the "sites" are units
(z-scored over time), the "blocks" are the clusters of ``K = 2^l`` units,
and the samples are time points. Errors come from a delete-one-group
jackknife over contiguous groups of samples (independent samples, or time
blocks); the null shuffles sites within each field (or each unit's time
bins, for activity), several draws, summarised by a 95 % prediction band.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import xarray as xr
from scipy.special import stdtrit

from .._jackknife import jackknife_error
from .._progress import progress_bar
from .._validation import check_array, check_int, check_option, check_random_state, describe
from .._warnings import warn_user
from ..activity import check_activity, stack_trials
from ._ms3d_kernels import block_residuals, check_scales, expected_ms3d, gaussian_field
from ._null_bands import NULL_BAND_LEVEL, prediction_band
from .nulls import surrogate

__all__ = ["ms3d", "ms3d_tree", "gaussian_field", "expected_ms3d"]

#: coverage of the jackknife confidence intervals
CI_LEVEL = 0.95


def _groups(n: int, n_groups: int) -> list[np.ndarray]:
    return [g for g in np.array_split(np.arange(n), min(n, n_groups)) if g.size]


def _pooled(residual: np.ndarray, total: np.ndarray, groups: list[np.ndarray], n_sites: int):
    """Estimates and jackknife errors of D_b, MS3D and the residual power."""
    res_g = np.stack([residual[g].sum(axis=0) for g in groups])
    tot_g = np.array([total[g].sum() for g in groups])
    cnt_g = np.array([g.size for g in groups], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = res_g.sum(axis=0) / tot_g.sum()
        power = res_g.sum(axis=0) / (cnt_g.sum() * n_sites)
        rep_d = (res_g.sum(axis=0) - res_g) / (tot_g.sum() - tot_g)[:, None]
        rep_p = (res_g.sum(axis=0) - res_g) / ((cnt_g.sum() - cnt_g) * n_sites)[:, None]
    n_g = len(groups)
    if n_g < 2:
        nan = np.full_like(d, np.nan)
        return d, nan, power, nan, float(d.sum()), np.nan, n_g
    se_d = jackknife_error(rep_d)
    se_p = jackknife_error(rep_p)
    se_sum = float(jackknife_error(rep_d.sum(axis=1)))
    return d, se_d, power, se_p, float(d.sum()), se_sum, n_g


def _dataset(
    scale_name: str,
    scales: list[int],
    pooled: tuple,
    null_d: np.ndarray,
    null_expected: np.ndarray,
    attrs: dict[str, Any],
) -> xr.Dataset:
    d, se_d, power, se_p, total, se_sum, n_g = pooled
    # scipy.special.stdtrit is scipy.stats.t.ppf without importing scipy.stats (~0.5 s)
    t = float(stdtrit(n_g - 1, 0.5 + CI_LEVEL / 2)) if n_g >= 2 else np.nan
    lo, hi = prediction_band(null_d, NULL_BAND_LEVEL, axis=0)
    null_sum = null_d.sum(axis=1)
    s_lo, s_hi = prediction_band(null_sum, NULL_BAND_LEVEL)
    n_null = null_d.shape[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        z_d = (d - null_d.mean(axis=0)) / np.sqrt(se_d**2 + null_d.var(axis=0, ddof=1))
        z_sum = (total - null_sum.mean()) / np.sqrt(se_sum**2 + null_sum.var(ddof=1))
    lvl = ("level",)
    out = xr.Dataset(
        {
            "dissimilarity": (lvl, d),
            "dissimilarity_se": (lvl, se_d),
            "dissimilarity_ci_low": (lvl, d - t * se_d),
            "dissimilarity_ci_high": (lvl, d + t * se_d),
            "residual_power": (lvl, power),
            "residual_power_se": (lvl, se_p),
            "ms3d": ((), total),
            "ms3d_se": ((), se_sum),
            "ms3d_ci_low": ((), total - t * se_sum),
            "ms3d_ci_high": ((), total + t * se_sum),
            "null_dissimilarity": (("draw", "level"), null_d),
            "null_dissimilarity_mean": (lvl, null_d.mean(axis=0)),
            "null_dissimilarity_band_low": (lvl, lo),
            "null_dissimilarity_band_high": (lvl, hi),
            "null_expected": (lvl, null_expected),
            "null_ms3d": (("draw",), null_sum),
            "null_ms3d_mean": ((), null_sum.mean()),
            "null_ms3d_band_low": ((), float(s_lo)),
            "null_ms3d_band_high": ((), float(s_hi)),
            "z_vs_null": (lvl, z_d),
            "ms3d_z_vs_null": ((), z_sum),
        },
        coords={
            "level": np.arange(1, len(scales) + 1),
            "scale": ("level", np.asarray(scales, dtype=np.int64)),
            "draw": np.arange(n_null),
        },
    )
    out.attrs = {
        "analysis": "ms3d",
        "scale_name": scale_name,
        "definition": "D_b = sum_s ||x_s - P_b x_s||^2 / sum_s ||x_s - mean x_s||^2; "
        "ms3d = sum_b D_b",
        "ci_level": CI_LEVEL,
        "ci_method": f"delete-one-group jackknife over {n_g} contiguous groups of samples, "
        "t interval",
        "null_band_level": NULL_BAND_LEVEL,
        "n_null": int(n_null),
        **attrs,
    }
    return out


def _seed_attr(random_state: Any) -> int | str:
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        return int(random_state)
    return "None" if random_state is None else type(random_state).__name__


def ms3d(
    fields: Any,
    scales: Any = None,
    *,
    n_null: int = 10,
    n_groups: int = 20,
    random_state: Any = None,
    progress: bool = False,
) -> xr.Dataset:
    """MS3D of lattice fields: variance removed by block averaging at each scale, with a null.

    Parameters
    ----------
    fields : numpy.ndarray or xarray.DataArray
        ``(n_sample, *lattice)`` with 1-3 lattice axes: Configurations
        ``(sample, y, x)``, images, any real field. Samples should be
        independent (or in time order, when the groups are time blocks).
    scales : sequence of int, optional
        Block sides ``b`` (at least 3, increasing, each dividing every side
        at least twice). Default ``2, 4, 8, ...`` as far as the lattice allows.
    n_null : int
        Draws of the shuffled null (sites permuted within each field: same
        values, no spatial structure); at least 2.
    n_groups : int
        Contiguous groups of samples for the jackknife (at most one per sample).
    random_state : None, int or numpy.random.Generator
        Seeds the null.
    progress : bool
        Progress bar over the null draws.

    Returns
    -------
    xarray.Dataset
        Dim ``level`` (1, 2, ...) with coordinate ``scale`` (``b``):
        ``dissimilarity`` (``D_b``) with ``_se``, ``_ci_low``, ``_ci_high``;
        ``residual_power`` (mean ``||x - P_b x||^2`` per site, in the field's
        units squared) with ``_se``; scalars ``ms3d`` (``sum_b D_b``) with
        ``_se``, ``_ci_low``, ``_ci_high``; the null: ``null_dissimilarity
        (draw, level)``, its mean and 95 % prediction band
        (``null_dissimilarity_band_low/high``), ``null_expected`` (exact
        expectation under site shuffling, ``N (1 - b^-d) / (N - 1)``),
        ``null_ms3d (draw)`` with mean and band; ``z_vs_null`` and
        ``ms3d_z_vs_null`` ((data - null mean) / sqrt(se^2 + null sd^2)).

    Raises
    ------
    TypeError
        *fields* not array-like of numbers, *scales* not a sequence.
    ValueError
        Fewer than 3 scales, a scale that does not divide every side twice,
        wrong dimensionality, NaN, every field constant, ``n_null < 2``.

    Examples
    --------
    >>> x = gaussian_field((32, 32), 2.5, 8, random_state=0)
    >>> res = ms3d(x, [2, 4, 8], n_null=3, random_state=0)
    >>> res["scale"].values.tolist()
    [2, 4, 8]
    >>> bool((res["dissimilarity"] < res["null_dissimilarity_band_low"]).all())
    True
    """
    if isinstance(fields, xr.DataArray):
        if fields.dims[0] != "sample":
            raise ValueError(
                f"fields must have 'sample' as its first dim, got dims {fields.dims}; accepted: "
                "(sample, y, x), (sample, z, y, x) or (sample, x)"
            )
        source = dict(fields.attrs)
        arr = check_array(fields.values, "fields", ndim=(2, 3, 4))
    else:
        source = {}
        arr = check_array(fields, "fields", ndim=(2, 3, 4))
    n_null = check_int(n_null, "n_null", min_value=2)
    n_groups = check_int(n_groups, "n_groups", min_value=1)
    shape = arr.shape[1:]
    scales = check_scales(scales, shape)
    rng = check_random_state(random_state)
    residual, total = block_residuals(arr, scales)
    constant = int(np.sum(total <= 0))
    if constant == arr.shape[0]:
        raise ValueError(f"fields: all {constant} samples are constant; MS3D is undefined")
    if constant:
        warn_user(
            f"ms3d: {constant} of {arr.shape[0]} fields are constant; they add nothing to the "
            "pooled sums (counted in attrs['n_constant_samples'])",
            UserWarning,
        )
    n_sites = int(np.prod(shape))
    pooled = _pooled(residual, total, _groups(arr.shape[0], n_groups), n_sites)
    flat = arr.reshape(arr.shape[0], -1).astype(np.float64)
    null_d = np.empty((n_null, len(scales)))
    for i in progress_bar(range(n_null), enable=progress, desc="ms3d null"):
        shuffled = rng.permuted(flat, axis=1).reshape(arr.shape)
        r, tot = block_residuals(shuffled, scales)
        null_d[i] = r.sum(axis=0) / tot.sum()
    d = len(shape)
    expected = np.array([n_sites * (1 - b**-d) / (n_sites - 1) for b in scales])
    attrs = {
        "input": "lattice fields",
        "lattice_shape": np.asarray(shape, dtype=np.int64),
        "n_samples": int(arr.shape[0]),
        "n_constant_samples": constant,
        "null": "shuffle: sites permuted within each field",
        "random_state": _seed_attr(random_state),
        "source_attrs": json.dumps({k: str(v) for k, v in source.items()}),
    }
    return _dataset("block_side", scales, pooled, null_d, expected, attrs)


def _tree_levels(result: xr.Dataset, levels: Any) -> list[int]:
    n_clusters = result["n_clusters"].values
    if levels is None:
        levels = [int(lv) for lv in result["level"].values if lv >= 1 and n_clusters[lv] >= 2]
        if len(levels) < 3:
            raise ValueError(
                f"the PRG result has only {len(levels)} level(s) >= 1 with at least 2 clusters "
                f"(n_clusters {n_clusters.tolist()}); MS3D needs at least 3: run prg with "
                "more units or levels"
            )
        return levels
    if isinstance(levels, int | np.integer) or not hasattr(levels, "__len__"):
        raise TypeError(f"levels must be a sequence of ints, got {describe(levels)}")
    out = [check_int(v, f"levels[{i}]", min_value=1) for i, v in enumerate(levels)]
    if len(out) < 3:
        raise ValueError(f"levels must hold at least 3 PRG levels, got {out}")
    top = int(result.sizes["level"]) - 1
    for v in out:
        if v > top:
            raise ValueError(f"levels has {v}; accepted: 1..{top} (levels of the PRG result)")
    if any(b <= a for a, b in zip(out[:-1], out[1:], strict=False)):
        raise ValueError(f"levels must be strictly increasing, got {out}")
    return out


def _tree_residuals(z: np.ndarray, member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per time point: residual SS about the cluster means at each level, total SS."""
    zc = z - z.mean(axis=0, keepdims=True)
    total = np.square(zc).sum(axis=0)
    residual = np.empty((z.shape[1], member.shape[0]))
    for j, m in enumerate(member):
        n_c = int(m.max()) + 1
        onehot = np.zeros((n_c, m.size))
        onehot[m, np.arange(m.size)] = 1.0
        counts = onehot.sum(axis=1)
        used = counts > 0  # clusters made only of left-out units are empty here
        sums = onehot[used] @ zc  # cluster sums, one BLAS product
        kept = (np.square(sums) / counts[used, None]).sum(axis=0)
        residual[:, j] = np.maximum(total - kept, 0.0)
    return residual, total


def ms3d_tree(
    activity: xr.DataArray,
    result: xr.Dataset,
    *,
    levels: Any = None,
    n_null: int = 10,
    null_tree: str = "refit",
    n_groups: int = 20,
    random_state: Any = None,
    progress: bool = False,
) -> xr.Dataset:
    """MS3D of non-lattice activity along the cluster tree of a PRG result.

    At time ``t`` the "field" is the vector of z-scored units; the blocks at
    PRG level ``l`` are its clusters (``K = 2^l`` units). ``D_l`` is the
    fraction of the across-unit variance that replacing each unit by its
    cluster mean removes, pooled over time.

    Parameters
    ----------
    activity : xarray.DataArray
        The Activity the PRG ran on (a ``trial`` dim is stacked into time).
    result : xarray.Dataset
        :func:`rgdata.coarse.prg` result (its ``membership`` is the tree).
    levels : sequence of int, optional
        PRG levels to score (at least 3; default every level >= 1 with at
        least 2 clusters).
    n_null : int
        Draws of the null: each unit's time bins permuted independently
        (:func:`rgdata.diagnostics.surrogate` ``"shuffle"``).
    null_tree : {"refit", "same"}
        ``"refit"`` (default): PRG is run again on every surrogate, so the
        null includes the selection bias of greedy pairing (clusters chosen
        for their sampled correlations score below ``null_expected`` even on
        independent units); ``"same"``: the data's tree (cheaper, biased
        towards finding structure).
    n_groups : int
        Contiguous time blocks for the jackknife.
    random_state : None, int or numpy.random.Generator
        Seeds the null.
    progress : bool
        Progress bar over the null draws.

    Returns
    -------
    xarray.Dataset
        As :func:`ms3d`, with ``scale`` = cluster size ``K`` and
        ``null_expected`` = ``M (1 - 1/K) / (M - 1)`` for ``M`` scored units
        (independent units in clusters not chosen from the data). Units left
        out of the top scored level (odd cluster counts) are left out of
        every level (warned; attrs ``n_left_out``).

    Raises
    ------
    TypeError, ValueError
        Not an Activity / PRG result, activity not the result's, fewer than
        3 levels, constant units.
    """
    from ..coarse.levels import result_kind, unit_positions

    act = check_activity(activity)
    if "trial" in act.dims:
        act = stack_trials(act)
    if result_kind(result) != "prg":
        raise ValueError("result must be a result of rgdata.coarse.prg (it holds the tree)")
    if act.sizes["time"] != int(result.attrs.get("n_time", act.sizes["time"])):
        raise ValueError(
            f"activity has {act.sizes['time']} time points, the PRG result was computed on "
            f"{result.attrs['n_time']}; pass the activity the result came from"
        )
    n_null = check_int(n_null, "n_null", min_value=2)
    check_option(null_tree, "null_tree", ("refit", "same"))
    n_groups = check_int(n_groups, "n_groups", min_value=1)
    levels = _tree_levels(result, levels)
    pos = unit_positions(result, act)
    values = act.values[pos].astype(np.float64)
    member = result["membership"].values[levels]
    keep = member[-1] >= 0
    n_left = int((~keep).sum())
    if n_left:
        warn_user(
            f"ms3d_tree: {n_left} unit(s) left out of PRG level {levels[-1]} (odd cluster "
            "counts) are left out of every scored level (attrs['n_left_out'])",
            UserWarning,
        )
    values, member = values[keep], member[:, keep]
    sd = values.std(axis=1, keepdims=True)
    if np.any(sd == 0):
        raise ValueError(
            f"activity has {int((sd == 0).sum())} constant unit(s) in the tree; they cannot be "
            "z-scored: drop them before prg"
        )

    def _z(v: np.ndarray) -> np.ndarray:
        return (v - v.mean(axis=1, keepdims=True)) / v.std(axis=1, keepdims=True)

    residual, total = _tree_residuals(_z(values), member)
    groups = _groups(values.shape[1], n_groups)
    pooled = _pooled(residual, total, groups, values.shape[0])
    rng = check_random_state(random_state)
    kept_act = act.isel(unit=pos[keep])
    null_d = np.full((n_null, len(levels)), np.nan)
    n_levels = int(result.sizes["level"]) - 1
    for i in progress_bar(range(n_null), enable=progress, desc="ms3d_tree null"):
        shuffled = surrogate(kept_act, "shuffle", random_state=rng)
        tree = member
        if null_tree == "refit":
            from ..coarse.prg import prg

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the data's run already warned
                refit = prg(shuffled, n_levels=n_levels, random_state=int(rng.integers(2**31)))
            tree = refit["membership"].values[levels]
            shuffled = shuffled.isel(unit=np.flatnonzero(tree[-1] >= 0))
            tree = tree[:, tree[-1] >= 0]
        r, tot = _tree_residuals(_z(shuffled.values.astype(np.float64)), tree)
        null_d[i] = r.sum(axis=0) / tot.sum()
    sizes = [int(v) for v in result["cluster_size"].values[levels]]
    m = values.shape[0]
    expected = np.array([m * (1 - 1 / k) / (m - 1) for k in sizes])
    attrs = {
        "input": "activity along a PRG tree",
        "prg_levels": np.asarray(levels, dtype=np.int64),
        "n_units": int(m),
        "n_time": int(values.shape[1]),
        "n_left_out": n_left,
        "null": "shuffle: each unit's time bins permuted independently; "
        + ("PRG refitted on every draw" if null_tree == "refit" else "the data's tree"),
        "random_state": _seed_attr(random_state),
    }
    return _dataset("cluster_size", sizes, pooled, null_d, expected, attrs)
