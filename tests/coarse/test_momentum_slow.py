"""Momentum-space RG on the shipped data (slow: run with `make test-slow`)."""

import numpy as np
import pytest

import rgdata
from rgdata.report.sections.momentum import add_momentum_section

from .test_momentum_report import _Collect


@pytest.mark.slow
@pytest.mark.parametrize("loader", ["load_retina", "load_stocks"])
def test_section_on_shipped_data(loader):
    act = getattr(rgdata.datasets, loader)()
    rep = _Collect()
    out = add_momentum_section(rep, act, random_state=0)
    assert all(np.isfinite(v) for v in out.values()), out
    res = rep.results["momentum"]
    null = rep.results["momentum_null_shuffle"]
    # the shuffle keeps each unit's distribution: same fourth moments with all modes
    np.testing.assert_allclose(
        null.fourth_moment.isel(fraction=0), res.fourth_moment.isel(direction=0, fraction=0)
    )
    # heavy tails (sparse spikes, fat-tailed returns) are far from Gaussian with all modes
    se = out["gaussian_fourth_moment_se"]
    assert out["fourth_moment_full"] > 3 + 20 * se
    # correlations keep the coarse variables further from Gaussian than the null
    assert out["fourth_moment_smallest_remove_low"] > out["null_fourth_moment_smallest"]
    assert set(rep.captions) == {
        "momentum_fourth_moment_flow",
        "momentum_distributions",
        "momentum_self_similarity",
    }
