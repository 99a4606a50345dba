"""prg(pairing="approximate") on a dask-backed activity: lazy, seeded, measured (issue #21, 4)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

da = pytest.importorskip("dask.array")
pytest.importorskip("pynndescent")

import rgdata  # noqa: E402
from rgdata.coarse import _ann, _ann_dask, _prg_lazy_input, prg  # noqa: E402
from rgdata.coarse._ann import APPROX_OPTIONS  # noqa: E402
from rgdata.coarse._ann_dask import (  # noqa: E402
    dask_sketch_pairs,
    guided_block,
    sketch_candidates,
    sketch_dim,
    sketch_matrix,
    sketch_pairing_bytes,
)
from rgdata.coarse._greedy_sparse import sparse_greedy_pairs  # noqa: E402
from rgdata.coarse._prg_similarity import pairing_rows, similarity  # noqa: E402
from rgdata.coarse.distributed import pair_units  # noqa: E402
from rgdata.coarse.planted import planted_tree  # noqa: E402
from rgdata.diagnostics import fit_exponent  # noqa: E402

from .test_ann_pairing import as_set, brute_force_check, planted_pairs  # noqa: E402
from .test_planted import assert_planted_clusters  # noqa: E402

_QUALITY = ("pairing_identical_fraction", "pairing_correlation_loss", "pairing_quality_units")


class CountingStore:
    """A (unit, time) array read through slicing only: records every read, refuses conversion."""

    def __init__(self, x: np.ndarray):
        self.x = x
        self.shape, self.dtype, self.ndim = x.shape, x.dtype, x.ndim
        self.reads: list[int] = []

    def __getitem__(self, key):
        out = self.x[key]
        self.reads.append(out.size)
        return out

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole store was converted to an array")


def lazy_of(act: xr.DataArray, chunks) -> xr.DataArray:
    return act.copy(data=da.from_array(act.values, chunks=chunks))


def counted(act: xr.DataArray, chunks) -> tuple[xr.DataArray, CountingStore]:
    """*act* backed by a :class:`CountingStore`, and the store."""
    store = CountingStore(act.values)
    return act.copy(data=da.from_array(store, chunks=chunks)), store


def partitions(res: xr.Dataset) -> list[set]:
    """The clusters of every level as sets of unit positions (cluster numbering dropped)."""
    out = []
    for m in res["membership"].values:
        order = np.argsort(m, kind="stable")
        cuts = np.flatnonzero(np.diff(m[order])) + 1
        out.append({tuple(g) for g in np.split(order, cuts) if m[g[0]] >= 0})
    return out


def test_planted_tree_lazy_matches_in_memory_and_the_truth(monkeypatch):
    """1,024 planted units: both approximate paths find every planted cluster; CI covers 1.4.

    Levels 0 (1,024 variables) and 1 (512) are approximate. The two paths search
    different vectors (all T samples, or a 256-dimensional projection), so their
    level-0 quality numbers are separate checks; both must be 1.0 (every pair
    the exact greedy choice when formed). Where the partitions coincide, every
    statistic must be the in-memory one (the same kernels on the same clusters;
    only the cluster numbering may differ, which changes the order of the means).
    """
    monkeypatch.setattr(da.Array, "__array__", _refuse)
    act, truth = planted_tree(10, 2000, autocorrelation=0.5, random_state=3)
    kw = {"pairing": "approximate", "random_state": 0, "observables": ("variance",)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no quality warning on a planted tree
        got = prg(lazy_of(act, (100, -1)), 8, **kw)
        want = prg(act, 8, **kw)
    assert "kept lazy" in got.attrs["input_storage"]
    assert "random projection" in got.attrs["input_storage"]
    assert want.attrs["input_storage"] == "memory"
    for res in (got, want):
        assert_planted_clusters(res, truth, 8)  # the truth, not another pairing
        frac = res["pairing_identical_fraction"].values
        np.testing.assert_array_equal(frac[:2], [1.0, 1.0])
        np.testing.assert_array_equal(res["pairing_correlation_loss"].values[:2], [0.0, 0.0])
        np.testing.assert_array_equal(res["pairing_quality_units"].values[:2], [1024, 512])
        assert np.isnan(frac[2:]).all()  # 256 variables and fewer: paired exactly
    assert partitions(got) == partitions(want)
    for name in ("variance", "variance_blocks", "n_clusters", "n_left_out", "tau_c"):
        np.testing.assert_allclose(got[name].values, want[name].values, rtol=1e-12)
    fit = fit_exponent(got, "variance")
    lv = np.flatnonzero(fit["level_in_fit"].values)
    k = truth["cluster_size"].values[lv]
    slope = np.polyfit(np.log(k), np.log(truth["variance"].values[lv]), 1)[0]
    assert slope == pytest.approx(1.4)
    assert float(fit["ci_low"]) < slope < float(fit["ci_high"])


def _refuse(*args, **kwargs):
    raise AssertionError("the whole dask array was converted")


def test_input_is_read_in_chunks_never_whole(monkeypatch):
    """Every read of the store returns at most one chunk; nothing converts the whole array."""
    monkeypatch.setattr(da.Array, "__array__", _refuse)
    x, plan = planted_pairs(600, 300, seed=4)
    act = rgdata.as_activity(x.astype(np.float32), kind="calcium")
    lazy, store = counted(act, (64, -1))
    res = prg(lazy, 1, pairing="approximate", random_state=1, observables=("variance",))
    formed = partitions(res)[1]
    assert formed == as_set(plan)  # the planted pairs (checked against the plan)
    reads = [r for r in store.reads if r]
    assert reads and max(reads) <= 64 * 300 < x.size


def test_seeded_and_the_same_for_any_chunking(monkeypatch):
    """Few candidates on unstructured data: the pairs depend on the seed, never on the chunks."""
    monkeypatch.setitem(APPROX_OPTIONS, "k", 4)
    rng = np.random.default_rng(0)
    act = rgdata.as_activity(rng.standard_normal((400, 300)).astype(np.float32), kind="calcium")
    kw = {"pairing": "approximate", "observables": ("variance",)}
    with pytest.warns(UserWarning, match="approximate pairing differs"):
        first = prg(lazy_of(act, (37, -1)), 1, random_state=5, **kw)
    for chunks in [(100, 150), (400, -1), (37, -1)]:
        with pytest.warns(UserWarning, match="approximate pairing differs"):
            again = prg(lazy_of(act, chunks), 1, random_state=5, **kw)
        again.attrs["input_storage"] = first.attrs["input_storage"]  # names the chunks
        xr.testing.assert_identical(again, first)
    with pytest.warns(UserWarning, match="approximate pairing differs"):
        other = prg(lazy_of(act, (37, -1)), 1, random_state=6, **kw)
    assert partitions(other)[1] != partitions(first)[1]  # the seed is used
    assert first["pairing_identical_fraction"].values[0] < 0.9


def test_pairs_replay_in_memory_and_quality_is_the_brute_force_check():
    """The pairs are the method's, replayed in memory; the quality is recomputed independently.

    The random state is consumed as documented (the projection's seed, then
    the sampled pairs), so the run is replayed from the projection of that
    seed: the same candidates, exact values and guided refills give the same
    pairs; every pair checked (``n_sample`` above the units) gives the
    brute-force check of :func:`brute_force_check` exactly.
    """
    rng = np.random.default_rng(1)
    x = rng.standard_normal((400, 300))
    stats: dict = {}
    pairs, q = dask_sketch_pairs(
        da.from_array(x, chunks=(90, -1)),
        k=4,
        block_size=128,
        rng=np.random.default_rng(9),
        exact=None,
        stats=stats,
        n_sample=10_000,
    )
    seed = int(np.random.default_rng(9).integers(2**31 - 1))  # the projection's seed
    rows = pairing_rows(x, None)
    u = _ann.unit_vectors(rows).astype(np.float64)
    vectors = (u @ sketch_matrix(300, sketch_dim(300), seed)).astype(np.float32)
    lo, hi = sketch_candidates(vectors, 4, 64)
    cand = _ann.candidate_lists(400, lo, hi, _ann.edge_similarity(rows, lo, hi))

    def score(r, c):
        return similarity(rows.take(r), rows.take(c))

    replay = sparse_greedy_pairs(guided_block(score, vectors, 4), 400, k=4, candidates=cand)
    np.testing.assert_array_equal(replay, pairs)
    assert stats["sketch_dim"] == 300 and stats["k"] == 4 and stats["n_edges"] >= 400 * 4 // 2
    fraction, loss = brute_force_check(x, pairs)
    assert q["identical_fraction"] == fraction < 0.9
    assert q["correlation_loss"] == pytest.approx(loss, abs=1e-9)
    assert q["n_sample"] == 400
    assert np.array_equal(np.sort(pairs.ravel()), np.arange(400))
    # a sample of the pairs, checked with a 2-block scan, is the in-memory check of that sample
    _, part = dask_sketch_pairs(
        da.from_array(x, chunks=(90, -1)), k=4, block_size=256,
        rng=np.random.default_rng(9), exact=None, n_sample=120,
    )  # fmt: skip
    again = np.random.default_rng(9)
    again.integers(2**31 - 1)
    assert part == _ann.pairing_quality(rows, pairs, again, n_sample=120)


def test_sketch_candidates_are_the_sketch_top_k():
    """The candidates are each unit's k best partners in the sketch (brute force here)."""
    rng = np.random.default_rng(3)
    v = rng.standard_normal((300, 40)).astype(np.float32)
    lo, hi = sketch_candidates(v, 5, 64)
    corr = np.corrcoef(v.astype(np.float64))
    np.fill_diagonal(corr, -np.inf)
    want = set()
    for i in range(300):
        for j in np.argsort(-corr[i], kind="stable")[:5]:
            want.add((min(i, j), max(i, j)))
    assert set(zip(lo.tolist(), hi.tolist(), strict=True)) == want


