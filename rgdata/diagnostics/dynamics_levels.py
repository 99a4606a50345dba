"""Dynamics across PRG levels and block-spin levels: builds the levels and their nulls.

:func:`prg_dynamics` sums the units of every PRG cluster (the variables of
:func:`rgdata.coarse.coarse_activity`), :func:`block_dynamics` sums the spins
of ``b x b`` blocks of a time series of configurations; both hand the levels
to :func:`rgdata.diagnostics.dynamic_scaling`, with a ``z`` null that
surrogates every unit (site) on its own and rebuilds the levels with the
same clusters (blocks): same single-unit dynamics, no collective dynamics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_option, describe
from ..activity import check_activity, check_configurations, stack_trials
from .dynamics import MIN_TIME, dynamic_scaling, surrogate_values

__all__ = ["prg_dynamics", "block_dynamics", "DYNAMICS_NULLS", "DYNAMICS_MODELS"]

#: surrogates for the null of z
DYNAMICS_NULLS = ("circular_shift", "phase")
#: dynamics models: "ou" -> dynamic_scaling, "learned" -> learned_dynamic_scaling (ML extra)
DYNAMICS_MODELS = ("ou", "learned")


def _scaling_function(model: str) -> Callable[..., xr.Dataset]:
    check_option(model, "model", DYNAMICS_MODELS)
    if model == "learned":
        from .dynamics_learned import learned_dynamic_scaling

        return learned_dynamic_scaling
    return dynamic_scaling


def _cluster_sums(values: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Sums of the rows of *values* in each cluster (``membership`` -1: left out)."""
    keep = np.flatnonzero(membership >= 0)
    n_c = int(membership[keep].max()) + 1
    onehot = np.zeros((n_c, membership.size))
    onehot[membership[keep], keep] = 1.0
    return onehot @ values


def prg_dynamics(
    activity: xr.DataArray,
    result: xr.Dataset,
    *,
    levels: Any = None,
    null: str = "circular_shift",
    model: str = "ou",
    **kwargs: Any,
) -> xr.Dataset:
    """:func:`dynamic_scaling` along the levels of a PRG result (scale = cluster size ``K``).

    Parameters
    ----------
    activity : xarray.DataArray
        The Activity the PRG ran on (``trial`` is stacked into time).
    result : xarray.Dataset
        :func:`rgdata.coarse.prg` result.
    levels : sequence of int, optional
        PRG levels (at least 3); default every level.
    null : {"circular_shift", "phase"}
        Surrogate of each unit for the ``z`` null (clusters kept).
    model : {"ou", "learned"}
        ``"ou"``: :func:`dynamic_scaling`; ``"learned"``:
        :func:`~rgdata.diagnostics.learned_dynamic_scaling` (ML extra), with
        the same ``z`` null.
    **kwargs
        Passed to :func:`dynamic_scaling` (``n_boot``, ``n_null``,
        ``block_length``, ``random_state``, ``progress``) or
        :func:`~rgdata.diagnostics.learned_dynamic_scaling`.

    Returns
    -------
    xarray.Dataset
        As :func:`dynamic_scaling` (or ``learned_dynamic_scaling``), plus the
        coordinate ``prg_level``.
    """
    from ..coarse.levels import result_kind, unit_positions

    act = check_activity(activity)
    if "trial" in act.dims:
        act = stack_trials(act)
    if result_kind(result) != "prg":
        raise ValueError("result must be a result of rgdata.coarse.prg (it holds the clusters)")
    if act.sizes["time"] != int(result.attrs.get("n_time", act.sizes["time"])):
        raise ValueError(
            f"activity has {act.sizes['time']} time points, the PRG result was computed on "
            f"{result.attrs['n_time']}; pass the activity the result came from"
        )
    check_option(null, "null", DYNAMICS_NULLS)
    scaling = _scaling_function(model)
    n_levels = int(result.sizes["level"])
    if levels is None:
        levels = list(range(n_levels))
    if isinstance(levels, int | np.integer) or not hasattr(levels, "__len__"):
        raise TypeError(f"levels must be a sequence of ints, got {describe(levels)}")
    levels = [
        check_int(v, f"levels[{i}]", min_value=0, max_value=n_levels - 1)
        for i, v in enumerate(levels)
    ]
    values = act.values[unit_positions(result, act)].astype(np.float64)
    member = result["membership"].values[levels]

    def build(vals: np.ndarray) -> list[np.ndarray]:
        return [_cluster_sums(vals, m) for m in member]

    def null_levels(rng: np.random.Generator) -> list[np.ndarray]:
        return build(surrogate_values(values, null, rng))

    sizes = result["cluster_size"].values[levels].astype(float)
    out = scaling(
        build(values),
        sizes,
        null_levels=null_levels,
        null_name=f"{null} of every unit, same clusters",
        **kwargs,
    )
    out = out.assign_coords(prg_level=("level", np.asarray(levels, dtype=np.int64)))
    out.attrs["input"] = "PRG levels (cluster sums)"
    return out


