"""prg on a dask-backed activity keeps levels from 1 on lazy when their sums do not fit."""

from __future__ import annotations

import os
import tempfile
from types import SimpleNamespace

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import rgdata  # noqa: E402
from rgdata.coarse import _prg_lazy, _prg_lazy_input, _prg_lazy_levels, _prg_sparse, prg  # noqa: E402

from ._data import tied_spikes  # noqa: E402
from .test_prg_lazy import (  # noqa: E402
    OTHER_OPTIONS,
    _assert_same,
    _continuous,
    _run_both,
    no_whole_loads,  # noqa: F401 (a fixture)
)

KEPT = "levels 1 to 2 were kept lazy"


def _force_plan(monkeypatch, first_in_memory: int) -> None:
    """The plan runs levels from *first_in_memory* on in memory, whatever the budget."""
    real = _prg_lazy_input.lazy_plan

    def forced(*a, **k):
        peak, _, stages = real(*a, **k)
        return peak, first_in_memory, stages

    monkeypatch.setattr(_prg_lazy_input, "lazy_plan", forced)


@pytest.fixture
def keep_two_levels(monkeypatch):
    """Levels 1 and 2 kept out of memory, level 3 on in memory."""
    _force_plan(monkeypatch, 3)


@pytest.mark.parametrize(
    ("kind", "chunks", "on_client"),
    [
        ("spikes", (64, -1), False),
        ("spikes", (37, -1), False),
        ("calcium", (50, -1), False),
        ("calcium", (33, -1), False),
        ("spikes", (37, -1), True),
        ("calcium", (50, -1), True),
    ],
)
@pytest.mark.usefixtures("no_whole_loads")  # no read returns the whole activity
def test_kept_levels_equal_in_memory(
    kind, chunks, on_client, keep_two_levels, request, monkeypatch
):
    x = tied_spikes(203, 1200, 1, np.int8) if kind == "spikes" else _continuous(181, 1000, 0)
    c = request.getfixturevalue("client") if on_client else None
    reads = []  # rows per read of a kept level's files (without a client)
    files = _prg_lazy_levels.FileRows
    real_get, real_take = files.__getitem__, files.take
    monkeypatch.setattr(files, "__getitem__", lambda f, k: _count(reads, real_get(f, k)))
    monkeypatch.setattr(files, "take", lambda f, rows: _count(reads, real_take(f, rows)))
    got, want = _run_both(x, kind, chunks, client=c)
    _assert_same(got, want)
    assert KEPT in got.attrs["input_storage"]
    assert ("workers" in got.attrs["input_storage"]) == on_client
    if not on_client:  # a chunk, or the rows of a chunk of pairs (two per pair)
        assert 0 < max(reads) <= 2 * chunks[0]
    else:
        assert not reads


def _count(reads: list, rows: np.ndarray) -> np.ndarray:
    reads.append(rows.shape[0])
    return rows


@pytest.mark.parametrize("kw", OTHER_OPTIONS)
def test_kept_levels_equal_in_memory_for_other_options(kw, keep_two_levels):
    got, want = _run_both(_continuous(200, 1000, 4), "calcium", (40, -1), **kw)
    _assert_same(got, want)
    assert KEPT in got.attrs["input_storage"]


def test_fused_first_step_and_every_level_kept(monkeypatch):
    """Spikes summed from the integers, and a plan that keeps every level out of memory."""
    _force_plan(monkeypatch, 99)
    x = tied_spikes(256, 1200, 4, bool)
    got, want = _run_both(x, "spikes", (60, -1), observables=("variance", "silence"))
    _assert_same(got, want)
    assert "levels 1 to 7 were kept lazy" in got.attrs["input_storage"]
    assert "ran in memory" not in got.attrs["input_storage"].split("kept lazy", 2)[2]


def _plan_args(lazy, monkeypatch, **kw):
    """The arguments prg gives :func:`lazy_plan` (the run stops there)."""
    seen = []

    def stop(*a):
        seen.append(a)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(_prg_lazy_input, "lazy_plan", stop)
        with pytest.raises(KeyboardInterrupt):
            prg(lazy, **kw)
    return seen[0]


def _peak(args, first_in_memory):
    stages = _prg_lazy_input._stages(*args, first_in_memory, [])
    return int(_prg_lazy_input._MARGIN * max(stages.values()) + _prg_lazy_input._OVERHEAD)


