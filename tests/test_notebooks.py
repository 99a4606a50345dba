"""The example notebooks (docs/notebooks/*.py, jupytext percent scripts) run top to bottom.

Each is turned into a notebook and executed in a fresh kernel with nbclient; a cell that
raises fails the test with its traceback. The quick ones run in the fast suite, all of
them in ``make test-slow``; ``make docs`` executes them again for the gallery.
"""

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "docs" / "notebooks"
#: notebooks that take under ~30 s here: in the fast suite
FAST = {
    "your_own_data.py",
    "ising_ground_truth.py",
    "generative.py",
    "rbm_variational_rg.py",
    "tensor_networks.py",
}

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")


def _params():
    for path in sorted(NOTEBOOKS.glob("*.py")):
        marks = [] if path.name in FAST else [pytest.mark.slow]
        yield pytest.param(path, id=path.stem, marks=marks)


def test_there_are_notebooks():
    assert {p.name for p in NOTEBOOKS.glob("*.py")} >= {
        "retina_walkthrough.py",
        "stocks_ftse.py",
        "your_own_data.py",
        "ising_ground_truth.py",
    }


@pytest.mark.parametrize("path", list(_params()))
def test_notebook_runs(path, tmp_path, monkeypatch):
    # the kernel's own (inline) backend, which shows a returned Figure as an image
    monkeypatch.delenv("MPLBACKEND", raising=False)
    monkeypatch.setenv("RGDATA_PROGRESS", "0")
    monkeypatch.setenv("PYTHONPATH", str(NOTEBOOKS.parents[1]))  # this checkout's rgdata
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(
        nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was drawn"
