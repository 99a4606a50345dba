"""Plots and the report section of momentum-space RG."""

import json

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

import rgdata
from rgdata.coarse import momentum
from rgdata.diagnostics import self_similarity
from rgdata.report import Report
from rgdata.report.sections.momentum import add_momentum_section
from rgdata.viz import plot_fourth_moment_flow, plot_momentum_distributions, plot_self_similarity


@pytest.fixture
def market_activity():
    """Returns-like data: a heavy-tailed common mode plus Gaussian noise."""
    rng = np.random.default_rng(5)
    n, t = 24, 3000
    market = rng.laplace(scale=1 / np.sqrt(2), size=t)
    x = rng.uniform(1.5, 2.0, (n, 1)) * market + rng.standard_normal((n, t))
    return rgdata.as_activity(x, kind="returns", source="synthetic")


def test_plots_return_figures(market_activity):
    res = momentum(market_activity, direction="both")
    null = momentum(market_activity, direction="remove_low")
    fig = plot_fourth_moment_flow(res, null=null)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.xaxis_inverted()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("RG" in s for s in labels) and any("top" in s or "high" in s for s in labels)
    assert any(s.startswith("null") for s in labels)
    # a single-direction result, and a list of results, on a given axes
    fig2 = Figure()
    ax2 = fig2.add_subplot()
    low = momentum(market_activity, direction="remove_low")
    high = momentum(market_activity, direction="remove_high")
    assert plot_fourth_moment_flow([low, high], ax=ax2, show_units=False) is fig2
    # one panel per direction for a "both" result
    assert len(plot_momentum_distributions(res).axes) == 2
    fig3 = Figure()
    ax3 = fig3.add_subplot()
    assert plot_momentum_distributions(res, ax=ax3, direction="remove_high") is fig3
    with pytest.raises(ValueError, match="direction 'up' is not in the result"):
        plot_momentum_distributions(res, direction="up")
    halves = (
        momentum(market_activity.isel(time=slice(0, 1500)), direction="both"),
        momentum(market_activity.isel(time=slice(1500, None)), direction="both"),
    )
    sim = self_similarity(res, halves=halves)
    fig4 = plot_self_similarity(sim)
    assert len(fig4.axes[0].get_lines()) == 4  # 2 directions x (distance, noise)
    plot_self_similarity(sim, ratio=True)
    with pytest.raises(ValueError, match="needs scores computed with halves"):
        plot_self_similarity(self_similarity(res), ratio=True)
    with pytest.raises(TypeError, match="momentum result"):
        plot_fourth_moment_flow(xr.Dataset())
    with pytest.raises(TypeError, match="self_similarity result"):
        plot_self_similarity(res)


def test_section_states_numbers_and_saves(market_activity, tmp_path):
    # one constant unit is dropped with a warning
    x = np.vstack([market_activity.values, np.ones((1, market_activity.sizes["time"]))])
    act = rgdata.as_activity(x, kind="returns", allow_constant=True)
    rep = Report("test")
    with pytest.warns(UserWarning, match="1 constant unit"):
        out = add_momentum_section(rep, act, random_state=3)
    res = next(it.payload for it in rep.items if it.name == "momentum")
    assert res.attrs["n_units"] == 24
    low = res.sel(direction="remove_low")
    assert out["fourth_moment_full"] == pytest.approx(float(low.fourth_moment_median[0]))
    assert out["fourth_moment_smallest_remove_high"] == pytest.approx(
        float(res.sel(direction="remove_high").fourth_moment_median[-1])
    )
    # the headline numbers appear in the captions
    flow = next(it for it in rep.items if it.name == "momentum_fourth_moment_flow")
    assert f"{out['fourth_moment_full']:.2f}" in flow.caption
    assert f"{out['null_fourth_moment_smallest']:.2f}" in flow.caption
    assert "Shuffled null" in flow.caption
    sim_fig = next(it for it in rep.items if it.name == "momentum_self_similarity")
    assert "noise" in sim_fig.caption
    # the market mode makes the data non-Gaussian; the shuffled null of the top mode
    # is close to Gaussian (mixing 24 independent units)
    assert out["fourth_moment_full"] > 3 + 10 * out["gaussian_fourth_moment_se"]
    assert abs(out["null_fourth_moment_smallest"] - 3) < abs(out["fourth_moment_full"] - 3)
    index = rep.save(tmp_path / "rep")
    assert index.exists()
    for stem in ("momentum", "momentum_null_shuffle", "momentum_self_similarity"):
        back = xr.open_dataset(tmp_path / "rep" / "results" / f"{stem}.nc", engine="h5netcdf")
        back.close()
    assert json.loads(res.attrs["warnings"]) == []


class _Collect:
    """A report stand-in that keeps captions and results without rendering figures."""

    def __init__(self):
        self.captions, self.results = {}, {}

    def add_figure(self, fig, name, caption, **kwargs):
        self.captions[name] = caption

    def add_result(self, ds, name, caption="", **kwargs):
        self.results[name] = ds

    def add_text(self, text, **kwargs):
        pass


def test_section_reproducible(market_activity):
    reps = [_Collect(), _Collect()]
    outs = [add_momentum_section(r, market_activity, random_state=11) for r in reps]
    assert outs[0] == outs[1]
    assert reps[0].captions == reps[1].captions
    xr.testing.assert_identical(
        reps[0].results["momentum_null_shuffle"], reps[1].results["momentum_null_shuffle"]
    )
