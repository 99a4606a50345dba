"""goodness_of_fit counts the model sample's Monte Carlo error in every z-score.

A planted 21-unit model (one unit more than exact enumeration handles, so
predictions come from Gibbs samples) is compared with data drawn from
itself: every z should be a standard normal deviate whatever the size of the
model sample.
"""

import warnings

import numpy as np
import pytest

import rgdata
from rgdata.maxent import MaxEntConvergenceWarning, PairwiseMaxEnt
from rgdata.maxent._codings import params_to01
from rgdata.maxent._sampler import gibbs_samples, seed_states

N, T = 21, 10_000
N_TRI = N * (N - 1) * (N - 2) // 6  # 1330: all triplets


@pytest.fixture(scope="module")
def planted():
    rng = np.random.default_rng(21)
    h = rng.normal(0.0, 0.3, N)
    J = np.triu(rng.normal(0.0, 0.6 / np.sqrt(N), (N, N)), 1)
    J = J + J.T
    h01, J01 = params_to01(h, J, "pm1")
    states = (rng.random((16, N)) < 0.5).astype(np.int8)
    x01 = gibbs_samples(
        h01, J01, np.zeros(N + 1), False, states, seed_states(rng, 16), T // 16, 20, 1000
    ).reshape(-1, N)
    act = rgdata.as_activity((2 * x01.T - 1).astype(np.int8), kind="spins")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MaxEntConvergenceWarning)
        m = PairwiseMaxEnt(method="pseudolikelihood", coding="pm1", random_state=0).fit(act)
    m.h_, m.J_ = h, J  # the true model: data and model differ by sampling error only
    m._cache = {}
    return m, act


def _rms(z):
    return float(np.sqrt(np.mean(z**2)))


@pytest.mark.parametrize("n_model", [5_000, 200_000])
def test_three_point_z_of_the_true_model_is_standard_normal(planted, n_model):
    m, act = planted
    gof = m.goodness_of_fit(act, n_triplets=N_TRI, n_model_samples=n_model)
    assert gof.sizes["triplet"] == N_TRI and gof.attrs["n_model_samples_c3"] == n_model
    # E z^2 is 1 to 19/17 (the data's error from 20 blocks: Student t, 19 dof), rms 1.00 to
    # 1.06; the rms of 1330 independent z would have a sampling sd of 1/sqrt(2 * 1330) =
    # 0.02, but triplets sharing units have correlated errors (21 units make 1330 triplets),
    # so allow 0.15 around 1 (measured: 0.95 for S = T/2, 1.00 for S = 20 T with T = 20,000)
    assert gof.attrs["rms_z_c3"] == pytest.approx(1.0, abs=0.15)
    # without the model's Monte Carlo error the small sample (half the data's size,
    # correlated sweeps) inflates the rms to sqrt(1 + tau T / S) > 1.5 (measured 1.72); the
    # large one (S = 20 T) leaves it within the tolerance (1.03)
    z_old = np.abs(gof.c3_model - gof.c3_data) / gof.c3_se
    if n_model == 5_000:
        assert _rms(z_old.values) > 1.5
        assert float(gof.c3_se_model.median()) > float(gof.c3_se.median())
    else:
        assert _rms(z_old.values) == pytest.approx(1.0, abs=0.15)


def test_moment_z_scores_include_the_monte_carlo_error(planted):
    m, act = planted
    gof = m.goodness_of_fit(act, n_triplets=10)
    # means, covariances and P(K) come from the cached 200,000-sample prediction
    for name in ("mean", "cov", "pk"):
        assert np.all(gof[f"{name}_se_model"].values >= 0)
        assert float(gof[f"{name}_se_model"].max()) > 0
    z = np.abs(gof.cov_model - gof.cov_data) / np.sqrt(gof.cov_se**2 + gof.cov_se_model**2)
    assert gof.attrs["rms_z_cov"] == pytest.approx(_rms(z.values))
    # 210 pairs of 21 units, correlated errors: a wide band around 1 (measured 0.87)
    assert 0.7 < gof.attrs["rms_z_cov"] < 1.3


def test_exact_predictions_carry_no_monte_carlo_error():
    rng = np.random.default_rng(0)
    act = rgdata.as_activity((rng.random((6, 4000)) < 0.3).astype(np.int8), kind="spikes")
    gof = PairwiseMaxEnt(method="exact").fit(act).goodness_of_fit(act)
    for name in ("mean", "cov", "c3", "pk"):
        assert np.all(gof[f"{name}_se_model"].values == 0)
    assert gof.attrs["n_model_samples_c3"] == 0


def test_n_model_samples_is_validated(planted):
    m, act = planted
    with pytest.raises(ValueError, match="n_model_samples"):
        m.goodness_of_fit(act, n_model_samples=10)
