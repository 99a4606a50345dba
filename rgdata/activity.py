"""The data model: Activity ``(unit, time[, trial])`` and lattice Configurations.

*Activity* is an :class:`xarray.DataArray` with dims ``("unit", "time")``
(repeated trials add a leading ``"trial"`` dim). ``attrs`` record at least
``kind`` (one of :data:`KINDS`) and ``source``; loaders add ``bin_width`` /
``sampling`` and ``units``.

*Configurations* are int8 spins +-1 with dims ``("sample", "y", "x")`` (3D
adds ``"z"`` after ``"sample"``: ``("sample", "z", "y", "x")``); the attrs
hold model, temperature, algorithm, seed and so on.
:func:`configurations_as_activity` views them as Activity (sites become
units, samples become time) without copying.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._validation import check_array, check_binary, check_option, describe

__all__ = [
    "KINDS",
    "as_activity",
    "check_activity",
    "stack_trials",
    "drop_constant_units",
    "as_configurations",
    "check_configurations",
    "configurations_as_activity",
]

KINDS = ("spikes", "calcium", "returns", "spins", "continuous")
_LATTICE_DIMS = {2: ("sample", "y", "x"), 3: ("sample", "z", "y", "x")}


def _clean_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Keep attrs netCDF-friendly: drop None, turn bools into ints."""
    out = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, bool | np.bool_):
            value = int(value)
        out[key] = value
    return out


def as_activity(
    data: Any,
    kind: str = "continuous",
    *,
    unit: Any = None,
    time: Any = None,
    trial: Any = None,
    layout: str | None = None,
    source: str = "array",
    allow_constant: bool = False,
    **attrs: Any,
) -> xr.DataArray:
    """Build a validated Activity DataArray from an array or DataArray.

    Parameters
    ----------
    data : array-like, pandas.DataFrame or xarray.DataArray
        2D ``(unit, time)`` or 3D ``(trial, unit, time)`` numbers (see
        *layout*). A DataArray whose dims are already named is re-validated.
        A DataFrame keeps its labels: with ``layout="time_unit"`` its index
        becomes the ``time`` coordinate (dates stay dates) and its columns the
        ``unit`` labels (tickers, neuron ids); with ``"unit_time"`` the other
        way round.
    kind : {"spikes", "calcium", "returns", "spins", "continuous"}
        What the numbers are. ``"spikes"`` and ``"spins"`` must be binary
        (0/1 for spikes, -1/+1 for spins).
    unit, time, trial : array-like, optional
        Coordinate labels (neuron ids or tickers, timestamps or bin indices).
    layout : {"unit_time", "time_unit"}, optional
        Axis order of a bare 2D array or DataFrame: ``"time_unit"`` (one
        column per unit, as in most tables) is transposed. Default
        ``"unit_time"``, except for a DataFrame whose index holds dates or
        times (``DatetimeIndex``, ``TimedeltaIndex``, ``PeriodIndex``), which
        is read as ``"time_unit"``. When the default reading fails validation
        the error says which *layout* to try.
    source : str
        Where the data came from, stored in ``attrs["source"]``.
    allow_constant : bool
        Constant units (e.g. a neuron that never fires) are refused unless
        true, since most analyses divide by their variance.
    **attrs
        Extra metadata (``bin_width``, ``units``...), stored in ``attrs``.

    Returns
    -------
    xarray.DataArray
        dims ``("unit", "time")`` or ``("trial", "unit", "time")``.

    Raises
    ------
    TypeError
        Non-numeric data.
    ValueError
        Wrong dims, NaN/inf, fewer than 2 units or 2 time points, non-binary
        spikes/spins, constant units (unless *allow_constant*).
    """
    check_option(kind, "kind", KINDS)
    layout_given = layout is not None
    if layout_given:
        check_option(layout, "layout", ("unit_time", "time_unit"))
    frame_labels: dict[str, Any] = {}
    if _is_dataframe(data):
        data, frame_labels, layout = _from_frame(data, layout)
        source = source if source != "array" else "pandas.DataFrame"
    layout = layout or "unit_time"
    if isinstance(data, xr.DataArray):
        base_attrs = dict(data.attrs)
        dims = data.dims
        if set(dims) not in ({"unit", "time"}, {"trial", "unit", "time"}):
            raise ValueError(
                f"data has dims {dims}; accepted: ('unit', 'time') or ('trial', 'unit', 'time')"
            )
        order = ("unit", "time") if data.ndim == 2 else ("trial", "unit", "time")
        da = data.transpose(*order)
        coords = {k: v for k, v in da.coords.items()}
        values = da.values
    else:
        base_attrs = {}
        # values are checked (finite, binary, constant units) once, by check_activity below
        values = check_array(data, "data", ndim=(2, 3), finite=False)
        if values.ndim == 2 and layout == "time_unit":
            values = values.T
        order = ("unit", "time") if values.ndim == 2 else ("trial", "unit", "time")
        coords = {}
    n_unit, n_time = values.shape[-2], values.shape[-1]
    unit = frame_labels.get("unit") if unit is None else unit
    time = frame_labels.get("time") if time is None else time
    for name, labels, size in (("unit", unit, n_unit), ("time", time, n_time)):
        if labels is not None:
            labels = np.asarray(labels)
            if labels.shape != (size,):
                raise ValueError(
                    f"{name} labels have shape {labels.shape}, expected ({size},) to match data"
                )
            coords[name] = labels
    if trial is not None:
        if values.ndim != 3:
            raise ValueError("trial labels given but data has no trial dimension (needs 3D)")
        coords["trial"] = np.asarray(trial)
    for name, size in (("unit", n_unit), ("time", n_time)):
        coords.setdefault(name, np.arange(size))
    if values.ndim == 3:
        coords.setdefault("trial", np.arange(values.shape[0]))
    base_attrs.update(attrs)
    base_attrs["kind"] = kind
    base_attrs.setdefault("source", source)
    da = xr.DataArray(values, dims=order, coords=coords, attrs=_clean_attrs(base_attrs))
    try:
        return check_activity(da, allow_constant=allow_constant, name="data")
    except ValueError as err:
        if layout_given or values.ndim != 2 or isinstance(data, xr.DataArray):
            raise
        other = "time_unit" if layout == "unit_time" else "unit_time"
        raise ValueError(
            f"{err} [data was read with layout={layout!r} as {n_unit} unit(s) x {n_time} "
            f"time point(s); if its rows are {'time points' if other == 'time_unit' else 'units'}"
            f", pass layout={other!r}]"
        ) from None


