"""Sparse moment sums of all-pairs statistics, and the response matrix built from them,
against dense products written from the definitions."""

import numpy as np
import pytest

from rgdata.maxent import _hierarchy_mc_errors as me
from rgdata.maxent import block_tree, check_tree
from rgdata.maxent._hierarchy_mc import PairTree, exact_tree_probabilities
from rgdata.maxent._moment_sums import active_statistics, mirror_upper, moment_sums, pair_index


def dense_statistics(x):
    """Means, then the pair products in upper-triangle order: ``(S, P)``."""
    n = x.shape[1]
    iu = np.triu_indices(n, 1)
    xf = x.astype(float)
    return np.concatenate([xf, xf[:, iu[0]] * xf[:, iu[1]]], axis=1)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5, 1.0])
def test_moment_sums_equal_dense_products(rate):
    rng = np.random.default_rng(int(rate * 10))
    n, s, m = 11, 400, 5
    x = (rng.random((s, n)) < rate).astype(np.int8)
    w = rng.random(s)
    phi = rng.normal(size=(s, m))
    p = n + n * (n - 1) // 2
    sums = (np.zeros(p), np.zeros((p, p)), np.zeros((p, m)))
    for lo in (0, 150):  # two chunks add up
        hi = 150 if lo == 0 else s
        ptr, idx = active_statistics(x[lo:hi])
        moment_sums(ptr, idx, w[lo:hi], phi[lo:hi], sums)
    f = dense_statistics(x)
    assert np.allclose(sums[0], w @ f, rtol=0, atol=1e-12)
    assert np.allclose(mirror_upper(sums[1]), (f * w[:, None]).T @ f, rtol=0, atol=1e-11)
    assert np.allclose(sums[2], (f * w[:, None]).T @ phi, rtol=0, atol=1e-11)


def test_active_statistics_index_the_dense_vector():
    rng = np.random.default_rng(3)
    x = (rng.random((50, 300)) < 0.05).astype(np.int8)
    ptr, idx = active_statistics(x)
    f = dense_statistics(x)
    for s in range(x.shape[0]):
        assert idx[ptr[s] : ptr[s + 1]].tolist() == np.flatnonzero(f[s]).tolist()
    a, b = np.triu_indices(300, 1)
    assert np.array_equal(pair_index(a, b, 300), 300 + np.arange(a.size))


def dense_response(pt, beta, cum, x, w):
    """The response matrix from dense statistics and a dense tree map ``B`` (the definition)."""
    n = pt.n
    f = dense_statistics(x)
    n_tree = len(pt.count_tree.labels)
    ok = pt._ok
    b = np.zeros((n_tree, f.shape[1]))
    b[np.arange(n), np.arange(n)] = 1.0
    b[pt.pair_label[ok], n + np.flatnonzero(ok)] = 1.0 / pt._block[pt.pair_label[ok]]
    cum_t = pt.tree_weights(cum)
    level_w = cum_t[pt.pair_level[ok] - 1]
    y = np.zeros((f.shape[1], n_tree))
    y[n + np.flatnonzero(ok), pt.pair_label[ok]] = 1.0 / cum_t[0] - 1.0 / level_w
    phi = f @ y
    counts = pt.counts(x)
    groups, g_ptr, g_ts, table = me._potential_derivatives(pt, beta, cum)
    for g, (lev, v) in enumerate(groups):
        for k in range(g_ptr[g], g_ptr[g + 1]):
            phi[:, g_ts[k]] += table[counts[lev][:, v], k]
    ef, ephi = w @ f, w @ phi
    cov_ff = (f * w[:, None]).T @ f - np.outer(ef, ef)
    cov_fphi = (f * w[:, None]).T @ phi - np.outer(ef, ephi)
    return -cov_ff / cum_t[0] + cov_fphi @ b


