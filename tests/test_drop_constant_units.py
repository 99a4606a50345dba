"""drop_constant_units: constant units are dropped, warned about and listed in attrs."""

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.activity import drop_constant_units


def test_drops_warns_and_records_labels():
    x = np.array([[0, 1, 0, 1], [1, 1, 1, 1], [0, 0, 1, 0], [0, 0, 0, 0]], dtype=np.int8)
    act = rgdata.as_activity(x, kind="spikes", unit=[10, 11, 12, 13], allow_constant=True)
    with pytest.warns(UserWarning, match=r"2 constant unit\(s\) dropped \(11, 13\)"):
        kept = drop_constant_units(act)
    np.testing.assert_array_equal(kept["unit"].values, [10, 12])
    np.testing.assert_array_equal(kept.attrs["dropped_constant_units"], [11, 13])
    assert kept.attrs["n_dropped_constant_units"] == 2


def test_nothing_constant_is_unchanged_and_round_trips(tmp_path, recwarn):
    rng = np.random.default_rng(0)
    act = rgdata.as_activity(rng.normal(size=(3, 50)), unit=["a", "b", "c"])
    kept = drop_constant_units(act)
    assert not recwarn.list
    np.testing.assert_array_equal(kept.values, act.values)
    assert kept.attrs["n_dropped_constant_units"] == 0
    kept.to_dataset(name="x").to_netcdf(tmp_path / "k.nc")  # attrs stay netCDF-friendly
    const = act.copy(data=np.vstack([act.values[:2], np.ones((1, 50))]))
    with pytest.warns(UserWarning):
        dropped = drop_constant_units(const)
    assert dropped.attrs["dropped_constant_units"] == ["c"]
    dropped.to_dataset(name="x").to_netcdf(tmp_path / "d.nc")


def test_constant_across_trials_only():
    # a unit that varies within no trial but differs between trials is not constant
    x = np.zeros((2, 3, 5))
    x[1, 0] = 1.0
    x[:, 1] = np.arange(5)
    x[:, 2] = np.arange(5)[::-1]
    act = xr.DataArray(x, dims=("trial", "unit", "time"))
    kept = drop_constant_units(rgdata.as_activity(act, allow_constant=True))
    assert kept.sizes["unit"] == 3


def test_rejects_non_activity():
    with pytest.raises(TypeError, match="activity must be an xarray.DataArray"):
        drop_constant_units(np.zeros((2, 3)))
