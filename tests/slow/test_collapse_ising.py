"""nu and gamma/nu of the 2D Ising model by scaling collapse of Wolff data (slow, ~45 s).

Binder cumulant (a = 0) and susceptibility N <m^2> / T curves of L = 8, 12,
16, 24 in windows |T - T_c| <= 0.64 / L (9 temperatures each, 8000 samples
per point) are collapsed with T_c, nu (and gamma/nu) free. Exact: nu = 1,
gamma/nu = 7/4, T_c = 2 / ln(1 + sqrt 2). The check: nu and gamma/nu inside
the 95% bootstrap interval; T_c within that interval widened by 0.005 (the
Binder collapse of L = 8-24 puts T_c at 2.2656 [2.2634, 2.2680] in
development, below 2.2692 by the corrections to scaling of small sizes,
which the interval over the points' errors does not contain). Seen in
development: Binder nu = 0.994 [0.905, 1.126]; susceptibility gamma/nu =
1.755 [1.722, 1.764], nu = 1.065 [0.995, 1.123]; qualities 1.4 and 1.0.
"""

import numpy as np
import pytest

from rgdata.diagnostics.collapse_data import fss_collapse
from rgdata.diagnostics.similarity_exponents import similarity_exponents
from rgdata.lattice import exact, sample_ising, scan_observables

pytestmark = pytest.mark.slow

TC = exact.TC_2D


@pytest.fixture(scope="module")
def scan():
    configs, seed = [], 500
    for L in (8, 12, 16, 24):
        for T in TC + np.linspace(-0.64, 0.64, 9) / L:
            seed += 1
            configs.append(sample_ising(L, float(T), 8000, algorithm="wolff", random_state=seed))
    return scan_observables(configs)


def _inside(res, name, value, slack):
    row = res.sel(parameter=name)
    return float(row["ci_low"]) - slack <= value <= float(row["ci_high"]) + slack


def test_binder_collapse_gives_nu_one(scan):
    res = fss_collapse(
        scan,
        "binder",
        critical_temperature=2.25,
        nu=0.8,
        fixed=("exponent",),
        step=[0.01, 0.1, 0.1],
        n_boot=100,
    )
    assert _inside(res, "nu", 1.0, 0.0), res[["value", "ci_low", "ci_high"]]
    assert _inside(res, "critical_temperature", TC, 0.005)
    assert float(res["quality"]) < 3


def test_susceptibility_collapse_gives_gamma_over_nu_seven_quarters(scan):
    res = fss_collapse(
        scan,
        "susceptibility_m2",
        critical_temperature=2.25,
        nu=0.8,
        exponent=1.6,
        step=[0.01, 0.1, 0.1],
        n_boot=100,
    )
    assert _inside(res, "exponent", 1.75, 0.0), res[["value", "ci_low", "ci_high"]]
    assert _inside(res, "nu", 1.0, 0.0)
    assert _inside(res, "critical_temperature", TC, 0.005)
    assert float(res["quality"]) < 3


def test_similarity_exponents_on_the_ising_scaling_function(scan):
    # chi = L^(gamma/nu) Phi((T - T_c) L^(1/nu)) learned by variable projection with the
    # exact T_c. Seen in development: gamma/nu = 1.751 [1.747, 1.755], 1/nu = 0.946
    # [0.917, 0.975] (below 1 by corrections to scaling at L = 8-24 with T_c held
    # exact; the collapse with T_c free gives nu inside its interval), Binder 1/nu =
    # 0.984 [0.917, 1.052].
    ok = scan["n_samples"].values > 0
    T, L = np.meshgrid(scan["temperature"].values, scan["size"].values.astype(float))
    groups = {"L": L[ok], "t": T[ok] - TC}
    chi = similarity_exponents(
        groups,
        scan["susceptibility_m2"].values[ok],
        lead="t",
        target_err=scan["susceptibility_m2_err"].values[ok],
    )
    row = chi.sel(exponent="alpha:L")
    # the interval is statistical only (+-0.004 here); with T_c held exact, corrections to
    # scaling at L = 8-24 shift gamma/nu by up to ~0.01 (1/nu by 0.05, below), so the exact
    # 7/4 must lie within the interval widened by that allowance (the new Wolff stream
    # gave [1.7505, 1.759])
    assert float(row["ci_low"]) - 0.01 <= 1.75 <= float(row["ci_high"]) + 0.01, row
    # 1/nu: 3 standard errors (1.5 half-widths of the 95% interval) plus 0.05 for the
    # corrections to scaling that push it below 1 with T_c held exact at these sizes
    nu_row = chi.sel(exponent="beta:L")
    half = (float(nu_row["ci_high"]) - float(nu_row["ci_low"])) / 2
    assert abs(float(nu_row["value"]) - 1.0) < 0.05 + 1.5 * half, nu_row
    binder = similarity_exponents(
        groups,
        scan["binder"].values[ok],
        lead="t",
        prefactor=(),
        target_err=scan["binder_err"].values[ok],
    )
    row = binder.sel(exponent="beta:L")
    assert float(row["ci_low"]) <= 1.0 <= float(row["ci_high"]), row
