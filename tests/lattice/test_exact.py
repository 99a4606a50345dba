"""Exact Ising results: three independent witnesses must agree."""

import numpy as np
import pytest
from scipy import integrate

from rgdata.lattice import exact

TS = np.array([1.0, 1.8, 2.2, exact.TC_2D, 2.35, 3.0, 5.0])


@pytest.mark.parametrize("L", [2, 3, 4, (2, 4), (3, 4), (4, 5)])
def test_kaufman_matches_enumeration(L):
    brute = exact.enumerate_ising(L, TS)
    kauf = exact.kaufman(TS, L)
    np.testing.assert_allclose(kauf.log_z, brute.log_z, rtol=1e-10)
    np.testing.assert_allclose(kauf.energy, brute.energy, rtol=1e-10)
    np.testing.assert_allclose(kauf.specific_heat, brute.specific_heat, rtol=1e-10)


def test_enumeration_limits():
    # T -> infinity: Z -> 2^N, <m^2> -> 1/N, u -> 0
    ds = exact.enumerate_ising(3, 1e6)
    assert ds.log_z.item() == pytest.approx(9 * np.log(2), rel=1e-5)
    assert ds.m2.item() == pytest.approx(1 / 9, rel=1e-4)
    assert abs(ds.energy.item()) < 1e-5
    # T -> 0: the two ground states, u = -2, |m| = 1, U = 2/3
    cold = exact.enumerate_ising(4, 0.05)
    assert cold.energy.item() == pytest.approx(-2.0)
    assert cold.abs_magnetization.item() == pytest.approx(1.0)
    assert cold.binder.item() == pytest.approx(2 / 3)


def test_enumeration_field_is_derivative_of_log_z():
    T, h, dh = 2.0, 0.3, 1e-5
    N = 9
    up = exact.enumerate_ising(3, T, h=h + dh).log_z.item()
    down = exact.enumerate_ising(3, T, h=h - dh).log_z.item()
    m_numeric = T * (up - down) / (2 * dh) / N
    # the field lowers the energy: <m> > 0, and |m| >= <m>
    ds = exact.enumerate_ising(3, T, h=h)
    assert 0 < m_numeric <= ds.abs_magnetization.item() + 1e-9
    # energy includes the field term: u = -(bonds + h M)/N, check d(log Z)/d beta
    db = 1e-6
    lz = [exact.enumerate_ising(3, 1 / (1 / T + s * db), h=h).log_z.item() for s in (1, -1)]
    assert -(lz[0] - lz[1]) / (2 * db) / N == pytest.approx(ds.energy.item(), rel=1e-6)


def test_onsager_critical_values():
    assert exact.TC_2D == pytest.approx(2.269185314213022, rel=1e-14)
    assert exact.energy_per_site(exact.TC_2D) == pytest.approx(-np.sqrt(2), rel=1e-9)
    assert exact.specific_heat_per_site(exact.TC_2D) == np.inf
    assert exact.spontaneous_magnetization(exact.TC_2D + 1e-9) == 0.0
    # Yang's magnetization near T = 0 approaches 1, and ~ (Tc - T)^(1/8) near Tc
    assert exact.spontaneous_magnetization(0.5) == pytest.approx(1.0, abs=1e-6)
    t = exact.TC_2D * (1 - np.array([1e-6, 1e-4]))
    mags = exact.spontaneous_magnetization(t)
    assert np.log(mags[1] / mags[0]) / np.log(100) == pytest.approx(0.125, rel=1e-3)


def test_onsager_low_and_high_temperature_limits():
    # T -> 0: u -> -2, f -> -2 ; T -> inf: f -> -T ln 2
    assert exact.energy_per_site(0.3) == pytest.approx(-2.0, abs=1e-9)
    assert exact.free_energy_per_site(0.3) == pytest.approx(-2.0, abs=1e-9)
    T = 200.0
    assert exact.free_energy_per_site(T) == pytest.approx(
        -T * np.log(2) - 2 / (2 * T) * 1, rel=1e-5
    )


def test_onsager_thermodynamic_consistency():
    T = np.array([1.5, 2.0, 2.6, 3.5])
    dT = 1e-4
    # u = d(beta f)/d beta, c = du/dT, both by central differences
    bf = [exact.free_energy_per_site(T + s * dT) / (T + s * dT) for s in (1, -1)]
    u_num = (bf[0] - bf[1]) / (1 / (T + dT) - 1 / (T - dT))
    np.testing.assert_allclose(u_num, exact.energy_per_site(T), rtol=1e-6)
    c_num = (exact.energy_per_site(T + dT) - exact.energy_per_site(T - dT)) / (2 * dT)
    np.testing.assert_allclose(c_num, exact.specific_heat_per_site(T), rtol=1e-6)


