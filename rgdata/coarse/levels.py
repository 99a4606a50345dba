"""The public link from a coarse-graining result back to data: :func:`coarse_activity`.

Every coarse-graining result records how to rebuild its coarse-grained
variables from the data it was computed on (docs/results.md): PRG stores the
cluster ``membership``, momentum-space RG the kept fraction, direction and
matrix (its modes are recomputed from the data), block-spin flows and MCRG
the block side, rule and tie rule. :func:`coarse_activity` turns
``(result, data, level)`` into a validated Activity, so any fit can run on
any level of any coarse-graining.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import describe
from .._warnings import warn_user
from ..activity import as_activity

__all__ = ["coarse_activity", "RESULT_KINDS", "result_kind"]

#: coarse-graining results :func:`coarse_activity` understands
RESULT_KINDS = ("prg", "momentum", "block_coupling_flow", "mcrg")


def result_kind(result: Any, name: str = "result") -> str:
    """Which coarse-graining made *result*: one of :data:`RESULT_KINDS`.

    Parameters
    ----------
    result : xarray.Dataset
        A result of :func:`rgdata.coarse.prg`, :func:`rgdata.coarse.momentum`,
        :func:`rgdata.lattice.block_coupling_flow` or :func:`rgdata.lattice.mcrg`.
    name : str
        Argument name used in error messages.

    Returns
    -------
    str
        ``"prg"``, ``"momentum"``, ``"block_coupling_flow"`` or ``"mcrg"``.

    Raises
    ------
    TypeError
        *result* is not an :class:`xarray.Dataset`.
    ValueError
        *result* is a Dataset of another kind.
    """
    if not isinstance(result, xr.Dataset):
        raise TypeError(
            f"{name} must be an xarray.Dataset returned by a coarse-graining "
            f"({', '.join(RESULT_KINDS)}); got {describe(result)}"
        )
    analysis = str(result.attrs.get("analysis", ""))
    if analysis.startswith("real-space PRG") and "membership" in result:
        return "prg"
    if analysis == "momentum" and "fraction" in result.coords:
        return "momentum"
    if analysis == "block_coupling_flow":
        return "block_coupling_flow"
    if "eigenvalues_even" in result and "b" in result.attrs and "rule" in result.attrs:
        return "mcrg"
    raise ValueError(
        f"{name} is not a coarse-graining result coarse_activity can rebuild: "
        f"attrs['analysis'] = {analysis!r}, variables {list(result.data_vars)[:6]}. "
        f"Accepted: results of rgdata.coarse.prg (with 'membership'), rgdata.coarse.momentum, "
        "rgdata.lattice.block_coupling_flow and rgdata.lattice.mcrg"
    )


def coarse_activity(
    result: xr.Dataset,
    activity: xr.DataArray,
    level: int | float,
    *,
    variables: str = "sum",
    direction: str | None = None,
    random_state: Any = None,
) -> xr.DataArray:
    """The coarse-grained variables of *result* at *level*, as a validated Activity.

    Parameters
    ----------
    result : xarray.Dataset
        What a coarse-graining returned: :func:`rgdata.coarse.prg`,
        :func:`rgdata.coarse.momentum`, :func:`rgdata.lattice.block_coupling_flow`
        or :func:`rgdata.lattice.mcrg`.
    activity : xarray.DataArray
        The data *result* was computed from: an Activity ``(unit, time)`` for
        PRG and momentum (units matched by label, any order), Configurations
        ``(sample, y, x)`` or ``(sample, z, y, x)`` for block spins. A mismatch
        (other units, length, values) raises ``ValueError``. A dask-backed
        activity with a PRG result is not loaded: tasks gather and sum whole
        clusters and only the level's values come back (the same values).
    level : int or float
        Position along the result's level dim: PRG level ``l`` (clusters of
        ``K = 2**l`` units); the ``l``-th kept fraction of a momentum result
        (0 is the first, all modes) or, as a float, one of its fractions;
        block level ``l`` (blocks of ``b**l`` sites; 0 is the input).
    variables : {"sum", "normalized"}
        PRG only. ``"sum"``: the plain sums ``S_c(t)`` of the original units
        in each cluster, over every time point (the variables whose variance,
        silence and spectra prg reports, on ``attrs["measured_samples"]``).
        ``"normalized"``: the normalized variables prg paired on (each pair's
        sum of normalized variables, renormalized with the result's
        ``normalization`` in its ``corr_dtype``), over the pairing samples
        only (``attrs["pairing_samples"]``; all samples without hold-out).
    direction : {"remove_low", "remove_high"}, optional
        Momentum only: which direction of a ``direction="both"`` result
        (a single-direction result uses its own).
    random_state : None, int or numpy.random.Generator
        Block spins only: seeds tied majority blocks when the result does not
        record an int seed (mcrg never does; block_coupling_flow does when it
        was given one). Not needed when no block can tie.

    Returns
    -------
    xarray.DataArray
        Activity ``(unit, time)`` built by :func:`rgdata.as_activity`.
        ``unit`` is the cluster index (PRG), the original unit label
        (momentum) or the flat block index with ``y``, ``x`` (``z``) coords
        (block spins). ``attrs`` record ``coarse_result`` (the result kind),
        ``level``, ``scale`` and ``scale_name`` (cluster size ``K``, kept
        fraction, block size ``b**level``) and what defines the variables
        (``members`` of each PRG cluster, ``n_modes`` and ``matrix`` of a
        momentum level, ``block_factor`` and ``block_rule`` of block spins).

    Raises
    ------
    TypeError
        *result* is not a Dataset, *activity* not a DataArray, *level* not a
        number.
    ValueError
        A result of an unknown kind, *level* out of range, an *activity* that
        is not the one the result came from, an unknown *variables* or
        *direction*.

    Notes
    -----
    Summed spikes are counts and summed +-1 spins are cluster
    magnetizations, so every PRG level above 0 has ``kind="continuous"``
    (``attrs["coarse_values"]`` says which); level 0 keeps the input's kind.
    Momentum-filtered variables are continuous; block spins are spins. A
    coarse-grained variable that happens to be constant is kept (warned and
    counted in ``attrs["n_constant_units"]``). Units that an odd number of
    PRG clusters left out of a level are listed in ``attrs["left_out_units"]``.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> x = (np.random.default_rng(0).random((16, 2000)) < 0.2).astype(np.int8)
    >>> act = rgdata.as_activity(x, kind="spikes")
    >>> res = rgdata.coarse.prg(act, n_levels=2)
    >>> coarse = rgdata.coarse.coarse_activity(res, act, 2)
    >>> coarse.sizes["unit"], coarse.attrs["scale"]
    (4, 4)
    >>> bool(np.isclose(coarse.var("time").mean(), res["variance"].sel(level=2)))
    True
    """
    kind = result_kind(result)
    if variables != "sum" and kind != "prg":
        raise ValueError(
            f"variables={variables!r} applies to prg results only; a {kind} result has one "
            "kind of coarse variable: leave variables='sum'"
        )
    if direction is not None and kind != "momentum":
        raise ValueError(
            f"direction applies to momentum results only; got direction={direction!r} "
            f"for a {kind} result"
        )
    if kind == "prg":
        from ._levels_prg import prg_level

        values, coords, attrs, act_kind = prg_level(result, activity, level, variables)
    elif kind == "momentum":
        from ._levels_momentum import momentum_level

        values, coords, attrs, act_kind = momentum_level(result, activity, level, direction)
    else:
        from ._levels_blocks import block_level

        values, coords, attrs, act_kind = block_level(result, activity, level, kind, random_state)
    attrs = {"coarse_result": kind, **attrs}
    return _validated(values, coords, attrs, act_kind)


def _validated(
    values: np.ndarray, coords: dict[str, Any], attrs: dict[str, Any], kind: str
) -> xr.DataArray:
    """Wrap the coarse variables through :func:`rgdata.as_activity`; warn on constant units."""
    const = np.flatnonzero(values.min(axis=1) == values.max(axis=1)) if values.size else []
    attrs["n_constant_units"] = int(len(const))
    da = xr.DataArray(values, dims=("unit", "time"), coords=coords, attrs=attrs)
    if len(const):
        warn_user(
            f"coarse_activity: {len(const)} of {values.shape[0]} coarse-grained variables at "
            f"{attrs['coarse_result']} level {attrs['level']} are constant (e.g. unit "
            f"{da['unit'].values[const[0]]!s}); they are kept and counted in "
            "attrs['n_constant_units'] (drop them before an analysis that divides by a variance)",
            UserWarning,
        )
    return as_activity(da, kind=kind, allow_constant=True)


def level_attrs(
    activity: xr.DataArray,
    *,
    level: int,
    scale: Any,
    scale_name: str,
    source_analysis: str,
    **own: Any,
) -> dict[str, Any]:
    """The attrs of a rebuilt level (shared by the rebuilders).

    The input's attrs less ``kind`` (the rebuilt Activity gets its own), then
    the schema's ``level``, ``scale`` and ``scale_name``, the rebuilder's
    *own* entries, and ``source_analysis`` last.
    """
    attrs = {key: val for key, val in activity.attrs.items() if key != "kind"}
    attrs.update(level=level, scale=scale, scale_name=scale_name, **own)
    attrs.update(source_analysis=source_analysis)
    return attrs


def check_level_index(level: Any, n_levels: int, what: str) -> int:
    """Check an int level position in ``0..n_levels-1`` (shared by the rebuilders)."""
    if isinstance(level, bool) or not isinstance(level, int | np.integer):
        raise TypeError(f"level must be an int ({what}), got {describe(level)}")
    level = int(level)
    if not 0 <= level < n_levels:
        raise ValueError(
            f"level={level} is out of range for this result; accepted: 0..{n_levels - 1} ({what})"
        )
    return level


def check_same_time(result: xr.Dataset, activity: xr.DataArray) -> int:
    """The result's number of time points; ``ValueError`` when *activity* has another."""
    n_time = int(result.attrs.get("n_time", activity.sizes["time"]))
    if activity.sizes["time"] != n_time:
        raise ValueError(
            f"activity is not the data the result came from: it has {activity.sizes['time']} "
            f"time points, the result was computed on {n_time}"
        )
    return n_time


def unit_positions(result: xr.Dataset, activity: xr.DataArray) -> np.ndarray:
    """Positions in *activity* of the result's units, in the result's order.

    Raises ``ValueError`` (naming the argument) when the unit labels differ.
    """
    res_units = result["unit"].values
    act_units = activity["unit"].values
    if act_units.shape == res_units.shape and np.array_equal(act_units, res_units):
        return np.arange(act_units.size)
    import pandas as pd

    index = pd.Index(act_units)
    pos = index.get_indexer(res_units) if index.is_unique else np.full(res_units.size, -1)
    if act_units.size != res_units.size or np.any(pos < 0):
        missing = res_units[pos < 0][:5].tolist() if np.any(pos < 0) else []
        raise ValueError(
            f"activity is not the data the result came from: it has {act_units.size} units, "
            f"the result {res_units.size}"
            + (f"; result units missing from activity: {missing}" if missing else "")
            + ". Accepted: the activity the result was computed on (units in any order)"
        )
    return pos
