"""Slow physics checks of the 2D Ising analysis at and around T_c (Wolff sampler).

Sample sizes: the 16/32 Binder crossing needs about 10^5 samples per point for
its bootstrap error (~0.0007) to be well inside the 0.002 target; with 2x10^4
it was 0.0016-0.0019 and the check passed or failed with the seed.

Targets (project issue #5): energy and specific heat at T_c for L = 8, 16, 32
within 3 sigma of Kaufman's exact values; the Binder crossing within 0.002 of
Onsager's T_c; U(T_c) near U* = 0.61069 (Salas & Sokal 2000); gamma/nu = 7/4
inside the fit's confidence interval.
"""

import numpy as np
import pytest

from rgdata.lattice import (
    binder_crossings,
    exact,
    fss_exponent,
    sample_ising,
    scan_observables,
)

pytestmark = pytest.mark.slow

TC = exact.TC_2D
SIZES = {8: 20000, 16: 120000, 32: 100000}
OFFSETS = np.array([-0.03, -0.02, -0.01, 0.0, 0.01, 0.02, 0.03])


@pytest.fixture(scope="module")
def scan():
    configs = []
    seed = 100
    for L, n in SIZES.items():
        for T in TC + OFFSETS:
            seed += 1
            configs.append(sample_ising(L, T, n, algorithm="wolff", random_state=seed))
    return scan_observables(configs)


def test_energy_and_specific_heat_match_kaufman(scan):
    at_tc = scan.sel(temperature=TC, method="nearest")
    assert float(at_tc.temperature) == pytest.approx(TC, abs=1e-12)
    for L in SIZES:
        row = at_tc.sel(size=L)
        u_exact = exact.energy_per_site(TC, L)
        c_exact = exact.specific_heat_per_site(TC, L)
        assert abs(float(row.energy) - u_exact) < 3 * float(row.energy_err), (L, float(row.energy))
        assert abs(float(row.specific_heat) - c_exact) < 3 * float(row.specific_heat_err), (
            L,
            float(row.specific_heat),
        )
        assert row.errors_reliable == 1


def test_binder_crossing_close_to_onsager(scan):
    res = binder_crossings(scan, degree=3, n_boot=400, random_state=0)
    est, err = res.attrs["estimate"], res.attrs["estimate_err"]
    assert abs(est - TC) < 0.002, (est, err)
    # the sample sizes make the error about a third of the target, so the check can fail
    assert err < 0.0008


def test_binder_at_tc_near_universal_value(scan):
    # U*(L) -> 0.61069 with small corrections; allow the statistical error (4 sigma)
    # plus 0.005 for corrections to scaling at L = 32
    row = scan.sel(temperature=TC, method="nearest").sel(size=32)
    assert abs(float(row.binder) - 0.61069) < 4 * float(row.binder_err) + 0.005


def test_gamma_over_nu(scan):
    fit = fss_exponent(scan, "susceptibility_m2", float(scan.temperature[3]))
    assert fit.attrs["ci_low"] < 7 / 4 < fit.attrs["ci_high"], fit.attrs
    assert fit.attrs["exponent_err"] < 0.05
    # beta/nu = 1/8 from <|m|>
    mfit = fss_exponent(scan, "abs_magnetization", float(scan.temperature[3]))
    assert mfit.attrs["ci_low"] < -1 / 8 < mfit.attrs["ci_high"], mfit.attrs
