"""The planted hierarchy: exact truth against simulation and brute force; PRG recovers it."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from rgdata.coarse import planted_tree, prg
from rgdata.coarse.planted import _orthant
from rgdata.diagnostics import fit_exponent


def _cluster_sums(act, truth, level):
    x = act.values.astype(np.float64)
    m = truth["membership"].values[level]
    return np.stack([x[m == c].sum(axis=0) for c in range(m.max() + 1)])


def assert_planted_clusters(res, truth, n_levels):
    """Every level 1..n_levels of a prg result partitions the units as planted."""
    for level in range(1, n_levels + 1):
        got = res["membership"].values[level]
        want = truth["membership"].values[level]
        # same partition: each planted cluster maps to exactly one found cluster
        joint = set(zip(want.tolist(), got.tolist(), strict=True))
        assert len(joint) == len(set(want.tolist())) == len(set(got.tolist())), level


def test_orthant_equals_scipy_bivariate_normal():
    theta = 1.2815515655446004  # rate 0.1
    rho = np.array([0.05, 0.3, 0.6, 0.95])
    want = [multivariate_normal([0, 0], [[1, r], [r, 1]]).cdf([-theta, -theta]) for r in rho]
    np.testing.assert_allclose(_orthant(theta, rho), want, rtol=1e-6)


@pytest.mark.parametrize(("kind", "phi"), [("continuous", 0.0), ("spikes", 0.0), ("spikes", 0.6)])
def test_exact_variance_matches_simulation(kind, phi):
    """Sample variances of every level's planted cluster sums agree with the exact truth.

    The tolerance is 5 standard errors of the mean over clusters of a sample
    variance (Gaussian: Var sqrt(2/T), inflated by sqrt((1+phi^2)/(1-phi^2))
    for AR(1) time; the spikes' excess kurtosis is covered by the 5).
    """
    n_time = 100_000
    act, truth = planted_tree(5, n_time, kind=kind, autocorrelation=phi, random_state=1)
    inflate = np.sqrt((1 + phi**2) / (1 - phi**2))
    for level in range(6):
        s = _cluster_sums(act, truth, level)
        want = float(truth["variance"][level])
        se = want * np.sqrt(2 / n_time) * inflate / np.sqrt(s.shape[0])
        assert abs(s.var(axis=1).mean() - want) < 5 * se, (level, s.var(axis=1).mean(), want)
        assert abs(s.mean(axis=1).mean() - float(truth["mean"][level])) < 5 * np.sqrt(want / n_time)


def test_continuous_variance_is_a_pure_power_law_and_correlations_as_documented():
    act, truth = planted_tree(6, 10, alpha=1.3, random_state=0)
    k = truth["cluster_size"].values
    np.testing.assert_allclose(truth["variance"], k**1.3, rtol=1e-12)
    assert truth.attrs["alpha"] == 1.3
    assert truth.attrs["sibling_correlation"] == pytest.approx(2**0.3 - 1)
    assert truth.attrs["cousin_correlation"] == pytest.approx((2**0.3 - 1) * 2**-0.7)


def test_autocorrelation_is_planted():
    act, _ = planted_tree(3, 50_000, autocorrelation=0.7, random_state=2)
    x = act.values.astype(np.float64)
    r1 = np.mean(np.sum(x[:, 1:] * x[:, :-1], axis=1) / np.sum(x * x, axis=1))
    # SE of a lag-1 autocorrelation ~ sqrt((1 - phi^2) / T), averaged over 8 correlated units
    assert abs(r1 - 0.7) < 5 * np.sqrt(0.51 / 50_000)


def test_units_are_shuffled_and_seeded():
    a1, t1 = planted_tree(4, 100, random_state=5)
    a2, t2 = planted_tree(4, 100, random_state=5)
    np.testing.assert_array_equal(a1.values, a2.values)
    np.testing.assert_array_equal(t1["membership"], t2["membership"])
    # the labels do not follow the tree: level-1 partners are not neighbours 2i, 2i+1
    m1 = t1["membership"].values[1]
    assert not np.array_equal(m1, np.arange(16) // 2)
    assert np.bincount(m1).tolist() == [2] * 8


@pytest.mark.parametrize("kind", ["continuous", "spikes"])
def test_prg_recovers_the_planted_tree_and_exponent(kind):
    """Exact greedy pairing finds every planted cluster; the CI of alpha covers the truth.

    The truth's exponent is the least-squares slope of the exact variances
    over the levels fit_exponent uses (for continuous units: alpha = 1.4).
    """
    act, truth = planted_tree(9, 4000, kind=kind, rate=0.2, autocorrelation=0.5, random_state=7)
    res = prg(act, 8, observables=("variance",))
    assert_planted_clusters(res, truth, 8)
    if kind == "spikes":  # thresholding bends the exact variances away from a power law
        with pytest.warns(UserWarning, match="curvature"):
            fit = fit_exponent(res, "variance")
    else:
        fit = fit_exponent(res, "variance")
    lv = np.flatnonzero(fit["level_in_fit"].values)
    k = truth["cluster_size"].values[lv]
    slope = np.polyfit(np.log(k), np.log(truth["variance"].values[lv]), 1)[0]
    if kind == "continuous":
        assert slope == pytest.approx(1.4)
    assert float(fit["ci_low"]) < slope < float(fit["ci_high"])


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        ({"depth": 0}, ValueError, "depth"),
        ({"depth": 2.5}, TypeError, "depth"),
        ({"n_time": 1}, ValueError, "n_time"),
        ({"alpha": 1.0}, ValueError, "alpha"),
        ({"alpha": 2.0}, ValueError, "alpha"),
        ({"kind": "counts"}, ValueError, "kind"),
        ({"rate": 1.0}, ValueError, "rate"),
        ({"rate": 0.0}, ValueError, "rate"),
        ({"autocorrelation": 1.0}, ValueError, "autocorrelation"),
        ({"autocorrelation": -0.1}, ValueError, "autocorrelation"),
        ({"n_trees": 0}, ValueError, "n_trees"),
    ],
)
def test_bad_input(kwargs, err, match):
    args = {"depth": 3, "n_time": 100} | kwargs
    with pytest.raises(err, match=match):
        planted_tree(args.pop("depth"), args.pop("n_time"), **args)
