"""coarse_activity of a PRG result on a dask-backed activity: the in-memory values, never loaded."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

da = pytest.importorskip("dask.array")

import rgdata  # noqa: E402
from rgdata.coarse import coarse_activity, planted_tree, prg  # noqa: E402

from ._data import tied_spikes  # noqa: E402


def _refuse(*args, **kwargs):
    raise AssertionError("the whole dask array was converted")


def _lazy(act: xr.DataArray, chunks) -> xr.DataArray:
    return act.copy(data=da.from_array(act.values, chunks=chunks))


@pytest.fixture
def spikes() -> xr.DataArray:
    # 100 units (odd cluster counts leave units out from level 3), tied binary values, bool
    x = tied_spikes(100, 600, seed=4).astype(bool)
    act = rgdata.as_activity(x, kind="spikes")
    return act.isel(unit=np.random.default_rng(0).permutation(100))  # labels not sorted


@pytest.mark.parametrize("chunks", [(100, -1), (17, -1), (30, 250)])
def test_every_level_equals_the_in_memory_rebuild(spikes, chunks, monkeypatch):
    res = prg(spikes, 5, observables=("variance",))
    lazy = _lazy(spikes, chunks)
    monkeypatch.setattr(da.Array, "__array__", _refuse)
    for level in range(6):
        for variables in ("sum", "normalized"):
            want = coarse_activity(res, spikes, level, variables=variables)
            got = coarse_activity(res, lazy, level, variables=variables)
            xr.testing.assert_identical(got, want)  # values bit for bit, coords and attrs
    # against prg's own numbers, computed another way (its statistics pass)
    top = coarse_activity(res, lazy, 5)
    assert top.var("time").mean() == pytest.approx(float(res["variance"].sel(level=5)), rel=1e-12)


def test_continuous_planted_tree_with_holdout():
    act, _ = planted_tree(8, 800, autocorrelation=0.5, random_state=2)
    res = prg(act, 6, holdout=True, observables=("variance",))
    lazy = _lazy(act, (50, -1))
    for level, variables in [(0, "sum"), (3, "sum"), (6, "sum"), (4, "normalized")]:
        want = coarse_activity(res, act, level, variables=variables)
        xr.testing.assert_identical(coarse_activity(res, lazy, level, variables=variables), want)


def test_other_data_is_refused_without_loading(spikes, monkeypatch):
    res = prg(spikes, 3, observables=("variance",))
    other = spikes.copy(data=np.roll(spikes.values, 7, axis=1) & np.roll(spikes.values, 3, axis=1))
    monkeypatch.setattr(da.Array, "__array__", _refuse)
    with pytest.raises(ValueError, match="not the data the result came from"):
        coarse_activity(res, _lazy(other, (25, -1)), 2)
    with pytest.raises(ValueError, match="dims"):
        coarse_activity(res, _lazy(spikes, (25, -1)).rename(time="t"), 2)