@pytest.mark.parametrize("weights", [[1.0, 0.5, 0.5, 0.5], [1.0, 2.0, 4.0, 8.0], [1, 0, 0, 0]])
def test_response_matrix_equals_the_dense_definition(weights):
    """18 units on a block tree (18 -> 6 -> 2 -> the root): samples and enumeration."""
    n = 18
    tree = check_tree(block_tree((n,), 3, 3), n)
    pt = PairTree(tree.maps)
    rng = np.random.default_rng(7)
    beta = rng.normal(0.0, 0.5, n + n * (n - 1) // 2)
    beta[:n] += 2.0
    cum = np.cumsum(weights)[: len(tree.maps) + 1]
    x = (rng.random((3_000, n)) < 0.2).astype(np.int8)
    w = np.full(x.shape[0], 1.0 / x.shape[0])
    ours = me.response_matrix(pt, beta, cum, x)
    ref = dense_response(pt, beta, cum, x, w)
    assert np.max(np.abs(ours - ref)) < 1e-10 * np.max(np.abs(ref))


def test_enumerated_response_equals_the_dense_definition():
    n = 8
    pt = PairTree(check_tree([[[0, 1], [2, 3], [4, 5], [6, 7]], [[0, 1], [2, 3]]], n).maps)
    rng = np.random.default_rng(1)
    beta = rng.normal(0.0, 1.0, n + n * (n - 1) // 2)
    cum = np.cumsum([1.0, 1.0, 1.0])
    x, p = exact_tree_probabilities(pt, beta, cum)
    ref = dense_response(pt, beta, cum, x.astype(np.int8), p)
    ours = me.response_matrix(pt, beta, cum)
    assert np.max(np.abs(ours - ref)) < 1e-12 * np.max(np.abs(ref))


def independent_moments(p):
    """Exact ``E[f_i f_j]`` and ``E[f_i]`` of independent 0/1 units with means *p*: the
    product of the means over the union of two statistics' units."""
    n = p.size
    a, b = np.triu_indices(n, 1)
    units = np.zeros((n + a.size, n))
    units[np.arange(n), np.arange(n)] = 1.0
    units[n + np.arange(a.size), a] = 1.0
    units[n + np.arange(a.size), b] = 1.0
    logp = np.log(p)
    single = units @ logp
    shared = (units * logp) @ units.T  # log of the product over the intersection
    return np.exp(single[:, None] + single[None, :] - shared), np.exp(single)


def test_errors_beyond_64_units_within_the_monte_carlo_noise():
    """72 units (2,628 statistics; above the former 2,080 limit), flat weights, independent
    units: the response matrix from 50 samples per statistic against the exact Fisher
    matrix, entry by entry in units of its exact sampling error, and the linearized
    jackknife errors the two matrices give (their noise is about sqrt(P / S))."""
    n = 72
    tree = check_tree(block_tree((n,), 2, 4), n)
    pt = PairTree(tree.maps)
    cum = np.ones(len(tree.maps) + 1)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.3, n)
    n_stats = n + n * (n - 1) // 2
    x = (rng.random((50 * n_stats, n)) < p).astype(np.int8)
    beta = np.zeros(n_stats)
    ours = me.response_matrix(pt, beta, cum, x)
    p11, mu = independent_moments(p)
    exact = -(p11 - np.outer(mu, mu))
    assert np.allclose(ours, ours.T, rtol=0, atol=1e-15)
    # Var((f_i - mu_i)(f_j - mu_j)) over the four joint values of two 0/1 statistics
    mi, mj = mu[:, None], mu[None, :]
    p10, p01 = mi - p11, mj - p11
    fourth = (
        p11 * (1 - mi) ** 2 * (1 - mj) ** 2
        + p10 * (1 - mi) ** 2 * mj**2
        + p01 * mi**2 * (1 - mj) ** 2
        + (1 - mi - mj + p11) * mi**2 * mj**2
    )
    z2 = (ours - exact) ** 2 * x.shape[0] / (fourth - exact**2)
    del fourth, p10, p01, p11
    assert 0.9 < np.mean(z2) < 1.1
    # the errors: 20 block deviations of the data's size, through both matrices
    loo = rng.normal(size=(20, n_stats)) * np.sqrt(np.abs(np.diag(exact))) / np.sqrt(20_000)
    free = np.ones(n_stats, bool)
    err_mc = me.linear_jackknife(ours, beta, beta * 0, loo, free).std(0)
    err_exact = me.linear_jackknife(exact, beta, beta * 0, loo, free).std(0)
    ratio = err_mc / err_exact
    assert abs(np.median(ratio) - 1.0) < 0.1
    assert np.all((ratio > 0.6) & (ratio < 1.6))


def test_linear_jackknife_against_numpy_and_in_place():
    rng = np.random.default_rng(2)
    m = rng.normal(size=(30, 30)) + 10 * np.eye(30)
    beta, c = rng.normal(size=30), rng.normal(size=30)
    loo = rng.normal(size=(20, 30))
    free = np.ones(30, bool)
    free[[3, 17]] = False
    want = np.tile(beta, (20, 1))
    want[:, free] += np.linalg.solve(m[np.ix_(free, free)], (loo[:, free] - c[free]).T).T
    kept = m.copy()
    assert np.allclose(me.linear_jackknife(m, beta, c, loo, free), want, rtol=1e-12)
    assert np.array_equal(m, kept)
    all_free = np.ones(30, bool)
    want = beta + np.linalg.solve(m, (loo - c).T).T
    assert np.allclose(me.linear_jackknife(m, beta, c, loo, all_free, overwrite=True), want)
    with pytest.raises(np.linalg.LinAlgError):
        me.linear_jackknife(np.zeros((30, 30)), beta, c, loo, all_free)


def test_memory_refusal(monkeypatch):
    monkeypatch.setattr("rgdata.coarse._memory.available_memory", lambda: 2**30)
    assert me.memory_refusal(1_000) is None
    why = me.memory_refusal(12_880)
    assert why.startswith("not computed: the response matrix of 12880 statistics")
    assert "3.7 GiB" in why and "1.0 GiB available" in why
    monkeypatch.setattr("rgdata.coarse._memory.available_memory", lambda: None)
    assert me.memory_refusal(12_880) is None
