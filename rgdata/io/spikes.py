"""Spike times (one array per unit) to binned spikes Activity."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, check_real, describe
from .._warnings import warn_user
from ..activity import as_activity

__all__ = ["bin_spike_times", "bin_counts"]


def bin_counts(
    times: list[np.ndarray], t_start: float, bin_width: float, n_bins: int
) -> tuple[np.ndarray, int]:
    """Count spikes per unit and bin (plain numpy kernel under :func:`bin_spike_times`).

    Bin ``i`` is ``[t_start + i * bin_width, t_start + (i + 1) * bin_width)``;
    the last bin also holds spikes exactly at its right edge.

    Returns
    -------
    counts : numpy.ndarray of int64, shape ``(n_unit, n_bins)``
    n_outside : int
        Spikes before the first or after the last bin (not counted).
    """
    n_unit = len(times)
    flat, n_outside = [], 0
    for j, t in enumerate(times):
        pos = (t - t_start) / bin_width
        idx = np.floor(pos).astype(np.int64)
        # a spike on the closing edge (up to rounding) belongs to the last bin
        idx[(idx == n_bins) & (pos <= n_bins * (1 + 1e-12))] = n_bins - 1
        inside = (idx >= 0) & (idx < n_bins)
        n_outside += int((~inside).sum())
        flat.append(j * n_bins + idx[inside])
    flat = np.concatenate(flat) if flat else np.zeros(0, np.int64)
    counts = np.bincount(flat, minlength=n_unit * n_bins).reshape(n_unit, n_bins)
    return counts, n_outside


def bin_spike_times(
    spike_times: Sequence[Any] | Mapping[Any, Any],
    bin_width: float,
    *,
    t_start: float | None = None,
    t_stop: float | None = None,
    binary: bool = True,
    unit: Any = None,
    time_units: str = "s",
    allow_constant: bool = False,
    **attrs: Any,
) -> xr.DataArray:
    """Bin per-unit spike times into spikes Activity.

    Parameters
    ----------
    spike_times : list of 1-D array-like, or dict label -> 1-D array-like
        Spike times of each unit (any order), in *time_units*. A dict's keys
        become the unit labels.
    bin_width : float
        Bin width, > 0, in *time_units*.
    t_start, t_stop : float, optional
        Start of the first bin and end of the last bin; default: the first
        and last spike over all units. There are ``ceil((t_stop - t_start) /
        bin_width)`` bins; when the span is not a whole number of bins the
        last bin is shorter (its fraction is ``attrs["last_bin_fraction"]``).
        Spikes outside ``[t_start, t_stop]`` are not counted: a warning says
        how many and ``attrs["n_spikes_outside"]`` records it.
    binary : bool
        True: 1 if the bin holds at least one spike, kind ``"spikes"``,
        int8; the spikes lost by this clipping are counted in
        ``attrs["n_spikes_clipped"]`` (with a warning when there are any).
        False: spike counts, kind ``"continuous"``, int32.
    unit : array-like, optional
        Unit labels (default 0..n-1, or the dict keys).
    time_units : str
        Unit of the times (recorded in attrs).
    allow_constant : bool
        Accept units without spikes (or firing in every bin).
    **attrs
        Extra metadata.

    Returns
    -------
    xarray.DataArray
        Activity ``("unit", "time")``; ``time`` is each bin's start, with
        ``attrs["units"]`` = *time_units*.
        attrs: ``bin_width``, ``t_start``, ``t_stop``, ``n_spikes_total``,
        ``n_spikes_outside``, ``n_spikes_clipped``, ``binary``.
    """
    if isinstance(spike_times, Mapping):
        labels = list(spike_times.keys())
        trains = list(spike_times.values())
        if unit is None:
            unit = np.asarray([str(k) for k in labels])
    elif isinstance(spike_times, Sequence) and not isinstance(spike_times, str | bytes):
        trains = list(spike_times)
    else:
        raise TypeError(
            "spike_times must be a list of 1-D arrays (one per unit) or a dict "
            f"label -> array; got {describe(spike_times)}"
        )
    if len(trains) == 0:
        raise ValueError("spike_times is empty; at least 2 units are needed")
    times = []
    for j, t in enumerate(trains):
        arr = np.atleast_1d(check_array(t, f"spike_times[{j}]", ndim=(0, 1)))
        times.append(arr.astype(float, copy=False))
    width = check_real(bin_width, "bin_width", min_value=0.0, strict_min=True)
    all_t = np.concatenate(times)
    if all_t.size == 0 and (t_start is None or t_stop is None):
        raise ValueError("spike_times holds no spikes; give t_start and t_stop explicitly")
    start = float(all_t.min()) if t_start is None else check_real(t_start, "t_start")
    stop = float(all_t.max()) if t_stop is None else check_real(t_stop, "t_stop")
    if stop <= start:
        raise ValueError(
            f"t_stop must be greater than t_start, got t_start={start}, t_stop={stop}"
            + (" (a single spike time: give t_start/t_stop)" if t_start is None else "")
        )
    span = (stop - start) / width
    n_bins = max(1, math.ceil(span - 1e-9))
    counts, n_outside = bin_counts(times, start, width, n_bins)
    record: dict[str, Any] = {
        "bin_width": width,
        "t_start": start,
        "t_stop": stop,
        "time_units": time_units,
        "n_spikes_total": int(all_t.size),
        "n_spikes_outside": n_outside,
        "last_bin_fraction": float(min(1.0, span - (n_bins - 1))),
        "binary": int(bool(binary)),
    }
    if n_outside:
        warn_user(
            f"bin_spike_times: {n_outside} of {all_t.size} spike(s) fall outside "
            f"[t_start={start}, t_stop={stop}] and were not counted "
            "(attrs['n_spikes_outside'])"
        )
    if binary:
        clipped = int(np.maximum(counts - 1, 0).sum())
        record["n_spikes_clipped"] = clipped
        if clipped:
            warn_user(
                f"bin_spike_times: {clipped} of {int(counts.sum())} binned spike(s) "
                f"({clipped / counts.sum():.2%}) were lost by clipping bins with more than one "
                f"spike to 1 (bin_width={width}); use a smaller bin_width or binary=False "
                "for counts"
            )
        values, kind = (counts > 0).astype(np.int8), "spikes"
    else:
        record["n_spikes_clipped"] = 0
        record["quantity"] = "spike count per bin"
        values, kind = counts.astype(np.int32), "continuous"
    record.update(attrs)
    act = as_activity(
        values,
        kind=kind,
        unit=unit,
        time=start + width * np.arange(n_bins),
        source=record.pop("source", "spike times"),
        allow_constant=allow_constant,
        **record,
    )
    act["time"].attrs.update(units=time_units, long_name="bin start")
    return act
