"""Scaling plots and the report section (small data; Agg backend from conftest)."""

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

import rgdata
from rgdata.coarse import prg
from rgdata.diagnostics import exponent_fit, fit_exponents, run_with_nulls
from rgdata.report import Report
from rgdata.report.sections.scaling import add_scaling_section
from rgdata.viz.scaling import (
    plot_autocorrelation_collapse,
    plot_distribution_flow,
    plot_eigenvalue_collapse,
    plot_exponent_table,
    plot_scaling,
)


def driven_spikes(rng, n=32, t=6000, trials=None):
    drive = rng.normal(size=t)
    p = 0.05 + 0.25 * (drive > 1)
    if trials is None:
        x = rng.random((n, t)) < p
    else:
        x = rng.random((trials, n, t)) < p
    return rgdata.as_activity(x.astype(np.int8), kind="spikes")


@pytest.fixture(scope="module")
def results():
    rng = np.random.default_rng(0)
    act = driven_spikes(rng)
    single = fit_exponents(prg(act))
    nulls = run_with_nulls(act, ("shuffle", "random_pairing"), random_state=0)
    return single, nulls


def test_plot_scaling_draws_fit_with_ci_in_legend(results):
    single, nulls = results
    ax = plot_scaling(single, "variance").axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    fit = exponent_fit(single, "alpha")
    assert any(f"{float(fit['exponent']):.3f}" in lab and "95% CI" in lab for lab in labels)
    # the fit line is the stored power law, not a new fit
    line = next(ln for ln in ax.get_lines() if ln.get_label().startswith("data"))
    x, y = line.get_data()
    np.testing.assert_allclose(y, np.exp(float(fit["intercept"])) * x ** float(fit["exponent"]))
    ax2 = plot_scaling(nulls, "silence_free_energy").axes[0]
    labels = [t.get_text() for t in ax2.get_legend().get_texts()]
    assert [lab.split(":")[0] for lab in labels] == ["data", "shuffle", "random_pairing"]
    # a null: its first draw's points and fit line, its mean and band over draws in the legend
    row = nulls.sel(null="shuffle", exponent_name="beta")
    assert f"= {float(row['exponent']):.3f} [{float(row['exponent_ci_low']):.3f}" in labels[1]
    assert "of 10 draws" in labels[1]
    line = next(ln for ln in ax2.get_lines() if ln.get_label().startswith("shuffle"))
    x, y = line.get_data()
    slope = float(row["null_exponent"].sel(draw=0))
    np.testing.assert_allclose(y, np.exp(float(row["exponent_intercept"])) * x**slope)
    ax3 = plot_scaling(nulls, "tau_c", nulls=()).axes[0]
    assert len(ax3.get_legend().get_texts()) == 1
    with pytest.raises(ValueError, match="not in result"):
        plot_scaling(nulls, "variance", nulls=("phase",))
    with pytest.raises(ValueError, match="unknown quantity"):
        plot_scaling(single, "entropy")


def test_other_plots_return_their_figure(results):
    single, nulls = results
    for fn in (plot_eigenvalue_collapse, plot_autocorrelation_collapse, plot_distribution_flow):
        for res in (single, nulls):
            fig = fn(res)
            assert isinstance(fig, Figure)
            assert fig.axes[0].has_data()
    fig = plot_exponent_table(nulls)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4
    # one run from fit_exponents: one row per panel, the data's CI as its error bar
    one = plot_exponent_table(single)
    assert [a.get_title() for a in one.axes] == ["α̃", "β̃", "μ", "z̃"]
    assert [t.get_text() for t in one.axes[0].get_yticklabels()] == ["data"]
    with pytest.raises(ValueError, match="no 'exponent' table"):
        plot_exponent_table(prg(driven_spikes(np.random.default_rng(2), t=600)))
    with pytest.raises(TypeError, match="xarray.Dataset"):
        plot_scaling(single["variance"])


def test_plot_on_given_axes(results):
    single, _ = results
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_scaling(single, "variance", ax=ax) is fig


def test_report_section(tmp_path):
    rng = np.random.default_rng(1)
    # 64 units: the default fit range (levels with >= 8 clusters) holds K = 1..8
    act = driven_spikes(rng, n=64, t=600, trials=5)
    rep = Report("test")
    out = add_scaling_section(
        rep, act, random_state=0, n_levels=3, bin_factors=(1, 2), n_surrogates=3
    )
    for s in ("alpha", "beta", "mu", "z"):
        assert np.isfinite(out[s])
        assert f"{s}_trial_shuffle" in out
        assert np.isfinite(out[f"{s}_holdout"])
    names = [it.name for it in rep.items if it.kind == "figure"]
    assert "prg_variance" in names and "prg_bin_width" in names
    cap = next(it.caption for it in rep.items if it.name == "prg_variance")
    assert f"{out['alpha']:.3f}" in cap and "shuffle" in cap and "trial_shuffle" in cap
    assert "circular_shift" in cap and "Closest null:" in cap and "mean of 3 draws" in cap
    intro = next(it for it in rep.items if it.kind == "text").payload
    assert "the shuffle null shows that baseline" not in intro
    assert "circular shift keeps each unit's autocorrelation" in intro
    index = rep.save(tmp_path / "rep")
    assert (tmp_path / "rep" / "results" / "prg_nulls.nc").exists()
    assert (tmp_path / "rep" / "results" / "prg_holdout.nc").exists()
    assert "Hold-out check" in index.read_text()
    assert "prg_exponents" in index.read_text()


def test_scaling_captions_follow_the_data_kind_and_state_the_mu_range(rng):
    """Bin-width captions never speak of spikes for continuous data; the mu caption gives
    its fit range and names the spectra drawn outside it."""
    from rgdata.report.sections.scaling import _mu_range, _rebin_text

    calcium = rgdata.as_activity(rng.normal(size=(8, 100)), kind="calcium")
    spikes = rgdata.as_activity((rng.random((8, 100)) < 0.2).astype(np.int8), kind="spikes")
    assert "spike" not in _rebin_text(calcium, "clip") and "calcium" in _rebin_text(calcium, "clip")
    assert "clipped to 0/1" in _rebin_text(spikes, "clip")
    assert "kept as counts" in _rebin_text(spikes, "sum")
    x = (rng.random((64, 3000)) < 0.2).astype(np.int8)
    res = prg(rgdata.as_activity(x, kind="spikes"), random_state=0)
    fit = xr.Dataset({"k_min": 4.0, "k_max": 8.0}, attrs={"k_range_rule": "default"})
    text = _mu_range(res, fit)
    assert "Fit range K = 4-8 (default)" in text
    assert "K = [2, 16, 32] are drawn but not fitted" in text
    assert _mu_range(res, fit.assign(k_min=float("nan"))) == ""
