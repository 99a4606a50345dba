"""Errors of the Monte Carlo engine (linearized block jackknife) against exact answers."""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from rgdata._jackknife import jackknife_error
from rgdata.maxent import HierarchicalMaxEntFit, block_tree, check_tree
from rgdata.maxent import _hierarchy_mc_errors as me
from rgdata.maxent._hierarchy_mc import PairTree, exact_tree_probabilities, exact_tree_stats

from .test_hierarchical_mc import TREE8, TREE12, grouped_data, planted_tree_sample, spikes


def model_at(weights, seed=1):
    n = 8
    pt = PairTree(check_tree(TREE8, n).maps)
    rng = np.random.default_rng(seed)
    beta = rng.normal(0.0, 1.0, n + n * (n - 1) // 2)
    beta[:n] += 1.5
    return pt, beta, np.cumsum(weights)


def finite_differences(pt, beta, cum, h=1e-5):
    out = np.empty((beta.size, beta.size))
    for k in range(beta.size):
        e = np.zeros(beta.size)
        e[k] = h
        out[:, k] = (exact_tree_stats(pt, beta + e, cum) - exact_tree_stats(pt, beta - e, cum)) / (
            2 * h
        )
    return out


@pytest.mark.parametrize("weights", [[1.0, 0.5, 0.5], [1.0, 1.0, 1.0], [1.0, 2.0, 4.0], [1, 0, 0]])
def test_response_matrix_equals_finite_differences(weights):
    """M = dE f / d beta of the sampled model (non-local beta) against differences of E f.

    Without the count potentials' score term (an exponential family in -beta / W_1)
    the matrix is off by 40-90 % of its largest entry for non-flat weights.
    """
    pt, beta, cum = model_at(weights)
    m = me.response_matrix(pt, beta, cum)
    fd = finite_differences(pt, beta, cum)
    scale = np.max(np.abs(fd))
    assert np.max(np.abs(m - fd)) < 1e-8 * scale
    x, p = exact_tree_probabilities(pt, beta, cum)
    iu = np.triu_indices(pt.n, 1)
    f = np.concatenate([x, x[:, iu[0]] * x[:, iu[1]]], axis=1)
    ef = p @ f
    family = -((f * p[:, None]).T @ f - np.outer(ef, ef)) / cum[0]
    off = np.max(np.abs(family - fd)) / scale
    assert off > 0.3 if weights[1] > 0 else off < 1e-8


def test_monte_carlo_response_within_its_sampling_error():
    """From exact samples the matrix is the enumerated one within sampling error."""
    pt, beta, cum = model_at([1.0, 1.0, 1.0], seed=2)
    x, p = exact_tree_probabilities(pt, beta, cum)
    rng = np.random.default_rng(0)
    samples = [x[rng.choice(len(p), size=40_000, p=p)] for _ in range(10)]
    with threadpool_limits(limits=1, user_api="blas"):  # as in the fit: small products
        reps = np.array([me.response_matrix(pt, beta, cum, s) for s in samples])
    exact = me.response_matrix(pt, beta, cum)
    # the error of the mean of ten independent estimates, from their spread: z follows
    # about a t distribution with 9 degrees of freedom (mean z^2 9/7)
    se = reps.std(axis=0, ddof=1) / np.sqrt(len(reps))
    z = (reps.mean(0) - exact) / np.maximum(se, 1e-12)
    assert np.mean(z**2) < 1.8
    assert np.max(np.abs(reps.mean(0) - exact)) < 0.02 * np.max(np.abs(exact))


def monte_carlo_and_exact(weights):
    """The Monte Carlo and the exact engine's fits of the same 12 grouped units."""
    x = spikes(grouped_data(12, 20_000, 3))
    mc = HierarchicalMaxEntFit(
        weights, engine="monte_carlo", random_state=0, tol=0.3, tol_rms=0.2
    ).fit(x, tree=TREE12)
    return mc, HierarchicalMaxEntFit(weights, engine="exact").fit(x, tree=TREE12)


def test_flat_weights_errors_equal_the_refitted_jackknife():
    """w = (1, 0, 0): the linearized jackknife equals the exact engine's 20 refits to 1 %."""
    mc, ex = monte_carlo_and_exact([1.0, 0.0, 0.0])
    ratio = mc.beta_err_ / ex.beta_err_
    assert np.all(np.abs(ratio - 1.0) < 0.02)
    assert mc.error_method_.startswith("linearized 20-block jackknife")
    assert np.allclose(np.sqrt(np.diag(mc.beta_cov_)), mc.beta_err_)
    assert np.allclose(mc.fields_err_[0], mc.beta_err_[:12] / mc.cumulative_weights_[0])
    assert mc.to_dataset().attrs["error_method"] == mc.error_method_
    assert ex.to_dataset().attrs["error_method"] == "20-block jackknife (refits)"


def test_non_flat_errors_close_to_the_exact_multilevel_fit():
    """w = (1, 1, 1): the approximate model's errors are within 25 % of the exact model's.

    (The two models differ for non-local multipliers; measured: median ratio 0.92,
    range 0.75-1.01.)
    """
    mc, ex = monte_carlo_and_exact([1.0, 1.0, 1.0])
    ratio = mc.beta_err_ / ex.beta_err_
    assert 0.85 < np.median(ratio) < 1.05
    assert np.all((ratio > 0.6) & (ratio < 1.25))


def test_edge_statistics_get_infinite_errors_and_a_warning():
    x = grouped_data(8, 5_000, 3)
    x[1] = np.where(x[0] == 1, 0, x[1])  # units 0 and 1 never fire together
    fit = HierarchicalMaxEntFit(
        [1.0, 1.0, 1.0], engine="monte_carlo", random_state=0, tol=0.5, max_iter=30
    )
    with pytest.warns(UserWarning, match="edge of their range"):
        fit.fit(spikes(x), tree=TREE8)
    assert np.isinf(fit.beta_err_[8]) and np.isinf(fit.couplings_err_[0][0, 1])
    assert np.all(np.isfinite(np.delete(fit.beta_err_, 8)))


def test_errors_not_computed_where_they_do_not_fit_in_memory(monkeypatch):
    monkeypatch.setattr("rgdata.coarse._memory.available_memory", lambda: 1_000)
    x = grouped_data(8, 5_000, 0)
    fit = HierarchicalMaxEntFit([1.0, 1.0, 1.0], engine="monte_carlo", random_state=0, tol=0.5)
    with pytest.warns(UserWarning, match="errors were not computed"):
        fit.fit(spikes(x), tree=TREE8)
    assert np.all(np.isnan(fit.beta_err_)) and fit.beta_cov_ is None
    assert fit.error_method_.startswith("not computed: the response matrix of 36 statistics")


def test_interior_of_the_statistics():
    c = np.array([0.5, 0.5, 0.0, 0.5, 0.25, 0.5, 0.0])  # 3 units: pairs 01, 02, 12
    c2 = np.array([0.5, 0.5, 0.5, 0.5, 0.25, 0.0])
    assert me.interior(c[:6], 3).tolist() == [True, True, False, False, False, False]
    assert me.interior(c2, 3).tolist() == [True, True, True, False, True, False]


@pytest.mark.slow
def test_monte_carlo_errors_equal_the_enumerated_response():
    """18 units (Monte Carlo response matrix): errors within 5 % of the enumerated matrix's."""
    tree = block_tree((18,), 3, 3)
    x = grouped_data(18, 20_000, 11, group=3)
    fit = HierarchicalMaxEntFit([1.0, 1.0, 1.0], engine="monte_carlo", random_state=2)
    fit.fit(spikes(x), tree=tree)
    assert "Monte Carlo samples" in fit.error_method_
    m = me.response_matrix(PairTree(tree.maps), fit.beta_, fit.cumulative_weights_, max_units=18)
    sums, sizes = me.block_statistics(x, 20)
    c = sums.sum(0) / x.shape[1]
    loo = (c * x.shape[1] - sums) / (x.shape[1] - sizes)[:, None]
    err = jackknife_error(me.linear_jackknife(m, fit.beta_, c, loo, np.ones(c.size, bool)))
    ratio = fit.beta_err_ / err
    assert 0.97 < np.median(ratio) < 1.03
    assert np.all(np.abs(ratio - 1.0) < 0.1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [5, 6, 7])
@pytest.mark.parametrize("held", [1, 5])
def test_planted_multipliers_within_their_errors(seed, held):
    """32 units, exact samples of a planted tree-local model: z of all 528 multipliers.

    With 20-block errors z follows about a t distribution with 19 degrees of
    freedom (mean z^2 1.12, 93.5 % within 1.96); the fit's own tolerance adds a
    little. ``held = 1``: 40,000 independent draws (measured: mean z^2 1.17-1.41,
    90-92 % within 1.96 for seeds 5-7). ``held = 5``: autocorrelated, as recordings
    are: each draw held for a geometric run of mean 5 bins, 40,000 bins (measured:
    mean z^2 1.10-1.12, 92.6-93.6 % within 1.96).
    """
    weights = [1.0, 1.0, 1.0]
    draws = 40_000 if held == 1 else 9_000
    tree, pt, x, _, bt = planted_tree_sample(32, draws, seed, weights)
    if held > 1:
        runs = np.random.default_rng(100 + seed).geometric(1 / held, size=x.shape[1])
        x = np.repeat(x, runs, axis=1)[:, :40_000]
    assert x.shape[1] == 40_000
    truth = np.concatenate([bt[:32], bt[pt.pair_label]])
    fit = HierarchicalMaxEntFit(weights, engine="monte_carlo", random_state=1)
    fit.fit(spikes(x), tree=tree)
    z = (fit.beta_ - truth) / fit.beta_err_
    assert np.mean(z**2) < 1.6
    assert np.mean(np.abs(z) < 1.96) > 0.87


def test_errors_not_computed_where_the_response_would_cost_too_much(monkeypatch):
    """A model whose samples are too dense to sum (here: any) gets NaN errors and says why."""
    monkeypatch.setattr("rgdata.maxent._hierarchy_mc_fit.MAX_RESPONSE_OPERATIONS", 10.0)
    x = grouped_data(18, 5_000, 0)
    fit = HierarchicalMaxEntFit([1.0, 1.0, 1.0], engine="monte_carlo", random_state=0, tol=0.5)
    with pytest.warns(UserWarning, match="errors were not computed"):
        fit.fit(spikes(x), tree=block_tree((18,), 3, 3))
    assert np.all(np.isnan(fit.beta_err_)) and fit.beta_cov_ is None
    assert fit.error_method_.startswith("not computed: the fitted model's samples have")
    assert "multiply-adds" in fit.error_method_


def test_statistics_rarely_seen_by_the_response_samples_get_nan_errors(monkeypatch):
    """Rows of the response matrix from fewer than MIN_RESPONSE_COUNT non-zero samples are
    held out of the solve (a pair never co-active in them makes the matrix singular)."""
    from rgdata.maxent import _hierarchy_mc_fit as mf

    real = mf.sample_counts

    def two_rare(samples):
        counts = real(samples)
        counts[[20, 30]] = [0, me.MIN_RESPONSE_COUNT - 1]
        return counts

    monkeypatch.setattr(mf, "sample_counts", two_rare)
    x = grouped_data(18, 5_000, 0)
    fit = HierarchicalMaxEntFit([1.0, 1.0, 1.0], engine="monte_carlo", random_state=0, tol=0.5)
    with pytest.warns(UserWarning, match="2 statistic\\(s\\) were non-zero in fewer than 10"):
        fit.fit(spikes(x), tree=block_tree((18,), 3, 3))
    assert np.all(np.isnan(fit.beta_err_[[20, 30]]))
    others = np.delete(fit.beta_err_, [20, 30])
    assert np.all(np.isfinite(others) & (others > 0))
    assert "2 multiplier(s) whose statistic was non-zero in fewer than 10" in fit.error_method_
    assert np.all(np.isnan(fit.beta_cov_[20])) and np.isfinite(fit.beta_cov_[0, 0])


def test_linear_jackknife_with_nothing_free_keeps_beta():
    beta = np.arange(3.0)
    reps = me.linear_jackknife(np.eye(3), beta, beta, np.ones((4, 3)), np.zeros(3, bool))
    assert np.array_equal(reps, np.tile(beta, (4, 1)))
