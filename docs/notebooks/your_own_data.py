# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
#   language_info:
#     name: python
#     pygments_lexer: ipython3
# ---

# %% [markdown]
# # Your own data: a CSV table, spike times, a calcium matrix, an NWB file
#
# Each goes from a file to a figure in three calls: read, analyse, plot. The files here
# are made up on the spot; replace the paths with yours. From the shell, the same reader
# and every report section that applies: `rgdata report my_file.csv --kind returns`.

# %%
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from rgdata.io import bin_spike_times, read_file

rng = np.random.default_rng(0)
folder = Path(tempfile.mkdtemp())

# %% [markdown]
# ## A table of daily prices (rows are dates, columns tickers)

# %%
dates = pd.bdate_range("2019-01-01", periods=800)
prices = pd.DataFrame(
    100 * np.exp(np.cumsum(0.01 * rng.normal(size=(800, 30)), axis=0)),
    index=pd.Index(dates, name="date"),
    columns=[f"T{k:02d}" for k in range(30)],
)
prices.to_csv(folder / "prices.csv")

act = read_file(folder / "prices.csv", kind="returns")  # log returns, dates kept
res = act.rg.prg().rg.fit()
res.rg.plot("variance")

# %% [markdown]
# ## Spike times per neuron

# %%
trains = {f"cell{k}": np.sort(rng.uniform(0, 120, size=rng.integers(200, 600))) for k in range(24)}
spikes = bin_spike_times(trains, bin_width=0.02)
spikes.rg.prg().rg.fit().rg.plot("variance")

# %% [markdown]
# ## A calcium matrix (frames x cells) in a .npy file

# %%
traces = rng.normal(size=(3000, 40)).cumsum(axis=0) * 0.01 + rng.normal(size=(3000, 40))
np.save(folder / "calcium.npy", traces)
ca = read_file(folder / "calcium.npy", kind="calcium", layout="time_unit", sampling_rate=30.0)
ca.rg.momentum().rg.plot()

# %% [markdown]
# ## An NWB file (needs `pip install rgdata[nwb]`)

# %%
from datetime import UTC, datetime

import pynwb

nwbfile = pynwb.NWBFile(
    session_description="demo",
    identifier="demo",
    session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
)
for k in range(20):
    nwbfile.add_unit(id=k, spike_times=np.sort(rng.uniform(0, 60, size=300)))
with pynwb.NWBHDF5IO(str(folder / "session.nwb"), "w") as io:
    io.write(nwbfile)
units = read_file(folder / "session.nwb", bin_width=0.05)  # time from the session start, in s
units.rg.plot()
