"""Read any file rgdata.io understands, choosing the reader by its suffix.

:func:`read_file` is what ``rgdata report PATH`` calls: one dispatch over the
thin per-format readers, so a user's file gets the same checks as a script's
call of the reader itself. Nothing is guessed that the readers would refuse
to guess: an array's layout and a recording's kind are asked for when the
file cannot tell.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import xarray as xr

from .._validation import check_option, check_real
from ..activity import KINDS

__all__ = ["read_file", "FILE_FORMATS"]

#: Suffix -> (reader, what it reads), as listed by ``rgdata report --help``.
FILE_FORMATS = {
    ".npy": ("read_array", "a 2-D (or 3-D with trials) array"),
    ".npz": ("read_array", "an array under key= (the only array when there is one)"),
    ".csv": ("read_prices / a numeric table", "prices (kind returns) or a numeric matrix"),
    ".csv.gz": ("read_prices / a numeric table", "as .csv, gzip-compressed"),
    ".parquet": ("read_prices / a numeric table", "as .csv (needs pyarrow)"),
    ".nwb": ("read_nwb", "the Units table (spikes) or fluorescence (calcium)"),
}
_LAYOUTS = ("unit_time", "time_unit", "trial_unit_time", "trial_time_unit")


def _suffix(path: Path) -> str:
    name = path.name.lower()
    for suffix in sorted(FILE_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    raise ValueError(
        f"path: {path.name!r} has no suffix rgdata.io reads; accepted: {', '.join(FILE_FORMATS)}"
    )


def read_file(
    path: str | os.PathLike,
    *,
    kind: str | None = None,
    layout: str | None = None,
    bin_width: float | None = None,
    key: str | None = None,
    sampling_rate: float | None = None,
) -> xr.DataArray:
    """Read a recording as Activity with the reader its suffix calls for.

    Parameters
    ----------
    path : str or os.PathLike
        ``.npy``/``.npz`` (:func:`rgdata.io.read_array`, or
        :func:`rgdata.io.read_calcium` for ``kind="calcium"`` with a
        *sampling_rate*), ``.csv``/``.csv.gz``/``.parquet`` (prices to returns
        with :func:`rgdata.io.read_prices` for ``kind="returns"``, otherwise a
        numeric table read by :func:`rgdata.as_activity`), ``.nwb``
        (:func:`rgdata.io.read_nwb`: spikes from the Units table, or
        ``kind="calcium"`` for fluorescence).
    kind : {"spikes", "calcium", "returns", "spins", "continuous"}, optional
        What the numbers are. Required for arrays and tables, where the file
        cannot say; for NWB, ``"calcium"`` picks fluorescence and anything
        else (or None) the Units table.
    layout : {"unit_time", "time_unit", "trial_unit_time", "trial_time_unit"}, optional
        Axis order of an array or table (the readers' own defaults when None;
        a table with dates in its first column is read as one row per date).
    bin_width : float, optional
        Seconds per bin for NWB spikes (required there), or recorded as
        ``attrs["bin_width"]`` for arrays and tables.
    key : str, optional
        The array of an ``.npz`` holding several.
    sampling_rate : float, optional
        Frames per second of calcium traces in an array file.

    Returns
    -------
    xarray.DataArray
        Validated Activity; ``attrs["source"]`` names the file.

    Raises
    ------
    ValueError
        Unknown suffix, missing *kind* where the file cannot tell, or
        whatever the chosen reader refuses (its message is kept).

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cells.npy"
    >>> np.save(path, (np.random.default_rng(0).random((20, 500)) < 0.2).astype(np.int8))
    >>> read_file(path, kind="spikes", bin_width=0.02).sizes
    Frozen({'unit': 20, 'time': 500})
    """
    from . import arrays, nwb, prices

    path = Path(path)
    suffix = _suffix(path)
    if kind is not None:
        check_option(kind, "kind", KINDS)
    if layout is not None:
        check_option(layout, "layout", _LAYOUTS)
    if bin_width is not None:
        bin_width = check_real(bin_width, "bin_width", min_value=0.0, strict_min=True)
    if suffix == ".nwb":
        what = "fluorescence" if kind == "calcium" else "units"
        return nwb.read_nwb(path, what, bin_width=bin_width)
    if kind is None:
        raise ValueError(
            f"kind is required for a {suffix} file (the file cannot say what its numbers are); "
            f"accepted: {', '.join(KINDS)}"
        )
    extra = {} if bin_width is None else {"bin_width": bin_width}
    if suffix in (".npy", ".npz"):
        if kind == "calcium" and sampling_rate is not None:
            return arrays.read_calcium(
                path, layout=layout or "unit_time", sampling_rate=sampling_rate, key=key
            )
        return arrays.read_array(path, kind, layout=layout, key=key, **extra)
    if kind == "returns":
        return prices.read_prices(path)
    return _numeric_table(path, kind, layout, extra)


def _numeric_table(path: Path, kind: str, layout: str | None, extra: dict[str, Any]) -> Any:
    """A numeric CSV/parquet matrix as Activity; a date first column means rows are dates."""
    import pandas as pd

    from ..activity import as_activity
    from ._files import read_table

    frame = read_table(path, name="path")
    try:
        dates = pd.to_datetime(frame.index, errors="raise", format="mixed")
    except (ValueError, TypeError):
        dates = None
    if dates is not None and not pd.api.types.is_numeric_dtype(frame.index):
        frame.index = pd.DatetimeIndex(dates)
    values_layout = layout if layout in (None, "unit_time", "time_unit") else None
    if layout is not None and values_layout is None:
        raise ValueError(
            f"layout={layout!r} needs a 3-D array; a table is 2-D: accepted 'unit_time' or "
            "'time_unit'"
        )
    return as_activity(
        frame, kind=kind, layout=values_layout, source=f"{path.name} (table)", **extra
    )
