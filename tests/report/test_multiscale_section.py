"""The multiscale report section: what it adds, and that its numbers are the library's."""

import numpy as np

import rgdata
from rgdata.diagnostics._dynamics_kernels import ou_series
from rgdata.report import Report
from rgdata.report.sections import REGISTRY


def _hier_activity(n_time=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = np.zeros((32, n_time))
    for m in range(5):
        x += np.repeat(ou_series(np.full(32 // 2**m, 2.0 * 2**m), n_time, rng), 2**m, axis=0)
    return rgdata.as_activity(x, kind="continuous")


def test_multiscale_section_states_results_with_nulls():
    rep = Report("t")
    out = REGISTRY["multiscale"].run(rep, _hier_activity(), random_state=0, n_null=5, n_boot=30)
    figs = {it.name: it for it in rep.items if it.kind == "figure"}
    results = {it.name: it.payload for it in rep.items if it.kind == "result"}
    assert set(figs) == {
        "multiscale_ms3d",
        "multiscale_dynamic_scaling",
        "multiscale_prediction_skill",
    }
    ms, dyn = results["multiscale_ms3d"], results["multiscale_dynamics"]
    assert out["ms3d"] == ms["ms3d"].item() and out["z_dynamic"] == dyn["z"].item()
    # the planted hierarchy is more self-similar than its null and its tau grows with K
    assert out["ms3d"] < ms["null_ms3d_band_low"].item()
    assert out["z_dynamic_ci_low"] > dyn["null_z_band_high"].item()
    cap = figs["multiscale_ms3d"].caption
    assert f"{out['ms3d']:.3g}" in cap and "prediction band" in cap
    assert f"{out['z_dynamic']:.3g}" in figs["multiscale_dynamic_scaling"].caption
    assert "null" in figs["multiscale_prediction_skill"].caption


def test_multiscale_section_states_what_it_cannot_compute():
    rep = Report("t")
    act = rgdata.as_activity(np.random.default_rng(0).normal(size=(6, 400)), kind="continuous")
    out = REGISTRY["multiscale"].run(rep, act, random_state=0, n_null=2, n_boot=20)
    texts = " ".join(it.payload for it in rep.items if it.kind == "text")
    assert "MS3D not computed" in texts and np.isnan(out["ms3d"])


def test_multiscale_plots_draw_the_results_on_the_given_axes():
    from matplotlib.figure import Figure

    from rgdata.diagnostics import dynamic_scaling, ms3d
    from rgdata.diagnostics._dynamics_kernels import planted_ou_tree
    from rgdata.viz import plot_dynamic_scaling, plot_ms3d, plot_prediction_skill

    fields = rgdata.diagnostics.gaussian_field((32, 32), 2.5, 6, random_state=0)
    ms = ms3d(fields, n_null=2, random_state=0)
    levels, sizes, _ = planted_ou_tree(3, 1.0, 1.0, 3000, random_state=0)
    dyn = dynamic_scaling(levels, sizes, n_boot=20, n_null=2, random_state=0)
    for plot, res, var in (
        (plot_ms3d, ms, "dissimilarity"),
        (plot_dynamic_scaling, dyn, "tau"),
        (plot_prediction_skill, dyn, "skill_own"),
    ):
        fig = Figure()
        ax = fig.add_subplot()
        assert plot(res, ax=ax) is fig
        drawn = [line.get_ydata() for line in ax.lines]
        assert any(np.allclose(y, res[var].values, equal_nan=True) for y in drawn), var
