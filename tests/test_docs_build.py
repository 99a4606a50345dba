"""The docs site (docs/ pages, API reference, notebook gallery) builds with no warning.

The same build as ``make docs`` (``sphinx-build -W``), into a temporary folder; the
notebooks are not executed here (the notebook tests run them).
"""

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")
pytest.importorskip("numpydoc")


def test_docs_build_without_warnings(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    html = tmp_path / "html"
    assert (html / "index.html").is_file()
    prg_page = html / "_api" / "generated" / "rgdata.coarse.prg.html"
    assert prg_page.is_file()
    assert "n_levels" in prg_page.read_text(encoding="utf-8")  # the parameters are rendered
