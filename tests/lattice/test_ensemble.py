"""run_ensemble: grids, schedulers, atomic stores and resuming."""

import sys

import numpy as np
import pytest
import xarray as xr

from rgdata.lattice import _schedule, ensemble
from rgdata.lattice.ensemble import (
    ensemble_path,
    ensemble_point_seed,
    load_ensemble_point,
    run_ensemble,
)
from rgdata.lattice.sampling import ising_energy_magnetization, sample_ising

from .test_sampling import exact_averages

GRID = dict(L=[4, 6], T=[2.0, 3.0], seeds=[0, 1], n_samples=20, algorithm="wolff")


def test_grid_shapes_and_point_equals_direct_run(tmp_path):
    ds = run_ensemble(**GRID)
    assert ds.energy.dims == ("L", "T", "seed", "sample")
    assert ds.energy.shape == (2, 2, 2, 20)
    seed = ensemble_point_seed(1, 6, 3.0)
    assert ds.point_seed.sel(L=6, T=3.0, seed=1) == seed
    direct = sample_ising(6, 3.0, 20, algorithm="wolff", random_state=seed)
    e, m = ising_energy_magnetization(direct)
    np.testing.assert_array_equal(ds.energy.sel(L=6, T=3.0, seed=1).values, e)
    np.testing.assert_array_equal(ds.magnetization.sel(L=6, T=3.0, seed=1).values, m)
    assert int(ds.burn_in.sel(L=6, T=3.0, seed=1)) == direct.attrs["burn_in"]
    # point seeds differ across the grid (independent streams) and ignore grid order
    assert len(np.unique(ds.point_seed.values)) == ds.point_seed.size
    other = run_ensemble(L=[6], T=[3.0, 2.5], seeds=[1], n_samples=20, algorithm="wolff")
    np.testing.assert_array_equal(other.energy.sel(T=3.0).values[0, 0], e)
    path = tmp_path / "ens.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_identical(back, ds)


def test_energies_match_enumeration_across_seeds():
    seeds = list(range(8))
    T = 2.5
    ds = run_ensemble(L=4, T=T, seeds=seeds, n_samples=300, algorithm="swendsen_wang")
    per_seed = ds.energy.isel(L=0, T=0).mean("sample").values
    se = per_seed.std(ddof=1) / np.sqrt(len(seeds))  # independent seeds: honest error bar
    assert abs(per_seed.mean() - exact_averages((4, 4), T)["e"]) < 4 * se


def test_dask_threads_equal_serial():
    serial = run_ensemble(**GRID)
    threaded = run_ensemble(**GRID, scheduler="dask", n_workers=2, progress=True)
    np.testing.assert_array_equal(serial.energy.values, threaded.energy.values)
    np.testing.assert_array_equal(serial.magnetization.values, threaded.magnetization.values)
    assert threaded.attrs["scheduler"] == "dask"


def test_dask_distributed_client_equals_serial():
    distributed = pytest.importorskip("distributed")
    grid = dict(L=[4], T=[2.0, 3.0], seeds=[0], n_samples=10, algorithm="metropolis")
    serial = run_ensemble(**grid)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster, distributed.Client(cluster) as client:  # fmt: skip
        remote = run_ensemble(**grid, scheduler="dask", client=client)
    np.testing.assert_array_equal(serial.energy.values, remote.energy.values)


def test_store_writes_atomically_and_resumes(tmp_path, monkeypatch):
    store = tmp_path / "store"
    first = run_ensemble(**GRID, store=store)
    files = sorted(p.name for p in store.iterdir())
    assert len(files) == 8 and not any(name.startswith(".") for name in files)
    assert int(first.resumed.sum()) == 0
    cfg = load_ensemble_point(ensemble_path(store, 4, 2.0, 0))
    assert cfg.dims == ("sample", "y", "x") and cfg.dtype == np.int8
    assert cfg.attrs["seed"] == ensemble_point_seed(0, 4, 2.0)

    def boom(*args, **kwargs):
        raise AssertionError("resume must not recompute stored points")

    monkeypatch.setattr(ensemble, "sample_ising", boom)
    second = run_ensemble(**GRID, store=store)
    assert int(second.resumed.sum()) == 8
    np.testing.assert_array_equal(first.energy.values, second.energy.values)


def test_interrupted_write_leaves_no_file(tmp_path, monkeypatch):
    store = tmp_path / "store"

    def fail(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.DataArray, "to_netcdf", fail)
    with pytest.raises(KeyboardInterrupt):
        run_ensemble(L=4, T=2.0, seeds=0, n_samples=5, store=store)
    assert list(store.iterdir()) == []


def test_corrupt_foreign_and_mismatched_store_files(tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    path = ensemble_path(store, 4, 2.0, 0)
    path.write_bytes(b"not a netcdf file")
    with pytest.raises(ValueError, match="could not be read as netCDF.*Delete it"):
        run_ensemble(L=4, T=2.0, seeds=0, n_samples=5, store=store)
    xr.Dataset({"x": ("a", np.arange(3))}).to_netcdf(path, engine="h5netcdf")
    with pytest.raises(ValueError, match="not an rgdata Ising ensemble file"):
        run_ensemble(L=4, T=2.0, seeds=0, n_samples=5, store=store)
    path.unlink()
    run_ensemble(L=4, T=2.0, seeds=0, n_samples=5, store=store)
    with pytest.raises(ValueError, match=r"other parameters \(n_samples: file 5 vs requested 6"):
        run_ensemble(L=4, T=2.0, seeds=0, n_samples=6, store=store)


def test_dask_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask", None)
    with pytest.raises(ImportError, match=r"pip install rgdata\[dask\]"):
        run_ensemble(L=4, T=2.0, n_samples=2, scheduler="dask")


def test_unreliable_points_warned_once(monkeypatch):
    monkeypatch.setattr(_schedule, "_PILOT_MAX", 64)
    monkeypatch.setattr(_schedule, "_PILOT_WORK", 0)
    with pytest.warns(UserWarning, match=r"run_ensemble: tau_int could not be measured") as rec:
        ds = run_ensemble(L=32, T=2.269, seeds=[0, 1], n_samples=2, algorithm="metropolis")
    assert sum("could not be measured" in str(w.message) for w in rec) == 1
    assert ds.attrs["n_unreliable_tau"] == int((ds.tau_int_reliable == 0).sum()) > 0


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(scheduler="ray"), ValueError, "unknown scheduler 'ray'; accepted: 'serial', 'dask'"),
        (dict(client=object()), ValueError, "client is given but scheduler is 'serial'"),
        (dict(L=[4, 4]), ValueError, "L has repeated values"),
        (dict(T=[2.0, -1.0]), ValueError, "T must be > 0"),
        (dict(seeds=[-1]), ValueError, "seeds must be >= 0"),
        (dict(L="4"), TypeError, "L must be a number or a list"),
        (dict(T=[]), ValueError, "T is empty"),
        (dict(algorithm="glauber"), ValueError, "unknown algorithm 'glauber'"),
        (dict(dim=1), ValueError, "unknown dim 1"),
        (dict(L=[2, 4], algorithm="metropolis"), ValueError, "not ergodic on the 2 x 2 torus"),
    ],
)
def test_bad_input(kwargs, err, match):
    args = dict(L=4, T=2.0, seeds=0, n_samples=2)
    args.update(kwargs)
    with pytest.raises(err, match=match):
        run_ensemble(**args)


def test_store_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="exists and is not a directory"):
        run_ensemble(L=4, T=2.0, n_samples=2, store=f)
