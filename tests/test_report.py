import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

from rgdata.report import Report


def _fig():
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    return fig


def test_report_round_trip(tmp_path):
    ds = xr.Dataset(
        {"variance": ("level", np.array([1.0, 2.0, 4.5]))},
        coords={"level": [0, 1, 2], "cluster_size": ("level", [1, 2, 4])},
        attrs={"alpha": 1.4, "fit": '{"range": [1, 4]}'},
    )
    rep = Report("Test report", "a description")
    rep.add_figure(_fig(), "line", "A line <b>", section="S1", params={"seed": 0})
    rep.add_result(ds, "prg", "levels")
    rep.add_table([{"a": 1, "b": 2.5}], "tab", "a table")
    index = rep.save(tmp_path / "rep")
    text = index.read_text()
    assert "figures/line.png" in text and "&lt;b&gt;" in text and "seed=0" in text
    assert (tmp_path / "rep" / "figures" / "line.png").read_bytes()[:4] == b"\x89PNG"
    back = xr.open_dataset(tmp_path / "rep" / "results" / "prg.nc", engine="h5netcdf")
    xr.testing.assert_identical(back.load(), ds)
    # no temporary files are left behind
    assert not list((tmp_path / "rep").rglob(".*part*"))


def test_report_rejects_bad_items():
    rep = Report("t")
    with pytest.raises(TypeError, match="matplotlib Figure"):
        rep.add_figure("not a fig", "x", "c")
    with pytest.raises(ValueError, match="not accepted"):
        rep.add_figure(_fig(), "../escape", "c")
    rep.add_figure(_fig(), "a", "c")
    with pytest.raises(ValueError, match="already in this report"):
        rep.add_figure(_fig(), "a", "c")


def test_interrupted_save_leaves_no_index(tmp_path, monkeypatch):
    rep = Report("t")
    rep.add_figure(_fig(), "a", "c")

    def boom(self):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(Report, "to_html", boom)
    with pytest.raises(RuntimeError):
        rep.save(tmp_path / "r")
    assert not (tmp_path / "r" / "index.html").exists()
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["figures"]
