"""What importing rgdata and its analysis subpackages pulls in: heavy dependencies load where used.

Checked in a fresh interpreter through ``sys.modules`` (not a timing).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import rgdata

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "matplotlib",
    "numba",
    "sklearn",
    "scipy.stats",
    "scipy.optimize",
    "scipy.interpolate",
    "jax",
    "dask",
)


def loaded_after(statement: str) -> set[str]:
    """Top-level heavy modules present in ``sys.modules`` after *statement*, fresh process."""
    code = (
        f"import sys, json\n{statement}\n"
        f"print(json.dumps(sorted(m for m in {list(HEAVY)!r} if m in sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_rgdata_loads_no_heavy_dependency():
    assert loaded_after("import rgdata") == set()


@pytest.mark.parametrize("sub", ["coarse", "diagnostics"])
def test_analysis_subpackages_do_not_load_scipy_stats_or_plotting(sub):
    # numba is what prg and momentum run on; scipy.stats (~0.5 s) and plotting are not
    assert loaded_after(f"import rgdata.{sub}") & {"scipy.stats", "matplotlib", "sklearn"} == set()


def test_a_prg_run_and_its_exponent_fit_leave_scipy_interpolate_unloaded():
    # the whole-process PRG benchmarks import both; only the level-distance splines need it
    statement = (
        "import numpy as np, warnings, rgdata\n"
        "from rgdata.coarse import prg\n"
        "from rgdata.diagnostics import fit_exponent\n"
        "warnings.simplefilter('ignore')\n"
        "x = (np.random.default_rng(0).random((64, 2000)) < 0.1).astype(np.int8)\n"
        "res = prg(rgdata.as_activity(x, kind='spikes'), observables=('variance', 'silence'))\n"
        "fit_exponent(res, 'variance')"
    )
    assert "scipy.interpolate" not in loaded_after(statement)


def test_every_exported_name_resolves():
    for name in rgdata.__all__:
        assert getattr(rgdata, name) is not None, name
    namespace: dict = {}
    exec(f"from rgdata import {', '.join(rgdata.__all__)}", namespace)
    assert set(rgdata.__all__) <= set(namespace)
