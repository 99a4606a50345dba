"""MS3D: exact identities, the Gaussian-field closed form, nulls, Ising ordering, PRG trees."""

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.diagnostics import expected_ms3d, gaussian_field, ms3d, ms3d_tree
from rgdata.diagnostics._ms3d_kernels import block_residuals


def _brute_residual(x, b):
    """||x - U B x||^2 with the block average upsampled explicitly by np.kron."""
    out = []
    for f in x:
        f = f - f.mean()
        blocks = f.reshape(f.shape[0] // b, b, f.shape[1] // b, b).mean(axis=(1, 3))
        up = np.kron(blocks, np.ones((b, b)))
        out.append(np.sum((f - up) ** 2))
    return np.array(out)


def test_block_residual_equals_explicit_upsampling():
    x = np.random.default_rng(0).normal(size=(3, 16, 32)) + np.arange(32)
    res, tot = block_residuals(x, [2, 4, 8])
    for j, b in enumerate([2, 4, 8]):
        np.testing.assert_allclose(res[:, j], _brute_residual(x, b), rtol=1e-10)
    np.testing.assert_allclose(tot, [np.sum((f - f.mean()) ** 2) for f in x])


def test_constant_blocks_score_zero_and_white_noise_matches_formula():
    # a field constant on 4x4 blocks: nothing removed at b = 2, 4
    coarse = np.random.default_rng(1).normal(size=(5, 4, 4))
    x = np.kron(coarse, np.ones((1, 4, 4)))
    res = ms3d(x, [2, 4, 8], n_null=2, random_state=0)
    np.testing.assert_allclose(res["dissimilarity"].values[:2], 0, atol=1e-12)
    # white noise: the closed form (N/b^d - 1)/(N - 1) kept
    r, d = expected_ms3d((16, 16), [2, 4, 8], 0.0)
    np.testing.assert_allclose(d, 1 - (256 / np.array([4, 16, 64]) - 1) / 255)


@pytest.mark.parametrize("alpha", [2.5, 3.0])
def test_gaussian_fields_score_as_the_closed_form(alpha):
    shape, scales = (64, 64), [2, 4, 8, 16]
    x = gaussian_field(shape, alpha, 300, random_state=int(alpha * 10))
    res = ms3d(x, scales, n_null=2, random_state=0)
    power, d = expected_ms3d(shape, scales, alpha)
    z_power = (res["residual_power"].values - power) / res["residual_power_se"].values
    assert np.all(np.abs(z_power) < 4), z_power
    z_d = (res["dissimilarity"].values - d) / res["dissimilarity_se"].values
    assert np.all(np.abs(z_d) < 4), z_d
    ci_sum = res["ms3d_ci_low"].item() <= d.sum() <= res["ms3d_ci_high"].item()
    assert ci_sum or abs(res["ms3d"].item() - d.sum()) < 4 * res["ms3d_se"].item()


def test_closed_form_has_the_power_law_limit():
    # d < alpha < d + 2, 1 << b << L: residual power ~ b^(alpha - d)
    r, _ = expected_ms3d((1024, 1024), [16, 32, 64], 3.0)
    slopes = np.diff(np.log(r)) / np.log(2)
    np.testing.assert_allclose(slopes, 1.0, atol=0.05)
    r1, _ = expected_ms3d((2**16,), [64, 128, 256], 2.0)
    np.testing.assert_allclose(np.diff(np.log(r1)) / np.log(2), 1.0, atol=0.02)


def test_shuffled_null_matches_its_exact_expectation_and_is_reproducible():
    x = gaussian_field((32, 32), 2.5, 20, random_state=3)
    a = ms3d(x, n_null=6, random_state=7)
    b = ms3d(x, n_null=6, random_state=7)
    xr.testing.assert_identical(a, b)
    lo, hi = a["null_dissimilarity_band_low"].values, a["null_dissimilarity_band_high"].values
    assert np.all((lo <= a["null_expected"].values) & (a["null_expected"].values <= hi))
    # a correlated field removes less variance than its shuffle, far outside the band
    assert np.all(a["dissimilarity"].values < lo)
    assert np.all(a["z_vs_null"].values < -3)
    assert a.sizes["draw"] == 6 and list(a["scale"].values) == [2, 4, 8, 16]


def test_critical_ising_is_the_least_self_dissimilar():
    scores = {}
    for temp in (1.8, 2.269, 3.5):
        cfg = rgdata.lattice.sample_ising(32, temp, 80, algorithm="wolff", random_state=5)
        res = ms3d(cfg, n_null=2, random_state=0)
        scores[temp] = (res["ms3d"].item(), res["ms3d_se"].item())
    crit, se_c = scores[2.269]
    for temp in (1.8, 3.5):
        other, se_o = scores[temp]
        assert other - crit > 4 * np.hypot(se_c, se_o), scores


def test_bad_input_is_named():
    x = np.zeros((2, 24, 24)) + np.random.default_rng(0).normal(size=(2, 24, 24))
    with pytest.raises(ValueError, match="not divisible.*b=16"):
        ms3d(x, [2, 4, 16])
    with pytest.raises(ValueError, match="at least 3 block sides"):
        ms3d(x, [2, 4])
    with pytest.raises(ValueError, match="only 2 scale"):
        ms3d(x[:, :12, :12])  # 12 allows b = 2, 4 only
    with pytest.raises(ValueError, match="strictly increasing"):
        ms3d(x, [4, 2, 8])
    with pytest.raises(TypeError, match="scales must be a sequence"):
        ms3d(x, 2)
    with pytest.raises(ValueError, match="n_null"):
        ms3d(x, [2, 3, 4], n_null=1)
    with pytest.raises(TypeError, match="fields"):
        ms3d("field", [2, 3, 4])
    with pytest.raises(ValueError, match="all 2 samples are constant"):
        ms3d(np.ones((2, 16, 16)), [2, 4, 8])
    da = xr.DataArray(x, dims=("y", "x", "sample"))
    with pytest.raises(ValueError, match="'sample' as its first dim"):
        ms3d(da, [2, 3, 4])


def _tree_activity(n_levels=6, n_time=4000, seed=0):
    """64 units: unit i sums one unit-variance component per tree level m = 0..5,
    shared by the 2^m units of its level-m ancestor (m = 0: its own noise)."""
    rng = np.random.default_rng(seed)
    n = 2**n_levels
    x = np.zeros((n, n_time))
    for m in range(n_levels):
        comp = rng.normal(size=(n // 2**m, n_time))
        x += np.repeat(comp, 2**m, axis=0)
    return rgdata.as_activity(x, kind="continuous")


def test_tree_of_nested_components_scores_as_planted():
    act = _tree_activity()
    res = rgdata.coarse.prg(act, n_levels=5, random_state=0)
    out = ms3d_tree(act, res, n_null=4, null_tree="same", random_state=1)
    assert list(out["scale"].values) == [2, 4, 8, 16, 32]
    # level-m components (variance 1, shared by 2^m units) are removed at level l > m with
    # weight 1 - 2^(m-l); the total variance about the unit mean is sum_m (1 - 2^m / M)
    m_units, comps = 64, np.arange(6)
    total = np.sum(1 - 2.0**comps / m_units)
    planted = np.array([np.sum(1 - 2.0 ** (comps[:lv] - lv)) / total for lv in range(1, 6)])
    d, se = out["dissimilarity"].values, out["dissimilarity_se"].values
    assert np.all(np.abs(d - planted) < 4 * se), (d, planted, se)
    # the same-tree null (units independent) sits at its exact expectation M (1 - 1/K) / (M - 1)
    null = out["null_dissimilarity"].values
    z = (null.mean(axis=0) - out["null_expected"].values) / (null.std(axis=0, ddof=1) / 2)
    assert np.all(np.abs(z) < 5)
    assert np.all(d < out["null_dissimilarity_band_low"].values)
    refit = ms3d_tree(act, res, n_null=3, random_state=1)
    assert np.all(d < refit["null_dissimilarity_band_low"].values)


def test_tree_leaves_out_units_of_odd_clusters_consistently():
    # 40 units: 40 -> 20 -> 10 -> 5 -> 2 clusters, so level 4 leaves a K = 8 cluster out
    act = rgdata.as_activity(np.random.default_rng(4).normal(size=(40, 2000)), kind="continuous")
    res = rgdata.coarse.prg(act, n_levels=4, random_state=0)
    with pytest.warns(UserWarning, match="left out of PRG level 4"):
        out = ms3d_tree(act, res, n_null=5, random_state=0)
    assert out.attrs["n_left_out"] == 8 and out.attrs["n_units"] == 32
    assert np.all(np.isfinite(out["dissimilarity"].values))
    # independent units: the refitted null carries PRG's selection bias, so the data sit in it
    assert np.all(np.abs(out["z_vs_null"].values) < 4), out["z_vs_null"].values
    # ... while against the same tree, or the random-tree expectation, they look structured
    with pytest.warns(UserWarning, match="left out"):
        same = ms3d_tree(act, res, n_null=5, null_tree="same", random_state=0)
    assert np.all(same["z_vs_null"].values < -3)
    z = (out["dissimilarity"] - out["null_expected"]) / out["dissimilarity_se"]
    assert np.all(z.values < -4)


def test_tree_bad_input():
    act = _tree_activity(n_levels=3, n_time=500)
    res = rgdata.coarse.prg(act, n_levels=3, random_state=0)
    with pytest.raises(ValueError, match="at least 3"):
        ms3d_tree(act, res)
    with pytest.raises(ValueError, match="accepted: 1..3"):
        ms3d_tree(act, res, levels=[1, 2, 4])
    with pytest.raises(ValueError, match="time points"):
        ms3d_tree(act.isel(time=slice(0, 400)), res, levels=[1, 2, 2])


def test_three_dimensional_fields():
    coarse = np.random.default_rng(2).normal(size=(3, 2, 2, 2))
    x = np.kron(coarse, np.ones((1, 8, 8, 8)))  # constant on 8^3 blocks
    res = ms3d(x, [2, 4, 8], n_null=2, random_state=0)
    np.testing.assert_allclose(res["dissimilarity"].values, 0, atol=1e-12)
    np.testing.assert_allclose(
        res["null_expected"].values, 4096 * (1 - 0.5 ** (3 * np.arange(1, 4))) / 4095
    )
