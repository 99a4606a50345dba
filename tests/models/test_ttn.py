"""TreeTensorNetwork: isometries, retained fractions against the projected norms."""

import numpy as np
import pytest

from rgdata.models._mps_kernels import feature_map
from rgdata.models.ttn import TreeTensorNetwork


def _data(n=300, N=16, seed=0):
    rng = np.random.default_rng(seed)
    # correlated neighbours: pairs share a common value plus noise
    base = rng.uniform(size=(n, N // 2))
    X = np.repeat(base, 2, axis=1) + rng.normal(0, 0.05, (n, N))
    return np.clip(X, 0, 1)


def test_isometries_and_full_bond_dimension_keeps_everything():
    X = _data()
    ttn = TreeTensorNetwork(bond_dim=4, n_levels=1).fit(X)
    U = ttn.isometries_[0]
    eye = np.einsum("iak,ial->ikl", U, U)
    np.testing.assert_allclose(eye, np.broadcast_to(np.eye(4), eye.shape), atol=1e-12)
    np.testing.assert_allclose(ttn.retained_[0], 1.0, rtol=1e-12)


def test_retained_fraction_equals_kept_norm_and_discarded_eigenvalues():
    X = _data()
    ttn = TreeTensorNetwork(bond_dim=2).fit(X)
    # level 1: the inputs are unit vectors, so the retained fraction is the mean squared
    # norm of the projected pair vectors, computed here without the density matrix
    coarse = ttn.transform(X, 1)
    np.testing.assert_allclose(np.mean(np.sum(coarse**2, axis=2), axis=0), ttn.retained_[0])
    w = ttn.eigenvalues_[0]
    np.testing.assert_allclose(1 - ttn.retained_[0], w[:, 2:].sum(1) / w.sum(1), rtol=1e-10)
    assert np.all(ttn.retained_[0] < 1) and np.all(ttn.retained_[0] > 0.5)
    # correlated pairs keep more than independent ones
    rng = np.random.default_rng(1)
    indep = TreeTensorNetwork(bond_dim=2, n_levels=1).fit(rng.uniform(size=(300, 16)))
    assert ttn.retained_[0].mean() > indep.retained_[0].mean()
    phi = feature_map(X)
    assert coarse.shape == (len(X), 8, 2) and phi.shape == (len(X), 16, 2)


def test_bad_input():
    with pytest.raises(ValueError, match="power of 2 of features per sample, got 12"):
        TreeTensorNetwork().fit(np.full((5, 12), 0.5))
    with pytest.raises(ValueError, match="bond_dim must be >= 1, got 0"):
        TreeTensorNetwork(bond_dim=0).fit(np.full((5, 8), 0.5))
    with pytest.raises(ValueError, match=r"X must lie in \[0, 1\]"):
        TreeTensorNetwork().fit(np.full((5, 8), -1.0))


def test_learned_isometry_keeps_at_least_the_block_spin_subspace():
    from rgdata.models.ttn import aligned_pair_retained

    rng = np.random.default_rng(2)
    # binary data: aligned pairs keep everything, independent fair pairs keep half
    aligned = np.repeat(rng.integers(0, 2, (200, 4)), 2, axis=1).astype(float)
    np.testing.assert_allclose(aligned_pair_retained(aligned), 1.0)
    fair = rng.integers(0, 2, (4000, 8)).astype(float)
    base = aligned_pair_retained(fair)
    np.testing.assert_allclose(base, 0.5, atol=4 * np.sqrt(0.25 / 4000))
    X = _data()
    learned = TreeTensorNetwork(bond_dim=2, n_levels=1).fit(X).retained_[0]
    assert np.all(learned >= aligned_pair_retained(X) - 1e-12)


def test_levels_as_activity():
    from rgdata.activity import check_activity

    X = _data(n=50)
    ttn = TreeTensorNetwork(bond_dim=2).fit(X)
    act = ttn.to_activity(X, 2)
    check_activity(act)
    assert act.sizes["unit"] == 4 * 2 and act.sizes["time"] == 50
    np.testing.assert_allclose(act.values.T.reshape(50, 4, 2), ttn.transform(X, 2))


def test_lattice_tree_is_made_of_2x2_blocks():
    from rgdata.models.ttn import z_order

    order = z_order(8)
    assert sorted(order.tolist()) == list(range(64))
    y, x = np.divmod(order, 8)
    # two levels merge 4 consecutive Z-ordered sites: each group is a 2x2 block
    for g in range(16):
        ys, xs = y[4 * g : 4 * g + 4], x[4 * g : 4 * g + 4]
        assert ys.max() - ys.min() == 1 and xs.max() - xs.min() == 1
    # a lattice whose rows come in identical pairs (vertical pairs aligned, horizontal ones
    # independent): level 2 of the 2x2 tree merges vertical pairs, 4 distinct states of 16,
    # so bond dimension 4 keeps everything; the raster-order tree merges 4 sites of one row
    # there (16 equally likely states): it keeps 4/16
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 2, (500, 4, 8)).astype(float)
    X = np.repeat(rows, 2, axis=1).reshape(500, 64)
    ttn = TreeTensorNetwork(bond_dim=4, lattice=True, n_levels=2).fit(X)
    assert ttn.retained_[0].mean() == pytest.approx(1.0)  # 4 states kept of 4
    assert ttn.retained_[1].mean() == pytest.approx(1.0)
    raster = TreeTensorNetwork(bond_dim=4, n_levels=2).fit(X)
    assert raster.retained_[1].mean() == pytest.approx(0.25, abs=0.05)
    flat = TreeTensorNetwork(bond_dim=2, lattice=True, n_levels=1).fit(X)
    assert flat.retained_[0].mean() < 0.6  # horizontal pairs are independent
    with pytest.raises(ValueError, match="lattice=True needs L x L features"):
        TreeTensorNetwork(lattice=True).fit(np.full((3, 32), 0.5))
