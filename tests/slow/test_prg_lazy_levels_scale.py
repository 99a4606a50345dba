"""prg with levels kept out of memory: a few thousand units, approximate pairing (#21)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.coarse import prg

from ..coarse._data import tied_spikes
from ..coarse.test_ann_pairing import planted_pairs
from ..coarse.test_prg_lazy_levels import _force_plan

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


def _without_path_attrs(res: xr.Dataset) -> xr.Dataset:
    res = res.copy()
    for name in ("input_storage", "peak_memory_estimate_gib"):
        res.attrs.pop(name)
    return res


def test_4096_tied_spikes_with_three_levels_kept(monkeypatch, client):
    """In memory = levels 1-3 kept serially (chunks of 500) = on a 2-worker cluster (300)."""
    x = tied_spikes(4096, 2000, 11, np.int8)
    act = rgdata.as_activity(x, kind="spikes")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _without_path_attrs(prg(act))
        _force_plan(monkeypatch, 4)
        for chunks, c in (((500, -1), None), ((300, -1), client)):
            got = prg(act.copy(data=da.from_array(x, chunks=chunks)), client=c)
            assert "levels 1 to 3 were kept lazy" in got.attrs["input_storage"]
            xr.testing.assert_identical(_without_path_attrs(got), want)


def test_approximate_pairing_with_kept_levels_equals_the_lazy_run(monkeypatch, client):
    """The sketched pairing of a kept level (550 variables) gives the lazy run's pairs.

    The approximate lazy pairs depend on the data and the seed only, so
    keeping levels 1 and 2 out of memory (serially, and on a cluster) gives
    the Dataset of the run that holds them in memory.
    """
    x, _ = planted_pairs(1100, 400)
    act = rgdata.as_activity(x, kind="returns")
    lazy = act.copy(data=da.from_array(x, chunks=(100, -1)))
    kw = {"pairing": "approximate", "random_state": 0, "observables": ("variance",)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _without_path_attrs(prg(lazy, **kw))
        _force_plan(monkeypatch, 3)
        for c in (None, client):
            got = prg(lazy, client=c, **kw)
            assert "levels 1 to 2 were kept lazy" in got.attrs["input_storage"]
            xr.testing.assert_identical(_without_path_attrs(got), want)
    assert np.isfinite(want["pairing_identical_fraction"].values[:2]).all()  # sketched steps
