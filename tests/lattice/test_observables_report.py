"""The Ising report section runs end to end on tiny lattices and states exact values."""

import warnings

import numpy as np
import pytest
import xarray as xr

from rgdata.report import Report
from rgdata.report.sections.ising import add_ising_section

TINY = {
    "sizes": {4: 200, 8: 200},
    "offsets": [-0.3, -0.03, 0.0, 0.03, 0.3],
    "mcrg_size": 16,
    "mcrg_samples": 120,
    "prg_size": 8,
    "prg_samples": 300,
}


def test_ising_section_tiny(tmp_path):
    rep = Report("ising test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        heads = add_ising_section(rep, random_state=1, **TINY)
    for key in ("tc_binder", "gamma_nu", "y_t", "y_t_err", "y_h", "y_h_err", "prg_alpha"):
        assert key in heads
    assert np.isfinite(heads["y_h"]) and np.isfinite(heads["gamma_nu"])
    names = {it.name for it in rep.items if it.kind == "figure"}
    assert {"ising_energy", "ising_binder", "ising_mcrg", "ising_block_spins"} <= names
    order = [it.name for it in rep.items if it.kind in ("figure", "table")]
    i = order.index("ising_energy")  # the observables against the exact results, in this order
    assert order[i : i + 4] == [
        "ising_energy",
        "ising_at_tc",
        "ising_specific_heat",
        "ising_magnetization",
    ]
    assert (
        "Yang's spontaneous magnetization"
        in rep.items[[it.name for it in rep.items].index("ising_magnetization")].caption
    )
    captions = " ".join(it.caption for it in rep.items if it.kind == "figure")
    assert "exact 15/8 = 1.875" in captions and "Kaufman" in captions
    index = rep.save(tmp_path / "rep")
    assert index.exists()
    back = xr.load_dataset(tmp_path / "rep" / "results" / "ising_mcrg.nc", engine="h5netcdf")
    assert back.attrs["y_h_exact"] == pytest.approx(15 / 8)


def test_ising_section_rejects_unknown_options():
    with pytest.raises(ValueError, match="unknown option\\(s\\) \\['size'\\]"):
        add_ising_section(Report("x"), size=4)
    with pytest.raises(TypeError, match="report must be an rgdata.report.Report"):
        add_ising_section(None)
