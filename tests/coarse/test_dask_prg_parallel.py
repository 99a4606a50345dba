"""Seeded independent runs on a LocalCluster give the serial numbers."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

distributed = pytest.importorskip("distributed")
#: this module's ``client`` fixture (tests/conftest.py) runs worker processes
CLIENT_PROCESSES = True

from rgdata.coarse import prg  # noqa: E402
from rgdata.diagnostics import surrogate  # noqa: E402
from rgdata.diagnostics.parallel import map_seeded  # noqa: E402


def _activity():
    rng = np.random.default_rng(0)
    x = (rng.random((64, 400)) < 0.1) | (rng.random((1, 400)) < 0.05)
    return xr.DataArray(x.astype(np.float32), dims=("unit", "time"))


def _null_run(method, seed):
    act = _activity()
    res = prg(surrogate(act, method, seed), n_levels=3, n_blocks=2, random_state=seed)
    return res["variance"].values


@pytest.mark.filterwarnings("ignore:prg. n_blocks")
def test_surrogate_runs_on_local_cluster_equal_serial(thread_client):
    items = ["shuffle", "circular_shift", "shuffle"]
    serial = map_seeded(_null_run, items, random_state=7)
    parallel = map_seeded(_null_run, items, random_state=7, client=thread_client)
    for a, b in zip(serial, parallel, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(serial[0], serial[2])  # the two shuffle draws got different seeds


def test_bad_client_and_func():
    with pytest.raises(TypeError, match="client must be"):
        map_seeded(lambda i, s: i, [1], client=object())
    with pytest.raises(TypeError, match="func must be callable"):
        map_seeded(3, [1])


def _spiky(trials=False):
    import rgdata

    rng = np.random.default_rng(4)
    x = ((rng.random((64, 1200)) < 0.1) | (rng.random((1, 1200)) < 0.05)).astype(np.float32)
    act = rgdata.as_activity(x, kind="spikes")
    return act


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_run_with_nulls_on_a_client_equals_serial(client):
    from rgdata.diagnostics import run_with_nulls

    kw = dict(n_surrogates=2, random_state=5, n_levels=3)
    serial = run_with_nulls(_spiky(), ("shuffle", "random_pairing"), **kw)
    parallel = run_with_nulls(_spiky(), ("shuffle", "random_pairing"), client=client, **kw)
    xr.testing.assert_identical(parallel, serial)
    assert np.isfinite(serial.null_exponent.sel(null="shuffle")).any()


def test_data_warnings_reach_the_caller_from_a_client(client):
    from rgdata.diagnostics import run_with_nulls

    short = _spiky().isel(time=slice(0, 300))  # the data's own fits warn (in a worker)
    with pytest.warns(UserWarning, match=r"^fit_exponent\('eigenvalues'\): failed"):
        run_with_nulls(short, ("shuffle",), n_surrogates=2, random_state=1, n_levels=3,
                       client=client)  # fmt: skip


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_bin_width_sweep_on_a_client_equals_serial(client):
    from rgdata.diagnostics import bin_width_sweep

    serial = bin_width_sweep(_spiky(), (1, 2), random_state=2, n_levels=3)
    parallel = bin_width_sweep(_spiky(), (1, 2), random_state=2, n_levels=3, client=client)
    xr.testing.assert_identical(parallel, serial)
