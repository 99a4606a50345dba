"""Every coarse-graining result follows the schema of docs/results.md.

A ``level`` dim with a ``scale`` coordinate on it, the information needed to rebuild the
coarse variables, and both preserved by a netCDF round trip.
"""

import numpy as np
import pytest
import xarray as xr

import rgdata


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(3)
    act = rgdata.as_activity(rng.standard_normal((16, 400)))
    cfg = rgdata.lattice.sample_ising(16, 2.269, 120, random_state=0)
    with pytest.warns(UserWarning, match="too wide"):
        flow = rgdata.lattice.block_coupling_flow(cfg, 2, random_state=0)
    return {
        "prg": rgdata.coarse.prg(act, random_state=0),
        "momentum": rgdata.coarse.momentum(act, [1.0, 0.5, 0.25]),
        "block_coupling_flow": flow,
        "mcrg": rgdata.lattice.mcrg(cfg, even=2, odd=1, levels=1, random_state=0),
    }


# the scale at each level, the attrs["scale_name"], and the rebuild information by name
EXPECTED = {
    "prg": (lambda ds: 2 ** ds["level"].values, "cluster_size", ["membership"], []),
    "momentum": (
        lambda ds: np.array([1.0, 0.5, 0.25]),
        "fraction",
        ["eigenvalues"],
        ["matrix", "direction", "rank"],
    ),
    "block_coupling_flow": (
        lambda ds: 2 ** ds["level"].values,
        "block_size",
        [],
        ["block_factor", "block_rule", "tie_break", "random_state"],
    ),
    "mcrg": (lambda ds: 2 ** ds["level"].values, "block_size", [], ["b", "rule", "tie_break"]),
}


def _check(ds, kind):
    scale, scale_name, variables, attrs = EXPECTED[kind]
    assert "level" in ds.dims
    assert ds["scale"].dims == ("level",)
    np.testing.assert_array_equal(ds["scale"].values, scale(ds))
    assert ds["scale"].attrs["long_name"]
    assert ds.attrs["scale_name"] == scale_name
    for name in variables:
        assert name in ds.data_vars
    for name in attrs:
        assert name in ds.attrs


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_result_follows_schema_and_round_trips(results, kind, tmp_path):
    ds = results[kind]
    _check(ds, kind)
    path = tmp_path / f"{kind}.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    with xr.open_dataset(path, engine="h5netcdf") as back:
        back = back.load()
    _check(back, kind)
    for name in EXPECTED[kind][2]:
        xr.testing.assert_equal(back[name], ds[name])
    for name in EXPECTED[kind][3]:
        assert back.attrs[name] == ds.attrs[name]


def test_schema_details(results):
    prg = results["prg"]
    np.testing.assert_array_equal(prg["scale"], prg["cluster_size"])  # the alias stays
    mom = results["momentum"]
    assert mom["level"].values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(mom["fraction"], mom["scale"])
    assert int(mom.sel(fraction=0.5)["level"]) == 1
    assert mom["n_modes"].dims == ("level",)
    # mcrg's level n is the matrix linking the blocks of level n - 1 to those of level n
    assert results["mcrg"]["level"].values.tolist() == [1]


@pytest.mark.parametrize("kind", ["prg", "momentum", "block_coupling_flow"])
def test_coarse_activity_scale_is_the_results(results, kind):
    ds = results[kind]
    rng = np.random.default_rng(3)
    if kind == "block_coupling_flow":
        data = rgdata.lattice.sample_ising(16, 2.269, 120, random_state=0)
    else:
        data = rgdata.as_activity(rng.standard_normal((16, 400)))
    coarse = rgdata.coarse.coarse_activity(ds, data, 1)
    assert coarse.attrs["scale"] == ds["scale"].values[1]
    assert coarse.attrs["scale_name"] == ds.attrs["scale_name"]
