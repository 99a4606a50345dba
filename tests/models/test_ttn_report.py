"""The tensor_networks report section: runs, fills the headline table, numbers against exact."""

import numpy as np

from rgdata.report import Report
from rgdata.report.sections import REGISTRY


def test_tensor_networks_section_small():
    rep = Report("t")
    out = REGISTRY["tensor_networks"].run(
        rep, None, random_state=0, chis=(2,), n_sweeps=1, L=8, n_configs=100
    )
    assert {h.label for h in rep.headlines} >= {
        "MPS test error on digits, chi=2",
        "TTN level-1 retained fraction (Ising T_c)",
    }
    # binary data: the learned level-1 isometry keeps the block-spin subspace
    assert abs(out["ttn_retained_level1"] - out["block_retained_level1"]) < 1e-9
    # P(aligned) against the exact finite-L value: within 4 standard errors of 100
    # correlated configurations is loose but not empty (|diff| would be ~0.14 for T = inf)
    assert abs(out["ttn_retained_level1"] - out["aligned_exact"]) < 0.03
    assert 0 <= out["mps_error"] <= 1 and np.isfinite(out["logreg_error"])


def test_every_ising_report_section_takes_quick():
    # the Ising recipe passes quick= to each of its sections (recipes.ISING_SECTIONS)
    import inspect

    from rgdata.report.recipes import ISING_SECTIONS
    from rgdata.report.sections import REGISTRY

    for name in ISING_SECTIONS:
        assert "quick" in inspect.signature(REGISTRY[name].load()).parameters, name
