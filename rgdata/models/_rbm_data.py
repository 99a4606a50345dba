"""Input handling of the RBMs: lattices, Activity and plain arrays as one sample matrix."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, check_binary, describe
from ..activity import as_activity, as_configurations

LATTICE_DIMS = (("sample", "y", "x"), ("sample", "z", "y", "x"))


def as_rows(X: Any, coding: str, name: str = "X") -> tuple[np.ndarray, dict]:
    """``(n_samples, n_visible)`` float64 units in *coding* and a description of *X*.

    Accepts Configurations (``(sample, y, x)`` DataArray or a bare
    ``(n, L, L)`` array: one row per configuration), Activity (``(unit,
    time)`` DataArray: one row per time bin) or a 2D array
    ``(n_samples, n_visible)``. Binary data coded 0/1 or -1/+1 are
    relabelled to *coding* (``u = (s + 1) / 2``); anything else raises
    ``ValueError``.
    """
    info: dict[str, Any] = {"layout": "array", "attrs": {}}
    if isinstance(X, xr.DataArray):
        info["attrs"] = dict(X.attrs)
        if X.dims in LATTICE_DIMS:
            info["layout"] = "lattice"
            info["shape"] = tuple(int(s) for s in X.shape[1:])
            values = X.values.reshape(X.shape[0], -1)
        elif X.dims == ("unit", "time"):
            info["layout"] = "activity"
            info["unit"] = X["unit"].values
            info["time"] = X["time"].values
            values = X.values.T
        else:
            raise ValueError(
                f"{name} has dims {X.dims}; accepted: ('sample', 'y', 'x') configurations, "
                "('unit', 'time') activity or a 2D (n_samples, n_visible) array"
            )
    elif isinstance(X, xr.Dataset):
        raise TypeError(f"{name} must be a DataArray or an array, got {describe(X)}")
    else:
        values = check_array(X, name, ndim=(2, 3, 4))
        if values.ndim > 2:  # bare (n, L, L) or (n, L, L, L) spins: a lattice
            info["layout"] = "lattice"
            info["shape"] = tuple(int(s) for s in values.shape[1:])
            values = values.reshape(values.shape[0], -1)
    arr = check_array(values, name, ndim=2)
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must hold at least one sample of one unit, got shape {arr.shape}")
    found = check_binary(arr, name)
    arr = arr.astype(np.float64)
    if found != coding:
        arr = 2.0 * arr - 1.0 if coding == "pm1" else (arr + 1.0) / 2.0
    info["data_coding"] = found
    return arr, info


def as_spins(units: np.ndarray, coding: str) -> np.ndarray:
    """Units in *coding* as int8 +-1 spins."""
    return (units if coding == "pm1" else 2 * units - 1).astype(np.int8)


def hidden_output(
    h: np.ndarray, info: dict, coding: str, mode: str, grid: tuple[int, ...] | None, **attrs: Any
) -> xr.DataArray:
    """Hidden activity in the layout of the input (see :meth:`RBM.transform`)."""
    if info["layout"] == "lattice" and mode == "sample" and grid is not None:
        spins = as_spins(h, coding).reshape(h.shape[0], *grid)
        return as_configurations(spins, **attrs)
    kind = "spins" if mode == "sample" else "continuous"
    values = h.T if mode == "mean" else as_spins(h, coding).T
    if mode == "sample" and coding == "01":
        values = h.T.astype(np.int8)
        kind = "spikes"
    time = info.get("time", np.arange(h.shape[0]))
    return as_activity(
        values, kind, unit=np.arange(h.shape[1]), time=time, allow_constant=True, **attrs
    )
