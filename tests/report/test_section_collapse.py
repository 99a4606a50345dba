"""The collapse report section on small synthetic data."""

import warnings

import numpy as np
import xarray as xr

import rgdata
from rgdata.diagnostics import fit_exponent, prg_collapse
from rgdata.report import Report
from rgdata.report.sections.collapse import add_collapse_section


def ar_spikes(n=128, t=6000, seed=0):
    """Units driven by a few shared slow (AR(1)) fields: correlated and autocorrelated."""
    rng = np.random.default_rng(seed)
    drive = np.zeros((4, t))
    for i in range(1, t):
        drive[:, i] = 0.9 * drive[:, i - 1] + rng.normal(size=4)
    field = rng.normal(size=(n, 4)) @ drive / 2 + rng.normal(size=(n, t))
    return rgdata.as_activity((field > 1.5).astype(np.int8), kind="spikes")


def test_section_states_collapse_and_slope_with_intervals_and_a_null(tmp_path):
    act = ar_spikes()
    rep = Report("t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = add_collapse_section(rep, act, n_boot=20)
    figs = {it.name: it for it in rep.items if it.kind == "figure"}
    assert set(figs) == {"collapse_mu", "collapse_z"}
    for sym in ("mu", "z"):
        assert np.isfinite(out[f"{sym}_collapse"]), sym
        assert (
            out[f"{sym}_collapse_ci_low"]
            <= out[f"{sym}_collapse"]
            <= out[f"{sym}_collapse_ci_high"]
        )
        cap = figs[f"collapse_{sym}"].caption
        assert "by collapse" in cap and "by log-log slope" in cap and "circular_shift" in cap
    # the section only composes library calls: its numbers are prg_collapse's and fit_exponent's
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rgdata.coarse.prg(act, random_state=0)
        assert out["mu_slope"] == float(fit_exponent(res, "eigenvalues")["exponent"])
        direct = prg_collapse(res, "autocorrelation", n_boot=0)
    assert out["z_collapse"] == float(direct["value"][0])
    rep.save(tmp_path / "rep")
    saved = xr.open_dataset(tmp_path / "rep" / "results" / "collapse_exponents.nc")
    assert list(saved["run"].values) == ["data", "circular_shift"]
    assert float(saved["collapse"].sel(run="data", exponent_name="mu")) == out["mu_collapse"]


def test_section_says_why_when_nothing_collapses():
    # independent white-noise returns: no autocorrelation to collapse, few units
    x = np.random.default_rng(1).standard_normal((16, 3000))
    rep = Report("t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = add_collapse_section(rep, rgdata.as_activity(x, kind="returns"), n_boot=10)
    assert np.isnan(out["z_collapse"])
    texts = [it.payload for it in rep.items if it.kind == "text"]
    assert any("z̃ by collapse: not defined" in t and "no temporal correlation" in t for t in texts)
