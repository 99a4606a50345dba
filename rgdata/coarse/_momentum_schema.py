"""The level schema of a :func:`rgdata.coarse.momentum` result (docs/results.md).

``momentum`` computes along its kept fractions; its result indexes them like every
coarse-graining result: a ``level`` dim (0 = all modes, the data themselves) with a
``scale`` coordinate (the kept fraction), ``fraction`` (the same values, indexed so that
``result.sel(fraction=0.5)`` works) and ``n_modes``. A netCDF file stores no index on a
non-dimension coordinate; the pinned xarray selects on ``fraction`` without one, and
``result.set_xindex("fraction")`` restores it (tests/coarse/test_momentum.py).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__: list[str] = []


def as_level_schema(ds: xr.Dataset) -> xr.Dataset:
    """Relabel the ``fraction`` dim of a freshly built momentum Dataset as ``level``."""
    fractions = ds["fraction"].values
    ds = ds.rename_dims(fraction="level")
    ds = ds.assign_coords(level=np.arange(fractions.size), scale=("level", fractions.copy()))
    ds["scale"].attrs["long_name"] = "kept fraction of the non-zero modes"
    ds.attrs["level_dim"] = "level"
    ds.attrs["scale_name"] = "fraction"
    return ds.set_xindex("fraction")
