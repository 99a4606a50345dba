"""momentum keeps to its documented memory; values too large to square are refused."""

import tracemalloc
import warnings

import numpy as np
import pytest

import rgdata
from rgdata.coarse import momentum


def documented_bound(n, t, m, chunk, itemsize=8):
    """The docstring's Memory note: working copy + matrix + vectors + ~4 N x chunk arrays."""
    working = n * t * itemsize
    matrix = min(n, t) ** 2 * itemsize
    vectors = n * m * itemsize
    streaming = 4 * n * chunk * 8
    blocks = 3 * max(2**18, t) * 8  # centring/scaling temporaries (one row if longer)
    return working + matrix + vectors + streaming + blocks + 2**20  # + small bookkeeping


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_peak_allocation_within_documented_bound(rng, dtype):
    # short and wide: before, centring copied all 64 rows to float64 at once (3 x the
    # working copy at the peak); a float32 input is promoted to the float64 working copy
    n, t, chunk = 64, 50_000, 4096
    act = rgdata.as_activity(rng.standard_normal((n, t)).astype(dtype))
    momentum(act.isel(time=slice(0, 200)), chunk_size=64)  # compile the kernels first
    tracemalloc.start()
    try:
        ds = momentum(act, chunk_size=chunk)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert ds.attrs["dtype"] == "float64"
    assert peak <= documented_bound(n, t, n, chunk)
    assert peak >= n * t * 8  # the working copy itself is there (the test measures something)


def test_values_too_large_to_square_are_refused(rng):
    x = rng.standard_normal((8, 400)) * 1e149
    with pytest.raises(ValueError, match=r"activity values are too large: max \|activity\| = 3"):
        momentum(rgdata.as_activity(x))
    with pytest.raises(ValueError, match=r"Accepted: max \|activity\| <= 5e\+148"):
        momentum(rgdata.as_activity(x))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = momentum(rgdata.as_activity(x * 1e-2))  # ~4e147: accepted, same moments
    ref = momentum(rgdata.as_activity(x * 1e-149))
    np.testing.assert_allclose(ds["fourth_moment"], ref["fourth_moment"], rtol=1e-9)
