"""RBM measurements: block-copy construction, receptive fields, couplings, flow thermometer."""

from __future__ import annotations

import numpy as np
import pytest

import rgdata
from rgdata.models import RBM
from rgdata.models import rbm_measures as M


@pytest.fixture(scope="module")
def lattice9():
    return rgdata.lattice.sample_ising(9, 2.5, 200, algorithm="wolff", random_state=0)


@pytest.fixture(scope="module")
def copier(lattice9):
    """Hidden unit j copies 3x3 block j (shuffled and sign-flipped, as training could give)."""
    rbm = RBM(n_hidden=9, n_epochs=1, random_state=0).fit(lattice9)
    copy = M.block_copy_rbm(rbm, 3)
    order = np.random.default_rng(1).permutation(9)
    signs = np.array([1, -1, 1, 1, -1, -1, 1, -1, 1])
    copy.weights_ = copy.weights_[:, order] * signs
    return copy, order, signs


def test_block_copying_hidden_units_have_overlap_one(copier, lattice9):
    rbm, order, signs = copier
    layout = M.arrange_hidden(rbm, 3)
    # unit k now holds original block order[k]
    np.testing.assert_array_equal(
        layout.block_y.values * 3 + layout.block_x.values, order[layout.hidden.values]
    )
    np.testing.assert_array_equal(layout.sign.values, signs[layout.hidden.values])
    ov = M.block_overlap(rbm, lattice9, 3, random_state=0)
    assert float(ov.overlap_mean) == 1.0
    assert float(ov.overlap_null) < 0.9  # distant blocks agree less than a copy does
    # the hidden layer is the block-spin lattice: identical couplings
    cp = M.hidden_couplings(rbm, lattice9, 3, operators=["nn"], random_state=0)
    np.testing.assert_allclose(cp.couplings.sel(layer="hidden"), cp.couplings.sel(layer="block"))


def test_receptive_field_of_a_block_copy(copier):
    rbm, _, _ = copier
    rf = M.receptive_fields(rbm, b=3)
    np.testing.assert_allclose(rf.locality, 1.0)
    # RMS distance from the centre of a 3x3 block: sqrt(2 * (0 + 1 + 1) / 3)
    np.testing.assert_allclose(rf.spread, np.sqrt(4 / 3), rtol=1e-12)
    assert float(rf.locality_null) == pytest.approx(9 / 81)
    # uniform weights on the 9x9 torus: offsets -4..4 on each axis, RMS sqrt(2 * 60 / 9)
    assert float(rf.spread_null) == pytest.approx(np.sqrt(2 * 60 / 9), rel=1e-12)
    flat = M.block_copy_rbm(rbm, 3)
    flat.weights_ = np.ones_like(flat.weights_)
    np.testing.assert_allclose(M.receptive_fields(flat, b=3).locality, 9 / 81)


def test_flow_thermometer_reads_the_sampling_temperature():
    T = 3.0
    cfg = rgdata.lattice.sample_ising(8, T, 400, algorithm="wolff", random_state=3)
    rbm = RBM(n_hidden=16, n_epochs=2, random_state=0).fit(cfg)
    flow = M.rbm_flow(rbm, cfg, n_steps=2, random_state=0)
    t0, err = float(flow.temperature[0]), float(flow.temperature_err[0])
    assert abs(t0 - T) < 4 * err, (t0, err)
    assert flow.sizes["step"] == 3


def test_measures_reject_bad_input(lattice9):
    act = rgdata.as_activity(np.random.default_rng(0).integers(0, 2, (6, 50)), "spikes")
    with pytest.raises(ValueError, match="rbm was fitted on activity data; accepted: an RBM"):
        M.receptive_fields(RBM(n_hidden=2, n_epochs=1).fit(act), b=2)
    with pytest.raises(TypeError, match="rbm must be a fitted rgdata.models.RBM"):
        M.receptive_fields("rbm", b=2)
    rbm = RBM(n_hidden=4, n_epochs=1, random_state=0).fit(lattice9)
    with pytest.raises(ValueError, match=r"n_hidden=4 \(accepted n_hidden: 9 for b=3\)"):
        M.arrange_hidden(rbm, 3)


def test_prg_overlap_finds_planted_clusters_and_a_null_below():
    import xarray as xr

    from rgdata.models.rbm_neural import prg_overlap

    rng = np.random.default_rng(0)
    rbm = RBM(n_hidden=4, n_epochs=1, random_state=0).fit(rng.integers(0, 2, (40, 16)))
    # hidden unit j weighs units of PRG cluster j at level 2 (K = 4), units shuffled
    perm = rng.permutation(16)
    labels = np.empty(16, int)
    labels[perm] = np.repeat(np.arange(4), 4)
    W = 0.1 * rng.random((16, 4))
    W[perm, np.repeat(np.arange(4), 4)] = 2.0
    rbm.weights_ = W
    levels = [np.arange(16), labels * 2 + (np.arange(16) % 2), labels]  # level 1 unused here
    res = xr.Dataset({"membership": (("level", "unit"), np.array(levels))})
    out = prg_overlap(rbm, res, level=2, random_state=0)
    np.testing.assert_array_equal(out.best_overlap, 1.0)
    np.testing.assert_array_equal(out.best_cluster, np.arange(4))
    assert float(out.null_high) < 1.0
    with pytest.raises(ValueError, match="prg_result has 16 units, the RBM 8 visible units"):
        prg_overlap(RBM(n_hidden=2, n_epochs=1).fit(rng.integers(0, 2, (40, 8))), res, 2)


def test_temperature_scan_shape_and_nulls():
    from rgdata.models.rbm_scan import temperature_scan

    ds = temperature_scan(
        [1.5, 4.0], L=4, n_samples=50, b=2, rbm_params={"n_epochs": 2}, random_state=0
    )
    assert ds.sizes["temperature"] == 2
    assert float(ds.locality_null) == 4 / 16
    assert np.all(ds.locality_mean >= ds.locality_null - 1e-12)  # a max over blocks
    with pytest.raises(ValueError, match="L must be divisible by b, got L=5, b=2"):
        temperature_scan([2.0], L=5, b=2)


def test_trained_rbm_is_local_and_tracks_blocks_above_tc():
    # above T_c the correlation length is short: a trained RBM's receptive fields must be
    # more local than uniform weights and its hidden samples must follow the block spins
    # far more than the blocks half a lattice away (errors: SE over units / configurations)
    cfg = rgdata.lattice.sample_ising(8, 3.5, 1000, algorithm="wolff", random_state=0)
    rbm = RBM(n_hidden=16, l1=1e-3, n_epochs=20, random_state=0).fit(cfg)
    rf = M.receptive_fields(rbm, 2)
    assert float(rf.locality_mean - 4 * rf.locality_err) > float(rf.locality_null)
    ov = M.block_overlap(rbm, cfg, 2, random_state=0)
    gap = float(ov.overlap_mean - ov.overlap_null)
    assert gap > 4 * float(np.hypot(ov.overlap_err, ov.overlap_null_err))
