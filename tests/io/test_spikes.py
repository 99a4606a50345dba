"""bin_spike_times against a brute-force per-spike loop."""

import math

import numpy as np
import pytest

from rgdata.io import bin_spike_times


def _brute_force(trains, t_start, t_stop, width):
    n_bins = math.ceil((t_stop - t_start) / width - 1e-9)
    counts = np.zeros((len(trains), n_bins), dtype=int)
    for j, train in enumerate(trains):
        for t in train:
            if t < t_start or t > t_stop:
                continue
            i = min(int((t - t_start) // width), n_bins - 1)
            counts[j, i] += 1
    return counts


@pytest.fixture
def trains(rng):
    return [np.sort(rng.uniform(0.0, 10.0, size=n)) for n in (50, 120, 7, 300)]


def test_counts_match_brute_force(trains):
    act = bin_spike_times(trains, 0.25, t_start=0.0, t_stop=10.0, binary=False)
    want = _brute_force(trains, 0.0, 10.0, 0.25)
    assert act.shape == (4, 40)
    np.testing.assert_array_equal(act.values, want)
    assert act.attrs["kind"] == "continuous"
    assert act.attrs["n_spikes_total"] == 477
    assert int(act.sum()) == 477
    np.testing.assert_allclose(act["time"].values[:3], [0.0, 0.25, 0.5])


def test_binary_clipping_is_counted_and_warned(trains):
    want = _brute_force(trains, 0.0, 10.0, 0.05)
    clipped = int(np.maximum(want - 1, 0).sum())
    assert clipped > 0
    with pytest.warns(UserWarning, match=f"{clipped} of 477 binned spike"):
        act = bin_spike_times(trains, 0.05, t_start=0.0, t_stop=10.0)
    np.testing.assert_array_equal(act.values, (want > 0).astype(np.int8))
    assert act.dtype == np.int8
    assert act.attrs["kind"] == "spikes"
    assert act.attrs["n_spikes_clipped"] == clipped
    assert act.attrs["binary"] == 1


def test_edges_defaults_and_outside_spikes():
    trains = {"a": [0.0, 0.1, 0.2, 0.95, 1.0], "b": [0.5, 2.0, -1.0]}
    with pytest.warns(UserWarning, match=r"2 of 8 spike\(s\) fall outside"):
        act = bin_spike_times(trains, 0.5, t_start=0.0, t_stop=1.0, binary=False)
    # bins [0, .5), [.5, 1.0]: the spike at exactly t_stop goes to the last bin
    np.testing.assert_array_equal(act.values, [[3, 2], [0, 1]])
    assert list(act["unit"].values) == ["a", "b"]
    assert act.attrs["n_spikes_outside"] == 2
    # defaults: first to last spike, a partial last bin is recorded
    act = bin_spike_times([[0.0, 0.3], [0.7, 1.1]], 0.5, binary=False)
    assert act.shape == (2, 3)
    assert act.attrs["t_start"] == 0.0 and act.attrs["t_stop"] == 1.1
    assert act.attrs["last_bin_fraction"] == pytest.approx(0.2)
    np.testing.assert_array_equal(act.values, [[2, 0, 0], [0, 1, 1]])


@pytest.mark.parametrize(
    "args, kwargs, exc, match",
    [
        ((np.arange(5.0), 0.1), {}, TypeError, "spike_times must be a list of 1-D arrays"),
        (([], 0.1), {}, ValueError, "spike_times is empty"),
        (([[0.1, np.nan], [0.2]], 0.1), {}, ValueError, r"spike_times\[0\] contains 1 NaN"),
        (([[[0.1]], [0.2]], 0.1), {}, ValueError, r"spike_times\[0\] must have 0 or 1 dim"),
        (([[0.1], [0.2]], 0.0), {}, ValueError, "bin_width must be > 0.0, got 0.0"),
        (([[0.1], [0.2]], "1"), {}, TypeError, "bin_width must be a real number"),
        (([[], []], 0.1), {}, ValueError, "holds no spikes; give t_start and t_stop"),
        (([[0.1], [0.2]], 0.1), {"t_start": 1.0, "t_stop": 0.5}, ValueError, "t_stop must be"),
        (([[0.1, 0.5], []], 0.1), {}, ValueError, "1 constant unit"),
    ],
)
def test_bad_input(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        bin_spike_times(*args, **kwargs)


def test_silent_unit_allowed_on_request():
    act = bin_spike_times([[0.1, 0.5], []], 0.1, allow_constant=True, binary=False)
    assert act.sel(unit=1).sum() == 0
