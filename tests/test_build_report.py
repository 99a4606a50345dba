import re

import numpy as np
import pytest

import rgdata
from rgdata.report import build_report, write_index


def test_build_report_overview_and_index(tmp_path, rng):
    act = rgdata.as_activity(rng.normal(size=(5, 200)), kind="returns")
    res = build_report(act, tmp_path / "a", title="Test A", sections=["overview"])
    assert res["failed"] == {}
    text = res["index"].read_text()
    for src in re.findall(r"src='([^']+)'", text):
        assert (tmp_path / "a" / src).exists()
    assert "headlines" in text
    idx = write_index(tmp_path, [{"name": "a", "path": res["index"], "title": "Test A"}])
    assert "a/index.html" in idx.read_text()


def test_failed_section_is_reported_not_hidden(tmp_path, rng, monkeypatch):
    from rgdata.report.sections import REGISTRY, Section

    class Broken(Section):
        def load(self):
            def broken(report, activity, **kw):
                raise RuntimeError("planted failure")

            return broken

    monkeypatch.setitem(REGISTRY, "scaling", Broken("scaling", "scaling", "add_scaling_section"))
    act = rgdata.as_activity(rng.normal(size=(5, 200)))
    with pytest.warns(RuntimeWarning, match="planted failure"):
        res = build_report(act, tmp_path / "b", title="B", sections=["scaling"])
    assert "planted failure" in res["failed"]["scaling"]
    assert "FAILED" in res["index"].read_text()
    with pytest.raises(RuntimeError, match="planted failure"):
        build_report(act, tmp_path / "c", title="C", sections=["scaling"], raise_errors=True)


def test_build_report_bad_arguments(tmp_path):
    act = rgdata.as_activity(np.random.default_rng(0).normal(size=(3, 50)))
    with pytest.raises(ValueError, match="unknown section 'foo'"):
        build_report(act, tmp_path, title="x", sections=["foo"])
    with pytest.raises(ValueError, match="options given for section"):
        build_report(act, tmp_path, title="x", sections=["overview"], options={"scaling": {}})
    with pytest.raises(TypeError, match="xarray.DataArray"):
        build_report(np.eye(3), tmp_path, title="x")


def test_index_keeps_reports_already_there(tmp_path, rng):
    act = rgdata.as_activity(rng.normal(size=(4, 100)), kind="returns")
    first = build_report(act, tmp_path / "one", title="First <one>", sections=["overview"])
    second = build_report(act, tmp_path / "two", title="Second", sections=["overview"])
    write_index(tmp_path, [{"name": "one", "path": first["index"], "title": "First <one>"}])
    text = write_index(
        tmp_path, [{"name": "two", "path": second["index"], "title": "Second"}]
    ).read_text()
    assert "one/index.html" in text and "two/index.html" in text
    assert "First &lt;one&gt;" in text


@pytest.mark.parametrize("kind", ["calcium", "returns"])
def test_maxent_skipped_with_reason_on_continuous_data(tmp_path, rng, kind):
    """Maximum-entropy models need binary data: on calcium or returns the section is
    skipped and says why, instead of failing the report (and the command's exit code)."""
    act = rgdata.as_activity(rng.normal(size=(6, 300)), kind=kind)
    res = build_report(act, tmp_path / kind, title=kind, sections=["overview", "maxent"])
    assert res["failed"] == {}
    assert set(res["skipped"]) == {"maxent"}
    assert "binary" in res["skipped"]["maxent"] and repr(kind) in res["skipped"]["maxent"]
    text = res["index"].read_text()
    assert "skipped" in text and "FAILED" not in text


def test_section_skip_reason_follows_the_values_not_the_label(rng):
    from rgdata.report.build import section_skip_reason

    spikes = rgdata.as_activity((rng.random((5, 200)) < 0.2).astype(np.int8), kind="spikes")
    spins = rgdata.as_activity(np.where(rng.random((5, 200)) < 0.5, -1, 1), kind="spins")
    # binary values labelled "continuous" still admit a pairwise model
    zero_one = rgdata.as_activity((rng.random((5, 200)) < 0.5).astype(float))
    for act in (spikes, spins, zero_one):
        assert section_skip_reason("maxent", act) is None
    assert section_skip_reason("overview", spikes) is None
    calcium = rgdata.as_activity(rng.normal(size=(5, 200)), kind="calcium")
    assert "binary" in section_skip_reason("maxent", calcium)


def test_overview_states_the_time_step_in_time_units(tmp_path, rng):
    from rgdata.report.sections.overview import time_step_text

    spikes = rgdata.as_activity(
        (rng.random((4, 100)) < 0.2).astype(np.int8),
        kind="spikes",
        bin_width=0.02,
        time_units="s",
        units="spikes per bin",
    )
    assert time_step_text(spikes) == "bin width 0.02 s"
    dates = np.arange("2020-01-01", "2020-04-10", dtype="datetime64[D]")
    returns = rgdata.as_activity(
        rng.normal(size=(3, dates.size)), kind="returns", time=dates, units="log return"
    )
    assert time_step_text(returns) == (
        "time points dated 2020-01-01 to 2020-04-09 (median spacing 1 days)"
    )
    calcium = rgdata.as_activity(rng.normal(size=(3, 50)), kind="calcium", units="z")
    assert "not stated" in time_step_text(calcium)
    text = build_report(returns, tmp_path / "r", title="r", sections=["overview"])[
        "index"
    ].read_text()
    assert "dated 2020-01-01" in text and "n/a" not in text


def test_registry_lists_every_section_once_with_one_signature():
    """Every section module is registered, every registered function exists, and a section
    that makes its own data (ising) is called through the same run() signature."""
    import inspect
    from pathlib import Path

    import rgdata.report.sections as sections
    from rgdata.report import SECTIONS, available_sections

    # private modules (_ising_flow.py, ...) are helpers of a section, not sections
    here = Path(sections.__file__).parent
    modules = {p.stem for p in here.glob("*.py") if not p.stem.startswith("_")}
    assert {s.module for s in sections.REGISTRY.values()} == modules
    assert SECTIONS == (
        "overview",
        "scaling",
        "collapse",
        "momentum",
        "maxent",
        "flow",
        "hierarchical",
        "multiscale",
        "learned",
    )
    assert available_sections() == list(SECTIONS)
    for section in sections.REGISTRY.values():
        params = inspect.signature(section.load()).parameters
        assert {"random_state", "progress"} <= set(params), section.name
        assert ("activity" in params) == section.uses_activity, section.name
    seen = {}

    class Spy(sections.Section):
        def load(self):
            def func(report, **kw):
                seen.update(report=report, **kw)
                return {"ok": 1}

            return func

    spy = Spy("sim", "ising", "add_ising_section", uses_activity=False)
    assert spy.run("R", None, random_state=3, progress=False, quick=True) == {"ok": 1}
    assert seen == {"report": "R", "random_state": 3, "progress": False, "quick": True}
