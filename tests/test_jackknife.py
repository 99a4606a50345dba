"""The shared jackknife helpers against closed forms."""

import numpy as np
import pytest

from rgdata._jackknife import jackknife_covariance, jackknife_error


def _leave_one_out_means(x):
    n = x.shape[0]
    return (x.sum(axis=0) - x) / (n - 1)


def test_error_of_the_mean_is_the_standard_error():
    # for the sample mean the delete-one jackknife error equals s / sqrt(n) exactly
    rng = np.random.default_rng(0)
    x = rng.normal(size=(37, 3))
    reps = _leave_one_out_means(x)
    expected = x.std(axis=0, ddof=1) / np.sqrt(x.shape[0])
    np.testing.assert_allclose(jackknife_error(reps), expected, rtol=1e-12)
    np.testing.assert_allclose(jackknife_error(reps.T, axis=-1), expected, rtol=1e-12)


def test_covariance_of_the_mean_is_the_sample_covariance_over_n():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 4)) @ rng.normal(size=(4, 4))
    reps = _leave_one_out_means(x)
    expected = np.cov(x, rowvar=False) / x.shape[0]
    np.testing.assert_allclose(jackknife_covariance(reps), expected, rtol=1e-10)
    np.testing.assert_allclose(jackknife_covariance(reps.T, axis=-1), expected, rtol=1e-10)
    np.testing.assert_allclose(
        np.sqrt(np.diag(jackknife_covariance(reps))), jackknife_error(reps), rtol=1e-12
    )


def test_covariance_needs_2d():
    with pytest.raises(ValueError, match="must be 2-D"):
        jackknife_covariance(np.zeros(5))


def test_error_by_hand():
    # replicates 1, 2, 3: (n - 1) / n * sum of squared deviations = 2/3 * 2 = 4/3
    assert jackknife_error(np.array([1.0, 2.0, 3.0])) == pytest.approx(np.sqrt(4 / 3), rel=1e-14)
