"""The Python examples of the docs pages run, each block in a fresh namespace in a temporary folder.

One mechanism for every page whose examples stand alone (the README has its own test,
whose blocks share one namespace). A block that needs an optional dependency is skipped
without it; a long block is run by ``make test-slow``.
"""

import re
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
#: page -> indices of its blocks that are slow
PAGES = {
    "data.md": set(),
    "models.md": set(),
    "multiscale.md": set(),
    "generative.md": {1},
    "generative_multilevel.md": set(),
}
OPTIONAL = ("pynwb",)


def _blocks(page: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (DOCS / page).read_text(), re.S)


def _params():
    for page, slow in PAGES.items():
        for i, code in enumerate(_blocks(page)):
            marks = [pytest.mark.slow] if i in slow else []
            yield pytest.param(page, code, id=f"{page.removesuffix('.md')}-block{i}", marks=marks)


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_has_examples(page):
    assert _blocks(page)


@pytest.mark.parametrize(("page", "code"), list(_params()))
def test_doc_example_runs(page, code, tmp_path, monkeypatch):
    for module in OPTIONAL:
        if module in code:
            pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(code, str(DOCS / page), "exec"), {"__name__": "__doc_example__"})
