"""The flow report section on small synthetic data (binary and continuous)."""

import warnings

import numpy as np

import rgdata
from rgdata.report import Report
from rgdata.report.sections.flow import add_flow_section


def correlated_spikes(n=40, t=6000, seed=0):
    rng = np.random.default_rng(seed)
    field = rng.normal(size=(1, t)) + rng.normal(size=(n, t))  # one shared drive
    return rgdata.as_activity((field > 1.8).astype(np.int8), kind="spikes")


def test_section_on_binary_data(tmp_path):
    rep = Report("t")
    out = add_flow_section(rep, correlated_spikes(), n_clusters=4, n_blocks=8, coupling_blocks=5)
    names = [it.name for it in rep.items if it.kind == "figure"]
    assert names == ["flow_quartic_g", "flow_quartic_map", "flow_prg_couplings"]
    assert out["g_variable"] in ("g", "g_cumulant")
    assert len(out["J_levels"]) >= 3
    # shared drive: couplings exceed the time-shifted null at the finest level
    assert out["J_levels"][0] > out["J_null_levels"][0] + 4 * out["J_levels_err"][0]
    caption = next(
        it.caption for it in rep.items if it.kind == "figure" and it.name == "flow_prg_couplings"
    )
    assert "Null" in caption and "±" in caption
    rep.save(tmp_path / "rep")
    assert (tmp_path / "rep" / "results" / "flow_prg_coupling_flow.nc").exists()


def test_section_on_continuous_data():
    rng = np.random.default_rng(1)
    x = rng.standard_t(5, size=(16, 4000)) + rng.normal(size=(1, 4000))
    rep = Report("t")
    out = add_flow_section(rep, rgdata.as_activity(x, kind="returns"), n_blocks=8)
    assert "J_levels" not in out
    texts = [it.payload for it in rep.items if it.kind == "text"]
    assert any("binary data only" in t for t in texts)
    assert np.isfinite(out["g_first"]) and out["g_first_err"] > 0


def test_section_shows_multivariate_coupling():
    # iid units: at fraction 1 g_multi equals the pooled g_cumulant (the propagator is ~ I),
    # and the caption reports it with its error bar and its null
    rng = np.random.default_rng(2)
    x = rng.standard_t(8, size=(12, 6000))
    rep = Report("t")
    out = add_flow_section(rep, rgdata.as_activity(x, kind="returns"), n_blocks=8)
    np.testing.assert_allclose(out["g_multi_first"], out["g_first"], rtol=1e-3)
    assert out["g_multi_first_err"] > 0 and np.isfinite(out["g_multi_last"])
    # removing modes of independent units drives g_multi to 0 as the kept fraction squared
    assert abs(out["g_multi_last"]) < abs(out["g_multi_first"]) / 4
    caption = next(it.caption for it in rep.items if it.name == "flow_quartic_g")
    assert f"{out['g_multi_first']:.3g} ± {out['g_multi_first_err']:.2g}" in caption
    assert "g_multi" in caption and "-24 g sum_j G_ij^4" in caption
    res = next(it.payload for it in rep.items if it.kind == "result" and it.name == "flow_quartic")
    assert "g_multi" in res and "g_multi_method" in res.attrs
    # the shifted null of g_multi is not 0 by construction: the shifts keep every unit's tails
    # (at fraction 1, where G ~ I, the null equals the data's value) and independent units keep
    # g_multi(1) f^2 (here -0.018 +- 0.003 at f = 1/2); the caption says so
    null = next(
        it.payload for it in rep.items if it.kind == "result" and it.name == "flow_quartic_null"
    )
    np.testing.assert_allclose(null.g_multi.values[0], res.g_multi.values[0], rtol=1e-3)
    assert abs(null.g_multi.values[1]) > 4 * null.g_multi_err.values[1]
    assert "The null is not zero by construction" in caption
    assert "independent units give g_multi(f) = g_multi(1) f^2" in caption


def test_quartic_plot_draws_multivariate_coupling_with_errors():
    from rgdata.maxent import fit_quartic_flow
    from rgdata.viz.flow import plot_quartic_flow

    x = np.random.default_rng(3).standard_t(6, size=(8, 4000))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = fit_quartic_flow(rgdata.as_activity(x), n_blocks=5)
    ax = plot_quartic_flow(res).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("g_multi") for lab in labels)
    bars = next(c for c in ax.containers if c.get_label().startswith("g_multi"))
    np.testing.assert_allclose(np.asarray(bars.lines[0].get_ydata(), float), res.g_multi.values)
    # the error bars span g_multi +- g_multi_err
    segments = bars.lines[2][0].get_segments()
    np.testing.assert_allclose([s[1, 1] - s[0, 1] for s in segments], 2 * res.g_multi_err.values)
    ax2 = plot_quartic_flow(res, multi=False).axes[0]
    assert not any(c.get_label().startswith("g_multi") for c in ax2.containers)