def _frame_activity(frame: Any, name: str) -> xr.DataArray:
    """A DataFrame given to an analysis: read as continuous Activity when its layout is plain.

    Only a frame whose index holds dates or times (rows are time points) has
    an unambiguous layout; any other frame needs :func:`as_activity` with
    ``kind`` and ``layout``.
    """
    import pandas as pd

    if not isinstance(frame.index, (pd.DatetimeIndex, pd.TimedeltaIndex, pd.PeriodIndex)):
        raise TypeError(
            f"{name} is a pandas DataFrame whose index is not dates or times, so which axis is "
            "time is ambiguous; build an Activity first: rgdata.as_activity(frame, kind=..., "
            "layout='time_unit') when rows are time points, layout='unit_time' when rows are units"
        )
    return as_activity(frame, kind="continuous", layout="time_unit", allow_constant=True)


def _is_dataframe(data: Any) -> bool:
    """True for a pandas DataFrame, without importing pandas for other inputs."""
    return type(data).__module__.startswith("pandas") and hasattr(data, "columns")


def _from_frame(frame: Any, layout: str | None) -> tuple[np.ndarray, dict[str, Any], str]:
    """Values, ``unit``/``time`` labels and layout of a DataFrame for :func:`as_activity`."""
    import pandas as pd

    if layout is None:
        timelike = (pd.DatetimeIndex, pd.TimedeltaIndex, pd.PeriodIndex)
        layout = "time_unit" if isinstance(frame.index, timelike) else "unit_time"
    bad = [str(c) for c, t in frame.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad:
        shown = ", ".join(bad[:5]) + (", ..." if len(bad) > 5 else "")
        raise TypeError(
            f"data (a DataFrame) has {len(bad)} non-numeric column(s) ({shown}); accepted: "
            "numeric columns only (drop or convert the others, e.g. frame.select_dtypes('number'))"
        )
    index = frame.index
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    rows, cols = _labels(index), _labels(frame.columns)
    labels = {"time": rows, "unit": cols} if layout == "time_unit" else {"unit": rows, "time": cols}
    values = frame.to_numpy()
    if values.dtype == object:  # mixed numeric dtypes
        values = values.astype(float)
    return values, labels, layout


def _labels(index: Any) -> np.ndarray:
    """Index labels as a netCDF-friendly array (strings for mixed objects)."""
    values = np.asarray(index)
    if values.dtype == object:
        values = values.astype(str)
    return values


def check_activity(
    activity: Any,
    *,
    binary: bool = False,
    min_units: int = 2,
    min_time: int = 2,
    allow_constant: bool = False,
    allow_trials: bool = True,
    name: str = "activity",
) -> xr.DataArray:
    """Validate an Activity DataArray (the entry point every analysis calls).

    Parameters
    ----------
    activity : xarray.DataArray
        Expected dims ``("unit", "time")`` or ``("trial", "unit", "time")``.
        A pandas DataFrame whose index holds dates or times is read as
        continuous Activity (rows are time points, columns units; see
        :func:`as_activity`); any other DataFrame raises TypeError asking
        for :func:`as_activity` with ``kind`` and ``layout``.
    binary : bool
        Require 0/1 or -1/+1 values.
    min_units, min_time : int
        Smallest accepted sizes.
    allow_constant : bool
        Accept units whose value never changes.
    allow_trials : bool
        Accept a ``trial`` dim (analyses that need one time axis say
        ``False``; use :func:`stack_trials` first).

    Returns
    -------
    xarray.DataArray
        The same object, transposed to the canonical dim order if needed.
    """
    if _is_dataframe(activity):
        activity = _frame_activity(activity, name)
    if not isinstance(activity, xr.DataArray):
        raise TypeError(
            f"{name} must be an xarray.DataArray with dims ('unit', 'time'); got "
            f"{describe(activity)}. Build one with rgdata.as_activity(array, kind=...)"
        )
    dims = set(activity.dims)
    if dims == {"unit", "time"}:
        activity = activity.transpose("unit", "time")
    elif dims == {"trial", "unit", "time"}:
        if not allow_trials:
            raise ValueError(
                f"{name} has a 'trial' dim; this analysis needs ('unit', 'time'): "
                "call rgdata.stack_trials(activity) first"
            )
        activity = activity.transpose("trial", "unit", "time")
    else:
        raise ValueError(
            f"{name} has dims {activity.dims}; accepted: ('unit', 'time') or "
            "('trial', 'unit', 'time')"
        )
    values = check_array(activity.values, name)
    n_unit, n_time = values.shape[-2], values.shape[-1]
    if n_unit < min_units:
        raise ValueError(f"{name} has {n_unit} unit(s); at least {min_units} are needed")
    if n_time < min_time:
        raise ValueError(f"{name} has {n_time} time point(s); at least {min_time} are needed")
    kind = activity.attrs.get("kind")
    if binary or kind in ("spikes", "spins"):
        check_binary(values, name)
    if not allow_constant:
        axes = (0, 2) if values.ndim == 3 else 1
        const = np.flatnonzero(values.min(axis=axes) == values.max(axis=axes))
        if const.size:
            raise constant_units_error(name, activity["unit"].values[const])
    return activity


def constant_units_error(name: str, labels: np.ndarray) -> ValueError:
    """The error for the constant units *labels* of *name* (the first five are named).

    Examples
    --------
    >>> str(constant_units_error("activity", np.array([3])))[:44]
    'activity has 1 constant unit(s) (3); their v'
    """
    shown = ", ".join(str(x) for x in labels[:5]) + (", ..." if labels.size > 5 else "")
    return ValueError(
        f"{name} has {labels.size} constant unit(s) ({shown}); their variance is zero. "
        "Drop them (e.g. activity.drop_sel(unit=[...])) or pass allow_constant=True "
        "where the analysis supports it"
    )


def stack_trials(activity: xr.DataArray) -> xr.DataArray:
    """Concatenate repeated trials into one time axis.

    ``(trial, unit, time)`` becomes ``(unit, time)`` with ``time`` running
    over trial 0 then trial 1 and so on; the coordinate ``trial_of_time``
    records which trial each new time point came from. Activity without
    trials is returned unchanged.
    """
    activity = check_activity(activity, allow_constant=True)
    if "trial" not in activity.dims:
        return activity
    n_trial, n_unit, n_time = activity.shape
    values = np.ascontiguousarray(np.moveaxis(activity.values, 0, 1)).reshape(n_unit, -1)
    attrs = dict(activity.attrs, n_trials_stacked=n_trial, trial_length=n_time)
    return xr.DataArray(
        values,
        dims=("unit", "time"),
        coords={
            "unit": activity["unit"].values,
            "time": np.arange(n_trial * n_time),
            "trial_of_time": ("time", np.repeat(np.arange(n_trial), n_time)),
        },
        attrs=attrs,
    )


def drop_constant_units(activity: xr.DataArray) -> xr.DataArray:
    """Activity without the units whose value never changes (over trials and time).

    Parameters
    ----------
    activity : xarray.DataArray
        Activity ``(unit, time)`` or ``(trial, unit, time)``.

    Returns
    -------
    xarray.DataArray
        The other units, in their order. ``attrs["dropped_constant_units"]``
        lists the labels of the dropped units (int64 array, or list of str for
        string labels) and
        ``attrs["n_dropped_constant_units"]`` counts them (0 when none); a
        drop is warned about (``UserWarning``).

    Examples
    --------
    >>> import numpy as np, rgdata, warnings
    >>> act = rgdata.as_activity(np.array([[0, 1, 0], [1, 1, 1]]), kind="spikes",
    ...                          allow_constant=True)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     kept = drop_constant_units(act)
    >>> kept.sizes["unit"], kept.attrs["n_dropped_constant_units"]
    (1, 1)
    """
    from ._warnings import warn_user

    activity = check_activity(activity, allow_constant=True)
    values = activity.values
    axes = (0, 2) if values.ndim == 3 else 1
    const = values.min(axis=axes) == values.max(axis=axes)
    labels = activity["unit"].values[const]
    if const.any():
        activity = activity.isel(unit=np.flatnonzero(~const))
        shown = ", ".join(str(x) for x in labels[:5]) + (", ..." if labels.size > 5 else "")
        warn_user(
            f"{labels.size} constant unit(s) dropped ({shown}); listed in "
            "attrs['dropped_constant_units']",
            UserWarning,
        )
    if labels.dtype.kind in "iu" or labels.size == 0:
        listed: Any = labels.astype(np.int64)  # netCDF-friendly either way
    else:
        listed = [str(x) for x in labels]
    return activity.assign_attrs(
        dropped_constant_units=listed,
        n_dropped_constant_units=int(labels.size),
    )


def as_configurations(spins: Any, **attrs: Any) -> xr.DataArray:
    """Build a validated Configurations DataArray from a ``(sample, y, x[, z])`` array.

    Parameters
    ----------
    spins : array-like
        +-1 spins, shape ``(n_sample, L_y, L_x)`` or ``(n_sample, L_z, L_y, L_x)``.
    **attrs
        Metadata (model, temperature, algorithm, seed...).
    """
    arr = check_array(spins, "spins", ndim=(3, 4))
    if arr.dtype != np.int8:
        if not np.all(np.isin(np.unique(arr), (-1, 1))):
            raise ValueError("spins must hold only -1 and +1")
        arr = arr.astype(np.int8)
    dims = _LATTICE_DIMS[arr.ndim - 1]
    return check_configurations(
        xr.DataArray(
            arr,
            dims=dims,
            coords={"sample": np.arange(arr.shape[0])},
            attrs=_clean_attrs(dict(attrs, kind="spins")),
        )
    )


def check_configurations(config: Any, name: str = "configurations") -> xr.DataArray:
    """Validate a Configurations DataArray (int8 +-1 spins, lattice dims)."""
    if not isinstance(config, xr.DataArray):
        raise TypeError(
            f"{name} must be an xarray.DataArray with dims ('sample', 'y', 'x') or "
            f"('sample', 'z', 'y', 'x'); got {describe(config)}"
        )
    if config.dims not in _LATTICE_DIMS.values():
        raise ValueError(
            f"{name} has dims {config.dims}; accepted: ('sample', 'y', 'x') or "
            "('sample', 'z', 'y', 'x')"
        )
    if config.dtype != np.int8:
        raise TypeError(f"{name} must have dtype int8, got {config.dtype}")
    values = config.values
    if np.any((values != 1) & (values != -1)):  # one pass; np.unique would sort
        vals = np.unique(values)
        raise ValueError(f"{name} must hold only -1 and +1 spins, found values {vals[:6]}")
    return config


def configurations_as_activity(config: xr.DataArray) -> xr.DataArray:
    """View lattice configurations as Activity: sites become units, samples time.

    The spin values are not copied when the array is C-contiguous (the
    result's values are a reshaped view). Unit labels are the flat site index;
    the coordinates ``y``, ``x`` (and ``z``) of each site are attached to the
    ``unit`` dim so spatial blocks can be recovered.
    """
    config = check_configurations(config)
    n_sample = config.shape[0]
    shape = config.shape[1:]
    values = config.values.reshape(n_sample, -1).T  # a view for contiguous input
    grids = np.meshgrid(*[np.arange(s) for s in shape], indexing="ij")
    coords = {"unit": np.arange(values.shape[0]), "time": np.arange(n_sample)}
    for dim, grid in zip(config.dims[1:], grids, strict=True):
        coords[dim] = ("unit", grid.ravel())
    attrs = dict(config.attrs, kind="spins", lattice_shape=list(shape))
    return xr.DataArray(values, dims=("unit", "time"), coords=coords, attrs=attrs)
