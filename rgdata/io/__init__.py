"""rgdata.io: generic readers turning files and arrays into validated Activity.

One thin reader per format over shared checks (``_files``):

- :func:`read_array`: NumPy arrays, ``.npy``, ``.npz`` (never with pickle)
- :func:`read_prices`: wide/long CSV or parquet price tables -> returns
- :func:`detect_price_events`: split jumps and one-day glitches in prices
- :func:`bin_spike_times`: per-unit spike times -> binned spikes
- :func:`read_calcium`: fluorescence traces with an explicit layout
- :func:`read_nwb`: NWB files (Units table or RoiResponseSeries), needs pynwb
"""

from .prices import *  # noqa: F403
from .prices import __all__ as _prices_all

__all__ = [*_prices_all]
