"""read_nwb on small NWB files written here with pynwb (exact round trips)."""

import builtins
from datetime import UTC, datetime

import numpy as np
import pytest

from rgdata.io import bin_spike_times, read_nwb

pynwb = pytest.importorskip("pynwb")

SPIKES = {
    11: [0.01, 0.05, 0.31, 0.62, 0.97],
    12: [0.12, 0.13, 0.55, 0.99],
    15: [0.02, 0.40, 0.41, 0.42, 0.80],
}


def _nwbfile():
    return pynwb.NWBFile(
        session_description="rgdata test",
        identifier="rgdata-test-0001",
        session_start_time=datetime(2024, 1, 1, tzinfo=UTC),
    )


def _write(nwbfile, path):
    with pynwb.NWBHDF5IO(str(path), "w") as io:
        io.write(nwbfile)
    return path


@pytest.fixture
def units_file(tmp_path):
    nwbfile = _nwbfile()
    for uid, times in SPIKES.items():
        nwbfile.add_unit(id=uid, spike_times=times)
    return _write(nwbfile, tmp_path / "units.nwb")


def _add_fluorescence(nwbfile, traces, names=("RoiResponseSeries",), rate=10.0, timestamps=None):
    from pynwb.ophys import (
        DfOverF,
        Fluorescence,
        ImageSegmentation,
        OpticalChannel,
        RoiResponseSeries,
    )

    device = nwbfile.create_device(name="scope")
    channel = OpticalChannel(name="green", description="GCaMP", emission_lambda=510.0)
    plane = nwbfile.create_imaging_plane(
        name="plane",
        optical_channel=channel,
        description="plane",
        device=device,
        excitation_lambda=920.0,
        imaging_rate=rate,
        indicator="GCaMP6s",
        location="V1",
    )
    seg = ImageSegmentation()
    ophys = nwbfile.create_processing_module(name="ophys", description="ophys")
    ophys.add(seg)
    ps = seg.create_plane_segmentation(name="cells", description="cells", imaging_plane=plane)
    n_roi = traces.shape[1]
    for k in range(n_roi):
        mask = np.zeros((4, 4))
        mask[k % 4, k // 4] = 1.0
        ps.add_roi(image_mask=mask, id=100 + k)
    region = ps.create_roi_table_region(region=list(range(n_roi)), description="all")
    if timestamps is None:
        fl = Fluorescence(name="Fluorescence")
        timing = {"rate": rate, "starting_time": 2.0}
    else:
        fl = DfOverF(name="DfOverF")
        timing = {"timestamps": timestamps}
    ophys.add(fl)
    for name in names:
        fl.add_roi_response_series(
            RoiResponseSeries(name=name, data=traces, rois=region, unit="lumens", **timing)
        )


def test_units_round_trip_matches_binning_the_same_times(units_file):
    act = read_nwb(units_file, "units", bin_width=0.1, t_start=0.0, t_stop=1.0, binary=False)
    want = bin_spike_times(list(SPIKES.values()), 0.1, t_start=0.0, t_stop=1.0, binary=False)
    np.testing.assert_array_equal(act.values, want.values)
    assert list(act["unit"].values) == [11, 12, 15]
    assert int(act.sum()) == sum(len(v) for v in SPIKES.values())
    # explicit expectation for one unit: 0.01, 0.05 | 0.31 | 0.62 | 0.97
    np.testing.assert_array_equal(act.sel(unit=11).values, [2, 0, 0, 1, 0, 0, 1, 0, 0, 1])
    assert act.attrs["nwb_identifier"] == "rgdata-test-0001"
    assert act.attrs["source"] == "units.nwb (NWB)"


def test_units_binary_records_clipping(units_file):
    with pytest.warns(UserWarning, match="4 of 14 binned spike"):
        act = read_nwb(units_file, bin_width=0.1, t_start=0.0, t_stop=1.0)
    assert act.attrs["kind"] == "spikes"
    # lost: one of (0.01, 0.05), one of (0.12, 0.13), two of (0.40, 0.41, 0.42)
    assert act.attrs["n_spikes_clipped"] == 4


def test_fluorescence_round_trip(tmp_path, rng):
    traces = rng.normal(size=(50, 5))
    nwbfile = _nwbfile()
    _add_fluorescence(nwbfile, traces)
    path = _write(nwbfile, tmp_path / "ophys.nwb")
    act = read_nwb(path, "fluorescence")
    np.testing.assert_array_equal(act.values, traces.T)
    assert list(act["unit"].values) == [100, 101, 102, 103, 104]
    np.testing.assert_allclose(act["time"].values, 2.0 + np.arange(50) / 10.0)
    assert act.attrs["kind"] == "calcium"
    assert act.attrs["sampling_rate"] == 10.0
    assert act.attrs["units"] == "lumens"
    assert act.attrs["series_name"] == "Fluorescence/RoiResponseSeries"


def test_dff_with_irregular_timestamps(tmp_path, rng):
    traces = rng.normal(size=(30, 4))
    stamps = np.cumsum(rng.uniform(0.05, 0.15, size=30))
    nwbfile = _nwbfile()
    _add_fluorescence(nwbfile, traces, names=("dff",), timestamps=stamps)
    path = _write(nwbfile, tmp_path / "dff.nwb")
    act = read_nwb(path, "fluorescence")
    np.testing.assert_array_equal(act.values, traces.T)
    np.testing.assert_array_equal(act["time"].values, stamps)
    assert act.attrs["series_name"] == "DfOverF/dff"
    assert "sampling_rate" not in act.attrs


def test_fluorescence_several_series_needs_a_name(tmp_path, rng):
    traces = rng.normal(size=(20, 3))
    nwbfile = _nwbfile()
    _add_fluorescence(nwbfile, traces, names=("raw", "neuropil"))
    path = _write(nwbfile, tmp_path / "two.nwb")
    with pytest.raises(ValueError, match="holds 2 RoiResponseSeries; pick one with series_name"):
        read_nwb(path, "fluorescence")
    with pytest.raises(ValueError, match="series_name 'dff' not found.*'Fluorescence/neuropil'"):
        read_nwb(path, "fluorescence", series_name="dff")
    act = read_nwb(path, "fluorescence", series_name="neuropil")
    np.testing.assert_array_equal(act.values, traces.T)


def test_nwb_bad_input(tmp_path, units_file):
    with pytest.raises(ValueError, match="bin_width \\(seconds\\) is required"):
        read_nwb(units_file, "units")
    with pytest.raises(ValueError, match="unknown what 'lfp'; accepted: 'units', 'fluorescence'"):
        read_nwb(units_file, "lfp", bin_width=0.1)
    with pytest.raises(ValueError, match="holds no RoiResponseSeries"):
        read_nwb(units_file, "fluorescence")
    with pytest.raises(ValueError, match="only applies to what='units'"):
        read_nwb(units_file, "fluorescence", bin_width=0.1)
    empty = _write(_nwbfile(), tmp_path / "empty.nwb")
    with pytest.raises(ValueError, match="has no Units table"):
        read_nwb(empty, bin_width=0.1)
    with pytest.raises(FileNotFoundError, match="no file at .*missing.nwb"):
        read_nwb(tmp_path / "missing.nwb", bin_width=0.1)
    bad = tmp_path / "bad.nwb"
    bad.write_bytes(units_file.read_bytes()[:2000])
    with pytest.raises(ValueError, match="could not (open|read) .*bad.nwb"):
        read_nwb(bad, bin_width=0.1)


def test_missing_pynwb_names_the_extra(monkeypatch, units_file):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "pynwb" or name.startswith("pynwb."):
            raise ImportError("No module named 'pynwb'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r"pip install rgdata\[nwb\]"):
        read_nwb(units_file, bin_width=0.1)


def test_units_time_starts_at_the_session_start(units_file):
    # NWB spike times are seconds from session_start_time: the first bin starts at 0,
    # not at the first spike (0.01 s), and the time axis says its unit
    act = read_nwb(units_file, bin_width=0.1, binary=False)
    assert float(act["time"][0]) == 0.0
    assert act.attrs["t_start"] == 0.0
    assert act["time"].attrs["units"] == "s"
    assert act.attrs["session_start_time"].startswith("2024-01-01T00:00:00")
    np.testing.assert_array_equal(act.sel(unit=11).values[:1], [2])


def test_units_stop_at_the_observation_intervals(tmp_path):
    nwbfile = _nwbfile()
    for uid, times in SPIKES.items():
        nwbfile.add_unit(id=uid, spike_times=times, obs_intervals=[[0.0, 1.5]])
    path = _write(nwbfile, tmp_path / "obs.nwb")
    act = read_nwb(path, bin_width=0.1, binary=False)
    assert act.sizes["time"] == 15
    assert act.attrs["t_stop"] == 1.5


def test_fluorescence_time_has_units(tmp_path, rng):
    nwbfile = _nwbfile()
    _add_fluorescence(nwbfile, rng.normal(size=(20, 3)))
    act = read_nwb(_write(nwbfile, tmp_path / "f.nwb"), "fluorescence")
    assert act["time"].attrs["units"] == "s"
    assert float(act["time"][0]) == 2.0
