"""The wheel carries the shipped data: built here, installed into a fresh venv and used
from a folder outside the checkout, where ``datasets/`` next to the package does not exist.

The fresh venv sees the dependencies of the test environment through a plain ``.pth``
path entry (not a site dir, so the test environment's editable rgdata is not picked up):
nothing is downloaded, and what is tested is the installed wheel alone.
"""

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytest.importorskip("wheel", reason="building the wheel needs the dev extra's wheel package")

LOAD_ALL = """
import json, sys
import rgdata
from rgdata import datasets
out = {"file": rgdata.__file__, "data_dir": str(datasets.data_dir()), "shapes": {}}
out["shapes"]["retina"] = list(datasets.load_retina().shape)
out["shapes"]["stocks"] = list(datasets.load_stocks(price="intraday").shape)
out["shapes"]["ftse100"] = list(datasets.load_ftse100(missing="drop_dates").shape)
out["listed"] = sorted(datasets.list_datasets()["name"])
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv holding only the rgdata wheel, its prefix, the wheel)."""
    tmp = tmp_path_factory.mktemp("wheel")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        + ["-w", str(tmp / "dist"), str(ROOT)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = (tmp / "dist").glob("rgdata-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, venv, wheel


def _run(args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("RGDATA_DATA_DIR", "PYTHONPATH")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_wheel_holds_every_shipped_file(installed):
    _, _, wheel = installed
    shipped = {
        p.relative_to(ROOT / "datasets").as_posix()
        for p in (ROOT / "datasets").rglob("*")
        if p.is_file()
    }
    prefix = "rgdata-" + wheel.name.split("-")[1] + ".data/data/share/rgdata/datasets/"
    with zipfile.ZipFile(wheel) as zf:
        carried = {n[len(prefix) :] for n in zf.namelist() if n.startswith(prefix)}
    assert shipped and carried == shipped


def test_installed_wheel_loads_every_dataset_outside_the_checkout(installed, tmp_path):
    python, venv, _ = installed
    res = _run([str(python), "-c", LOAD_ALL], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    # the installed copy, not the checkout's package or data
    assert Path(out["file"]).is_relative_to(venv), out["file"]
    assert Path(out["data_dir"]) == venv / "share" / "rgdata" / "datasets"
    assert out["shapes"]["retina"] == [297, 160, 953]
    assert out["shapes"]["stocks"][0] == 56
    assert out["shapes"]["ftse100"][0] == 64
    assert out["listed"] == sorted(["retina", "stocks", "ftse100"])


def test_installed_console_script_lists_datasets(installed, tmp_path):
    _, venv, _ = installed
    res = _run([str(venv / "bin" / "rgdata"), "datasets"], cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "retina" in res.stdout and "ftse100" in res.stdout


def test_missing_data_names_every_place_searched(installed, tmp_path):
    python, venv, _ = installed
    moved = venv / "share" / "rgdata" / "datasets_moved"
    (venv / "share" / "rgdata" / "datasets").rename(moved)
    try:
        code = "from rgdata import datasets; datasets.load_retina()"
        res = _run([str(python), "-c", code], cwd=tmp_path)
    finally:
        moved.rename(venv / "share" / "rgdata" / "datasets")
    assert res.returncode != 0
    assert "FileNotFoundError" in res.stderr
    assert str(venv / "share" / "rgdata" / "datasets") in res.stderr
    assert "RGDATA_DATA_DIR" in res.stderr


def test_installed_wheel_reports_on_shipped_stocks(installed, tmp_path):
    """The issue's check: `rgdata report --dataset stocks --quick` from an installed wheel."""
    _, venv, _ = installed
    out = tmp_path / "reports"
    res = _run(
        [str(venv / "bin" / "rgdata"), "report", "--dataset", "stocks", "--quick"]
        + ["--out", str(out)],
        cwd=tmp_path,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert (out / "stocks" / "index.html").is_file()
    assert list((out / "stocks" / "results").glob("*.nc"))
