"""Flow plots: they draw what the result holds and refuse other inputs."""

import warnings

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

import rgdata
from rgdata.flow.flows import estimate_flow
from rgdata.maxent import hierarchical_maxent
from rgdata.maxent.quartic import fit_quartic_flow
from rgdata.viz.flow import plot_flow_levels, plot_flow_map, plot_hierarchy, plot_quartic_flow


@pytest.fixture(scope="module")
def flow():
    g = np.empty((4, 5))
    g[:, 0] = [0.1, 0.3, 0.6, 0.9]
    for k in range(1, 5):
        g[:, k] = 1.5 * g[:, k - 1] - g[:, k - 1] ** 2
    g = g[..., None] + 1e-3
    return estimate_flow(g, np.full(g.shape, 1e-3), model="quadratic", n_resamples=50)


def test_flow_map_marks_fixed_points(flow):
    fig = plot_flow_map(flow)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert len(texts) == flow.sizes["fixed_point"] == 2
    assert any("λ=" in t for t in texts)
    # the fitted map curve is drawn with the map's own points
    xs = [line.get_xdata() for line in ax.lines if len(line.get_xdata()) == flow.sizes["map_point"]]
    np.testing.assert_allclose(xs[0], flow.map_x.values)


def test_flow_map_marks_reference():
    g = 0.5 ** np.arange(6)[None, :, None]
    flow = estimate_flow(g, np.full(g.shape, 1e-3), reference=0.0, n_resamples=20)
    ax = plot_flow_map(flow).axes[0]
    assert any("reference fixed point 0" in t.get_text() for t in ax.get_legend().get_texts())


def test_flow_levels_uses_given_axes(flow):
    fig0 = Figure()
    ax = fig0.add_subplot()
    fig = plot_flow_levels(flow, ax=ax)
    assert fig is fig0 and len(ax.lines) >= 4


def test_quartic_flow_plot():
    x = np.random.default_rng(0).standard_t(6, size=(8, 4000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = fit_quartic_flow(rgdata.as_activity(x), n_blocks=5)
    fig = plot_quartic_flow(res)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert any("Gaussian fixed point" in t.get_text() for t in ax.get_legend().get_texts())


def test_hierarchy_plot_shows_entropies():
    ds = hierarchical_maxent(np.arange(8.0), [np.arange(8) // 2, np.arange(4) // 2], [1, 0.5, 2])
    ax = plot_hierarchy(ds).axes[0]
    heights = [p.get_height() for p in ax.patches]
    np.testing.assert_allclose(heights, ds.entropy.values)
    with pytest.raises(TypeError, match="hierarchical_maxent"):
        plot_hierarchy(ds.drop_vars("entropy"))


def test_bad_inputs(flow):
    with pytest.raises(TypeError, match="flow must be a Dataset"):
        plot_flow_map(np.zeros(3))
    with pytest.raises(ValueError, match="unknown parameter 'J'"):
        plot_flow_levels(flow, parameter="J")
    with pytest.raises(TypeError, match="fit_quartic_flow"):
        plot_quartic_flow(flow)


def test_flow_plots_draw_the_chosen_parameter_with_its_errors():
    rng = np.random.default_rng(3)
    g = np.stack([0.5 ** np.arange(5), 1.0 + 0.3 ** np.arange(5)], axis=-1)[None]
    g = g + 0.01 * rng.standard_normal((3, 5, 2))
    err = np.stack([np.full((3, 5), 1e-3), np.full((3, 5), 2e-2)], axis=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        two = estimate_flow(
            xr.DataArray(
                g, dims=("trajectory", "level", "parameter"), coords={"parameter": ["a", "b"]}
            ),
            err,
            n_resamples=20,
        )
    data = plot_flow_map(two, parameter="b").axes[0].containers[0]
    np.testing.assert_array_equal(data.lines[0].get_xdata(), g[:, :-1, 1].ravel())
    np.testing.assert_array_equal(data.lines[0].get_ydata(), g[:, 1:, 1].ravel())
    assert data.has_xerr and data.has_yerr
    first = plot_flow_levels(two, parameter="b").axes[0].containers[0]
    np.testing.assert_array_equal(first.lines[0].get_ydata(), g[0, :, 1])
    no_err = plot_flow_map(two.drop_vars("errors"), parameter="b").axes[0].containers[0]
    assert not no_err.has_xerr and not no_err.has_yerr
