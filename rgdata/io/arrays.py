"""Arrays (in memory, ``.npy``, ``.npz``) and calcium traces to Activity."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, check_option, check_real, describe
from ..activity import KINDS, as_activity
from ._files import load_numpy

__all__ = ["read_array", "read_calcium", "ARRAY_LAYOUTS"]

#: Accepted ``layout=`` values: the order of the axes in the stored array.
ARRAY_LAYOUTS = ("unit_time", "time_unit", "trial_unit_time", "trial_time_unit")


def _load(data: Any, key: str | None, name: str) -> tuple[np.ndarray, str]:
    """An array from memory or from a .npy/.npz path, plus a source label."""
    if isinstance(data, str | os.PathLike):
        return load_numpy(data, key=key, name=name)
    if key is not None:
        raise ValueError(f"key={key!r} only applies to .npz files; {name} is {describe(data)}")
    if isinstance(data, xr.DataArray):
        raise TypeError(
            f"{name} is already an xarray.DataArray; use rgdata.as_activity(data, kind=...) "
            "to validate it"
        )
    return data, "array"


def _arrange(arr: np.ndarray, layout: str | None, name: str) -> np.ndarray:
    """Reorder *arr* to ``(unit, time)`` or ``(trial, unit, time)`` following *layout*."""
    arr = check_array(arr, name, ndim=(2, 3))
    if layout is None:
        layout = "unit_time" if arr.ndim == 2 else "trial_unit_time"
    check_option(layout, "layout", ARRAY_LAYOUTS)
    want = 2 if layout in ("unit_time", "time_unit") else 3
    if arr.ndim != want:
        raise ValueError(
            f"layout={layout!r} needs a {want}D array but {name} has shape {arr.shape}; "
            "accepted layouts: " + ", ".join(repr(x) for x in ARRAY_LAYOUTS)
        )
    if layout == "time_unit":
        arr = arr.T
    elif layout == "trial_time_unit":
        arr = np.swapaxes(arr, 1, 2)
    return arr


def read_array(
    data: Any,
    kind: str = "continuous",
    *,
    layout: str | None = None,
    key: str | None = None,
    unit: Any = None,
    time: Any = None,
    allow_constant: bool = False,
    **attrs: Any,
) -> xr.DataArray:
    """Read an array (in memory, ``.npy`` or ``.npz``) as Activity.

    Parameters
    ----------
    data : array-like, str or os.PathLike
        The numbers, or a ``.npy`` / ``.npz`` file. Files are always read with
        ``allow_pickle=False``: object arrays are refused with a clear error.
    kind : {"spikes", "calcium", "returns", "spins", "continuous"}
        What the numbers are; ``"spikes"`` must be 0/1 (booleans are
        converted to int8).
    layout : {"unit_time", "time_unit", "trial_unit_time", "trial_time_unit"}, optional
        Order of the axes in the stored array. Default: ``"unit_time"`` for
        2D and ``"trial_unit_time"`` for 3D arrays (nothing is guessed from
        the sizes).
    key : str, optional
        Array name inside an ``.npz`` holding more than one array (the error
        lists the available keys).
    unit, time : array-like, optional
        Labels for the unit and time axes.
    allow_constant : bool
        Accept units that never change (refused by default).
    **attrs
        Extra metadata (``bin_width``, ``units``...).

    Returns
    -------
    xarray.DataArray
        Activity ``("unit", "time")`` or ``("trial", "unit", "time")``;
        ``attrs["source"]`` holds the file name (and key).

    Raises
    ------
    FileNotFoundError, ValueError, TypeError
        Missing, empty, truncated or pickle-only file; unknown key; wrong
        dims or layout; NaN/inf; constant units; non-numeric data.
    """
    check_option(kind, "kind", KINDS)
    if layout is not None:
        check_option(layout, "layout", ARRAY_LAYOUTS)
    arr, source = _load(data, key, "data")
    arr = _arrange(arr, layout, "data")
    if arr.dtype == np.bool_:
        arr = arr.astype(np.int8)
    return as_activity(
        arr,
        kind=kind,
        unit=unit,
        time=time,
        source=attrs.pop("source", source),
        allow_constant=allow_constant,
        **attrs,
    )


def read_calcium(
    data: Any,
    *,
    layout: str,
    sampling_rate: float,
    key: str | None = None,
    unit: Any = None,
    t_start: float = 0.0,
    allow_constant: bool = False,
    **attrs: Any,
) -> xr.DataArray:
    """Read calcium-imaging traces (fluorescence, dF/F, deconvolved) as Activity.

    Parameters
    ----------
    data : array-like, str or os.PathLike
        2D traces, or a ``.npy`` / ``.npz`` file holding them.
    layout : {"time_unit", "unit_time"}
        Required: ``"time_unit"`` for one column per cell (the NWB and
        suite2p-export convention), ``"unit_time"`` for one row per cell.
        There is no default, since a wrong guess silently swaps cells and
        frames.
    sampling_rate : float
        Frames per second (Hz), > 0.
    key : str, optional
        Array name inside an ``.npz``.
    unit : array-like, optional
        Cell labels (ROI ids).
    t_start : float
        Time of the first frame in seconds.
    allow_constant : bool
        Accept cells whose trace never changes.
    **attrs
        Extra metadata (``units`` such as ``"dF/F"``, indicator...).

    Returns
    -------
    xarray.DataArray
        Activity ``("unit", "time")`` of kind ``"calcium"``; ``time`` in
        seconds, attrs ``sampling_rate`` (Hz) and ``bin_width`` (s).
    """
    check_option(layout, "layout", ("time_unit", "unit_time"))
    rate = check_real(sampling_rate, "sampling_rate", min_value=0.0, strict_min=True)
    t_start = check_real(t_start, "t_start")
    arr, source = _load(data, key, "data")
    arr = check_array(arr, "data", ndim=2)
    arr = _arrange(arr, layout, "data")
    n_time = arr.shape[1]
    return as_activity(
        arr.astype(float, copy=False),
        kind="calcium",
        unit=unit,
        time=t_start + np.arange(n_time) / rate,
        source=attrs.pop("source", source),
        allow_constant=allow_constant,
        sampling_rate=rate,
        bin_width=1.0 / rate,
        time_units="s",
        **attrs,
    )
