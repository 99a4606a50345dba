"""judge_generated: calibrated on MCMC ensembles, and it names the checks a wrong ensemble fails."""

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.lattice import exact
from rgdata.models import judge_generated

SIZES = (8, 16, 32)


@pytest.fixture(scope="module")
def mcmc():
    return [rgdata.lattice.sample_ising(L, exact.TC_2D, 400, random_state=L) for L in SIZES]


@pytest.fixture(scope="module")
def mcmc_other():
    return [rgdata.lattice.sample_ising(L, exact.TC_2D, 400, random_state=50 + L) for L in SIZES]


def test_critical_mcmc_passes_every_check_and_matches_mcmc(mcmc, mcmc_other):
    res = judge_generated(mcmc_other, mcmc, random_state=0)
    assert list(res.source.values) == ["generated", "mcmc"]
    assert res.sizes["size"] == 3 and int(res.passed.sum()) == res.passed.size
    assert res.attrs["verdict_generated"] == "reproduces critical Ising"
    assert res.attrs["matches_mcmc"] == 1
    # exact targets come from Kaufman's torus, not from the data
    np.testing.assert_allclose(
        res.energy_exact, [exact.energy_per_site(exact.TC_2D, L) for L in SIZES]
    )
    assert float(res.gamma_nu_exact) == 1.75 and float(res.y_h_exact) == 15 / 8
    # the Binder ratio is 3 (1 - U) of ising_observables
    obs = rgdata.lattice.ising_observables(mcmc[0])
    assert float(res.binder_v4.sel(source="mcmc", size=8)) == pytest.approx(
        3 * (1 - float(obs.binder))
    )
    # chi = L^2 (<m^2> - <|m|>^2), computed here from the spins directly (the judge's is the
    # bias-corrected jackknife estimate, so they agree within its error bar, not exactly)
    m = mcmc[1].values.mean(axis=(1, 2), dtype=float)
    chi = 16**2 * (np.mean(m**2) - np.mean(np.abs(m)) ** 2)
    got = res.sel(source="mcmc", size=16)
    assert abs(float(got.chi) - chi) < float(got.chi_err)


def test_an_off_critical_ensemble_fails_and_says_which_checks(mcmc):
    hot = [
        rgdata.lattice.sample_ising(L, 2.6, 400, random_state=L).assign_attrs(
            temperature=exact.TC_2D
        )
        for L in SIZES
    ]
    res = judge_generated(hot, mcmc, random_state=0)
    failed = res.attrs["failed_generated"].split(", ")
    assert {"gamma_nu", "binder_v4", "energy"} <= set(failed)
    assert res.attrs["verdict_generated"].startswith("fails: ")
    assert res.attrs["matches_mcmc"] == 0
    assert int(res.passed.sel(source="generated", check="gamma_nu")) == 0
    assert float(res.gamma_nu.sel(source="generated")) < 1.2  # chi saturates above T_c


def test_result_round_trips_netcdf(mcmc, tmp_path):
    res = judge_generated(mcmc, random_state=0)
    assert list(res.source.values) == ["generated"] and "matches_mcmc" not in res.attrs
    path = tmp_path / "judge.nc"
    res.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_identical(back, res)


def test_bad_input(mcmc):
    with pytest.raises(TypeError, match="generated must be a non-empty list"):
        judge_generated([])
    with pytest.raises(TypeError, match="generated must hold 2D Configurations"):
        judge_generated([np.ones((4, 8, 8))])
    with pytest.raises(ValueError, match="at least 2 sizes for gamma/nu, got \\[8\\]"):
        judge_generated(mcmc[:1])
    with pytest.raises(ValueError, match="two ensembles of size L=8"):
        judge_generated([mcmc[0], mcmc[0]])
    with pytest.raises(ValueError, match="reference must hold the sizes of generated"):
        judge_generated(mcmc, mcmc[:2])
    with pytest.raises(ValueError, match="mcrg_size must be one of the sizes"):
        judge_generated(mcmc, mcrg_size=64)
    with pytest.warns(UserWarning, match="another temperature"):
        res = judge_generated(mcmc, temperature=2.3)
    assert "L=8" in res.attrs["temperature_mismatch"]


def test_label_names_the_generated_source_and_plots_draw_each_source_once(mcmc, mcmc_other):
    from rgdata.viz import plot_judged_observable

    a = judge_generated(mcmc_other, mcmc, label="model A", random_state=0)
    b = judge_generated(mcmc, mcmc, label="model B", random_state=0)
    assert list(a.source.values) == ["model A", "mcmc"] and a.attrs["label"] == "model A"
    fig = plot_judged_observable([a, b], "binder_v4")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sorted(labels) == ["critical value 1.1679", "mcmc", "model A", "model B"]
    with pytest.raises(ValueError, match="unknown name 'entropy'; accepted: 'energy'"):
        plot_judged_observable(a, "entropy")
    with pytest.raises(ValueError, match="label must be a non-empty string other than 'mcmc'"):
        judge_generated(mcmc, label="mcmc")
