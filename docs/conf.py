"""Sphinx configuration: the docs/ pages (MyST Markdown), the API reference from the
numpydoc docstrings, and the example notebooks (jupytext scripts, executed at build time)."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("RGDATA_PROGRESS", "0")

import rgdata  # noqa: E402

project = "rgdata"
author = "the rgdata developers"
copyright = "2026, the rgdata developers"
release = version = rgdata.__version__

extensions = [
    "myst_nb",
    "numpydoc",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "conf.py"]
root_doc = "index"

autosummary_generate = True
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing", "misc.highlighting_failure"]

# notebooks: executed at build time (outputs are not stored in the repository)
nb_execution_mode = os.environ.get("RGDATA_DOCS_EXECUTE", "off")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_custom_formats = {".py": ["jupytext.reads", {"fmt": "py:percent"}]}

# The API pages are written here from each public package's names (what
# ``from rgdata.<package> import *`` gives, defined in rgdata), so a new public
# function appears without editing the docs; autosummary then makes a page for each.
PACKAGES = (
    "rgdata",
    "rgdata.io",
    "rgdata.datasets",
    "rgdata.coarse",
    "rgdata.diagnostics",
    "rgdata.maxent",
    "rgdata.flow",
    "rgdata.lattice",
    "rgdata.models",
    "rgdata.viz",
    "rgdata.report",
)


def _public(module):
    import inspect

    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    out = []
    for name in names:
        obj = getattr(module, name, None)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(
            obj, "__module__", ""
        ).startswith("rgdata"):
            out.append(name)
    return sorted(set(out))


def _write_api_pages():
    import importlib

    folder = Path(__file__).parent / "_api"
    folder.mkdir(exist_ok=True)
    index = [
        "API reference",
        "=============",
        "",
        "One page per public package.",
        "",
        ".. toctree::",
        "   :maxdepth: 1",
        "",
    ]
    for name in PACKAGES:
        module = importlib.import_module(name)
        title = f"``{name}``"
        lines = [
            title,
            "=" * len(title),
            "",
            f".. automodule:: {name}",
            "   :no-members:",
            "",
            f".. currentmodule:: {name}",
            "",
            ".. autosummary::",
            "   :toctree: generated",
            "   :nosignatures:",
            "",
        ]
        lines += [f"   {n}" for n in _public(module)]
        text = "\n".join(lines) + "\n"
        page = folder / f"{name}.rst"
        if not page.exists() or page.read_text() != text:
            page.write_text(text)
        index.append(f"   {name}")
    (folder / "index.rst").write_text("\n".join(index) + "\n")


_write_api_pages()

html_theme = "furo"
html_title = f"rgdata {release}"
