"""Pilot and output checks of sample_ising's automatic schedule, and the tau estimators."""

import warnings

import numpy as np
import pytest
from scipy.signal import lfilter

from rgdata.lattice import _schedule, run_ensemble
from rgdata.lattice._autocorr import tau_int_batch_means, tau_int_estimate
from rgdata.lattice.sampling import sample_ising, sample_ising_replicas

TC2D = 2.0 / np.log(1.0 + np.sqrt(2.0))


def ar1(rho, n, seed):
    """AR(1) series with tau_int = (1 + rho) / (2 (1 - rho)) exactly."""
    noise = np.random.default_rng(seed).normal(size=n + 1000)
    return lfilter([1.0], [1.0, -rho], noise)[1000:]


def test_l8_critical_pilot_never_returns_one_half():
    # the old 64-sweep pilot accepted tau = 0.5 from 32 points in 15-30% of seeds;
    # tau(|m|) of Metropolis at T_c, L = 8 is ~3.5 sweeps
    taus = []
    for seed in range(20):
        cfg = sample_ising(8, TC2D, 1, algorithm="metropolis", random_state=seed)
        taus.append(cfg.attrs["tau_int"])
        assert cfg.attrs["tau_int_pilot_reliable"] == 1
    assert min(taus) > 1.0, taus


def test_too_short_spacing_fails_the_output_check():
    # spacing = 1 sweep at T_c, L = 16 Metropolis: the samples' tau(|m|) is ~10 samples
    with pytest.warns(UserWarning, match="returned samples are correlated") as record:
        cfg = sample_ising(16, TC2D, 2000, algorithm="metropolis", spacing=1, random_state=0)
    assert len(record) == 1
    assert record[0].filename == __file__  # stacklevel names the caller's line
    assert cfg.attrs["spacing_adequate"] == 0
    assert cfg.attrs["tau_int_reliable"] == 0
    assert cfg.attrs["tau_int_pilot_reliable"] == 1
    assert cfg.attrs["tau_int_samples"] > 1 + 2 * cfg.attrs["tau_int_samples_se"]


def test_automatic_schedule_passes_the_output_check():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cfg = sample_ising(16, 2.6, 1000, algorithm="metropolis", random_state=1)
    assert cfg.attrs["spacing_adequate"] == 1 and cfg.attrs["tau_int_reliable"] == 1
    assert cfg.attrs["tau_int_samples"] <= 1 + 2 * cfg.attrs["tau_int_samples_se"]
    assert cfg.attrs["tau_int_samples_se"] > 0


def test_unreliable_pilot_and_failed_output_warn_once(monkeypatch):
    monkeypatch.setattr(_schedule, "_PILOT_MAX", 1024)
    monkeypatch.setattr(_schedule, "_PILOT_WORK", 0)
    with pytest.warns(UserWarning) as record:
        cfg = sample_ising(32, TC2D, 300, algorithm="metropolis", spacing=1, random_state=0)
    assert len(record) == 1
    message = str(record[0].message)
    assert "could not be measured reliably" in message and "samples are correlated" in message
    assert record[0].filename == __file__
    assert cfg.attrs["tau_int_pilot_reliable"] == 0 and cfg.attrs["spacing_adequate"] == 0


def test_few_samples_are_not_checked():
    cfg = sample_ising(8, 2.6, 3, algorithm="wolff", random_state=0)
    assert cfg.attrs["spacing_adequate"] == -1 and np.isnan(cfg.attrs["tau_int_samples"])
    assert cfg.attrs["tau_int_reliable"] == 1


def test_replicas_output_check():
    with pytest.warns(UserWarning, match="returned samples are correlated"):
        reps = sample_ising_replicas(16, TC2D, 400, spacing=1, random_state=0)
    assert reps.attrs["spacing_adequate"] == 0 and reps.attrs["tau_int_reliable"] == 0


@pytest.mark.parametrize(
    ("kwargs", "err", "match"),
    [
        (dict(spacing=2.0), TypeError, "spacing must be an int"),
        (dict(spacing="2"), TypeError, "spacing must be an int"),
        (dict(spacing=-3), ValueError, "spacing must be >= 1"),
        (dict(burn_in=1.5), TypeError, "burn_in must be an int"),
        (dict(burn_in=-1), ValueError, "burn_in must be >= 0"),
    ],
)
def test_bad_schedule_input(kwargs, err, match):
    with pytest.raises(err, match=match):
        sample_ising(4, 2.0, 2, **kwargs)
    with pytest.raises(err, match=match):
        sample_ising_replicas(4, 2.0, 2, **kwargs)
    with pytest.raises(err, match=match):  # the ensemble checks before it runs anything
        run_ensemble(4, 2.0, 0, 2, **kwargs)


def test_tau_estimate_error_matches_spread_on_ar1():
    rho, n = 0.8, 20000
    exact = (1 + rho) / (2 * (1 - rho))  # 4.5
    ests = [tau_int_estimate(ar1(rho, n, seed)) for seed in range(60)]
    taus = np.array([e.tau for e in ests])
    se = np.mean([e.se for e in ests])
    assert all(e.reliable for e in ests)
    # the sd of 60 estimates is itself known to ~ 1/sqrt(2 * 59) = 9%
    assert 0.7 < taus.std(ddof=1) / se < 1.4, (taus.std(ddof=1), se)
    # window truncation bias is ~ exact * rho**M, well below the error of the mean
    assert abs(taus.mean() - exact) < 4 * se / np.sqrt(60) + exact * 0.8 ** ests[0].window


def test_tau_estimate_short_series_not_reliable():
    x = ar1(0.0, 200, 0)  # independent, but too short to tell
    est = tau_int_estimate(x)
    assert not est.reliable
    assert tau_int_estimate(ar1(0.0, 2000, 0)).reliable
    # a series shorter than min_taus * tau is a lower bound
    assert not tau_int_estimate(ar1(0.99, 5000, 0)).reliable
    constant = tau_int_estimate(np.ones(1000))
    assert constant.tau == 0.5 and constant.se == 0 and constant.reliable


def test_batch_means_tau_of_ar1():
    rho = 0.9
    exact = (1 + rho) / (2 * (1 - rho))  # 9.5
    tau, se = tau_int_batch_means(ar1(rho, 200_000, 3), n_batches=64)
    # batches of 3125 points: bias ~ tau_exp / batch length < 0.5%
    assert abs(tau - exact) < 3 * se, (tau, se)
    assert se == pytest.approx(tau * np.sqrt(2 / 63))


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.ones((4, 4)), 8), "x must be 1-D"),
        ((np.ones(100), 4), "n_batches must be an int >= 8"),
        ((np.ones(100), 8.0), "n_batches must be an int >= 8"),
        ((np.ones(10), 8), "at least 2 \\* n_batches = 16"),
    ],
)
def test_batch_means_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        tau_int_batch_means(*args)
