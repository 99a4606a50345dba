"""The flow report section on small synthetic data (binary and continuous)."""

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
