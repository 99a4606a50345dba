"""InverseRGUpsampler: planted-truth recovery, error-bar coverage, symmetry, sampling, bad input."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats
from scipy.special import expit

import rgdata
from rgdata.lattice import exact
from rgdata.models import InverseRGUpsampler, NotFittedError
from rgdata.models.inverse_rg import features, kernel

PLANTED = np.array([0.55, 0.63, 1.4])


def _planted_pairs(seed, n=40, side=8):
    rng = np.random.default_rng(seed)
    coarse = rng.choice(np.array([-1, 1], np.int8), size=(n, side, side))
    fine = InverseRGUpsampler.draw(coarse, PLANTED, random_state=rng)
    return fine, coarse


def test_recovers_planted_kernel_within_three_standard_errors():
    fine, coarse = _planted_pairs(0)
    model = InverseRGUpsampler(random_state=0).fit(fine, coarse=coarse)
    assert model.converged_ and model.pairs_ == "given"
    z = (model.coef_ - PLANTED) / model.stderr_
    assert np.all(np.abs(z) < 3), z
    np.testing.assert_allclose(model.kernel_, kernel(*model.coef_))
    assert model.bias_ == pytest.approx(-model.kernel_.sum() / 2)


def test_standard_errors_have_nominal_coverage():
    # Mahalanobis distances of 20 independent fits: their sum is chi2 with 60 dof when
    # the inverse-Hessian covariance is right; accept its central 99.9% range
    d2 = []
    for seed in range(20):
        fine, coarse = _planted_pairs(100 + seed)
        model = InverseRGUpsampler(random_state=0).fit(fine, coarse=coarse)
        err = model.coef_ - PLANTED
        d2.append(err @ np.linalg.solve(model.covariance_, err))
        # the model is right, so the sandwich errors agree with the Fisher ones
        np.testing.assert_allclose(model.stderr_robust_, model.stderr_, rtol=0.5)
    lo, hi = stats.chi2.ppf([0.0005, 0.9995], df=60)
    assert lo < sum(d2) < hi, sum(d2)


def test_features_times_coefficients_is_the_convolution_of_the_01_coding():
    rng = np.random.default_rng(1)
    coarse = rng.choice(np.array([-1, 1], np.int8), size=(2, 4, 4))
    a, b, c = 0.3, -0.7, 1.1
    k = kernel(a, b, c)
    u = (np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2) + 1) / 2  # 0/1 coding
    conv = sum(
        k[dy + 1, dx + 1] * np.roll(u, (-dy, -dx), axis=(1, 2))
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )
    np.testing.assert_allclose(features(coarse) @ np.array([a, b, c]), conv - k.sum() / 2)


def test_log_prob_is_exact_on_a_uniform_lattice():
    fine, coarse = _planted_pairs(2, n=5)
    model = InverseRGUpsampler().fit(fine, coarse=coarse)
    fine = np.ones((1, 8, 8), np.int8)
    a, b, c = model.coef_
    expected = 64 * np.log(expit((4 * a + 4 * b + c) / 2))
    assert model.log_prob(fine, coarse=np.ones((1, 4, 4), np.int8))[0] == pytest.approx(expected)


def test_model_is_spin_flip_symmetric():
    fine, coarse = _planted_pairs(3, n=5)
    model = InverseRGUpsampler(random_state=0).fit(fine, coarse=coarse)
    np.testing.assert_allclose(
        model.log_prob(-fine, coarse=-coarse), model.log_prob(fine, coarse=coarse)
    )
    # the logit is odd in the coarse spins: P(+1 | -C) = 1 - P(+1 | C)
    logit = features(coarse) @ model.coef_
    np.testing.assert_allclose(features(-coarse) @ model.coef_, -logit)


def test_log_prob_defaults_to_majority_blocking_with_the_fit_seed():
    cfg = rgdata.lattice.sample_ising(8, 2.5, 20, algorithm="wolff", random_state=0)
    model = InverseRGUpsampler(random_state=5).fit(cfg)
    assert model.pairs_ == "majority" and model.seed_ == 5
    coarse = rgdata.lattice.block_spins(cfg, b=2, rule="majority", random_state=5)
    np.testing.assert_allclose(model.log_prob(cfg), model.log_prob(cfg, coarse=coarse.values))
    assert model.log_likelihood_ == pytest.approx(model.log_prob(cfg).sum())


def test_sample_gives_configurations_that_ising_observables_accepts():
    cfg = rgdata.lattice.sample_ising(8, exact.TC_2D, 20, algorithm="wolff", random_state=0)
    model = InverseRGUpsampler(random_state=0).fit(cfg)
    gen = model.sample(200, random_state=4, seed_size=2)
    assert gen.dims == ("sample", "y", "x") and gen.shape == (200, 8, 8)
    assert gen.dtype == np.int8
    assert gen.attrs["seed"] == 4 and gen.attrs["n_upsamplings"] == 2
    assert gen.attrs["model"] == "InverseRGUpsampler"
    assert gen.attrs["temperature"] == pytest.approx(exact.TC_2D)
    assert gen.attrs["a"] == pytest.approx(model.coef_[0])
    obs = rgdata.lattice.ising_observables(gen)
    assert np.isfinite(float(obs.energy))
    one = model.upsample(gen, random_state=1)
    assert one.shape == (200, 16, 16) and one.attrs["n_upsamplings"] == 1


def test_fit_on_critical_ising_is_near_the_reference_kernel():
    cfg = rgdata.lattice.sample_ising(32, exact.TC_2D, 200, algorithm="wolff", random_state=0)
    model = InverseRGUpsampler(random_state=0).fit(cfg)
    assert model.converged_
    # the reference values (0.55, 0.63, 1.4; issue #15) are quoted to two digits: allow 3 of the
    # larger of the two standard errors
    se = np.maximum(model.stderr_, model.stderr_robust_)
    assert np.all(np.abs(model.coef_ - PLANTED) < 3 * se), (model.coef_, se)


def test_to_dataset_round_trips_netcdf(tmp_path):
    fine, coarse = _planted_pairs(4, n=5)
    ds = InverseRGUpsampler(random_state=0).fit(fine, coarse=coarse).to_dataset()
    assert list(ds.param.values) == ["a", "b", "c"]
    assert ds.estimate.dims == ("param",) and ds.covariance.dims == ("param", "param_j")
    assert ds.attrs["pairs"] == "given" and ds.attrs["converged"] == 1
    path = tmp_path / "model.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    xr.testing.assert_identical(xr.load_dataset(path, engine="h5netcdf"), ds)


def test_non_convergence_warns_and_is_recorded():
    fine, coarse = _planted_pairs(5, n=5)
    with pytest.warns(UserWarning, match="L-BFGS stopped after 1 iterations"):
        model = InverseRGUpsampler(max_iter=1).fit(fine, coarse=coarse)
    assert not model.converged_ and model.to_dataset().attrs["converged"] == 0


def test_refit_forgets_the_previous_fit():
    fine, coarse = _planted_pairs(6, n=5)
    model = InverseRGUpsampler(random_state=0).fit(fine, coarse=coarse)
    model.fit(fine)
    assert model.pairs_ == "majority"


def test_not_fitted():
    with pytest.raises(NotFittedError, match=r"call fit\(X\) first"):
        InverseRGUpsampler().sample(2)


@pytest.mark.parametrize(
    ("X", "message"),
    [
        (np.zeros((2, 8, 8), np.int8), r"X must hold only -1 and \+1 spins, found values \[0\]"),
        (np.ones((2, 7, 7), np.int8), "X has odd side L=7; accepted: even L"),
        (np.ones((2, 8, 6), np.int8), r"X must be square lattices.*got shape \(2, 8, 6\)"),
        (np.ones((8, 8), np.int8), "X must have 3 dimensions"),
        (
            rgdata.as_configurations(np.ones((2, 4, 4, 4), np.int8)),
            r"X must have dims \('sample', 'y', 'x'\)",
        ),
    ],
)
def test_bad_configurations_are_refused(X, message):
    with pytest.raises(ValueError, match=message):
        InverseRGUpsampler().fit(X)


def test_bad_arguments_are_refused():
    fine, coarse = _planted_pairs(7, n=3)
    with pytest.raises(ValueError, match=r"coarse must have shape \(3, 8, 8\).*got \(1, 8, 8\)"):
        InverseRGUpsampler().fit(fine, coarse=coarse[:1])
    with pytest.raises(ValueError, match="y must be None"):
        InverseRGUpsampler().fit(fine, coarse)
    with pytest.raises(ValueError, match="coarse must hold only -1 and"):
        InverseRGUpsampler().fit(fine, coarse=np.zeros_like(coarse))
    model = InverseRGUpsampler().fit(fine, coarse=coarse)
    with pytest.raises(ValueError, match="size must be seed_size \\* 2\\*\\*k.*size=12"):
        model.sample(2, size=12, seed_size=4)
    with pytest.raises(ValueError, match="size=4, seed_size=4"):
        model.sample(2, size=4, seed_size=4)
    with pytest.raises(TypeError, match="n must be an int"):
        model.sample(2.5)
    with pytest.raises(ValueError, match="max_iter must be >= 1"):
        InverseRGUpsampler(max_iter=0).fit(fine, coarse=coarse)
