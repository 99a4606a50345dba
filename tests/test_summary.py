import numpy as np
import pytest

import rgdata
from rgdata.diagnostics import marchenko_pastur_edges, summarize


def test_independent_units_stay_inside_marchenko_pastur(rng):
    n, t = 40, 4000
    act = rgdata.as_activity(rng.normal(size=(n, t)))
    s = summarize(act, random_state=0)
    lo, hi = marchenko_pastur_edges(n, t)
    eig = s["eigenvalues"].sel(kind="data").values
    # finite-size fluctuations of the top eigenvalue are O(T^-2/3): a 10 % margin is generous
    assert eig.max() < hi * 1.1 and eig.min() > lo * 0.9
    assert s.attrs["n_eigen_above_mp"] <= 1
    # E|c| for independent Gaussians is sqrt(2/(pi T))
    expected = np.sqrt(2 / (np.pi * t))
    assert s.attrs["mean_abs_correlation"] == pytest.approx(expected, rel=0.1)
    assert s.attrs["mean_abs_correlation_shuffled"] == pytest.approx(expected, rel=0.1)


def test_planted_common_mode_gives_one_outlier(rng):
    n, t, c = 30, 5000, 0.3
    common = rng.normal(size=t)
    x = np.sqrt(c) * common + np.sqrt(1 - c) * rng.normal(size=(n, t))
    s = summarize(rgdata.as_activity(x), random_state=1)
    eig = s["eigenvalues"].sel(kind="data").values
    # one-factor model: top eigenvalue of the correlation matrix is 1 + (n - 1) c
    assert eig[0] == pytest.approx(1 + (n - 1) * c, rel=0.1)
    assert s.attrs["n_eigen_above_mp"] == 1
    assert s.attrs["mean_abs_correlation"] == pytest.approx(c, abs=0.03)
    # the shuffled null destroys the correlations
    assert s.attrs["mean_abs_correlation_shuffled"] < 0.05
    np.testing.assert_allclose(s["mean"].values, x.mean(axis=1))


def test_summarize_is_reproducible_and_stacks_trials(rng):
    x = (rng.random((3, 5, 200)) < 0.2).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes")
    a, b = summarize(act, random_state=7), summarize(act, random_state=7)
    assert a.identical(b)
    assert a.attrs["n_time"] == 600


def test_overview_section_writes_figures(tmp_path, rng):
    from rgdata.report import Report
    from rgdata.report.sections.overview import add_overview_section

    act = rgdata.as_activity(rng.normal(size=(6, 300)), kind="returns", source="test")
    rep = Report("t")
    out = add_overview_section(rep, act, random_state=0)
    assert set(out) == {"mean_abs_correlation", "mean_abs_correlation_shuffled", "n_eigen_above_mp"}
    index = rep.save(tmp_path / "r")
    for img in ("data_activity", "data_unit_statistics", "data_correlations", "data_spectrum"):
        assert (tmp_path / "r" / "figures" / f"{img}.png").exists()
        assert f"figures/{img}.png" in index.read_text()


def test_overview_states_loader_record(tmp_path, rng):
    import json

    from rgdata.report import Report
    from rgdata.report.sections.overview import add_overview_section

    events = [{"ticker": "A", "date": "2004-01-02", "type": "split"}]
    act = rgdata.as_activity(
        rng.normal(size=(4, 100)),
        kind="returns",
        missing="drop_dates",
        n_missing_dates_dropped=3,
        price_events=json.dumps(events),
    )
    rep = Report("t")
    add_overview_section(rep, act, random_state=0)
    text = rep.save(tmp_path / "r").read_text()
    assert "missing=drop_dates" in text and "missing dates dropped: 3" in text
    assert (tmp_path / "r" / "tables" / "data_price_events.csv").read_text().startswith("ticker")
