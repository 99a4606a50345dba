"""The ``.rg`` xarray accessor: rgdata's public functions as methods.

Importing :mod:`rgdata` registers one accessor on DataArrays and one on
Datasets, so a notebook can chain::

    act = rgdata.as_activity(df, kind="returns")   # a DataFrame keeps dates and tickers
    res = act.rg.prg().rg.fit()                    # PRG, then the exponent fits
    res.rg.plot("variance", ax=ax)                 # the stored fit is what is drawn

Every method is a thin call of one public function (named in its
docstring), with the object as first argument; nothing is computed here that
the function does not compute. The accessor exists only to shorten the path
from "my data" to "a figure"; scripts may keep calling the functions.
"""

from __future__ import annotations

from typing import Any

import xarray as xr

__all__ = ["ActivityAccessor", "ResultAccessor"]

#: The ``analysis`` attr of each result kind and the plot drawn for it.
_PLOTS = {
    "prg": ("rgdata.viz", "plot_scaling"),
    "prg_with_nulls": ("rgdata.viz", "plot_scaling"),
    "momentum": ("rgdata.viz", "plot_fourth_moment_flow"),
}


def _function(module: str, name: str) -> Any:
    import importlib

    return getattr(importlib.import_module(module), name)


@xr.register_dataarray_accessor("rg")
class ActivityAccessor:
    """``activity.rg``: analyses of an Activity ``(unit, time[, trial])``.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> x = (np.random.default_rng(0).random((32, 2000)) < 0.2).astype(np.int8)
    >>> act = rgdata.as_activity(x, kind="spikes")
    >>> res = act.rg.prg()
    >>> res.rg.analysis
    'prg'
    """

    def __init__(self, obj: xr.DataArray) -> None:
        self._obj = obj

    def check(self, **kwargs: Any) -> xr.DataArray:
        """Validate the Activity: :func:`rgdata.check_activity`."""
        from rgdata.activity import check_activity

        return check_activity(self._obj, **kwargs)

    def prg(self, **kwargs: Any) -> xr.Dataset:
        """Phenomenological RG of every level: :func:`rgdata.coarse.prg`."""
        return _function("rgdata.coarse", "prg")(self._obj, **kwargs)

    def momentum(self, **kwargs: Any) -> xr.Dataset:
        """Momentum-space (PCA) RG: :func:`rgdata.coarse.momentum`."""
        return _function("rgdata.coarse", "momentum")(self._obj, **kwargs)

    def nulls(self, **kwargs: Any) -> xr.Dataset:
        """PRG and fits on the data and its nulls: :func:`rgdata.diagnostics.run_with_nulls`."""
        return _function("rgdata.diagnostics", "run_with_nulls")(self._obj, **kwargs)

    def summary(self, **kwargs: Any) -> xr.Dataset:
        """Per-unit statistics and correlations: :func:`rgdata.diagnostics.summarize`."""
        return _function("rgdata.diagnostics", "summarize")(self._obj, **kwargs)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Raster or traces of the Activity: :func:`rgdata.viz.plot_activity`."""
        return _function("rgdata.viz", "plot_activity")(self._obj, ax=ax, **kwargs)


@xr.register_dataset_accessor("rg")
class ResultAccessor:
    """``result.rg``: fits and plots of an rgdata result Dataset.

    The result's ``attrs["analysis"]`` says what it is (``"prg"``,
    ``"prg_with_nulls"``, ``"momentum"``); :meth:`plot` draws the figure
    made for that kind.
    """

    def __init__(self, obj: xr.Dataset) -> None:
        self._obj = obj

    @property
    def analysis(self) -> str:
        """The result kind: ``"prg"``, ``"prg_with_nulls"``, ``"momentum"`` or the attr.

        Any other result gives its ``attrs["analysis"]``; a Dataset without
        that attr raises ValueError.
        """
        kind = self._obj.attrs.get("analysis")
        if kind is None:
            raise ValueError(
                "this Dataset has no attrs['analysis'], so it is not an rgdata result; "
                "accepted: the output of rgdata.coarse.prg, rgdata.coarse.momentum or "
                "rgdata.diagnostics.run_with_nulls"
            )
        kind = str(kind)
        if kind.startswith("real-space PRG"):
            return "prg_with_nulls" if "null" in self._obj.dims else "prg"
        return kind

    def fit(self, quantities: Any = None, **kwargs: Any) -> xr.Dataset:
        """The result with its exponent fits as variables: :func:`rgdata.diagnostics.fit_exponents`.

        A :func:`run_with_nulls` result already holds its fits and is
        returned unchanged.
        """
        if self.analysis == "prg_with_nulls":
            return self._obj
        if self.analysis != "prg":
            raise ValueError(
                f"fit needs a PRG result (attrs['analysis'] == 'prg'), got {self.analysis!r}"
            )
        return _function("rgdata.diagnostics", "fit_exponents")(self._obj, quantities, **kwargs)

    def plot(self, *args: Any, ax: Any = None, **kwargs: Any) -> Any:
        """The figure of this result kind, drawing the fits stored on it.

        PRG results (with or without nulls): :func:`rgdata.viz.plot_scaling`
        (``quantity`` first); momentum results:
        :func:`rgdata.viz.plot_fourth_moment_flow`. Returns the Figure drawn
        on (the one holding *ax* when given).
        """
        kind = self.analysis
        if kind not in _PLOTS:
            raise ValueError(f"no plot for results of kind {kind!r}; accepted: {sorted(_PLOTS)}")
        return _function(*_PLOTS[kind])(self._obj, *args, ax=ax, **kwargs)

    def to_netcdf(self, path: Any, **kwargs: Any) -> Any:
        """Write the result to netCDF (h5netcdf) atomically, readable per the umask."""
        from rgdata._atomic import to_netcdf_atomic

        to_netcdf_atomic(self._obj, path, **kwargs)
