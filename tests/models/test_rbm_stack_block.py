"""DeepRBM(block=b): each layer placed on the block lattice before it feeds the next."""

import numpy as np
import pytest

from rgdata.lattice import exact, sample_ising
from rgdata.models import DeepRBM, check_model
from rgdata.models.rbm_measures import arrange_hidden, hidden_configurations


@pytest.fixture(scope="module")
def stack():
    cfg = sample_ising(8, exact.TC_2D, 300, algorithm="wolff", random_state=0)
    deep = DeepRBM(layers=(16, 4), n_epochs=3, l1=1e-3, block=2, random_state=0).fit(cfg)
    return cfg, deep


def test_layers_are_block_lattices(stack):
    cfg, deep = stack
    # layer 2 was trained on an (L/2) x (L/2) lattice, not on a raster of hidden units
    assert tuple(deep.rbms_[1].input_["shape"]) == (4, 4)
    means = deep.transform(cfg, mode="mean", random_state=0)
    expected = hidden_configurations(deep.rbms_[0], cfg, 2, mode="mean")
    np.testing.assert_array_equal(means[0].values, expected.values)
    assert means[1].shape == (300, 2, 2)
    assert [layout.sizes["hidden"] for layout in deep.layouts_] == [16, 4]
    samples = deep.transform(cfg, mode="sample", random_state=1)
    assert set(np.unique(samples[0].values)) <= {-1, 1} and samples[0].shape == (300, 4, 4)


@pytest.mark.parametrize("coding", ["pm1", "01"])
def test_down_pass_inverts_the_arrangement(stack, coding):
    cfg, deep = stack
    rbm = deep.rbms_[0]
    layout = arrange_hidden(rbm, 2)
    rng = np.random.default_rng(0)
    h = rng.choice([-1.0, 1.0], size=(5, 16))  # hidden units in the RBM's own order
    placed = np.zeros((5, 4, 4))
    placed[:, layout.block_y.values, layout.block_x.values] = (
        h[:, layout.hidden.values] * layout.sign.values
    )
    units = placed.reshape(5, 16)
    if coding == "01":
        deep.rbms_[0].coding_, units, h = "01", (units + 1) / 2, (h + 1) / 2
    try:
        np.testing.assert_array_equal(deep._down(units, 0), h)
    finally:
        deep.rbms_[0].coding_ = "pm1"


def test_sample_and_protocol(stack):
    cfg, deep = stack
    draws = deep.sample(20, random_state=0, n_steps=5)
    assert draws.shape == (20, 8, 8)
    check_model(DeepRBM(layers=(16, 4), n_epochs=1, block=2), cfg.isel(sample=slice(0, 60)))


def test_block_needs_square_layers(stack):
    small = stack[0].isel(sample=slice(0, 60))
    with pytest.raises(ValueError, match="accepted n_hidden: 16 for b=2"):
        DeepRBM(layers=(15, 4), n_epochs=1, block=2).fit(small)
    with pytest.raises(ValueError, match="block must be >= 2, got 1"):
        DeepRBM(layers=(16, 4), n_epochs=1, block=1).fit(small)
