"""PRG pairing correlations: exact for integers, the same on any BLAS kernel and block split."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from rgdata import _threads
from rgdata.coarse import _prg_parallel
from rgdata.coarse._prg_similarity import (
    dense_similarity,
    exact_product_dtype,
    pairing_rows,
    similarity,
)

from ._data import tied_spikes


def _spikes(n, t, seed):
    return tied_spikes(n, t, seed, np.float32)


def test_integer_path_equals_exact_rational_correlations(rng):
    x = (rng.random((12, 40)) < 0.3).astype(np.float32)
    x[3] = 0.0  # a constant row correlates 0 with everything
    got = similarity(pairing_rows(x), pairing_rows(x))
    t = x.shape[1]
    xi = x.astype(np.int64)
    s, q, g = xi.sum(1), (xi * xi).sum(1), xi @ xi.T
    num = t * g - np.multiply.outer(s, s)  # exact integers
    var = t * q - s * s
    with np.errstate(invalid="ignore", divide="ignore"):
        want = num / np.sqrt(np.multiply.outer(var, var).astype(np.float64))
    want[~np.isfinite(want)] = 0.0
    np.testing.assert_allclose(got, np.round(want, 6), rtol=0, atol=5e-7)
    assert np.all(got[3] == 0.0) and np.all(got[:, 3] == 0.0)


def test_equal_counts_give_exactly_equal_correlations():
    # rows 0-1 and 2-3 share the same counts at different times: equal in exact arithmetic
    x = np.zeros((4, 10), np.float32)
    x[0, [0, 1, 2]] = 1
    x[1, [1, 2, 3]] = 1
    x[2, [5, 6, 7]] = 1
    x[3, [6, 7, 8]] = 1
    c = similarity(pairing_rows(x), pairing_rows(x))
    assert c[0, 1] == c[2, 3]


@pytest.mark.parametrize("kind", ["binary", "counts"])
def test_integer_path_identical_for_any_block_split(kind, rng, monkeypatch):
    x = _spikes(300, 500, 3)
    if kind == "counts":
        x = x * rng.integers(1, 6, size=x.shape)
    rows = pairing_rows(x)
    assert rows.exact
    full = similarity(rows, rows)
    monkeypatch.setattr(_prg_parallel, "MIN_PARALLEL_WORK", 0)  # row chunks on 2 threads
    monkeypatch.setattr(_threads.numba, "get_num_threads", lambda: 2)
    monkeypatch.setattr(_threads, "available_cores", lambda: 2)
    np.testing.assert_array_equal(dense_similarity(rows, "float64"), full)
    for cut in (1, 7, 64, 299):
        r, c = np.arange(cut), np.arange(cut, 300)
        np.testing.assert_array_equal(similarity(rows.take(r), rows.take(c)), full[:cut, cut:])
        np.testing.assert_array_equal(similarity(rows.take(c), rows.take(r)), full[cut:, :cut])


def test_float32_storage_keeps_order_and_ties():
    rows = pairing_rows(_spikes(256, 300, 4))
    c64 = dense_similarity(rows, "float64")
    c32 = dense_similarity(rows, "float32")
    iu = np.triu_indices(256, 1)
    a, b = c64[iu], c32[iu].astype(np.float64)
    order = np.argsort(a, kind="stable")
    assert np.all(np.diff(b[order]) >= 0)  # order kept
    assert np.unique(a).size == np.unique(b).size  # ties kept, none created


def test_paths_chosen_by_the_values():
    assert pairing_rows(np.array([[0, 1, 2.0], [1, 0, 1]])).exact
    assert not pairing_rows(np.array([[0, 1, 2.5], [1, 0, 1]])).exact
    assert exact_product_dtype(True, 1.0, 10_000) == "float32"
    assert exact_product_dtype(True, 100.0, 10_000) == "float64"  # 1e8 > 2^24
    assert exact_product_dtype(True, 1e6, 10_000) is None  # T * G would pass 2^53
    assert exact_product_dtype(False, 1.0, 10) is None


_CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np, xarray as xr
    from rgdata.coarse import prg
    x = np.load(sys.argv[1])
    act = xr.DataArray(x, dims=("unit", "time"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = prg(act, n_levels=4, n_blocks=2, random_state=0, normalization="variance")
    print(json.dumps(res.membership.values.tolist()))
    """
)


def _openblas_x86() -> bool:
    libs = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    return bool(libs) and platform.machine() in ("x86_64", "AMD64")


@pytest.mark.skipif(not _openblas_x86(), reason="needs OpenBLAS on x86-64 to force a kernel")
@pytest.mark.parametrize("core", ["Haswell", "Sandybridge"])
def test_prg_clusters_do_not_depend_on_the_blas_kernel(core, tmp_path):
    # 512 tied binary units: float32 products rounded to 6 decimals gave other clusters
    # under the Haswell kernel than under SkylakeX (4 units at the first coarse level)
    path = tmp_path / "x.npy"
    np.save(path, _spikes(512, 300, 1))
    out = {}
    for name, env in (("default", {}), (core, {"OPENBLAS_CORETYPE": core})):
        run = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path)],
            env={**os.environ, **env},
            cwd=Path(__file__).resolve().parents[2],  # this checkout's rgdata
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        out[name] = np.array(json.loads(run.stdout))
    np.testing.assert_array_equal(out[core], out["default"])


@pytest.mark.parametrize("n_rows", [1, 2, 256, 257, 600])
def test_a_non_integer_anywhere_leaves_the_integer_path(n_rows):
    x = np.ones((n_rows, 7), dtype=np.float32)
    assert pairing_rows(x + np.arange(7)).exact
    for row in {0, min(1, n_rows - 1), n_rows // 2, n_rows - 1}:
        y = x.copy()
        y[row, 4] = 0.5
        assert not pairing_rows(y).exact
