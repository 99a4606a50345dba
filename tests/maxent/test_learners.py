"""The learners' one signature, goodness_of_fit as a function, the independent model's shape."""

import numpy as np
import pytest

import rgdata
from rgdata.maxent import (
    IndependentMaxEnt,
    PairwiseMaxEnt,
    _learn_exact,
    _learn_pseudolikelihood,
    pairwise,
)
from rgdata.maxent._learn import FitProblem, Outcome, Schedule, exact_check
from rgdata.maxent._moments import data_statistics
from rgdata.maxent._start import independent_theta
from rgdata.maxent.goodness import goodness_of_fit
from rgdata.maxent.independent import IndependentMaxEnt as IndependentFromModule


def _spikes(n=5, t=4000, seed=0):
    rng = np.random.default_rng(seed)
    common = rng.random(t) < 0.3
    x = (rng.random((n, t)) < np.where(common, 0.5, 0.1)).astype(int)
    return rgdata.as_activity(x, kind="spikes")


def _problem(act):
    x = act.values.T.astype(np.float32)
    stats = data_statistics(x, "01")
    n = x.shape[1]
    theta0 = independent_theta(stats["mean"], "01", n * (n - 1) // 2)
    return FitProblem(stats, "01", False, theta0, x=x)


@pytest.mark.parametrize("learner", [_learn_exact, _learn_pseudolikelihood])
def test_learners_take_problem_chains_schedule_and_return_an_outcome(learner):
    act = _spikes()
    problem = _problem(act)
    out = learner.learn(problem, None, Schedule(max_iter=200))
    assert isinstance(out, Outcome)
    assert out.theta.shape == problem.theta0.shape
    assert out.n_iter > 0
    # the starting point is the independent model: learning must move the couplings
    n = problem.n_units
    assert np.abs(out.theta[n:]).max() > 0.1


def test_exact_learner_matches_the_moments_the_check_measures():
    act = _spikes(seed=1)
    problem = _problem(act)
    out = _learn_exact.learn(problem, None, Schedule(max_iter=500))
    assert out.converged
    mis = exact_check(problem.stats, "01", False)(out.theta)
    # the optimiser stops at a gradient of 1e-3 of the smallest standard error
    assert mis.max_z < 1e-2
    # the independent start does not match the covariances
    assert exact_check(problem.stats, "01", False)(problem.theta0).max_z > 3


def test_goodness_of_fit_function_is_what_the_method_returns():
    act = _spikes(seed=2)
    m = PairwiseMaxEnt("exact", random_state=0).fit(act)
    a = goodness_of_fit(m, act, n_triplets=20, random_state=3)
    b = m.goodness_of_fit(act, n_triplets=20, random_state=3)
    assert a.identical(b)
    assert a.sizes["triplet"] == 10  # all C(5, 3) triplets when fewer than asked


def test_goodness_of_fit_names_the_unit_mismatch():
    m = PairwiseMaxEnt("exact", random_state=0).fit(_spikes(seed=2))
    with pytest.raises(ValueError, match="activity has 6 units; the model was fitted on 5"):
        goodness_of_fit(m, _spikes(n=6, seed=2))


def test_independent_model_is_a_pairwise_model_fitted_in_closed_form():
    assert pairwise.IndependentMaxEnt is IndependentFromModule
    assert issubclass(IndependentMaxEnt, PairwiseMaxEnt)
    # one fit for both: the independent model overrides only the learning step
    assert IndependentMaxEnt.fit is PairwiseMaxEnt.fit
    act = _spikes(seed=4)
    m = IndependentMaxEnt().fit(act)
    assert m.method_ == "closed form"
    np.testing.assert_allclose(m.predict_means(), act.values.mean(1), atol=1e-12)
    with pytest.raises(ValueError, match="coding"):
        IndependentMaxEnt(coding="bits").fit(act)
