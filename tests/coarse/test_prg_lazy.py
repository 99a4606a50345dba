"""prg on a dask-backed activity stays lazy and gives the in-memory result, for any chunking."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import rgdata  # noqa: E402
from rgdata.coarse import _prg_lazy, _prg_lazy_input, _prg_lazy_stream, prg  # noqa: E402

from ._data import tied_spikes  # noqa: E402

#: differs by construction: the estimate of a different path's peak
_PATH_ATTRS = ("input_storage", "peak_memory_estimate_gib")


def _continuous(n: int, t: int, seed: int) -> np.ndarray:
    """Correlated pairs (shuffled) in float32, odd n leaves one out."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, t)).astype(np.float32)
    half = n // 2
    x[half : 2 * half] += 0.7 * x[:half]
    return x[rng.permutation(n)]


def _run_both(x, kind, chunks, client=None, **kw):
    act = rgdata.as_activity(x, kind=kind)
    lazy = act.copy(data=da.from_array(x, chunks=chunks))
    with warnings.catch_warnings(record=True) as w_mem:
        warnings.simplefilter("always")
        want = prg(act, **kw)
    with warnings.catch_warnings(record=True) as w_lazy:
        warnings.simplefilter("always")
        got = prg(lazy, client=client, **kw)
    assert [str(w.message) for w in w_lazy] == [str(w.message) for w in w_mem]
    return got, want


def _assert_same(got, want):
    assert want.attrs["input_storage"] == "memory"
    assert "kept lazy" in got.attrs["input_storage"]
    got, want = got.copy(), want.copy()
    for name in _PATH_ATTRS:
        got.attrs.pop(name)
        want.attrs.pop(name)
    xr.testing.assert_identical(got, want)


@pytest.fixture
def no_whole_loads(monkeypatch):
    """Fail if the whole dask array is converted, and record the largest chunk read."""
    seen = []
    real = _prg_lazy_stream.fetch

    def refuse(*a, **k):
        raise AssertionError("the whole dask array was loaded")

    def fetch(client, block):
        out = real(client, block)
        seen.append(out.size)
        return out

    monkeypatch.setattr(da.Array, "__array__", refuse)
    monkeypatch.setattr(_prg_lazy_stream, "fetch", fetch)
    monkeypatch.setattr(_prg_lazy, "_SPECTRA_BATCH_BYTES", 1)  # spectra: one chunk's rows a read
    return seen


@pytest.mark.parametrize("chunks", [(64, -1), (100, 500), (37, -1)])
def test_binary_with_ties_equals_in_memory_for_any_chunking(chunks, no_whole_loads):
    x = tied_spikes(301, 2000, 1, np.int8)
    got, want = _run_both(x, "spikes", chunks)
    _assert_same(got, want)
    assert 0 < max(no_whole_loads) < x.size  # read in pieces, never whole


#: prg options whose results the lazy paths must reproduce (besides the defaults)
OTHER_OPTIONS = [
    {"holdout": True},
    {"normalization": "none", "observables": ("variance", "distribution")},
    {"pairing": "random", "random_state": 3},
    {"spectrum": "correlation", "n_blocks": 5, "max_lag": 40},
]


@pytest.mark.parametrize("kw", [{}, *OTHER_OPTIONS])
def test_continuous_equals_in_memory(kw, no_whole_loads):
    x = _continuous(257, 1500, 0)
    got, want = _run_both(x, "calcium", (50, -1), **kw)
    _assert_same(got, want)
    assert 0 < max(no_whole_loads) < x.size


def test_fused_first_step_and_bool_input_equal_in_memory():
    """Spikes without the distribution sum the first step from the integers (fused path)."""
    x = tied_spikes(256, 1500, 4, bool)
    got, want = _run_both(x, "spikes", (60, -1), observables=("variance", "silence"))
    _assert_same(got, want)
    pm1 = np.where(tied_spikes(128, 1200, 6, np.int8) > 0, 1, -1).astype(np.int8)
    got, want = _run_both(pm1, "spins", (40, -1))
    _assert_same(got, want)


@pytest.mark.parametrize("kind", ["spikes", "calcium"])
def test_sparse_levels_equal_in_memory_sparse_path(kind, monkeypatch):
    """Levels too large for the dense matrix: paired on the dask machinery, the same pairs.

    The switch is forced at a few hundred units; the in-memory path takes its
    own sparse path there too, so both exact sparse paths are compared.
    """
    from rgdata.coarse import _prg_sparse
    from rgdata.coarse.distributed import dask_greedy_pairs

    calls = []

    def counted(*a, **k):
        calls.append(a[0].shape[0])
        return dask_greedy_pairs(*a, **k)

    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "dense_max_bytes", 50_000)
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "block_size", 64)
    monkeypatch.setattr("rgdata.coarse.distributed.dask_greedy_pairs", counted)
    x = tied_spikes(300, 1500, 3, np.int8) if kind == "spikes" else _continuous(300, 1500, 3)
    got, want = _run_both(x, kind, (70, -1))
    _assert_same(got, want)
    assert calls[:3] == [300, 150, 75]  # level 0 from the chunks, levels 1 and 2 in memory


