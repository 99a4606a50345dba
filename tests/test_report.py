import json
import os

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
    run_id = back.attrs.pop("report_run_id")
    assert f'<meta name="rgdata-run-id" content="{run_id}">' in text
    xr.testing.assert_identical(back.load(), ds)
    # no temporary files or folders are left behind
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]
    assert not [p for p in (tmp_path / "rep").rglob("*") if p.name.startswith(".")]


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
    assert not (tmp_path / "r").exists()
    assert list(tmp_path.iterdir()) == []  # the staging folder is removed too


# ---------------------------------------------------------------- killed saves
# The child builds a small report titled "run <tag>" and saves it to <out>;
# <point> chooses where it SIGKILLs itself.
_CHILD = r"""
import os, signal, sys
import os

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
import rgdata.report._report as R
from rgdata.report import Report

point, out, tag = sys.argv[1:4]


def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


if point == "netcdf":  # half-way through writing the second result
    orig, calls = xr.Dataset.to_netcdf, []

    def cut(self, path, **kw):
        calls.append(path)
        if len(calls) == 2:
            with open(path, "wb") as fh:
                fh.write(b"\x89HDF\r\n\x1a\n" + bytes(64))
            die()
        return orig(self, path, **kw)

    xr.Dataset.to_netcdf = cut
elif point == "before_swap":  # staging folder complete, nothing renamed yet
    R._swap_in = die
elif point == "mid_swap":  # previous report renamed away, new one not yet in
    rename, calls = os.rename, []

    def cut_rename(src, dst):
        calls.append(src)
        if len(calls) == 2:
            die()
        return rename(src, dst)

    os.rename = cut_rename
rep = Report(f"run {tag}")
fig = Figure()
fig.add_subplot().plot([0, 1], [1, 0])
rep.add_figure(fig, "line", "a line")
for k in range(3):
    rep.add_result(xr.Dataset({"x": ("i", np.arange(4.0) + k)}), f"res{k}")
rep.save(out)
"""


def _small_report(tag):
    rep = Report(f"run {tag}")
    rep.add_figure(_fig(), "line", "a line")
    for k in range(3):
        rep.add_result(xr.Dataset({"x": ("i", np.arange(4.0) + k)}), f"res{k}")
    return rep


def _visible(root, pattern):
    """Matches of *pattern* under *root* outside hidden (in-progress) folders."""
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob(pattern)
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def _check_consistent(out, tag):
    """out/ is a complete report of run *tag*: every link exists and shares the run id."""
    import re

    text = (out / "index.html").read_text()
    assert f"<title>run {tag}</title>" in text
    run_id = re.search(r'name="rgdata-run-id" content="([0-9a-f]+)"', text).group(1)
    links = re.findall(r"(?:src|href)=[\"']([^\"'#][^\"']*)[\"']", text)
    assert sorted(links) == ["figures/line.png"] + [f"results/res{k}.nc" for k in range(3)]
    for link in links:
        assert (out / link).is_file()
    for k in range(3):
        with xr.open_dataset(out / "results" / f"res{k}.nc", engine="h5netcdf") as ds:
            assert ds.attrs["report_run_id"] == run_id
            np.testing.assert_array_equal(ds.x.values, np.arange(4.0) + k)
    assert _visible(out, "*") == sorted(
        ["figures", "results", "index.html", "summary.json"] + links
    )
    assert json.loads((out / "summary.json").read_text())["run_id"] == run_id


@pytest.mark.parametrize(
    ("point", "previous"), [("netcdf", False), ("before_swap", True), ("mid_swap", True)]
)
def test_killed_save_leaves_previous_report_and_no_stray_files(tmp_path, point, previous):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import rgdata
    from rgdata.report import recover_report_folder

    out = tmp_path / "rep"
    if previous:
        _small_report("A").save(out)
    env = {**os.environ, "PYTHONPATH": str(Path(rgdata.__file__).parents[1])}
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, point, str(out), "B"], env=env, capture_output=True
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()
    # nothing the kill left behind is matched by a result glob
    for pattern in ("*.nc", "*.png", "*.html"):
        found = _visible(tmp_path, pattern)
        expected = _visible(out, pattern) if out.exists() else []
        assert found == [f"rep/{p}" for p in expected]
        assert all(".partial-" not in p for p in found)
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    assert leftovers  # the killed save did leave its staging folder ...
    if point == "mid_swap":  # ... and the previous report moved away: put back
        assert not out.exists()
        recover_report_folder(out)
    if previous:
        _check_consistent(out, "A")
    else:
        assert not out.exists()
    # a rerun removes every leftover and writes a consistent report
    _small_report("C").save(out)
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]
    _check_consistent(out, "C")
