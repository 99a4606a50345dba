"""Incomplete-similarity exponents by variable projection: known answers recovered."""

import numpy as np
import pytest

from rgdata.diagnostics.similarity_exponents import similarity_exponents


def mean_field_magnetisation(r, j, u):
    """The stable (largest real) root z of u z^3 + r z = j, for j > 0."""
    out = np.empty(r.size)
    for i in range(r.size):
        roots = np.roots([u[i], 0.0, r[i], -j[i]])
        out[i] = roots[np.abs(roots.imag) < 1e-9].real.max()
    return out


def _mean_field(n=600, seed=0):
    rng = np.random.default_rng(seed)
    r = rng.uniform(-1, 1, n)
    j = 10 ** rng.uniform(-4, -1, n)
    u = 10 ** rng.uniform(-0.5, 0.5, n)
    return r, j, u


def test_the_generator_solves_the_equation_and_has_the_scaling_form():
    r, j, u = _mean_field(50)
    z = mean_field_magnetisation(r, j, u)
    np.testing.assert_allclose(u * z**3 + r * z, j, rtol=1e-9)
    # exact collapse: z j^-1/3 is a function of r j^-2/3 alone (u = 1)
    one = np.ones(2)
    a = mean_field_magnetisation(np.array([0.1, 0.1 * 8 ** (2 / 3)]), np.array([1e-3, 8e-3]), one)
    assert a[0] == pytest.approx(a[1] / 2, rel=1e-9)


def test_mean_field_exponents_exact_data():
    r, j, u = _mean_field()
    z = mean_field_magnetisation(r, j, np.ones_like(r))
    fit = similarity_exponents({"r": r, "j": j}, z, lead="r")
    assert float(fit["value"].sel(exponent="alpha:j")) == pytest.approx(1 / 3, abs=2e-3)
    assert float(fit["value"].sel(exponent="beta:j")) == pytest.approx(-2 / 3, abs=2e-3)
    assert float(fit["residual_sd"]) < 0.005  # relative misfit of z


def test_mean_field_three_groups_with_noise_within_error_bars():
    # z = j^1/3 u^-1/3 Phi(r j^-2/3 u^-1/3), 1% errors
    r, j, u = _mean_field(seed=1)
    z = mean_field_magnetisation(r, j, u)
    rng = np.random.default_rng(2)
    noisy = z * (1 + 0.01 * rng.standard_normal(z.size))
    fit = similarity_exponents({"r": r, "j": j, "u": u}, noisy, lead="r", target_err=0.01 * z)
    truth = {"alpha:j": 1 / 3, "alpha:u": -1 / 3, "beta:j": -2 / 3, "beta:u": -1 / 3}
    for k, v in truth.items():  # 3 se: four checks at once
        row = fit.sel(exponent=k)
        assert abs(float(row["value"]) - v) < 3 * float(row["se"]), (k, row)
    assert 0.8 < float(fit["residual_sd"]) < 1.3  # the spline follows the data to their errors


def test_wrong_lead_group_fits_worse():
    # the variable projection finds the similarity, not a curve through anything:
    # dropping the prefactor makes the collapse fail
    r, j, _ = _mean_field(seed=3)
    z = mean_field_magnetisation(r, j, np.ones_like(r))
    good = similarity_exponents({"r": r, "j": j}, z, lead="r")
    bad = similarity_exponents({"r": r, "j": j}, z, lead="r", prefactor=())
    assert float(bad["residual_sd"]) > 10 * float(good["residual_sd"])


def test_lattice_scaling_function():
    # chi = L^(gamma/nu) Phi(t L^(1/nu)), planted 7/4 and 1 with 1% errors
    rng = np.random.default_rng(4)
    L = rng.choice([8.0, 12.0, 16.0, 24.0, 32.0], 500)
    t = rng.uniform(-0.6, 0.6, 500) / L
    chi = L**1.75 / (1 + (t * L) ** 2 + 0.3 * t * L)
    noisy = chi * (1 + 0.01 * rng.standard_normal(chi.size))
    fit = similarity_exponents({"L": L, "t": t}, noisy, lead="t", target_err=0.01 * chi)
    for k, v in {"alpha:L": 1.75, "beta:L": 1.0}.items():
        row = fit.sel(exponent=k)
        assert abs(float(row["value"]) - v) < 3 * float(row["se"]), (k, row)


def test_bad_input():
    r, j, _ = _mean_field(40)
    z = mean_field_magnetisation(r, j, np.ones_like(r))
    with pytest.raises(ValueError, match="lead 'x' is not one of the groups"):
        similarity_exponents({"r": r, "j": j}, z, lead="x")
    with pytest.raises(ValueError, match=r"groups\['r'\] must be > 0"):
        similarity_exponents({"r": r, "j": j}, z, lead="j")
    with pytest.raises(ValueError, match="has 39 values but target has 40"):
        similarity_exponents({"r": r, "j": j[:-1]}, z, lead="r")
    with pytest.raises(ValueError, match="one sign"):
        similarity_exponents({"r": r, "j": j}, z - np.median(z), lead="r")
    with pytest.raises(ValueError, match="need more than"):
        similarity_exponents({"r": r[:8], "j": j[:8]}, z[:8], lead="r")
    with pytest.raises(TypeError, match="groups must be"):
        similarity_exponents([r, j], z, lead="r")
    with pytest.raises(ValueError, match="initial names unknown"):
        similarity_exponents({"r": r, "j": j}, z, lead="r", initial={"beta:r": 1.0}, n_knots=4)


@pytest.mark.slow
def test_network_option_learns_the_mean_field_exponents():
    # the Sanfins et al. form (exponent layer + tanh network, JAX), started at beta = 0,
    # independent of the spline projection (about 10-20 s with JAX compilation)
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    r, j, _ = _mean_field()
    z = mean_field_magnetisation(r, j, np.ones_like(r))
    fit = similarity_exponents(
        {"r": r, "j": j}, z, lead="r", method="network", initial={"beta:j": 0.0}
    )
    assert float(fit["value"].sel(exponent="alpha:j")) == pytest.approx(1 / 3, abs=0.01)
    assert float(fit["value"].sel(exponent="beta:j")) == pytest.approx(-2 / 3, abs=0.01)
    assert np.all(np.isnan(fit["ci_low"].values))  # no intervals from the network


def test_unknown_method():
    r, j, _ = _mean_field(40)
    z = mean_field_magnetisation(r, j, np.ones_like(r))
    with pytest.raises(ValueError, match="unknown method 'net'"):
        similarity_exponents({"r": r, "j": j}, z, lead="r", method="net")