def test_dense_levels_are_kept_within_max_memory(monkeypatch):
    """The lazy switch counts the dense matrix and the prepared rows against max_memory too."""
    from types import SimpleNamespace

    monkeypatch.setattr(_prg_lazy, "available_memory", lambda: None)
    rows = np.zeros((1000, 500), np.float32)  # dense: 12 MB matrix + 4 MB z-scores
    opts = SimpleNamespace(corr_dtype="float32", max_memory=float(4 * 16e6))
    assert _prg_lazy._dense_fits(rows, opts, 8, None)
    opts.max_memory = 4 * 16e6 - 4
    assert not _prg_lazy._dense_fits(rows, opts, 8, None)
    opts.max_memory = None  # no budget known: dense, as the in-memory switch
    assert _prg_lazy._dense_fits(rows, opts, 8, None)
    # through prg: little memory available sends every level the dense matrix would not fit
    # to the dask machinery; the pairs (and the whole result) stay the in-memory ones
    monkeypatch.setattr(_prg_lazy, "available_memory", lambda: 2**20)
    from rgdata.coarse import distributed as dist

    seen = []
    real_pairs = dist.dask_greedy_pairs
    monkeypatch.setattr(
        dist, "dask_greedy_pairs", lambda a, **k: seen.append(a.shape[0]) or real_pairs(a, **k)
    )
    got, want = _run_both(_continuous(300, 1500, 5), "calcium", (70, -1))
    _assert_same(got, want)
    assert seen[1:3] == [150, 75]  # levels 1 and 2: the dense matrix exceeds a quarter of 1 MiB


def test_two_worker_local_cluster_equals_serial(monkeypatch):
    """Identical to the in-memory result; the cluster spectra are tasks on the workers."""

    def read_here(*a, **k):
        raise AssertionError("the spectra read rows into the caller")

    monkeypatch.setattr(_prg_lazy_stream.RowSource, "__getitem__", read_here)
    x = _continuous(256, 1000, 2)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got, want = _run_both(x, "calcium", (40, -1), client=client)
    _assert_same(got, want)
    assert "client" in got.attrs["input_storage"]
    assert np.isfinite(got["eigenvalues"].sel(level=slice(0, 4))).any()  # spectra were computed


