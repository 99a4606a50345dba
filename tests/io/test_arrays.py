"""read_array / read_calcium: layouts, files, round trips."""

import numpy as np
import pytest
import xarray as xr

from rgdata.io import read_array, read_calcium


@pytest.mark.parametrize(
    "layout, make",
    [
        ("unit_time", lambda x: x),
        ("time_unit", lambda x: x.T),
    ],
)
def test_read_array_2d_layouts(rng, layout, make):
    x = rng.normal(size=(4, 30))
    act = read_array(make(x), layout=layout)
    assert act.dims == ("unit", "time")
    np.testing.assert_array_equal(act.values, x)


@pytest.mark.parametrize(
    "layout, make",
    [
        ("trial_unit_time", lambda x: x),
        ("trial_time_unit", lambda x: np.swapaxes(x, 1, 2)),
    ],
)
def test_read_array_3d_layouts(rng, layout, make):
    x = rng.normal(size=(2, 3, 10))
    act = read_array(make(x), layout=layout)
    assert act.dims == ("trial", "unit", "time")
    np.testing.assert_array_equal(act.values, x)


def test_read_array_npy_and_npz_files(tmp_path, rng):
    x = rng.normal(size=(3, 20))
    np.save(tmp_path / "a.npy", x)
    act = read_array(tmp_path / "a.npy", kind="returns", unit=["a", "b", "c"], units="log")
    np.testing.assert_array_equal(act.values, x)
    assert act.attrs["source"] == "a.npy"
    assert act.attrs["units"] == "log"
    assert list(act["unit"].values) == ["a", "b", "c"]
    spikes = rng.random((5, 40)) < 0.3
    np.savez(tmp_path / "b.npz", spikes=spikes, other=np.arange(3))
    act = read_array(str(tmp_path / "b.npz"), kind="spikes", key="spikes")
    assert act.dtype == np.int8
    np.testing.assert_array_equal(act.values, spikes.astype(np.int8))
    assert act.attrs["source"] == "b.npz[spikes]"
    np.savez_compressed(tmp_path / "c.npz", only=x)
    np.testing.assert_array_equal(read_array(tmp_path / "c.npz").values, x)


def test_read_array_netcdf_round_trip(tmp_path, rng):
    act = read_array(rng.normal(size=(3, 20)), kind="continuous", bin_width=0.5)
    act.to_netcdf(tmp_path / "a.nc", engine="h5netcdf")
    back = xr.load_dataarray(tmp_path / "a.nc", engine="h5netcdf")
    xr.testing.assert_identical(back, act)


def test_read_calcium_layouts_and_times(rng):
    frames = rng.normal(size=(100, 4))  # time x cell
    a = read_calcium(frames, layout="time_unit", sampling_rate=30.0, t_start=1.0, units="dF/F")
    b = read_calcium(frames.T, layout="unit_time", sampling_rate=30.0, t_start=1.0)
    np.testing.assert_array_equal(a.values, frames.T)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.attrs["kind"] == "calcium"
    assert a.attrs["sampling_rate"] == 30.0
    assert a.attrs["bin_width"] == pytest.approx(1 / 30)
    assert a.attrs["units"] == "dF/F"
    np.testing.assert_allclose(a["time"].values[[0, 1, 99]], [1.0, 1 + 1 / 30, 1 + 99 / 30])


def test_read_calcium_requires_explicit_layout(rng):
    with pytest.raises(TypeError, match="layout"):
        read_calcium(rng.normal(size=(10, 3)), sampling_rate=10.0)
    with pytest.raises(ValueError, match="unknown layout 'auto'; accepted: 'time_unit'"):
        read_calcium(rng.normal(size=(10, 3)), layout="auto", sampling_rate=10.0)
    with pytest.raises(ValueError, match="sampling_rate must be > 0.0, got 0.0"):
        read_calcium(rng.normal(size=(10, 3)), layout="time_unit", sampling_rate=0.0)
    with pytest.raises(ValueError, match=r"data must have 2 dimensions, got 3"):
        read_calcium(rng.normal(size=(2, 10, 3)), layout="time_unit", sampling_rate=10.0)
