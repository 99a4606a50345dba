"""Exact pairing of a dask-backed activity, serial and on a LocalCluster, equals the dense path."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import rgdata  # noqa: E402
from rgdata.coarse._prg_levels import choose_pairs  # noqa: E402
from rgdata.coarse.distributed import pair_units  # noqa: E402

from ._data import tied_spikes  # noqa: E402


class _Opts:
    pairing = "correlation"
    corr_dtype = "float32"


def _spikes(n, t, seed):
    return tied_spikes(n, t, seed, np.float32)


def _dense_pairs(x):
    return choose_pairs(x, _Opts)  # prg's first step pairs the raw samples


@pytest.fixture(scope="module")
def spikes():
    x = _spikes(4096, 300, 5)
    return x, _dense_pairs(x)


def test_dask_array_serial_equals_dense_and_stays_lazy(spikes, monkeypatch):
    x, dense = spikes
    lazy = da.from_array(x, chunks=(500, -1))

    def refuse(*a, **k):
        raise AssertionError("the whole dask array was loaded")

    monkeypatch.setattr(da.Array, "__array__", refuse)
    stats = {}
    got = pair_units(lazy, k=16, block_size=1000, stats=stats)
    np.testing.assert_array_equal(got, dense)
    assert stats["n_refills"] > 0


@pytest.mark.parametrize("n", [1024, pytest.param(4096, marks=pytest.mark.slow)])
def test_local_cluster_two_workers_equals_serial(n):
    x = _spikes(n, 300, 5)
    dense = _dense_pairs(x)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = pair_units(
            da.from_array(x, chunks=(n // 6, -1)), k=8, block_size=n // 5, client=client
        )
    np.testing.assert_array_equal(got, dense)


def test_continuous_numpy_input():
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((1200, 60)) + rng.standard_normal((1, 60))).astype(np.float32)
    np.testing.assert_array_equal(pair_units(x, k=16, block_size=256), _dense_pairs(x))


@pytest.mark.parametrize(
    ("kw", "err", "match"),
    [
        (dict(k=5000), ValueError, "k=5000 is larger"),
        (dict(block_size=0), ValueError, "block_size"),
        (dict(block_size=2.5), TypeError, "block_size"),
    ],
)
def test_bad_input(kw, err, match):
    with pytest.raises(err, match=match):
        pair_units(np.zeros((100, 10)) + np.arange(10), **kw)


def test_bad_activity_type():
    with pytest.raises(TypeError, match="activity must be"):
        pair_units([[1, 2], [3, 4]])


def test_closed_client_raises_clear_error():
    x = np.random.default_rng(0).standard_normal((600, 50)).astype(np.float32)
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    client = distributed.Client(cluster)
    client.close()
    cluster.close()
    with pytest.raises(RuntimeError, match="client was closed or its cluster disappeared"):
        pair_units(da.from_array(x, chunks=(200, -1)), k=4, block_size=200, client=client)


def test_block_that_does_not_fit_memory_is_refused(monkeypatch):
    from rgdata.coarse import distributed as dist

    monkeypatch.setattr(dist, "available_memory", lambda: 2**20)  # 1 MiB
    with pytest.raises(ValueError, match=r"block_size=1024 needs about .* use block_size <="):
        pair_units(np.random.default_rng(0).standard_normal((2000, 30)), block_size=1024)
    with pytest.raises(TypeError, match="block_size"):
        pair_units(np.zeros((10, 5)) + np.arange(5), k=2, block_size=2.0)


def test_prg_approximate_on_a_few_dask_backed_units_is_exact_and_lazy():
    """64 units (at most 256): every step exact, so the in-memory result, with the input lazy.

    Larger activities: tests/coarse/test_prg_lazy_ann.py.
    """
    import warnings

    import xarray as xr

    from rgdata.coarse import prg

    x = _spikes(64, 2000, 2)
    act = rgdata.as_activity(x, kind="spikes")
    lazy = act.copy(data=da.from_array(x, chunks=(16, -1)))
    assert isinstance(lazy.data, da.Array)
    pytest.importorskip("pynndescent")
    kw = {"observables": ("variance",), "pairing": "approximate", "random_state": 0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing is loaded, nothing to warn about
        got = prg(lazy, **kw)
    want = prg(act, **kw)
    assert want.attrs["input_storage"] == "memory"
    assert "kept lazy" in got.attrs["input_storage"]
    for name in ("input_storage", "peak_memory_estimate_gib"):
        got.attrs.pop(name)
        want.attrs.pop(name)
    xr.testing.assert_identical(got, want)
