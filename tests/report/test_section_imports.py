"""Report sections only compose public library calls (issue #15, item 3).

Every ``rgdata/report/sections/*.py`` is parsed with ``ast``: no import may
reach a private module or name (a part starting with ``_``) of another rgdata
package. Allowed: the report package's own modules (``rgdata.report._report``,
the ``Report`` class the sections write into) and the shared infrastructure at
the package root that every module uses (:data:`SHARED`).
"""

import ast
from pathlib import Path

import pytest

import rgdata.report.sections as sections

SECTION_FILES = sorted(Path(sections.__file__).parent.glob("*.py"))
#: root-level helpers every rgdata module uses: argument checks, progress bars, warnings
SHARED = {"rgdata._validation", "rgdata._progress", "rgdata._warnings"}


def _imports(path: Path) -> list[tuple[int, str, str]]:
    """(line, absolute module, imported name or '') of every import in *path*."""
    package = "rgdata.report.sections"
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out += [(node.lineno, module, alias.name) for alias in node.names]
    return out


def private_imports(path: Path) -> list[str]:
    """Imports in *path* of a private module or name of another rgdata package."""
    bad = []
    for line, module, name in _imports(path):
        if not module.startswith("rgdata"):
            continue
        full = f"{module}.{name}" if name else module
        if module in SHARED or full in SHARED:
            continue
        if module.startswith("rgdata.report") and not module.startswith("rgdata.report.sections."):
            continue  # the report package itself (Report, the registry)
        if module.startswith("rgdata.report.sections._"):
            continue  # a section's own helper module (text, one part of a long section)
        if any(part.startswith("_") for part in full.split(".")):
            bad.append(f"{path.name}:{line}: {full}")
    return bad


@pytest.mark.parametrize("path", SECTION_FILES, ids=lambda p: p.name)
def test_no_section_imports_a_private_name_of_another_package(path):
    assert private_imports(path) == []


def test_the_check_catches_private_imports(tmp_path):
    # the forms the flow section used before: a private module and a private helper
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from ...flow import _prg_couplings as _pc\n"
        "from ..._jackknife import jackknife_error\n"
        "import rgdata.coarse._prg_stats\n"
        "from ...maxent.pairwise import _dense_moments\n"
        "from ..._validation import check_int\n"
        "from .._report import Report\n"
        "from ...flow.prg_flow import prg_couplings\n"
    )
    assert private_imports(planted) == [
        "planted.py:1: rgdata.flow._prg_couplings",
        "planted.py:2: rgdata._jackknife.jackknife_error",
        "planted.py:3: rgdata.coarse._prg_stats",
        "planted.py:4: rgdata.maxent.pairwise._dense_moments",
    ]