def test_kaufman_specific_heat_integrates_to_energy():
    L, T1, T2 = 16, 1.6, 3.2
    integral = integrate.quad(lambda t: exact.specific_heat_per_site(t, L), T1, T2, limit=200)[0]
    du = exact.energy_per_site(T2, L) - exact.energy_per_site(T1, L)
    assert integral == pytest.approx(du, rel=1e-9)


def test_kaufman_converges_to_onsager():
    T = np.array([1.5, 2.0, 2.6, 3.5])
    for name in ("energy_per_site", "specific_heat_per_site"):
        fn = getattr(exact, name)
        np.testing.assert_allclose(fn(T, 256), fn(T), rtol=1e-8, atol=1e-12)
    # below Tc the torus keeps the two-fold ground-state degeneracy: f_L = f - T ln 2 / N
    shift = np.where(T < exact.TC_2D, T * np.log(2) / 256**2, 0.0)
    np.testing.assert_allclose(
        exact.free_energy_per_site(T, 256), exact.free_energy_per_site(T) - shift, rtol=1e-9
    )
    # at Tc the finite-size energy approaches -sqrt 2 and c grows like (8/pi) ln L / Tc^2 ...
    u = [exact.energy_per_site(exact.TC_2D, L) for L in (64, 256, 1024)]
    gaps = np.abs(np.array(u) + np.sqrt(2))
    assert np.all(np.diff(gaps) < 0)
    c = [exact.specific_heat_per_site(exact.TC_2D, L) for L in (64, 256, 1024)]
    slope = (c[2] - c[1]) / np.log(4)
    # Ferdinand & Fisher (1969): c ~ (8/pi) K_c^2 ln L
    assert slope == pytest.approx(8 / np.pi * (1 / exact.TC_2D) ** 2, rel=2e-3)


def test_kaufman_large_lattice_finite_and_stable():
    T = np.linspace(1.0, 4.0, 31)
    ds = exact.kaufman(T, 512)
    for var in ds.data_vars:
        assert np.all(np.isfinite(ds[var]))
    # rectangular symmetry: m x n == n x m
    np.testing.assert_allclose(
        exact.log_partition_function(T, (6, 10)),
        exact.log_partition_function(T, (10, 6)),
        rtol=1e-12,
    )


def test_onsager_dataset_roundtrip(tmp_path):
    ds = exact.onsager([1.5, 2.0, 3.0])
    path = tmp_path / "o.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    import xarray as xr

    back = xr.load_dataset(path, engine="h5netcdf")
    np.testing.assert_allclose(back.energy, ds.energy)


def test_bad_input():
    with pytest.raises(ValueError, match="T must be > 0"):
        exact.energy_per_site(-1.0)
    with pytest.raises(ValueError, match="at most 20"):
        exact.enumerate_ising(5, 2.0)
    with pytest.raises(ValueError, match="L must be an int or a pair"):
        exact.kaufman(2.0, (2, 3, 4))
    with pytest.raises(TypeError, match="L must be an int"):
        exact.kaufman(2.0, 2.5)
    with pytest.raises(ValueError, match="T contains 1 NaN"):
        exact.energy_per_site([1.0, np.nan])


@pytest.mark.parametrize(
    "fn", [exact.free_energy_per_site, exact.energy_per_site, exact.specific_heat_per_site]
)
@pytest.mark.parametrize("L", [None, 6, (4, 6)])
def test_per_site_functions_give_a_float_for_a_scalar_and_match_the_array_call(fn, L):
    temps = np.array([1.5, 2.0, 3.0])
    values = fn(temps, L)
    assert isinstance(values, np.ndarray) and values.shape == (3,)
    scalar = fn(2.0, L)
    assert isinstance(scalar, float) and scalar == values[1]
    if L is not None:  # the finite torus of an (m, n) pair is Kaufman's, via ln Z and T
        logz = exact.log_partition_function(temps, L)
        m, n = (L, L) if isinstance(L, int) else L
        if fn is exact.free_energy_per_site:
            np.testing.assert_allclose(values, -temps * logz / (m * n), rtol=1e-12)
