"""Dynamics across levels: OU e-folding times, planted dynamic scaling, PRG and block levels."""

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.diagnostics import block_dynamics, dynamic_scaling, prg_dynamics
from rgdata.diagnostics._dynamics_kernels import (
    block_autocov,
    efold_time,
    ou_series,
    ou_skill,
    planted_ou_tree,
    pooled_rho,
)


def test_efold_time_is_exact_for_an_exponential_and_skill_for_an_ou():
    lags = np.arange(60)
    assert efold_time(np.exp(-lags / 7.3)) == pytest.approx(7.3, rel=1e-12)
    assert np.isnan(efold_time(np.exp(-lags / 100.0)))  # never crosses within the lags
    # the own OU model at horizon tau on an exact OU autocorrelation: 2 e^-2 - e^-2 = e^-2
    assert ou_skill(np.exp(-1.0), 5.0, 5) == pytest.approx(np.exp(-2))


def test_block_autocov_matches_direct_sums():
    x = np.random.default_rng(0).normal(size=(3, 40)).cumsum(axis=1)
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    got = block_autocov(x, 2, 5)
    for blk in range(2):
        part = z[:, 20 * blk : 20 * blk + 20]
        want = [np.sum(part[:, : 20 - k] * part[:, k:]) for k in range(6)]
        np.testing.assert_allclose(got[blk], want, rtol=1e-10, atol=1e-10)


def test_ou_series_has_the_planted_relaxation_time():
    x = ou_series([4.0, 4.0, 4.0, 4.0], 20000, np.random.default_rng(1))
    tau = efold_time(pooled_rho(block_autocov(x, 1, 40), 20000))
    assert tau == pytest.approx(4.0, rel=0.05)


