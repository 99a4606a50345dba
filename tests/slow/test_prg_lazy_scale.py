"""prg on dask-backed activities of 4,096 and 10,000 units equals the in-memory prg (#21)."""

import warnings

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.coarse import planted_tree, prg

from ..coarse._data import tied_spikes

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


def _identical(got: xr.Dataset, want: xr.Dataset) -> None:
    assert "kept lazy" in got.attrs["input_storage"]
    got, want = got.copy(), want.copy()
    for name in ("input_storage", "peak_memory_estimate_gib"):
        got.attrs.pop(name)
        want.attrs.pop(name)
    xr.testing.assert_identical(got, want)


def _every_path_identical(act, serial_chunks, cluster_chunks):
    """In memory = serial lazy (*serial_chunks*) = 2-worker LocalCluster (*cluster_chunks*)."""
    x = act.values
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = prg(act)
        _identical(prg(act.copy(data=da.from_array(x, chunks=serial_chunks))), want)
        with (
            distributed.LocalCluster(
                n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            lazy = act.copy(data=da.from_array(x, chunks=cluster_chunks))
            _identical(prg(lazy, client=client), want)


@pytest.mark.parametrize("n", [4096, 10_000])
def test_binary_with_ties_serial_cluster_and_chunkings(n):
    """Spikes with many exact ties: in memory = serial lazy = 2-worker LocalCluster, any chunks."""
    x = tied_spikes(n, 1000, 11, np.int8)
    _every_path_identical(rgdata.as_activity(x, kind="spikes"), (1000, -1), (777, 500))


@pytest.mark.parametrize("n_trees", [1, 3])
def test_continuous_planted_serial_and_cluster(n_trees):
    """Continuous planted trees (4,096 and 12,288 units): identical results on every path."""
    act, _ = planted_tree(12, 2000, n_trees=n_trees, autocorrelation=0.5, random_state=n_trees)
    _every_path_identical(act, (1024, -1), (1500, -1))


def test_approximate_planted_serial_and_cluster_and_the_truth():
    """Approximate mode, 8,192 planted units: serial = 2-worker LocalCluster, every planted cluster.

    The pairs depend on the data and the seed only (not on the chunks or the
    client); every planted cluster is found at every level and the quality is
    recorded at the five approximate levels. The planted tree's sibling
    correlations dominate, so the exact greedy pairs are the planted ones:
    the check (a sample of the pairs against all the variables) must say so,
    with no warning (a subsample paired again, the earlier measure, reported
    0.74 here and warned).
    """
    pytest.importorskip("pynndescent")
    from ..coarse.test_planted import assert_planted_clusters

    act, truth = planted_tree(13, 2000, autocorrelation=0.5, random_state=5)
    kw = {"pairing": "approximate", "random_state": 0, "observables": ("variance",)}
    x = act.values
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no quality warning
        serial = prg(act.copy(data=da.from_array(x, chunks=(1000, -1))), **kw)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        lazy = act.copy(data=da.from_array(x, chunks=(1500, 700)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the same quality warning, dask's graph size
            on_cluster = prg(lazy, client=client, **kw)
    assert "the dask client Client" in on_cluster.attrs["input_storage"]
    on_cluster.attrs["input_storage"] = serial.attrs["input_storage"]
    xr.testing.assert_identical(on_cluster, serial)
    assert_planted_clusters(serial, truth, serial.sizes["level"] - 1)
    approx = np.isfinite(serial["pairing_identical_fraction"].values)
    assert approx.sum() == 5  # 8,192 ... 512 variables; 256 and fewer: exact
    frac = serial["pairing_identical_fraction"].values[approx]
    np.testing.assert_array_equal(frac, 1.0)  # every checked pair the greedy choice
    np.testing.assert_array_equal(serial["pairing_correlation_loss"].values[approx], 0.0)
