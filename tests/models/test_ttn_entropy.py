"""Merge entropy fractions against the exact values for independent fair bits."""

import numpy as np
import pytest
from scipy.stats import binom

import rgdata
from rgdata.coarse import prg
from rgdata.models.ttn_entropy import merge_entropy_retained, plugin_entropy


def _entropy_bits(p):
    p = np.asarray(p)
    return float(-(p * np.log2(p)).sum())


@pytest.fixture(scope="module")
def fair():
    X = np.random.default_rng(0).integers(0, 2, (8000, 16)).astype(float)
    res = prg(rgdata.as_activity(X.T.astype(np.int8), kind="spikes"), random_state=0)
    ds = merge_entropy_retained(X, res, bond_dim=4, lattice_side=4, random_state=0)
    return X, res, ds


def test_independent_fair_bits_give_the_exact_fractions(fair):
    _, _, ds = fair
    er, se = ds["entropy_retained"], ds["entropy_retained_se"]
    # sum of two fair bits: H(Binomial(2, 1/2)) / 2 bits = 0.75; of two such sums:
    # H(Binomial(4, 1/2)) / (2 H(Binomial(2, 1/2)))
    h2 = _entropy_bits(binom.pmf(range(3), 2, 0.5))
    h4 = _entropy_bits(binom.pmf(range(5), 4, 0.5))
    for level, exact in ((1, h2 / 2), (2, h4 / (2 * h2))):
        got = er.sel(scheme="prg_sum", level=level)
        assert abs(float(got) - exact) < 4 * float(se.sel(scheme="prg_sum", level=level)) + 2e-3
    # majority of 4 fair spins with coin ties: a fair spin, 1 bit of 4
    maj = er.sel(scheme="majority_block", level=2)
    assert abs(float(maj) - 0.25) < 4 * float(se.sel(scheme="majority_block", level=2)) + 2e-3
    assert np.isnan(er.sel(scheme="majority_block", level=1))
    # a TTN node at full bond dimension (4 = 2 x 2) is invertible: keeps everything
    assert float(er.sel(scheme="ttn_prg_tree", level=1)) == pytest.approx(1.0, abs=1e-9)
    assert np.all(ds["nodes_used"].sel(scheme="prg_sum").values == 1)


def test_unreliable_nodes_are_left_out_and_bad_input(fair):
    X, res, _ = fair
    none = merge_entropy_retained(X, res, max_states=0.0)
    assert np.all(none["nodes_used"].values == 0)
    assert np.all(np.isnan(none["entropy_retained"].values))
    with pytest.raises(ValueError, match="X must be binary"):
        merge_entropy_retained(np.full_like(X, 0.5), res)
    with pytest.raises(ValueError, match="lattice_side must satisfy L \\* L = 16"):
        merge_entropy_retained(X, res, lattice_side=5)
    h, m = plugin_entropy(np.zeros((10, 3)))
    assert (h, m) == (0.0, 1)
