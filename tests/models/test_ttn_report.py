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
    # the tree against PRG and majority blocks on the same configurations
    cmp = out["comparison"]
    assert list(cmp["scheme"].values) == [
        "ttn_prg_tree",
        "prg_sum",
        "ttn_block_tree",
        "majority_block",
    ]
    rv = cmp["retained_variance"]
    # level 1 of binary spins: the two kept states (both down, both up) span the pair sum,
    # so the tree keeps at least what PRG's sum keeps
    assert (
        float(rv.sel(scheme="ttn_prg_tree", level=1))
        >= float(rv.sel(scheme="prg_sum", level=1)) - 1e-12
    )
    # independent spins would keep 1/K; critical clusters keep more
    K = cmp["scale"].values
    assert np.all(rv.sel(scheme="prg_sum").values > 1 / K)
    assert np.isfinite(rv.sel(scheme="majority_block", level=2))
    assert np.isnan(rv.sel(scheme="majority_block", level=1))
    assert "ttn_prg_retained" in {it.name for it in rep.items if it.kind == "figure"}


def test_every_ising_report_section_takes_quick():
    # the Ising recipe passes quick= to each of its sections (recipes.ISING_SECTIONS)
    import inspect

    from rgdata.report.recipes import ISING_SECTIONS
    from rgdata.report.sections import REGISTRY

    for name in ISING_SECTIONS:
        assert "quick" in inspect.signature(REGISTRY[name].load()).parameters, name
