"""rgdata.io: generic readers turning files and arrays into validated Activity.

One thin reader per format over shared checks (``_files``):

- :func:`read_array`: NumPy arrays, ``.npy``, ``.npz`` (never with pickle)
- :func:`read_calcium`: fluorescence traces with an explicit layout
- :func:`bin_spike_times`: per-unit spike times -> binned spikes
- :func:`read_prices`: wide/long CSV or parquet price tables -> returns
- :func:`detect_price_events`: split jumps and one-day glitches in prices
- :func:`read_nwb`: NWB files (Units table or RoiResponseSeries), needs pynwb
- :func:`read_file`: any of these files, the reader chosen by its suffix
  (what ``rgdata report PATH`` calls)
"""

from .arrays import *  # noqa: F403
from .arrays import __all__ as _arrays_all
from .files import *  # noqa: F403
from .files import __all__ as _files_all
from .nwb import *  # noqa: F403
from .nwb import __all__ as _nwb_all
from .prices import *  # noqa: F403
from .prices import __all__ as _prices_all
from .spikes import *  # noqa: F403
from .spikes import __all__ as _spikes_all

__all__ = [*_files_all, *_arrays_all, *_spikes_all, *_prices_all, *_nwb_all]