def test_sketch_distances_follow_johnson_lindenstrauss():
    """Squared sketch distances estimate 2 - 2 r with relative spread sqrt(2 / d)."""
    rng = np.random.default_rng(2)
    x = rng.standard_normal((300, 2000))
    x[150:] = x[:150] + rng.standard_normal((150, 2000))  # r = 1/sqrt(2) between partners
    rows = pairing_rows(x, None)
    u = _ann.unit_vectors(rows).astype(np.float64)
    d = sketch_dim(2000)
    v = u @ sketch_matrix(2000, d, 0)
    want = ((u[:150] - u[150:]) ** 2).sum(axis=1)
    got = ((v[:150] - v[150:]) ** 2).sum(axis=1)
    rel = got / want - 1
    se = np.sqrt(2 / d)  # chi-square with d degrees of freedom, over d
    assert abs(rel.mean()) < 4 * se / np.sqrt(150)
    assert 0.8 * se < rel.std() < 1.2 * se


def test_pair_units_approximate_on_dask_stays_lazy(monkeypatch):
    monkeypatch.setattr(da.Array, "__array__", _refuse)
    x, plan = planted_pairs(400, 300, seed=2)
    stats: dict = {}
    got = pair_units(
        da.from_array(x, chunks=(50, -1)),
        k=8,
        block_size=128,
        approximate=True,
        random_state=0,
        stats=stats,
    )
    assert as_set(got) == as_set(plan)
    assert stats["identical_fraction"] == 1.0 and stats["sketch_dim"] == 300