def test_max_memory_keeps_levels_1_and_2_lazy(monkeypatch, tmp_path):
    """The budget alone decides: the peak with levels 1 and 2 kept is what max_memory allows."""
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "block_size", 64)  # small pairing tasks
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    x = _continuous(512, 600, 6)
    act = rgdata.as_activity(x, kind="calcium")
    lazy = act.copy(data=da.from_array(x, chunks=(32, -1)))
    args = _plan_args(lazy, monkeypatch)
    peaks = [_peak(args, first) for first in range(1, args[1].n_levels + 2)]
    assert peaks[0] > peaks[1] > peaks[2] > min(peaks)
    stores = []
    real_empty = _prg_lazy_levels.LevelStore.empty

    def empty(self, *a):
        stores.append(self.path)
        out = real_empty(self, *a)
        stores[-1] = self.path
        return out

    monkeypatch.setattr(_prg_lazy_levels.LevelStore, "empty", empty)
    got = prg(lazy, max_memory=peaks[2])
    _assert_same(got, prg(act))
    assert KEPT in got.attrs["input_storage"]
    assert len(stores) == 2 and stores[0].startswith(str(tmp_path))  # levels 1 and 2 written
    assert os.listdir(tmp_path) == []  # and removed
    with pytest.raises(MemoryError, match=r"largest stage left is the .* GiB"):
        prg(lazy, max_memory=min(peaks) - 1)  # not even with every level kept


def test_temporary_directory_removed_after_an_error(monkeypatch, tmp_path, keep_two_levels):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    lazy = rgdata.as_activity(_continuous(200, 600, 1), kind="calcium").chunk({"unit": 40})
    real = _prg_lazy.level_pairs

    def fail_at_level_2(kept, *a):
        if kept.level == 2:
            assert len(os.listdir(tmp_path)) == 1  # the levels' files are there
            raise RuntimeError("stopped")
        return real(kept, *a)

    monkeypatch.setattr(_prg_lazy, "level_pairs", fail_at_level_2)
    with pytest.raises(RuntimeError, match="stopped"):
        prg(lazy)
    assert os.listdir(tmp_path) == []


def test_the_plan_at_a_million_units(monkeypatch):
    """10^6 x 10^4 float32 on a client: the level-1 sums alone are 40 GB; kept, it fits."""
    monkeypatch.setattr(_prg_lazy_input, "available_memory", lambda: None)
    data = SimpleNamespace(
        n_units=10**6,
        n_time=10**4,
        pair_exact=None,
        sum_dtype=np.dtype(np.float64),
        float_dtype=np.dtype(np.float32),
    )
    opts = SimpleNamespace(
        t_split=0, holdout=False, n_levels=19, first_lag=10, long_lag=2500,
        pairing="correlation", max_memory=None,
    )  # fmt: skip
    peak, first, _ = _prg_lazy_input.lazy_plan(data, opts, 1024, True, 4)
    assert first == 1 and peak > 60 * 2**30  # no budget known: in memory from level 1, as before
    opts.max_memory = 32 * 2**30
    peak, first, stages = _prg_lazy_input.lazy_plan(data, opts, 1024, True, 4)
    assert first >= 3 and peak <= opts.max_memory
    opts.max_memory = 2**30  # too small even with every level kept: the smallest plan, refused
    peak, first, stages = _prg_lazy_input.lazy_plan(data, opts, 1024, True, 4)
    assert peak > opts.max_memory
    assert max(stages, key=stages.get) == "level-0 pass"  # the rows waiting for their partner


def test_too_little_disk_is_refused_before_any_work(monkeypatch, keep_two_levels):
    lazy = rgdata.as_activity(_continuous(64, 300, 2), kind="calcium").chunk({"unit": 16})
    monkeypatch.setattr(_prg_lazy_levels.shutil, "disk_usage", lambda p: SimpleNamespace(free=10))

    def no_pairing(*a, **k):
        raise AssertionError("the first pairing ran")

    monkeypatch.setattr(_prg_lazy, "_first_pairs", no_pairing)
    with pytest.raises(OSError, match=r"GiB of disk .* Point TMPDIR at a larger disk"):
        prg(lazy)
