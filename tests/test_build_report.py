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
    from rgdata.report import build as build_mod

    def broken(report, activity, **kw):
        raise RuntimeError("planted failure")

    monkeypatch.setattr(
        build_mod, "_section_function", lambda name: broken if name == "scaling" else None
    )
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
