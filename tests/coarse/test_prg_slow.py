"""Long checks of real-space PRG (run with ``make test-slow``)."""

import numpy as np
import pytest

import rgdata
from rgdata.coarse import prg
from rgdata.diagnostics import fit_exponent

pytestmark = pytest.mark.slow


def test_block_ci_coverage_on_independent_units():
    """The 90% block CI of alpha covers 1 at about the nominal rate.

    Independent Gaussian units with random pairing have alpha = 1 exactly.
    Over 40 seeds the number of covering intervals is Binomial(40, 0.9)
    (mean 36, sd 1.9): at least 28 (4 sd below) must cover, and the CI must
    not be absurdly wide (coverage 40/40 with width > 0.1 would pass a
    useless interval, so the width is bounded too).
    """
    hits, widths = 0, []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        act = rgdata.as_activity(rng.normal(size=(64, 8000)))
        fit = fit_exponent(prg(act, pairing="random", random_state=seed), "variance", ci=0.9)
        hits += fit["ci_low"] <= 1.0 <= fit["ci_high"]
        widths.append(fit["ci_high"] - fit["ci_low"])
    assert hits >= 28
    assert np.median(widths) < 0.05


def test_planted_tree_large():
    """Depth-8 planted tree (256 units): tree and alpha recovered, mu from spectra."""
    from tests.coarse.test_prg import planted_tree

    rng = np.random.default_rng(5)
    alpha = 1.6
    x, _ = planted_tree(rng, 8, alpha, 40000)
    perm = rng.permutation(256)
    res = prg(rgdata.as_activity(x[perm], unit=perm), n_levels=7)
    mem = res["membership"].values
    for lv in range(8):
        for c in np.unique(mem[lv]):
            assert np.unique(perm[mem[lv] == c] >> lv).size == 1
    fit = fit_exponent(res, "variance", ci=0.99)
    assert fit["ci_low"] <= alpha <= fit["ci_high"]
