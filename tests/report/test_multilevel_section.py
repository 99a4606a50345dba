"""The multilevel report section: composes validate_multilevel into figures, a table, a result."""

import numpy as np
import pytest

from rgdata.report import Report
from rgdata.report.sections import REGISTRY
from rgdata.report.sections.multilevel import MULTILEVEL_DEFAULTS


def test_multilevel_section_reports_ess_and_the_kaufman_check(tmp_path):
    report = Report("t")
    heads = REGISTRY["multilevel"].run(
        report, None, random_state=0, quick=True, sizes={4: 3000, 8: 3000}
    )
    assert set(heads) == {"ess_fraction_L4", "ess_fraction_L8", "max_abs_z_log_z"}
    assert 0.5 < heads["ess_fraction_L4"] <= 1
    assert heads["max_abs_z_log_z"] < 4  # exact sampler + exact weights: z ~ N(0, 1)
    kinds = {(item.kind, item.name) for item in report.items}
    assert {("figure", "multilevel_ess"), ("figure", "multilevel_free_energy")} <= kinds
    assert ("table", "multilevel_table") in kinds
    table = next(i for i in report.items if i.name == "multilevel_table").payload
    assert list(table["L"]) == [4, 8] and "±" in table["beta F/N"].iloc[0]
    res = next(i for i in report.items if i.name == "multilevel_validation").payload
    assert np.isnan(res.ess.sel(sampler="learned")).all()
    report.save(tmp_path / "r")
    assert (tmp_path / "r" / "results" / "multilevel_validation.nc").exists()


def test_multilevel_section_rejects_unknown_options():
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['size'\]; accepted"):
        REGISTRY["multilevel"].run(Report("t"), None, quick=True, size={4: 10})
    assert MULTILEVEL_DEFAULTS[True]["learned_sizes"] == ()
