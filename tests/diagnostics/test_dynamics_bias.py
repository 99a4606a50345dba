"""Parametric bootstrap of the learned dynamics model: noise scale and simulated levels."""

import numpy as np
import pytest

from rgdata.diagnostics._dynamics_bias import noise_scale, simulate_level
from rgdata.diagnostics._dynamics_mlp import flow_map

#: reflecting walls of the simulations (the start pool's range)
WALLS = np.array([-5.0, 5.0])


def _params(a: float, w: float = 0.0, u: float = 0.0) -> dict:
    """``f(x) = a x + w tanh(u x)`` in the network's parametrisation."""
    return {
        "a": np.asarray(a),
        "b": np.asarray(0.0),
        "u": np.array([u]),
        "c": np.zeros(1),
        "w": np.array([w]),
    }


def test_noise_scale_of_an_ou_drift_is_exact():
    # OU: Var(x(1) | x0) = sigma^2 (1 - e^(-2 r)) / (2 r) whatever x0
    r, sigma = 0.7, 0.45
    mse = sigma**2 * (1 - np.exp(-2 * r)) / (2 * r)
    got = noise_scale(_params(-r), np.linspace(-3, 3, 31), mse)
    assert got == pytest.approx(sigma, rel=1e-6)


def test_simulated_ou_level_has_the_exact_variance_and_autocorrelation():
    # dx = -r x dt + sigma dW sampled every T: Var = sigma^2 / (2 r), lag-1 correlation e^(-r T)
    r, sigma, n_units, n_time = 0.5, 0.8, 16, 4000
    for horizon in (0.25, 1.0, 2.0):
        rng = np.random.default_rng(1)
        x = simulate_level(_params(-r), sigma, horizon, n_units, n_time, WALLS, rng)
        rho = np.exp(-r * horizon)
        # effective independent samples per unit: n_time (1 - rho) / (1 + rho)
        n_eff = n_units * n_time * (1 - rho) / (1 + rho)
        var = sigma**2 / (2 * r)
        assert x.var() == pytest.approx(var, abs=4 * var * np.sqrt(2 / n_eff))
        lag1 = (x[:, :-1] * x[:, 1:]).mean() / x.var()
        assert lag1 == pytest.approx(rho, abs=4 * (1 - rho**2) / np.sqrt(n_units * n_time))


def test_noise_scale_recovers_the_simulated_noise_of_a_double_well():
    # a nonlinear drift (double well: a tanh push out of 0, a linear pull back); the
    # one-step residual variance of simulated data around the flow gives back sigma
    params = _params(-1.0, 1.6, 1.0)
    sigma = 0.6
    x = simulate_level(params, sigma, 1.0, 32, 4000, WALLS, np.random.default_rng(2))
    x0, x1 = x[:, :-1].ravel(), x[:, 1:].ravel()
    mse = np.mean((x1 - flow_map(params, x0, 1.0)) ** 2)
    # the linear noise approximation is not exact here: 0.615-0.617 on seeds 0-2
    assert noise_scale(params, x0, mse) == pytest.approx(sigma, rel=0.05)


def test_simulation_is_seeded():
    p = _params(-0.5)
    one = simulate_level(p, 1.0, 0.5, 3, 200, WALLS, np.random.default_rng(5))
    two = simulate_level(p, 1.0, 0.5, 3, 200, WALLS, np.random.default_rng(5))
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(
        one, simulate_level(p, 1.0, 0.5, 3, 200, WALLS, np.random.default_rng(6))
    )


def test_an_outward_drift_stays_within_the_range_of_the_data():
    # f(x) = +x pushes every variable out; the walls are the start pool's min and max, where
    # the network was fitted (beyond them a fitted drift can point outwards)
    pool = np.array([-2.5, 0.3, 1.5])
    x = simulate_level(_params(1.0), 0.5, 1.0, 4, 500, pool, np.random.default_rng(0))
    assert x.min() >= -2.5 and x.max() <= 1.5
    assert x.max() > 1.4 and x.min() < -2.4  # it does reach both walls
