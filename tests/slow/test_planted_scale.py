"""Planted trees of 20,480 units: the sparse exact path finds the planted tree and alpha (#21)."""

import numpy as np
import pytest

from rgdata.coarse import _prg_sparse, planted_tree, prg
from rgdata.diagnostics import fit_exponent

from ..coarse.test_planted import assert_planted_clusters

pytestmark = pytest.mark.slow


def test_sparse_prg_recovers_a_planted_tree_of_20480_units(monkeypatch):
    """5 trees of 4,096 units, T = 5,000, AR(1) time: every planted cluster, alpha = 1.4 in the CI.

    The sparse path (forced: the dense matrix would be 1.6 GB) pairs 20,480
    units without the matrix; the truth is the generating tree and the exact
    exponent, not another pairing. ~1 min on 2 cores.
    """
    monkeypatch.setitem(_prg_sparse.SPARSE_OPTIONS, "dense_max_bytes", 2**28)
    act, truth = planted_tree(12, 5000, n_trees=5, autocorrelation=0.5, random_state=20_480)
    res = prg(act, 12, observables=("variance",))
    assert_planted_clusters(res, truth, 12)
    fit = fit_exponent(res, "variance")
    assert float(fit["ci_low"]) < 1.4 < float(fit["ci_high"])
    assert float(fit["ci_high"]) - float(fit["ci_low"]) < 0.05
    np.testing.assert_array_equal(res["n_left_out"].values[:13], 0)
