"""TreeTensorNetwork on PRG's tree: membership, isometries, retained variance, alpha."""

import numpy as np
import pytest

import rgdata
from rgdata.coarse import prg
from rgdata.diagnostics import fit_exponent
from rgdata.models.ttn import TreeTensorNetwork
from rgdata.models.ttn_compare import compare_retained, readout_retained, ttn_variance_scaling


def _independent(n=4000, N=64, seed=0, pairing="correlation"):
    X = np.random.default_rng(seed).integers(0, 2, (n, N)).astype(float)
    act = rgdata.as_activity(X.T.astype(np.int8), kind="spikes")
    return X, prg(act, pairing=pairing, random_state=0)


def _correlated(n=3000, N=32, seed=1):
    """Units in groups of 4 share a hidden bit (flipped with p = 0.1): PRG pairs inside groups."""
    rng = np.random.default_rng(seed)
    hidden = rng.integers(0, 2, (n, N // 4))
    X = np.repeat(hidden, 4, axis=1) ^ (rng.random((n, N)) < 0.1)
    perm = np.random.default_rng(seed).permutation(
        N
    )  # hide the groups from the consecutive pairing
    X = X[:, perm].astype(float)
    return X, prg(rgdata.as_activity(X.T.astype(np.int8), kind="spikes"), random_state=0)


def test_nodes_hold_exactly_prg_clusters():
    X, res = _correlated()
    ttn = TreeTensorNetwork(bond_dim=2, tree=res).fit(X)
    mem = res["membership"].values
    assert len(ttn.members_) == res.sizes["level"] - 1
    for lev, nodes in enumerate(ttn.members_, start=1):
        assert nodes.shape == (mem[lev].max() + 1, 2**lev)
        for c, units in enumerate(nodes):
            assert set(units.tolist()) == set(np.flatnonzero(mem[lev] == c).tolist())
    # the consecutive tree does not hold PRG's clusters on these permuted units
    plain = TreeTensorNetwork(bond_dim=2).fit(X).members_[1]
    prg_sets = {frozenset(np.flatnonzero(mem[2] == c)) for c in range(mem[2].max() + 1)}
    assert {frozenset(u) for u in plain.tolist()} != prg_sets
    # PRG found the planted groups of 4 (column j holds planted unit perm[j])
    group = np.random.default_rng(1).permutation(32) // 4
    planted = {frozenset(np.flatnonzero(group == g)) for g in range(8)}
    assert prg_sets == planted


def test_isometries_and_full_bond_dimension_on_prg_tree():
    X, res = _correlated()
    ttn = TreeTensorNetwork(bond_dim=16, tree=res, n_levels=2).fit(X)
    for U in ttn.isometries_:
        eye = np.einsum("iak,ial->ikl", U, U)
        np.testing.assert_allclose(eye, np.broadcast_to(np.eye(U.shape[2]), eye.shape), atol=1e-10)
    for r in ttn.retained_:  # 4 and 16 dimensions: nothing dropped
        np.testing.assert_allclose(r, 1.0, rtol=1e-12)
    # the retained fraction is the mean kept norm at level 1 (unit inputs)
    cut = TreeTensorNetwork(bond_dim=2, tree=res).fit(X)
    kept = np.mean(np.sum(cut.transform(X, 1) ** 2, axis=2), axis=0)
    np.testing.assert_allclose(kept, cut.retained_[0])


def test_readout_retained_known_values():
    X, res = _independent(n=20000, N=8)
    mem = np.arange(8).reshape(2, 4)
    sums = X[:, mem].sum(2)[:, :, None]
    r = readout_retained(X, mem, sums)
    # independent units of equal variance: the sum keeps 1/K (sampling error ~ 1/sqrt(n))
    np.testing.assert_allclose(r, 0.25, atol=4 * np.sqrt(2 / 20000))
    np.testing.assert_allclose(readout_retained(X, mem, X[:, mem]), 1.0)
    copies = np.repeat(X[:, :2], 4, axis=1)  # every cluster is 4 copies of one unit
    np.testing.assert_allclose(readout_retained(copies, mem, copies[:, mem].sum(2)[:, :, None]), 1)
    with pytest.raises(ValueError, match=r"features must have shape \(n, n_nodes, m\)"):
        readout_retained(X, mem, sums[:, 0])
    with pytest.raises(ValueError, match="members must index the 8 columns of X"):
        readout_retained(X, mem + 1, sums)


def test_compare_retained_on_a_lattice_of_aligned_blocks():
    # 8 x 8 lattice whose 2x2 blocks are uniform: majority blocks and the block tree keep all
    rng = np.random.default_rng(3)
    blocks = rng.integers(0, 2, (3000, 4, 4))
    X = blocks.repeat(2, axis=1).repeat(2, axis=2).reshape(3000, 64).astype(float)
    X[:, 0] = rng.integers(0, 2, 3000)  # avoid identical units leaving PRG nothing to choose
    res = prg(rgdata.as_activity(X.T.astype(np.int8), kind="spikes"), random_state=0)
    ds = compare_retained(X, res, bond_dim=2, lattice_side=8, random_state=0)
    assert list(ds["scheme"].values) == [
        "ttn_prg_tree",
        "prg_sum",
        "ttn_block_tree",
        "majority_block",
    ]
    major = ds["retained_variance"].sel(scheme="majority_block", level=2)
    assert float(major) > 0.98  # 15 of 16 blocks uniform: retained 1; block 0 less
    assert np.isnan(ds["retained_variance"].sel(scheme="majority_block", level=1))
    assert float(ds["ttn_fidelity"].sel(scheme="ttn_block_tree", level=2)) > 0.99
    assert np.all(ds["retained_variance"].values[np.isfinite(ds["retained_variance"].values)] <= 1)


def test_variance_exponent_of_the_tree_on_independent_units():
    # random pairing: correlation pairing picks the pairs with the largest sample
    # correlations, which biases alpha above 1 on independent units at finite n
    X, res = _independent(n=3000, N=32, pairing="random")
    ttn = TreeTensorNetwork(bond_dim=256, tree=res, n_levels=3).fit(X)  # keeps every config
    ds = ttn_variance_scaling(ttn, X, res)
    # the PRG sums rebuilt from the tree's clusters are PRG's own variances
    np.testing.assert_allclose(
        ds["variance"].sel(scheme="prg_sum"), res["variance"].values[:4], rtol=1e-9
    )
    # lossless tree: the readout of the sum is the sum itself
    np.testing.assert_allclose(
        ds["variance"].sel(scheme="ttn"), ds["variance"].sel(scheme="prg_sum"), rtol=1e-9
    )
    fit = fit_exponent(ds.sel(scheme="ttn"), "variance", k_range=(1, 8))
    assert float(fit["ci_low"]) <= 1.0 <= float(fit["ci_high"])  # alpha = 1
    # a truncated tree keeps at most the sum's variance, strictly less above level 1
    cut = ttn_variance_scaling(TreeTensorNetwork(bond_dim=2, tree=res).fit(X), X, res)
    ratio = cut["variance"].sel(scheme="ttn") / cut["variance"].sel(scheme="prg_sum")
    assert np.all(ratio.values <= 1 + 1e-12) and float(ratio.isel(level=3)) < 0.9
    assert float(ratio.isel(level=0)) == pytest.approx(1.0)  # phi(x) spans {1, x}


def test_variance_scaling_uses_prgs_measured_samples_with_holdout():
    X = np.random.default_rng(6).integers(0, 2, (2000, 16)).astype(float)
    act = rgdata.as_activity(X.T.astype(np.int8), kind="spikes")
    res = prg(act, holdout=True, random_state=0)
    ds = ttn_variance_scaling(TreeTensorNetwork(bond_dim=2, tree=res).fit(X), X, res)
    np.testing.assert_allclose(ds["variance"].sel(scheme="prg_sum"), res["variance"], rtol=1e-9)
    np.testing.assert_allclose(
        ds["variance_blocks"].sel(scheme="prg_sum"), res["variance_blocks"], rtol=1e-9
    )


def res16():
    X = np.random.default_rng(5).integers(0, 2, (200, 16))
    return prg(rgdata.as_activity(X.T.astype(np.int8), kind="spikes"), random_state=0)


def test_prg_tree_bad_input():
    X, res = _independent(n=200, N=8)
    with pytest.raises(ValueError, match="has 8 units but X has 16 features"):
        TreeTensorNetwork(tree=res).fit(np.zeros((200, 16)))
    with pytest.raises(TypeError, match="got dict"):
        TreeTensorNetwork(tree={}).fit(X)
    with pytest.raises(ValueError, match="either lattice=True or tree="):
        TreeTensorNetwork(tree=res, lattice=True).fit(X)
    with pytest.raises(ValueError, match="n_levels must be <= 2"):
        TreeTensorNetwork(tree=res, n_levels=3).fit(X)
    broken = res.copy(deep=True)
    broken["membership"].values[2] = [0, 1, 0, 1, 0, 1, 0, 1]
    with pytest.raises(ValueError, match="not two whole clusters"):
        TreeTensorNetwork(tree=broken).fit(X)
    with pytest.raises(ValueError, match="lattice_side needs binary X"):
        compare_retained(np.full((200, 16), 0.5), res16(), lattice_side=4)
    with pytest.raises(TypeError, match="fitted with tree="):
        ttn_variance_scaling(TreeTensorNetwork().fit(X), X, res)


def test_prg_sums_of_independent_units_keep_one_over_k():
    X, res = _independent(n=4000, N=32, pairing="random")
    ds = compare_retained(X, res, bond_dim=2)
    K = ds["scale"].values
    got = ds["retained_variance"].sel(scheme="prg_sum").values
    se = ds["retained_variance_se"].sel(scheme="prg_sum").values
    assert np.all(np.abs(got - 1 / K) < 4 * np.nan_to_num(se) + 0.01)
