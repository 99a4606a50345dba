"""The Python examples of docs/generative.md run (the report-section one is slow)."""

import re
import warnings
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "generative.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def _run(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})


def test_doc_has_two_examples():
    assert len(BLOCKS) == 2


def test_quick_start_runs(tmp_path, monkeypatch):
    _run(BLOCKS[0], tmp_path, monkeypatch)


@pytest.mark.slow
def test_report_section_example_runs(tmp_path, monkeypatch):
    _run(BLOCKS[1], tmp_path, monkeypatch)