def test_unsorted_unit_labels_equal_in_memory():
    x = tied_spikes(128, 1500, 7, np.int8)
    act = rgdata.as_activity(x, kind="spikes")
    act = act.assign_coords(unit=np.random.default_rng(0).permutation(128))
    lazy = act.copy(data=da.from_array(x, chunks=(30, -1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _assert_same(prg(lazy), prg(act))


def test_client_closed_mid_run_raises_and_returns_nothing(monkeypatch):
    x = _continuous(200, 600, 1)
    lazy = rgdata.as_activity(x, kind="calcium").chunk({"unit": 50})
    cluster = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    )
    client = distributed.Client(cluster)
    real = _prg_lazy_stream.fetch
    calls = []

    def fetch_then_close(c, block):  # the cluster goes away after the first pairing
        calls.append(1)
        if len(calls) == 2:
            client.close()
            cluster.close()
        return real(c, block)

    monkeypatch.setattr(_prg_lazy_stream, "fetch", fetch_then_close)
    try:
        with pytest.raises(RuntimeError, match="client was closed or its cluster disappeared"):
            prg(lazy, client=client)
    finally:
        client.close()
        cluster.close()
    assert len(calls) == 2


def test_chunks_that_do_not_fit_memory_are_refused(monkeypatch):
    x = _continuous(64, 500, 0)
    lazy = rgdata.as_activity(x, kind="calcium").chunk({"unit": 64})
    monkeypatch.setattr(_prg_lazy_input, "available_memory", lambda: 2**20)
    with pytest.raises(ValueError, match=r"chunks of 64 units x 500 time points do not fit"):
        prg(lazy)


def test_memory_estimate_refuses_a_too_small_budget():
    lazy = rgdata.as_activity(_continuous(64, 500, 0), kind="calcium").chunk({"unit": 16})
    with pytest.raises(MemoryError, match="dask-backed activity"):
        prg(lazy, max_memory=1e5)


def test_bad_input_on_the_lazy_path():
    x = _continuous(64, 500, 0)
    lazy = rgdata.as_activity(x, kind="calcium").chunk({"unit": 16})
    with pytest.raises(TypeError, match="client must be None or a distributed.Client; got"):
        prg(lazy, client="tcp://localhost:8786")
    bad = x.copy()
    bad[5, 7] = np.nan
    with pytest.raises(ValueError, match=r"1 NaN/inf value\(s\) \(first at index \(5, 7\)\)"):
        prg(rgdata.as_activity(bad, kind="calcium").chunk({"unit": 16}))
    const = x.copy()
    const[3] = 1.0
    with pytest.raises(ValueError, match="1 constant unit"):
        prg(rgdata.as_activity(const, kind="calcium").chunk({"unit": 16}))
    with pytest.raises(ValueError, match="n_blocks"):
        prg(lazy, n_blocks=1)


def test_client_with_in_memory_activity_is_warned():
    act = rgdata.as_activity(_continuous(32, 400, 0), kind="calcium")
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
        pytest.warns(UserWarning, match="client= is used only for dask-backed"),
    ):
        prg(act, client=client, observables="variance")


def _store_equals_in_memory(dask_array, x, kind, loads):
    """prg of a store read through *dask_array* equals prg of *x*, read chunk by chunk."""
    lazy = xr.DataArray(
        dask_array,
        dims=("unit", "time"),
        coords={"unit": np.arange(x.shape[0])},
        attrs={"kind": kind, "source": "array"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = prg(lazy)
        want = prg(rgdata.as_activity(x, kind=kind))
    _assert_same(got, want)
    assert 0 < max(loads) < x.size


def test_hdf5_store_via_h5py_equals_in_memory(tmp_path, no_whole_loads):
    h5py = pytest.importorskip("h5py")
    x = tied_spikes(200, 1500, 9, np.int8)
    with h5py.File(tmp_path / "act.h5", "w") as f:
        f.create_dataset("activity", data=x, chunks=(32, 1500))
    with h5py.File(tmp_path / "act.h5", "r") as f:
        arr = da.from_array(f["activity"], chunks=(64, -1))
        _store_equals_in_memory(arr, x, "spikes", no_whole_loads)


def test_zarr_store_equals_in_memory(tmp_path, no_whole_loads):
    zarr = pytest.importorskip("zarr")
    x = _continuous(301, 1200, 5)
    store = zarr.create_array(tmp_path / "act.zarr", shape=x.shape, chunks=(40, 600), dtype=x.dtype)
    store[:] = x  # chunked along units and time
    _store_equals_in_memory(da.from_zarr(tmp_path / "act.zarr"), x, "returns", no_whole_loads)


_KERNEL_CHILD = """
import json, sys, warnings
import dask.array as da, numpy as np, xarray as xr
from rgdata.coarse import prg
x = np.load(sys.argv[1])
act = xr.DataArray(da.from_array(x, chunks=(100, -1)), dims=("unit", "time"))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    res = prg(act, n_levels=4, n_blocks=2, normalization="variance")
print(json.dumps([res.membership.values.tolist(), res.variance.values.tolist()]))
"""


def test_lazy_clusters_do_not_depend_on_the_blas_kernel(tmp_path):
    """Under OpenBLAS's Haswell kernel the lazy path gives the default-kernel in-memory result."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from .test_prg_similarity import _openblas_x86

    if not _openblas_x86():
        pytest.skip("needs OpenBLAS on x86-64 to force a kernel")
    x = np.concatenate([tied_spikes(256, 300, 1, np.float32), _continuous(256, 300, 1)])
    np.save(tmp_path / "x.npy", x)
    run = subprocess.run(
        [sys.executable, "-c", _KERNEL_CHILD, str(tmp_path / "x.npy")],
        env={**os.environ, "OPENBLAS_CORETYPE": "Haswell"},
        cwd=Path(__file__).resolve().parents[2],  # this checkout's rgdata
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    membership, variance = json.loads(run.stdout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = prg(
            xr.DataArray(x, dims=("unit", "time")), n_levels=4, n_blocks=2, normalization="variance"
        )
    np.testing.assert_array_equal(np.array(membership), want.membership.values)
    np.testing.assert_array_equal(np.array(variance), want.variance.values)


def _row_sums(x, scale):
    return x.sum(axis=1) * scale


def test_chunk_results_run_on_the_workers_in_order(monkeypatch):
    """With a client every chunk is reduced by a task on the cluster, never read here."""
    x = np.arange(7 * 30, dtype=np.int16).reshape(7, 30)
    arr = da.from_array(x, chunks=(2, -1))

    def no_local_reads(*a, **k):
        raise AssertionError("a chunk was read by the caller")

    serial = list(_prg_lazy_stream.chunk_results(arr, None, _row_sums, 2))
    monkeypatch.setattr(_prg_lazy_stream, "row_chunks", no_local_reads)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        monkeypatch.setattr(_prg_lazy_stream, "_WINDOW_PER_THREAD", 1)  # one task in flight
        on_client = list(_prg_lazy_stream.chunk_results(arr, client, _row_sums, 2))
    assert [r0 for r0, _ in on_client] == [0, 2, 4, 6]
    for (r0, got), (s0, want) in zip(on_client, serial, strict=True):
        assert r0 == s0
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.concatenate([v for _, v in on_client]), 2 * x.sum(axis=1))