def block_dynamics(
    configurations: xr.DataArray,
    scales: Any = None,
    *,
    null: str = "circular_shift",
    model: str = "ou",
    **kwargs: Any,
) -> xr.Dataset:
    """:func:`dynamic_scaling` across block sizes of a time series of lattice configurations.

    The ``sample`` dim is read as time (consecutive sweeps of a local
    dynamics such as heat bath). The level of block side ``b`` holds the
    block sums of spins (block magnetizations, a linear coarse variable).

    Parameters
    ----------
    configurations : xarray.DataArray
        Configurations ``(sample, y, x)`` (or with ``z``), in time order.
    scales : sequence of int, optional
        Block sides (at least 3, each dividing every side); default ``2, 4,
        ...`` up to a quarter of the side.
    null : {"circular_shift", "phase"}
        Surrogate of each site's series for the ``z`` null.
    model : {"ou", "learned"}
        As in :func:`prg_dynamics`.
    **kwargs
        Passed to :func:`dynamic_scaling` or
        :func:`~rgdata.diagnostics.learned_dynamic_scaling`.

    Returns
    -------
    xarray.Dataset
        As :func:`dynamic_scaling`, scale = block side ``b``.
    """
    cfg = check_configurations(configurations)
    check_option(null, "null", DYNAMICS_NULLS)
    scaling = _scaling_function(model)
    spins = cfg.values
    n_time, shape = spins.shape[0], spins.shape[1:]
    if n_time < MIN_TIME:
        raise ValueError(
            f"configurations have {n_time} samples (time points); the dynamics model needs "
            f"at least {MIN_TIME}"
        )
    if scales is None:
        scales, b = [], 2
        while all(side % b == 0 and side // b >= 4 for side in shape):
            scales.append(b)
            b *= 2
    if isinstance(scales, int | np.integer) or not hasattr(scales, "__len__"):
        raise TypeError(f"scales must be a sequence of ints, got {describe(scales)}")
    scales = [check_int(b, f"scales[{i}]", min_value=1) for i, b in enumerate(scales)]
    if len(scales) < 3:
        raise ValueError(f"scales must hold at least 3 block sides, got {scales}")
    for b in scales:
        if any(side % b for side in shape):
            raise ValueError(
                f"block side b={b} from scales={scales} does not divide the lattice {shape}; "
                "accepted: divisors of every side"
            )

    def build(field: np.ndarray) -> list[np.ndarray]:
        out = []
        for b in scales:
            split = [n_time]
            for side in shape:
                split += [side // b, b]
            axes = tuple(range(2, 2 * len(shape) + 1, 2))
            sums = field.reshape(split).sum(axis=axes, dtype=np.int32)
            out.append(sums.reshape(n_time, -1).T)
        return out

    def null_levels(rng: np.random.Generator) -> list[np.ndarray]:
        flat = spins.reshape(n_time, -1).T
        if null == "phase":
            surrogate = surrogate_values(flat.astype(np.float64), null, rng)
        else:
            surrogate = surrogate_values(flat, null, rng)
        return build(np.ascontiguousarray(surrogate.T).reshape(spins.shape))

    out = scaling(
        build(spins),
        np.asarray(scales, float),
        null_levels=null_levels,
        null_name=f"{null} of every site's series, same blocks",
        **kwargs,
    )
    out.attrs["input"] = "block sums of configurations over time (sample read as time)"
    out.attrs["temperature"] = float(cfg.attrs.get("temperature", np.nan))
    out.attrs["algorithm"] = str(cfg.attrs.get("algorithm", ""))
    return out
