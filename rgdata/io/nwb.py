"""NWB files (Neurodata Without Borders) via pynwb, an optional dependency."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_option, check_real
from ..activity import as_activity
from ._files import check_path, safe_name, why
from .spikes import bin_spike_times

__all__ = ["read_nwb"]


def _import_pynwb():
    try:
        import pynwb
    except ImportError as err:
        raise ImportError(
            "reading NWB files needs pynwb; install it with `pip install rgdata[nwb]` "
            "(or `pip install pynwb`)"
        ) from err
    return pynwb


def _roi_series(nwbfile: Any, pynwb: Any) -> dict[str, Any]:
    """All RoiResponseSeries of the file, keyed by ``container/name``."""
    out = {}
    for obj in nwbfile.objects.values():
        if isinstance(obj, pynwb.ophys.RoiResponseSeries):
            parent = getattr(obj.parent, "name", "")
            out[f"{parent}/{obj.name}" if parent else obj.name] = obj
    return dict(sorted(out.items()))


def _pick_series(series: dict[str, Any], series_name: str | None, label: str) -> tuple[str, Any]:
    if not series:
        raise ValueError(
            f"{label} holds no RoiResponseSeries (ophys Fluorescence/DfOverF); "
            "accepted: what='units' for a Units table"
        )
    names = ", ".join(repr(k) for k in series)
    if series_name is None:
        if len(series) > 1:
            raise ValueError(
                f"{label} holds {len(series)} RoiResponseSeries; pick one with "
                f"series_name= among: {names}"
            )
        return next(iter(series.items()))
    matches = [k for k in series if k == series_name or k.rsplit("/", 1)[-1] == series_name]
    if len(matches) != 1:
        raise ValueError(
            f"series_name {series_name!r} "
            + ("is ambiguous" if matches else "not found")
            + f" in {label}; available: {names}"
        )
    return matches[0], series[matches[0]]


def read_nwb(
    path: str | os.PathLike,
    what: str = "units",
    *,
    bin_width: float | None = None,
    series_name: str | None = None,
    binary: bool = True,
    t_start: float | None = None,
    t_stop: float | None = None,
    allow_constant: bool = False,
) -> xr.DataArray:
    """Read spikes or calcium traces from an NWB file as Activity.

    Needs pynwb (``pip install rgdata[nwb]``), imported only when called.

    Parameters
    ----------
    path : str or os.PathLike
        An ``.nwb`` (HDF5) file.
    what : {"units", "fluorescence"}
        ``"units"``: the spike times of the file's Units table, binned with
        :func:`rgdata.io.bin_spike_times` (unit labels = Units ids).
        ``"fluorescence"``: one RoiResponseSeries (inside a Fluorescence or
        DfOverF container) as calcium Activity (unit labels = ROI ids).
    bin_width : float
        Bin width in seconds; required for ``what="units"``, refused otherwise.
    series_name : str, optional
        Which RoiResponseSeries (its name or ``"container/name"``); needed
        when the file holds several (the error lists them).
    binary, t_start, t_stop :
        Passed to :func:`rgdata.io.bin_spike_times` (``what="units"``).
        NWB times are seconds from the session start, so ``t_start``
        defaults to 0 (the session start; the first spike when a spike time
        is negative) and ``t_stop`` to the end of the Units table's
        observation intervals when it has them (the last spike otherwise).
    allow_constant : bool
        Accept units that never change.

    Returns
    -------
    xarray.DataArray
        Activity ``("unit", "time")``: kind ``"spikes"`` (or counts) for
        units, ``"calcium"`` for fluorescence with ``time`` the series'
        timestamps in seconds and attrs ``units`` (the series' unit),
        ``sampling_rate`` (Hz, when the series has a rate) and
        ``series_name``. The ``time`` coordinate has ``attrs["units"] = "s"``
        (seconds from ``attrs["session_start_time"]``, ISO 8601).
    """
    check_option(what, "what", ("units", "fluorescence"))
    if what == "units":
        if bin_width is None:
            raise ValueError("bin_width (seconds) is required for what='units'; got None")
        bin_width = check_real(bin_width, "bin_width", min_value=0.0, strict_min=True)
    elif bin_width is not None:
        raise ValueError(
            f"bin_width={bin_width!r} only applies to what='units'; fluorescence keeps the "
            "imaging frame times"
        )
    pynwb = _import_pynwb()
    path = check_path(path, "path", suffixes=(".nwb",))
    label = repr(safe_name(path))
    try:
        io = pynwb.NWBHDF5IO(str(path), mode="r")
    except Exception as err:  # h5py/hdmf raise several types for a bad file
        raise ValueError(
            f"path: could not open {str(path)!r} as NWB/HDF5 ({why(err)}); "
            "the file looks truncated or corrupt"
        ) from err
    with io:
        try:
            nwbfile = io.read()
        except Exception as err:
            raise ValueError(f"path: could not read {str(path)!r} as NWB ({why(err)})") from err
        common = {
            "source": f"{safe_name(path)} (NWB)",
            "nwb_identifier": str(nwbfile.identifier),
            "session_start_time": nwbfile.session_start_time.isoformat(),
        }
        if what == "units":
            units = nwbfile.units
            if units is None or len(units) == 0:
                raise ValueError(
                    f"{label} has no Units table (no sorted spikes); accepted: "
                    "what='fluorescence' for ophys traces"
                )
            ids = np.asarray(units.id[:])
            trains = [
                np.asarray(units.get_unit_spike_times(i), dtype=float) for i in range(len(ids))
            ]
            if t_start is None:
                first = min((t.min() for t in trains if t.size), default=0.0)
                t_start = 0.0 if first >= 0 else float(first)
            if t_stop is None:
                t_stop = _observed_end(units)
            return bin_spike_times(
                trains,
                bin_width,
                t_start=t_start,
                t_stop=t_stop,
                binary=binary,
                unit=ids,
                allow_constant=allow_constant,
                **common,
            )
        key, series = _pick_series(_roi_series(nwbfile, pynwb), series_name, label)
        data = np.asarray(series.data[:], dtype=float)
        if data.ndim == 1:
            data = data[:, None]
        n_time = data.shape[0]
        if series.timestamps is not None:
            time = np.asarray(series.timestamps[:], dtype=float)
        else:
            time = float(series.starting_time or 0.0) + np.arange(n_time) / float(series.rate)
        rois = np.asarray(series.rois.data[:])
        try:
            roi_ids = np.asarray(series.rois.table.id[:])[rois]
        except (AttributeError, IndexError):
            roi_ids = rois
        extra = {}
        if series.rate is not None:
            extra["sampling_rate"] = float(series.rate)
            extra["bin_width"] = 1.0 / float(series.rate)
        act = as_activity(
            data,
            kind="calcium",
            layout="time_unit",
            unit=roi_ids,
            time=time,
            allow_constant=allow_constant,
            series_name=key,
            units=str(series.unit),
            time_units="s",
            **extra,
            **common,
        )
        act["time"].attrs.update(units="s", long_name="time from the session start")
        return act


def _observed_end(units: Any) -> float | None:
    """End of the Units table's observation intervals (None when it has none)."""
    if "obs_intervals" not in units.colnames:
        return None
    ends = [np.asarray(units["obs_intervals"][i]).reshape(-1, 2)[:, 1] for i in range(len(units))]
    ends = [e for e in ends if e.size]
    return float(max(e.max() for e in ends)) if ends else None
