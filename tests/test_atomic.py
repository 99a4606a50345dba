"""Atomic writes: permissions follow the umask, temporaries match no result glob."""

import os
import stat

import numpy as np
import pytest
import xarray as xr

from rgdata._atomic import (
    atomic_path,
    remove_paths,
    remove_stale_partials,
    to_netcdf_atomic,
    write_text_atomic,
)


@pytest.fixture
def umask():
    """Set the process umask for one test and restore it afterwards."""
    old = os.umask(0o022)
    try:
        yield os.umask
    finally:
        os.umask(old)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    assert _mode(write_text_atomic(tmp_path / "index.html", "x")) == expected
    ds = xr.Dataset({"x": ("i", np.arange(3.0))})
    assert _mode(to_netcdf_atomic(ds, tmp_path / "r.nc")) == expected


def test_rewritten_file_keeps_its_mode(tmp_path, umask):
    umask(0o022)
    path = write_text_atomic(tmp_path / "index.html", "first")
    assert _mode(path) == 0o644
    write_text_atomic(path, "second")
    assert _mode(path) == 0o644 and path.read_text() == "second"
    path.chmod(0o640)
    umask(0o077)  # a stricter umask later does not change an existing file's mode
    write_text_atomic(path, "third")
    assert _mode(path) == 0o640


def test_temporary_names_match_no_result_glob(tmp_path):
    with atomic_path(tmp_path / "res.nc") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".res.nc.partial-")
        tmp.write_bytes(b"half")
        for pattern in ("*.nc", "*.png", "*.html", "*.csv"):
            assert list(tmp_path.glob(pattern)) == []
    assert [p.name for p in tmp_path.iterdir()] == ["res.nc"]


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead = tmp_path / ".res.nc.partial-999999999-00ff"  # no such pid
    alive = tmp_path / f".res.nc.partial-{os.getpid()}-00aa"  # a write in progress
    other = tmp_path / ".notes.partial-x"  # not one of ours
    for p in (dead, alive, other):
        p.write_bytes(b"half")
    assert remove_stale_partials(tmp_path) == [dead]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])
    # the next atomic write into the folder cleans up the same way
    dead.write_bytes(b"half")
    write_text_atomic(tmp_path / "res.nc", "x")
    assert not dead.exists() and alive.exists()


def test_remove_paths_deletes_folders_and_links_but_not_link_targets(tmp_path):
    folder = tmp_path / "staging"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.png").write_bytes(b"x")
    target = tmp_path / "kept"
    target.mkdir()
    (target / "b.txt").write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(target, target_is_directory=True)
    file = tmp_path / "f.partial"
    file.write_bytes(b"half")
    gone = tmp_path / "already-gone"
    paths = [folder, link, file, gone]
    assert remove_paths(paths) == paths
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert (target / "b.txt").read_text() == "keep"


def test_report_files_follow_the_umask_and_keep_their_mode(tmp_path, umask):
    from matplotlib.figure import Figure

    from rgdata.report import Report

    def save(out):
        rep = Report("t")
        fig = Figure()
        fig.add_subplot().plot([0, 1])
        rep.add_figure(fig, "line", "c")
        rep.add_result(xr.Dataset({"x": ("i", np.arange(3.0))}), "res")
        return rep.save(out).parent

    files = ("index.html", "figures/line.png", "results/res.nc")
    umask(0o022)
    out = save(tmp_path / "shared")
    assert [_mode(out / f) for f in files] == [0o644] * 3
    assert _mode(out) == _mode(out / "figures") == 0o755
    umask(0o077)  # rewriting keeps what the files (and folders) had
    save(out)
    assert [_mode(out / f) for f in files] == [0o644] * 3
    assert _mode(out) == _mode(out / "results") == 0o755
    private = save(tmp_path / "private")
    assert [_mode(private / f) for f in files] == [0o600] * 3
    assert _mode(private) == 0o700
