"""The .rg accessor calls the public functions and gives their results unchanged."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import xarray as xr

import rgdata


@pytest.fixture(scope="module")
def spikes():
    x = (np.random.default_rng(5).random((32, 3000)) < 0.2).astype(np.int8)
    return rgdata.as_activity(x, kind="spikes")


def test_prg_and_fit_equal_the_functions(spikes):
    via = spikes.rg.prg().rg.fit(("variance",))
    direct = rgdata.diagnostics.fit_exponents(rgdata.coarse.prg(spikes), ("variance",))
    xr.testing.assert_identical(via, direct)


def test_momentum_equals_the_function(spikes):
    xr.testing.assert_identical(spikes.rg.momentum(), rgdata.coarse.momentum(spikes))


def test_plot_draws_the_stored_fit(spikes):
    import matplotlib.pyplot as plt

    res = spikes.rg.prg().rg.fit(("variance",))
    fig, ax = plt.subplots()
    out = res.rg.plot("variance", ax=ax)
    assert out is fig
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    alpha = float(rgdata.diagnostics.exponent_fit(res, "alpha")["exponent"])
    assert any(f"{alpha:.3f}" in label for label in labels)
    assert not any("no fit stored" in label for label in labels)
    plt.close(fig)


def test_result_kinds(spikes):
    assert spikes.rg.prg().rg.analysis == "prg"
    assert spikes.rg.momentum().rg.analysis == "momentum"


def test_fit_refuses_other_results(spikes):
    with pytest.raises(ValueError, match="PRG result"):
        spikes.rg.momentum().rg.fit()


def test_not_an_rgdata_result():
    with pytest.raises(ValueError, match="attrs\\['analysis'\\]"):
        xr.Dataset({"a": ("x", [1.0])}).rg.plot()


def test_to_netcdf_round_trips(spikes, tmp_path):
    res = spikes.rg.prg()
    path = tmp_path / "res.nc"
    res.rg.to_netcdf(path)
    with xr.open_dataset(path, engine="h5netcdf") as back:
        np.testing.assert_allclose(back["variance"].values, res["variance"].values)
