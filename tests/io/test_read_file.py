"""read_file: the reader chosen by suffix gives what calling that reader gives."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from rgdata.datasets import data_dir
from rgdata.io import read_array, read_file, read_prices


@pytest.fixture
def spikes_npy(tmp_path):
    x = (np.random.default_rng(0).random((12, 400)) < 0.2).astype(np.int8)
    path = tmp_path / "cells.npy"
    np.save(path, x)
    return path, x


def test_npy_equals_read_array(spikes_npy):
    path, x = spikes_npy
    act = read_file(path, kind="spikes", bin_width=0.02)
    xr.testing.assert_equal(act, read_array(path, "spikes", bin_width=0.02))
    assert act.attrs["bin_width"] == 0.02


def test_npy_layout_is_passed(spikes_npy, tmp_path):
    path, x = spikes_npy
    np.save(tmp_path / "t.npy", x.T)
    act = read_file(tmp_path / "t.npy", kind="spikes", layout="time_unit")
    np.testing.assert_array_equal(act.values, x)


def test_calcium_array_with_rate(tmp_path):
    traces = np.random.default_rng(1).normal(size=(5, 300))
    np.save(tmp_path / "ca.npy", traces)
    act = read_file(tmp_path / "ca.npy", kind="calcium", sampling_rate=30.0)
    assert act.attrs["kind"] == "calcium" and act.attrs["sampling_rate"] == 30.0


def test_dated_table_keeps_dates(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        rng.normal(size=(100, 4)),
        index=pd.date_range("2021-01-01", periods=100),
        columns=list("abcd"),
    )
    frame.index.name = "date"
    frame.to_csv(tmp_path / "m.csv")
    act = read_file(tmp_path / "m.csv", kind="continuous")
    assert act.sizes == {"unit": 4, "time": 100}
    assert np.issubdtype(act["time"].dtype, np.datetime64)
    assert list(act["unit"].values) == list("abcd")
    np.testing.assert_allclose(act.values, frame.to_numpy().T)


@pytest.mark.filterwarnings("ignore:read_prices:UserWarning")
def test_prices_go_through_read_prices():
    csv = data_dir() / "stocks_sklearn" / "close_prices.csv"
    xr.testing.assert_equal(read_file(csv, kind="returns"), read_prices(csv))


def test_nwb_units(tmp_path):
    pynwb = pytest.importorskip("pynwb")
    from datetime import UTC, datetime

    nwbfile = pynwb.NWBFile(
        session_description="t", identifier="t", session_start_time=datetime(2024, 1, 1, tzinfo=UTC)
    )
    for uid, times in {1: [0.1, 0.5], 2: [0.2, 0.9]}.items():
        nwbfile.add_unit(id=uid, spike_times=times)
    with pynwb.NWBHDF5IO(str(tmp_path / "s.nwb"), "w") as io:
        io.write(nwbfile)
    act = read_file(tmp_path / "s.nwb", bin_width=0.1)
    assert act.attrs["kind"] == "spikes" and act.sizes["unit"] == 2


@pytest.mark.parametrize(
    ("name", "kwargs", "match"),
    [
        ("x.txt.bz2", {"kind": "spikes"}, "no suffix rgdata.io reads"),
        ("cells.npy", {}, "kind is required"),
        ("cells.npy", {"kind": "neurons"}, "kind"),
        ("cells.npy", {"kind": "spikes", "bin_width": -1}, "bin_width"),
        ("cells.npy", {"kind": "spikes", "layout": "rows"}, "layout"),
    ],
)
def test_bad_input_names_the_argument(spikes_npy, tmp_path, name, kwargs, match):
    path = spikes_npy[0] if name == "cells.npy" else tmp_path / name
    with pytest.raises(ValueError, match=match):
        read_file(path, **kwargs)