def _leaf_null(leaves_levels):
    """z null for the planted tree: every leaf circularly shifted, sums rebuilt."""
    leaves = leaves_levels[0]

    def build(rng):
        shifted = np.stack([np.roll(r, int(rng.integers(0, r.size))) for r in leaves])
        n = shifted.shape[0]
        return [shifted.reshape(n // k, k, -1).sum(axis=1) for k in (1, 2, 4, 8, 16)][
            : len(leaves_levels)
        ]

    return build


@pytest.mark.parametrize(("z_planted", "n_levels"), [(1.0, 5), (1.5, 4)])
def test_planted_ou_tree_recovers_z(z_planted, n_levels):
    levels, sizes, expected_tau = planted_ou_tree(n_levels, z_planted, 1.0, 20000, random_state=11)
    res = dynamic_scaling(
        levels,
        sizes,
        null_levels=_leaf_null(levels),
        null_name="leaves shifted",
        n_boot=200,
        n_null=4,
        random_state=0,
    )
    z, se = res["z"].item(), res["z_se"].item()
    assert res["z_ci_low"].item() < z_planted < res["z_ci_high"].item()
    assert abs(z - z_planted) < 3 * se
    # the exact e-folding time of every level's planted mixture lies in its CI
    inside = (res["tau_ci_low"].values <= expected_tau) & (expected_tau <= res["tau_ci_high"])
    assert inside.sum() >= n_levels - 1, (res["tau"].values, expected_tau)
    # one law rescaled: the level below, rescaled by (K ratio)^z, predicts as well as the own
    # model (within 0.01 of its skill e^-2), far above the time-shuffled null
    own, transfer = res["skill_own"].values, res["skill_transfer"].values
    assert np.all(np.abs(transfer[1:] - own[1:]) < 0.01)
    assert np.all(transfer[1:] > res["null_skill_band_high"].values[1:])
    # independent leaves (same single-leaf dynamics) do not make tau grow like the tree
    assert res["null_z_band_high"].item() < res["z_ci_low"].item()
    assert res["z_vs_null"].item() > 5


def test_dynamic_scaling_is_reproducible_and_transfer_fails_for_the_wrong_law():
    levels, sizes, _ = planted_ou_tree(4, 1.0, 1.0, 8000, random_state=2)
    a = dynamic_scaling(levels, sizes, n_boot=30, n_null=2, random_state=4)
    b = dynamic_scaling(levels, sizes, n_boot=30, n_null=2, random_state=4)
    xr.testing.assert_identical(a, b)
    # rescaling with z = 0 (the same tau at every level) predicts far worse than the own model
    tau = a["tau"].values
    rho_h = np.exp(-1.0)  # what the own horizon sees, by the e-folding definition
    wrong = ou_skill(rho_h, tau[:-1], np.round(tau[1:]))
    assert np.all(wrong < a["skill_own"].values[1:] - 0.05)


def _hier_activity(n_time=6000, seed=0):
    """32 units; the cluster sums at level l are dominated by slower shared OU processes."""
    rng = np.random.default_rng(seed)
    x = np.zeros((32, n_time))
    for m in range(5):
        comp = ou_series(np.full(32 // 2**m, 2.0 * 2**m), n_time, rng)
        x += np.repeat(comp, 2**m, axis=0)
    return rgdata.as_activity(x, kind="continuous")


def test_prg_dynamics_uses_the_coarse_activity_levels():
    act = _hier_activity()
    res = rgdata.coarse.prg(act, n_levels=4, random_state=0)
    out = prg_dynamics(act, res, n_boot=30, n_null=2, random_state=0)
    built = [rgdata.coarse.coarse_activity(res, act, lv).values for lv in range(5)]
    ref = dynamic_scaling(built, res["cluster_size"].values, n_boot=30, n_null=2, random_state=0)
    np.testing.assert_allclose(out["tau"].values, ref["tau"].values, rtol=1e-10)
    assert out["z"].item() == pytest.approx(ref["z"].item(), rel=1e-10)
    assert list(out["prg_level"].values) == [0, 1, 2, 3, 4]
    assert out.sizes["draw"] == 2 and np.all(np.isfinite(out["null_z"].values))


def test_block_dynamics_uses_block_sums():
    rng = np.random.default_rng(3)
    # spins that flip rarely, with slower flips shared by 2x2 and 4x4 blocks
    n_time, side = 400, 8
    spins = np.ones((n_time, side, side), dtype=np.int8)
    for b, p in ((1, 0.2), (2, 0.05), (4, 0.02)):
        flips = rng.random((n_time, side // b, side // b)) < p
        sign = np.where(np.cumsum(flips, axis=0) % 2, -1, 1).astype(np.int8)
        spins *= np.kron(sign, np.ones((1, b, b), dtype=np.int8))
    cfg = xr.DataArray(spins, dims=("sample", "y", "x"))
    out = block_dynamics(cfg, [1, 2, 4], n_boot=20, n_null=2, random_state=0)
    sums = [spins.reshape(n_time, side // b, b, side // b, b).sum(axis=(2, 4)) for b in (1, 2, 4)]
    built = [s.reshape(n_time, -1).T for s in sums]
    ref = dynamic_scaling(built, [1, 2, 4], n_boot=20, n_null=2, random_state=0)
    np.testing.assert_allclose(out["tau"].values, ref["tau"].values, rtol=1e-10)
    assert np.all(np.diff(out["tau"].values) > 0)


def test_bad_input_is_named():
    x = np.random.default_rng(0).normal(size=(2, 500))
    with pytest.raises(ValueError, match="at least 100"):
        dynamic_scaling([x[:, :50]] * 3, [1, 2, 4])
    with pytest.raises(ValueError, match="at least 3 levels"):
        dynamic_scaling([x, x], [1, 2])
    with pytest.raises(ValueError, match="one time axis"):
        dynamic_scaling([x, x, x[:, :400]], [1, 2, 4])
    with pytest.raises(ValueError, match="strictly increasing"):
        dynamic_scaling([x, x, x], [1, 4, 2])
    with pytest.raises(TypeError, match="sequence of"):
        dynamic_scaling(x, [1, 2, 4])
    walk = np.cumsum(np.random.default_rng(1).normal(size=(2, 500)), axis=1)
    with pytest.raises(ValueError, match="does not fall below 1/e"):
        dynamic_scaling([walk, walk, walk], [1, 2, 4], max_lag=5)
    cfg = xr.DataArray(np.ones((50, 8, 8), dtype=np.int8), dims=("sample", "y", "x"))
    with pytest.raises(ValueError, match="at least 100"):
        block_dynamics(cfg)
    act = _hier_activity(n_time=400)
    with pytest.warns(UserWarning, match="block"):
        res = rgdata.coarse.prg(act, n_levels=3, random_state=0)
    with pytest.raises(ValueError, match="null"):
        prg_dynamics(act, res, null="shuffle")


def test_surrogates_keep_each_unit_and_break_alignment():
    from rgdata.diagnostics.dynamics import surrogate_values

    rng = np.random.default_rng(5)
    x = np.repeat(ou_series([3.0], 1024, rng), 4, axis=0)  # four identical units
    phase = surrogate_values(x, "phase", np.random.default_rng(0))
    np.testing.assert_allclose(np.abs(np.fft.rfft(phase)), np.abs(np.fft.rfft(x)), atol=1e-8)
    shift = surrogate_values(x, "circular_shift", np.random.default_rng(0))
    np.testing.assert_allclose(np.sort(shift, axis=1), np.sort(x, axis=1))
    for s in (phase, shift):
        assert abs(np.corrcoef(s)[0, 1:]).max() < 0.5  # the units no longer move together
    with pytest.raises(ValueError, match="null"):
        surrogate_values(x, "shuffle", rng)


def test_prg_dynamics_phase_null():
    act = _hier_activity()
    res = rgdata.coarse.prg(act, n_levels=4, random_state=0)
    out = prg_dynamics(act, res, null="phase", n_boot=30, n_null=4, random_state=0)
    assert out.attrs["z_null"].startswith("phase")
    assert out["null_z_band_high"].item() < out["z"].item()
