import numpy as np
import pytest
import xarray as xr

import rgdata


def test_as_activity_dims_labels_and_layout(rng):
    x = rng.normal(size=(50, 3))
    act = rgdata.as_activity(x, kind="returns", layout="time_unit", unit=["A", "B", "C"])
    assert act.dims == ("unit", "time")
    assert act.shape == (3, 50)
    assert list(act["unit"].values) == ["A", "B", "C"]
    np.testing.assert_array_equal(act.sel(unit="B").values, x[:, 1])
    assert act.attrs["kind"] == "returns"


@pytest.mark.parametrize(
    "data, kwargs, exc, match",
    [
        (np.zeros(5), {}, ValueError, "must have 2 or 3 dimensions"),
        (np.array([["a", "b"], ["c", "d"]]), {}, TypeError, "booleans, integers or floats"),
        (np.array([[1.0, np.nan, 2.0], [1.0, 2.0, 3.0]]), {}, ValueError, "1 NaN/inf"),
        (np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 3.0]]), {}, ValueError, "1 constant unit"),
        (np.array([[0, 2, 1], [1, 0, 1]]), {"kind": "spikes"}, ValueError, "must be binary"),
        (np.ones((1, 5)) * np.arange(5), {}, ValueError, "at least 2 are needed"),
        (np.eye(3), {"kind": "voltage"}, ValueError, "unknown kind 'voltage'"),
        (np.eye(3), {"unit": [1, 2]}, ValueError, r"unit labels have shape \(2,\)"),
    ],
)
def test_as_activity_bad_input(data, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        rgdata.as_activity(data, **kwargs)


def test_check_activity_refuses_non_dataarray_and_wrong_dims():
    with pytest.raises(TypeError, match="rgdata.as_activity"):
        rgdata.check_activity(np.eye(3))
    with pytest.raises(ValueError, match="accepted"):
        rgdata.check_activity(xr.DataArray(np.eye(3), dims=("a", "b")))


def test_stack_trials_orders_time_by_trial(rng):
    x = (rng.random((4, 3, 10)) < 0.3).astype(np.int8)
    x[:, :, 0] = 1  # no constant units
    x[:, :, 1] = 0
    act = rgdata.as_activity(x, kind="spikes")
    assert act.dims == ("trial", "unit", "time")
    flat = rgdata.stack_trials(act)
    assert flat.shape == (3, 40)
    np.testing.assert_array_equal(flat.values[:, 10:20], x[1])
    np.testing.assert_array_equal(flat["trial_of_time"].values[10:20], 1)
    assert flat.attrs["n_trials_stacked"] == 4
    with pytest.raises(ValueError, match="stack_trials"):
        rgdata.check_activity(act, allow_trials=False)


def test_configurations_view_without_copy():
    spins = np.where(np.random.default_rng(1).random((6, 4, 5)) < 0.5, -1, 1).astype(np.int8)
    cfg = rgdata.as_configurations(spins, model="ising2d", temperature=2.0)
    act = rgdata.configurations_as_activity(cfg)
    assert act.shape == (20, 6)
    assert np.shares_memory(act.values, cfg.values)
    # site (y=2, x=3) is unit 2*5+3
    np.testing.assert_array_equal(act.sel(unit=13).values, spins[:, 2, 3])
    assert int(act["y"][13]) == 2 and int(act["x"][13]) == 3


@pytest.mark.parametrize(
    "bad, exc, match",
    [
        (np.ones((2, 3)), ValueError, "3 or 4 dimensions"),
        (np.zeros((2, 3, 3)), ValueError, "only -1 and \\+1"),
    ],
)
def test_as_configurations_bad_input(bad, exc, match):
    with pytest.raises(exc, match=match):
        rgdata.as_configurations(bad)


def test_check_random_state():
    from rgdata._validation import check_random_state

    a = check_random_state(3).random()
    assert a == check_random_state(3).random()
    g = np.random.default_rng(0)
    assert check_random_state(g) is g
    with pytest.raises(TypeError, match="random_state must be"):
        check_random_state("seed")
