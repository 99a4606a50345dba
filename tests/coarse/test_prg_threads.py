"""PRG's kernels on several threads give one thread's numbers; one thread runs them serially.

Threads are set with a fake ``numba.get_num_threads`` and a zero work
threshold, so small test data take the threaded paths; results must be
identical (not close) to one thread's: every chunk is computed exactly as the
serial kernel computes it.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

from rgdata import _threads
from rgdata.coarse import _prg_parallel, prg
from rgdata.coarse._prg_bits import bit_planes, n_planes, plane_gram
from rgdata.coarse._prg_parallel import row_chunks
from rgdata.coarse._prg_stats import _NO_EDGES, autocorrelation_rows, data_coding, moments_rows

from ._data import tied_spikes


@pytest.fixture
def spy(monkeypatch):
    """Calls of map_chunks (not from within a chunk): (threads, chunks); numba's thread
    count set by *set_threads*."""
    calls = []
    real = _threads.map_chunks

    def recording(func, n_chunks, n_threads):
        if not getattr(_threads._CHUNK_WORKER, "active", False):  # not a call within a chunk
            calls.append((n_threads, n_chunks))
        return real(func, n_chunks, n_threads)

    monkeypatch.setattr(_threads, "map_chunks", recording)
    monkeypatch.setattr(_threads, "available_cores", lambda: 4)
    monkeypatch.setattr(_prg_parallel, "MIN_PARALLEL_WORK", 0)
    state = {"threads": 1}
    monkeypatch.setattr(_threads.numba, "get_num_threads", lambda: state["threads"])

    class Spy:
        def set_threads(self, n):
            state["threads"] = n
            calls.clear()

        @property
        def calls(self):
            return calls

    return Spy()


@pytest.mark.parametrize(
    "n_rows, align", [(1, 1), (2, 1), (3, 1), (10, 1), (17, 1), (33, 1), (100, 32), (31, 32)]
)
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_row_chunks_tile_the_rows(n_rows, align, n_threads):
    chunks = row_chunks(n_rows, n_threads, align)
    assert chunks[0][0] == 0 and chunks[-1][1] == n_rows
    assert all(a[1] == b[0] for a, b in zip(chunks, chunks[1:], strict=False))
    assert all(r0 % align == 0 and r1 > r0 for r0, r1 in chunks)
    # no one-row view of a strided array (numba compiles those apart)
    assert n_rows == 1 or all(r1 - r0 >= 2 for r0, r1 in chunks)
    if n_threads == 1:
        assert chunks == [(0, n_rows)]


@pytest.mark.parametrize("top, m, t_len", [(1, 301, 130), (2, 97, 64), (3, 64, 1000)])
def test_threaded_bit_counts_are_the_serial_integers(spy, top, m, t_len, rng):
    x = rng.integers(0, top + 1, size=(m, t_len)).astype(np.int8)
    planes = bit_planes(x, n_planes(x))
    spy.set_threads(1)
    serial = plane_gram(planes, "float64")
    assert spy.calls == [(1, 1)]  # one thread: one call of the serial kernel
    spy.set_threads(3)
    threaded = plane_gram(planes, "float64")
    assert spy.calls[0][0] == 3 and spy.calls[0][1] > 1  # three threads, several chunks
    np.testing.assert_array_equal(threaded, serial)
    xi = x.astype(np.int64)
    np.testing.assert_array_equal(threaded, xi @ xi.T)  # and the exact integers


def test_strided_rows_give_the_serial_moments(spy):
    # a one-row chunk of a strided view would run numba's contiguous compilation
    x = np.random.default_rng(3).standard_normal((34, 3000))
    view = x[:, 300:2700]
    spy.set_threads(1)
    serial = moments_rows(view, 0.0, False, _NO_EDGES)
    spy.set_threads(2)
    threaded = moments_rows(view, 0.0, False, _NO_EDGES)
    assert spy.calls[0][1] > 1
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b)


def _run(x, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return prg(xr.DataArray(x, dims=("unit", "time")), random_state=0, **kw)


@pytest.mark.parametrize(
    "kind, kw",
    [
        ("binary", {}),
        ("binary", {"observables": ("variance", "silence")}),
        ("binary", {"normalization": "none", "max_lag": 40}),
        ("counts", {"holdout": True}),
        ("continuous", {}),
    ],
)
def test_prg_on_threads_equals_prg_on_one_thread(spy, kind, kw):
    x = tied_spikes(200, 3000, 11, np.int8)
    if kind == "counts":
        x = x * np.random.default_rng(12).integers(1, 4, size=x.shape).astype(np.int8)
    elif kind == "continuous":
        x = x + 0.1 * np.random.default_rng(13).standard_normal(x.shape)
    spy.set_threads(1)
    serial = _run(x, **kw)
    assert {n for n, _ in spy.calls} == {1}
    spy.set_threads(2)
    threaded = _run(x, **kw)
    assert {n for n, _ in spy.calls} == {2}  # every large kernel went to two threads
    assert threaded.identical(serial)


def _coding_reference(x):
    """The numpy classification that data_coding replaced."""
    if x.dtype == bool:
        return "01"
    integral = x.dtype.kind != "f" or bool(np.all(x == np.round(x)))
    if np.all((x == 0) | (x == 1)):
        return "01"
    if np.all((x == -1) | (x == 1)):
        return "pm1"
    return "counts" if integral and not np.any(x < 0) else "continuous"


def test_data_coding_classifies_as_numpy_does(spy, rng):
    base = rng.integers(0, 2, size=(40, 300))
    cases = [
        base.astype(bool),
        base.astype(np.int8),
        (2 * base - 1).astype(np.int16),
        (3 * base).astype(np.int32),
        (base - 2).astype(np.int8),
        base.astype(np.float32),
        (2.0 * base - 1.0),
        base * 3.0,
        base + 0.5,
        np.where(base, np.inf, 0.0),
        np.asfortranarray(base * 2.0),
        (base * 3.0)[:, ::2],
        np.zeros((0, 5)),
        np.full((3, 4), 2**61 + 1, dtype=np.int64),  # counts beyond float64's integers
    ]
    for threads in (1, 2):
        spy.set_threads(threads)
        for x in cases:
            assert data_coding(x) == _coding_reference(x), (x.dtype, x[:1, :4])
    late = np.zeros((40, 300))
    late[39, 299] = 0.5  # the only non-integer, in the last row
    assert data_coding(late) == "continuous"


@pytest.mark.parametrize("method", ["fft", "direct"])
def test_autocorrelation_on_threads_is_the_serial_one(spy, method, rng):
    x = rng.standard_normal((37, 5001)).cumsum(axis=1)  # long correlations
    spy.set_threads(1)
    serial = autocorrelation_rows(x, 300, method=method)
    spy.set_threads(2)
    threaded = autocorrelation_rows(x, 300, method=method, t0=0)
    assert any(n == 2 for n, _ in spy.calls)
    np.testing.assert_array_equal(threaded[0], serial[0])
    np.testing.assert_array_equal(threaded[1], serial[1])
