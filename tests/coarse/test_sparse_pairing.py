"""Exact sparse greedy pairing (top-k candidates + lazy refill) equals the dense path."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from rgdata.coarse import _prg_sparse, prg
from rgdata.coarse._greedy_sparse import sparse_greedy_pairs
from rgdata.coarse._prg_pairing import greedy_pairs
from rgdata.coarse._topk import topk_candidates

from .test_prg_pairing import binary_corr, brute_force_greedy


def _block(corr):
    return lambda r, c: corr[np.ix_(r, c)]


@pytest.mark.parametrize("n", [2, 3, 5, 8, 11])
@pytest.mark.parametrize("k", [1, 2])
def test_matches_brute_force_on_tiny_tied_matrices(n, k, rng):
    for _ in range(5):
        corr = binary_corr(rng, n, 20, 0.3)
        got = sparse_greedy_pairs(_block(corr), n, k=min(k, n - 1), block_size=3)
        np.testing.assert_array_equal(got, brute_force_greedy(corr))


@pytest.mark.parametrize(("k", "block_size"), [(1, 97), (4, 1000), (64, 4096)])
def test_identical_to_dense_at_4096_binary_with_ties(k, block_size):
    corr = binary_corr(np.random.default_rng(7), 4096, 300, 0.03)
    assert np.unique(corr).size < corr.size // 100  # many exact ties
    stats = {}
    got = sparse_greedy_pairs(_block(corr), 4096, k=k, block_size=block_size, stats=stats)
    np.testing.assert_array_equal(got, greedy_pairs(corr))
    if k == 1:
        assert stats["n_refills"] > 0  # the lazy refill was exercised


def test_identical_to_dense_continuous():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1500, 80)) + 0.4 * rng.standard_normal((1, 80))
    corr = np.corrcoef(x)
    got = sparse_greedy_pairs(_block(corr), 1500, k=3, block_size=250)
    np.testing.assert_array_equal(got, greedy_pairs(corr))


def test_topk_is_first_k_of_each_row_in_greedy_order(rng):
    corr = binary_corr(rng, 40, 30, 0.2)
    idx, val = topk_candidates(_block(corr), 40, 5, block_size=7)
    for i in range(40):
        j = np.array([j for j in range(40) if j != i])
        order = np.lexsort((j, -corr[i, j]))[:5]
        np.testing.assert_array_equal(idx[i], j[order])
        np.testing.assert_array_equal(val[i], corr[i, j[order]])


@pytest.mark.parametrize("k", [0, 10, 2.5, True])
def test_bad_k_raises_naming_it(k):
    corr = np.eye(10)
    with pytest.raises((TypeError, ValueError), match="k"):
        sparse_greedy_pairs(_block(corr), 10, k=k)


def _spikes(n, t, seed):
    rng = np.random.default_rng(seed)
    drive = rng.random((n // 8, t)) < 0.05
    x = (rng.random((n, t)) < 0.02) | drive[np.arange(n) % (n // 8)] & (rng.random((n, t)) < 0.5)
    return xr.DataArray(x.astype(np.float32), dims=("unit", "time"))


@pytest.mark.filterwarnings("ignore:prg. n_blocks")
@pytest.mark.parametrize("kind", ["binary", "continuous"])
def test_prg_levels_identical_to_dense_at_4096(kind, monkeypatch):
    act = _spikes(4096, 300, 1)
    if kind == "continuous":
        act = act + xr.DataArray(
            np.random.default_rng(2).standard_normal(act.shape).astype(np.float32) * 0.3,
            dims=act.dims,
        )
    kw = dict(n_levels=4, n_blocks=2, random_state=0, normalization="variance")
    dense = prg(act, **kw)
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "dense_max_bytes", 0)
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "k", 16)
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "block_size", 700)
    calls = []
    real = _prg_sparse.sparse_greedy_pairs
    monkeypatch.setattr(
        _prg_sparse, "sparse_greedy_pairs", lambda *a, **k: calls.append(a[1]) or real(*a, **k)
    )
    sparse = prg(act, **kw)
    assert calls == [4096, 2048, 1024, 512]  # every step took the sparse path
    # the memory estimate differs by design (candidate lists instead of the matrix)
    assert sparse.attrs.pop("peak_memory_estimate_gib") < dense.attrs.pop(
        "peak_memory_estimate_gib"
    )
    xr.testing.assert_identical(sparse, dense)
    assert np.unique(dense.membership.sel(level=1)).size == 2048


#: prg_peak_bytes' arguments for float32 input, variables and sums, in place
FLOAT32_ESTIMATE = dict(
    input_itemsize=4, copies_input=False, corr_itemsize=4, sum_itemsize=4, max_eigen_size=256
)


def test_memory_estimate_drops_the_dense_matrix_on_the_sparse_path(monkeypatch):
    from rgdata.coarse._memory import prg_peak_bytes

    kw = {**FLOAT32_ESTIMATE, "max_eigen_size": 64}
    n, t = 200_000, 1000
    dense_matrix = n * n * 4
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "dense_max_bytes", float("inf"))
    assert prg_peak_bytes(n, t, t, **kw) > dense_matrix
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "dense_max_bytes", 0)
    sparse = prg_peak_bytes(n, t, t, **kw)
    assert sparse < dense_matrix / 20
    assert sparse > 2 * n * t * 4  # still counts the variables and their standardized copy


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:prg. n_blocks")
def test_prg_identical_to_dense_at_10000(monkeypatch):
    act = _spikes(10_000, 500, 11)
    kw = dict(n_levels=3, n_blocks=2, random_state=0)
    dense = prg(act, **kw)
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "dense_max_bytes", 0)
    sparse = prg(act, **kw)
    # the memory estimate differs by design (candidate lists instead of the matrix)
    assert sparse.attrs.pop("peak_memory_estimate_gib") < dense.attrs.pop(
        "peak_memory_estimate_gib"
    )
    xr.testing.assert_identical(sparse, dense)


def test_switch_follows_available_memory(monkeypatch):
    monkeypatch.setattr(
        _prg_sparse, "available_memory", lambda: 4 * 2000**2 * 4
    )  # the dense matrix may take a quarter
    assert _prg_sparse.use_sparse(2001, "float32")
    assert not _prg_sparse.use_sparse(1999, "float32")
    monkeypatch.setattr(_prg_sparse, "available_memory", lambda: None)
    assert not _prg_sparse.use_sparse(10**6, "float32")


def test_switch_counts_the_float64_product_and_its_float32_copy(monkeypatch):
    """The dense path on float64 products holds 8 + 4 bytes per entry, not the stored 4.

    Before, the switch counted 4 m^2 bytes: 53,248 continuous units went dense at
    the second level (26,624 variables: 8.5 GB at the peak on a 16 GB budget).
    """
    monkeypatch.setattr(_prg_sparse, "available_memory", lambda: 4 * 2000**2 * 12)
    assert not _prg_sparse.use_sparse(1999, "float32", 8)
    assert _prg_sparse.use_sparse(2001, "float32", 8)
    assert not _prg_sparse.use_sparse(3400, "float32", 4)  # exact float32 products: 4 m^2
    assert not _prg_sparse.use_sparse(1999, "float64", 8)  # stored as computed: no copy
    assert _prg_sparse.use_sparse(2500, "float64", 8)


def test_the_switch_and_the_pairing_share_one_exact_decision():
    """resolve_exact decides the product dtype that both the switch and pairing_rows use."""
    from rgdata.coarse._prg_similarity import pairing_rows, resolve_exact

    spikes = np.zeros((4, 100), dtype=np.int8)
    spikes[:, ::3] = 1
    assert resolve_exact(spikes) == "float32"
    assert resolve_exact(spikes.astype(float)) == "float32"  # integer-valued floats: exact
    assert resolve_exact(spikes + 0.5) is None
    assert resolve_exact(spikes, None) is None
    assert resolve_exact(spikes, "float64") == "float64"
    big = np.full((2, 100), 10**6, dtype=np.int64)
    assert resolve_exact(big) is None  # sums beyond 2^53: the float64 path
    for x in (spikes, spikes.astype(float), spikes + 0.5, big):
        assert pairing_rows(x).exact == (resolve_exact(x) is not None)