def test_require_exact_is_refused_before_reading():
    x, _ = planted_pairs(300, 100)
    lazy, store = counted(rgdata.as_activity(x, kind="returns"), (50, -1))
    with pytest.raises(ValueError, match="pairing='approximate'.*require_exact=True"):
        prg(lazy, pairing="approximate", require_exact=True)
    assert not any(store.reads)
    with pytest.raises(ValueError, match="require_exact=True"):
        pair_units(lazy.data, approximate=True, require_exact=True)


def test_memory_check_counts_the_sketch(monkeypatch):
    x, _ = planted_pairs(600, 200)
    lazy = lazy_of(rgdata.as_activity(x, kind="returns"), (100, -1))
    seen = {}
    real = _prg_lazy_input.lazy_peak_bytes

    def record(data, opts, *args):
        seen[opts.pairing] = real(data, opts, *args)
        return seen[opts.pairing]

    monkeypatch.setattr(_prg_lazy_input, "lazy_peak_bytes", record)
    kw = {"random_state": 0, "observables": ("variance",)}
    prg(lazy, 1, **kw)
    prg(lazy, 1, pairing="approximate", **kw)
    assert seen["approximate"] - seen["correlation"] >= sketch_pairing_bytes(600, 200)
    monkeypatch.setattr(_ann_dask, "sketch_pairing_bytes", lambda *a, **k: 2**50)
    with pytest.raises(MemoryError, match="dask-backed activity of 600 units"):
        prg(lazy, 1, pairing="approximate", **kw)
