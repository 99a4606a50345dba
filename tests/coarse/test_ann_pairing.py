"""The approximate pairing mode (issue #21, item 4): ANN candidates, quality measured, warned."""

from __future__ import annotations

import multiprocessing
import sys
import warnings

import numpy as np
import pytest

from rgdata import as_activity
from rgdata.coarse import _ann, prg
from rgdata.coarse._ann import (
    APPROX_OPTIONS,
    ann_pairing_bytes,
    ann_pairs,
    edge_similarity,
    pairing_quality,
    unit_vectors,
)
from rgdata.coarse._memory import PeakProbe, prg_peak_bytes
from rgdata.coarse._prg_pairing import greedy_pairs
from rgdata.coarse._prg_similarity import dense_similarity, pairing_rows
from rgdata.coarse.distributed import pair_units

from .test_sparse_pairing import FLOAT32_ESTIMATE

pytest.importorskip("pynndescent")


def planted_pairs(n: int, t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Units generated in correlated pairs (shared source + noise), in shuffled positions.

    Within a pair the correlation is ~0.8; across pairs ~0 +- 1/sqrt(T), so the
    exact greedy pairing is the planted one (checked against the plan itself).
    """
    rng = np.random.default_rng(seed)
    src = rng.standard_normal((n // 2, t))
    perm = rng.permutation(n)
    x = np.empty((n, t))
    x[perm[0::2]] = src + 0.5 * rng.standard_normal((n // 2, t))
    x[perm[1::2]] = src + 0.5 * rng.standard_normal((n // 2, t))
    plan = np.sort(np.stack([perm[0::2], perm[1::2]], axis=1), axis=1)
    return x, plan


def as_set(pairs: np.ndarray) -> set:
    return {tuple(p) for p in np.sort(pairs, axis=1).tolist()}


def brute_force_check(x: np.ndarray, pairs: np.ndarray) -> tuple[float, float]:
    """Every pair, in order, against all units: the greedy-choice share and the loss.

    Written from the definition with numpy's own correlations (rounded to
    the pairing's 6 decimals, ties to the smaller partner): a pair was the
    greedy choice when neither unit had a better partner still free.
    """
    corr = np.round(np.corrcoef(x), 6)
    m = len(x)
    step = np.full(m, len(pairs))
    for s, (a, b) in enumerate(pairs):
        step[a] = step[b] = s
    good, got, best = 0, 0.0, 0.0
    for s, (a, b) in enumerate(pairs):
        ok, top = True, corr[a, b]
        for u, partner in ((a, b), (b, a)):
            free = [w for w in range(m) if step[w] >= s and w != u]
            winner = max(free, key=lambda w: (corr[u, w], -w))
            ok &= winner == partner
            top = max(top, corr[u, winner])
        good += ok
        got += corr[a, b]
        best += top
    return good / len(pairs), 1 - got / best


@pytest.mark.parametrize("integer", [True, False])
def test_edge_values_are_the_dense_paths(integer, rng):
    x = (rng.random((60, 300)) < 0.2).astype(np.int8) if integer else rng.standard_normal((60, 300))
    rows = pairing_rows(x)
    assert rows.exact is integer
    corr = dense_similarity(rows, "float64")
    i, j = np.triu_indices(60, 1)
    np.testing.assert_array_equal(edge_similarity(rows, i, j), corr[i, j])
    u = unit_vectors(rows).astype(np.float64)  # dot products are the correlations
    np.testing.assert_allclose(u @ u.T, np.corrcoef(x), atol=1e-6)


def test_planted_pairs_recovered_exactly():
    x, plan = planted_pairs(600, 300)
    rows = pairing_rows(x)
    assert as_set(greedy_pairs(dense_similarity(rows, "float64"))) == as_set(plan)
    got = ann_pairs(rows, 8, random_state=0)
    assert as_set(got) == as_set(plan)
    # a sample of 50 pairs checked against all 600 units (a subsample paired again would
    # lose most planted partners and report far worse than the run)
    q = pairing_quality(rows, got, random_state=0, n_sample=100)
    assert q == {"identical_fraction": 1.0, "correlation_loss": 0.0, "n_sample": 100.0}


@pytest.mark.parametrize("integer", [True, False])
def test_quality_is_the_brute_force_check(integer, rng):
    # few candidates on data without structure: the search misses some best partners
    if integer:  # sparse spikes: many tied correlations (the exact integer path)
        x = (rng.random((300, 200)) < 0.1).astype(np.int8)
    else:
        x = rng.standard_normal((300, 200))
    rows = pairing_rows(x)
    approx = ann_pairs(rows, 4, random_state=3)
    q = pairing_quality(rows, approx, random_state=3, n_sample=10_000)  # every pair
    fraction, loss = brute_force_check(x, approx)
    assert q["identical_fraction"] == fraction < 0.9
    assert q["correlation_loss"] == pytest.approx(loss, abs=1e-9) and loss > 0
    assert q["n_sample"] == 300
    exact = greedy_pairs(dense_similarity(rows, "float64"))
    # the criterion's premise: the exact greedy pairing passes in every pair
    assert pairing_quality(rows, exact, n_sample=10_000)["identical_fraction"] == 1.0
    assert brute_force_check(x, exact) == (1.0, 0.0)


def test_quality_sample_is_seeded(rng):
    rows = pairing_rows(rng.standard_normal((700, 200)))
    approx = ann_pairs(rows, 4, random_state=5)
    a = pairing_quality(rows, approx, random_state=5, n_sample=300)
    assert a == pairing_quality(rows, approx, random_state=5, n_sample=300)
    assert a["n_sample"] == 300
    # a sample estimates the full check: within 4 binomial standard errors of it
    full = pairing_quality(rows, approx, n_sample=10_000)["identical_fraction"]
    se = np.sqrt(full * (1 - full) / 150)
    assert abs(a["identical_fraction"] - full) < 4 * se + 1e-12


def test_prg_approximate_recovers_planted_pairs_and_records_quality():
    x, plan = planted_pairs(512, 400, seed=1)
    act = as_activity(x, kind="returns")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no quality warning on planted pairs
        res = prg(act, 2, pairing="approximate", random_state=0, observables="variance")
    first = res["membership"].sel(level=1).values
    formed = {tuple(np.flatnonzero(first == c)) for c in range(256)}
    assert formed == as_set(plan)
    frac = res["pairing_identical_fraction"].values
    assert frac[0] == 1.0 and res["pairing_correlation_loss"].values[0] == 0.0
    assert res["pairing_quality_units"].values[0] == 512  # all 256 pairs checked
    # level 1 has 256 variables: paired exactly (NaN: no estimate); nothing after the last level
    assert np.isnan(frac[1:]).all()
    assert res.attrs["random_state"] == 0
    again = prg(act, 2, pairing="approximate", random_state=0, observables="variance")
    assert res.identical(again)


def test_prg_warns_and_records_on_unstructured_data(rng, monkeypatch):
    # few candidates per unit on data without structure: the search misses many best partners
    monkeypatch.setitem(APPROX_OPTIONS, "k", 4)
    act = as_activity(rng.standard_normal((512, 300)), kind="returns")
    with pytest.warns(UserWarning, match="approximate pairing differs from the exact"):
        res = prg(act, 1, pairing="approximate", random_state=0, observables="variance")
    assert res["pairing_identical_fraction"].values[0] < 0.9
    exact = prg(act, 1, observables="variance")
    assert "pairing_identical_fraction" not in exact  # only the approximate mode has it


def test_pair_units_approximate(rng):
    x, plan = planted_pairs(400, 300, seed=2)
    stats: dict = {}
    got = pair_units(x, k=8, approximate=True, random_state=0, stats=stats)
    assert as_set(got) == as_set(plan)
    assert stats["identical_fraction"] == 1.0 and stats["n_sample"] == 400
    with pytest.warns(UserWarning, match="were the exact greedy choice"):
        pair_units(rng.standard_normal((400, 300)), k=8, approximate=True, random_state=0)


def test_bad_input():
    x, _ = planted_pairs(300, 100)
    rows = pairing_rows(x)
    with pytest.raises(ValueError, match="k=300 is larger than the 299"):
        ann_pairs(rows, 300)
    with pytest.raises(ValueError, match="k=500 is larger"):
        pair_units(x, k=500, approximate=True)
    act = as_activity(x, kind="returns")
    with pytest.raises(ValueError, match="pairing='approximate'.*require_exact=True"):
        prg(act, pairing="approximate", require_exact=True)
    with pytest.raises(ValueError, match="require_exact=True"):
        pair_units(x, approximate=True, require_exact=True)
    with pytest.raises(TypeError, match="require_exact must be a bool, got"):
        prg(act, require_exact="yes")
    with pytest.raises(TypeError, match="approximate must be a bool"):
        pair_units(x, approximate="ann")


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynndescent", None)  # import fails
    x, _ = planted_pairs(300, 100)
    with pytest.raises(ImportError, match=r"rgdata\[ann\]"):
        prg(as_activity(x, kind="returns"), pairing="approximate")
    with pytest.raises(ImportError, match=r"rgdata\[ann\]"):
        pair_units(x, approximate=True)
    with pytest.raises(ImportError, match=r"rgdata\[ann\]"):
        ann_pairs(pairing_rows(x), 8)


def test_memory_estimate_counts_the_nn_descent_vectors():
    """prg's estimate holds NN-descent's float32 vectors, not a correlation matrix."""
    n, t = 50_000, 10_000
    approx = prg_peak_bytes(n, t, t, approximate=True, **FLOAT32_ESTIMATE)
    y = n * t * 4  # the normalized variables (float32), held throughout
    pairing = y + n * t * 8 + ann_pairing_bytes(n, t)  # + float64 z-scores, NN-descent
    assert ann_pairing_bytes(n, t) >= 4 * n * t  # its float32 unit vectors
    # the pairing stage is the peak, with no N x N matrix (10 GB at float32) in it
    assert 1.1 * (y + pairing) <= approx < 1.1 * (y + pairing) + 2**24


def test_prg_refuses_an_approximate_pairing_that_does_not_fit(monkeypatch):
    x, _ = planted_pairs(600, 200)
    act = as_activity(x, kind="returns")
    monkeypatch.setattr(_ann, "ANN_FIXED_BYTES", 2**50)
    with pytest.raises(MemoryError, match="prg on 600 units"):
        prg(act, 1, pairing="approximate", random_state=0, observables="variance")
    prg(act, 1, random_state=0, observables="variance")  # the exact pairing fits


def _ann_rss_child(n: int, t: int, conn) -> None:
    rng = np.random.default_rng(0)
    y = rng.standard_normal((n, t)).astype(np.float32)
    ann_pairs(pairing_rows(y[:300, :50]), 8, random_state=0)  # compile first (not counted)
    rows = pairing_rows(y)
    probe = PeakProbe()
    ann_pairs(rows, APPROX_OPTIONS["k"], random_state=0)
    conn.send(probe.grown())
    conn.close()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_measured_peak_of_an_approximate_step_is_within_the_estimate():
    """Peak RSS growth of ann_pairs in a fresh process <= ann_pairing_bytes (8,192 x 1,000).

    The peak is reset just before the call (:class:`PeakProbe`), so what the process
    held earlier (imports, compilation, its parent's peak) is not counted.
    """
    n, t = 8192, 1000
    ctx = multiprocessing.get_context("spawn")  # not forked: GNU OpenMP does not survive it
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_ann_rss_child, args=(n, t, send))
    proc.start()
    send.close()
    grown = recv.recv()
    proc.join()
    assert 0 < grown <= ann_pairing_bytes(n, t)
