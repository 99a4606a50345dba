"""coarse_activity: the coarse-grained Activity of every coarse-graining, against direct sums."""

import warnings

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.coarse import coarse_activity, momentum, prg, result_kind
from rgdata.lattice import block_coupling_flow, block_spins, mcrg

# ---------------------------------------------------------------- PRG


def correlated_spikes(n_units, n_time, seed):
    """Binary units driven by a few shared latent inputs (correlated, never constant)."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((4, n_time))
    drive = rng.standard_normal((n_units, 4)) @ latent
    return (drive + rng.standard_normal((n_units, n_time)) > 1.2).astype(np.int8)


def spectrum_of(coarse, act_values, k):
    """Mean rank-ordered eigenvalues of the K x K covariance of each cluster's members."""
    members = coarse.attrs["members"].reshape(-1, k)
    ev = [np.linalg.eigvalsh(np.atleast_2d(np.cov(act_values[m], ddof=0)))[::-1] for m in members]
    return np.mean(ev, axis=0)


@pytest.mark.parametrize("holdout", [False, True])
def test_prg_levels_reproduce_variance_silence_and_spectra(holdout):
    x = correlated_spikes(24, 3000, seed=1)  # 24 units: levels 3 leave units out
    labels = np.random.default_rng(2).permutation(24) * 7  # unsorted labels: prg reorders
    act = rgdata.as_activity(x, kind="spikes", unit=labels)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        res = prg(act, n_levels=3, holdout=holdout, max_eigen_size=8)
    t0, t1 = res.attrs["measured_samples"]
    for level in range(4):
        coarse = coarse_activity(res, act, level)
        k = int(res["cluster_size"][level])
        s = coarse.values[:, t0:t1].astype(float)
        assert coarse.sizes["unit"] == int(res["n_clusters"][level])
        assert coarse.attrs["scale"] == k and coarse.attrs["level"] == level
        np.testing.assert_allclose(s.var(axis=1).mean(), res["variance"][level], rtol=1e-10)
        free = np.mean(-np.log((s == 0).mean(axis=1)))
        np.testing.assert_allclose(free, res["silence_free_energy"][level], rtol=1e-10)
        assert coarse.attrs["n_left_out"] == int(res["n_left_out"][level])
        if k <= 8:
            ev = spectrum_of(coarse, x[:, t0:t1].astype(float), k)
            np.testing.assert_allclose(ev, res["eigenvalues"][level, :k], rtol=1e-10, atol=1e-13)


def test_prg_tiny_case_is_the_explicit_pair_sum():
    rng = np.random.default_rng(3)
    a, b = (rng.random((2, 400)) < 0.3).astype(np.int8)
    noise = (rng.random((4, 400)) < 0.03).astype(np.int8)
    # units 0 and 2 copy a, units 1 and 3 copy b (with a little independent noise)
    x = np.stack([a, b, a, b]) ^ noise
    act = rgdata.as_activity(x, kind="spikes", unit=["u0", "u1", "u2", "u3"])
    res = prg(act, n_levels=1)
    coarse = coarse_activity(res, act, 1)
    mem = res["membership"].sel(level=1)
    assert mem.sel(unit="u0") == mem.sel(unit="u2") != mem.sel(unit="u1") == mem.sel(unit="u3")
    np.testing.assert_array_equal(coarse.sel(unit=int(mem.sel(unit="u0"))), x[0] + x[2])
    np.testing.assert_array_equal(coarse.sel(unit=int(mem.sel(unit="u1"))), x[1] + x[3])
    members = coarse.attrs["members"].reshape(-1, 2)
    assert {tuple(sorted(m)) for m in members.tolist()} == {(0, 2), (1, 3)}
    # a sum of spikes is a count: no longer binary, so not kind "spikes"
    assert coarse.attrs["kind"] == "continuous" and "counts" in coarse.attrs["coarse_values"]
    assert coarse_activity(res, act, 0).attrs["kind"] == "spikes"


def test_prg_normalized_variables_reproduce_the_distribution():
    x = correlated_spikes(16, 2000, seed=4)
    act = rgdata.as_activity(x, kind="spikes")
    res = prg(act, n_levels=2)
    edges = np.linspace(0.0, 5.0, res.sizes["bin"] + 1)
    for level in range(3):
        y = coarse_activity(res, act, level, variables="normalized").values.astype(np.float64)
        nz = y[y != 0]
        density = np.histogram(nz, bins=edges)[0] / (y.size * (edges[1] - edges[0]))
        np.testing.assert_allclose(density, res["distribution"][level], rtol=1e-12, atol=0)
        np.testing.assert_allclose(1 - nz.size / y.size, res["zero_fraction"][level], rtol=1e-12)


def test_prg_activity_attrs_round_trip_netcdf(tmp_path):
    act = rgdata.as_activity(correlated_spikes(8, 500, seed=5), kind="spikes")
    res = prg(act, n_levels=2)
    coarse = coarse_activity(res, act, 2)
    coarse.to_netcdf(tmp_path / "c.nc", engine="h5netcdf")
    back = xr.load_dataarray(tmp_path / "c.nc", engine="h5netcdf")
    np.testing.assert_array_equal(back.attrs["members"], coarse.attrs["members"])
    xr.testing.assert_identical(back.reset_coords(drop=True), coarse.reset_coords(drop=True))


def test_prg_mismatched_activity_or_level_is_refused():
    x = correlated_spikes(16, 1000, seed=6)
    act = rgdata.as_activity(x, kind="spikes")
    res = prg(act, n_levels=2)
    other = x.copy()
    other[3, :50] = 1 - other[3, :50]
    with pytest.raises(ValueError, match="not the data the result came from.*variance"):
        coarse_activity(res, rgdata.as_activity(other, kind="spikes"), 1)
    with pytest.raises(ValueError, match="15 units, the result 16"):
        coarse_activity(res, act.isel(unit=slice(1, None)), 1)
    with pytest.raises(ValueError, match="900 time points, the result was computed on 1000"):
        coarse_activity(res, act.isel(time=slice(100, None)), 1)
    with pytest.raises(ValueError, match=r"level=3 is out of range.*0\.\.2"):
        coarse_activity(res, act, 3)
    with pytest.raises(TypeError, match="level must be an int.*float 1.0"):
        coarse_activity(res, act, 1.0)
    with pytest.raises(ValueError, match="unknown variables 'raw'"):
        coarse_activity(res, act, 1, variables="raw")
    broken = res.copy(deep=True)
    broken["membership"][1, :2] = broken["membership"][1, 2]
    with pytest.raises(ValueError, match="membership at level 1 is not a pairing"):
        coarse_activity(broken, act, 1)


def test_unknown_results_are_refused():
    act = rgdata.as_activity(np.random.default_rng(0).standard_normal((4, 50)))
    with pytest.raises(TypeError, match="result must be an xarray.Dataset.*DataArray"):
        coarse_activity(act, act, 0)
    with pytest.raises(ValueError, match="not a coarse-graining result.*'fit'"):
        coarse_activity(xr.Dataset(attrs={"analysis": "fit"}), act, 0)
    res = momentum(act, dtype="float64")
    assert result_kind(res) == "momentum"
    with pytest.raises(ValueError, match="variables='normalized' applies to prg results only"):
        coarse_activity(res, act, 0, variables="normalized")


# ---------------------------------------------------------------- momentum


@pytest.mark.parametrize("matrix", ["correlation", "covariance"])
@pytest.mark.parametrize("shape", [(12, 600), (30, 20)])  # N <= T and the Gram case T < N
def test_momentum_levels_reproduce_fourth_moments(matrix, shape):
    rng = np.random.default_rng(7)
    x = rng.standard_t(5, size=shape) * rng.uniform(0.5, 3.0, size=(shape[0], 1))
    x[1] += 0.8 * x[0]
    act = rgdata.as_activity(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # rank < N in the Gram case
        res = momentum(act, direction="both", matrix=matrix, dtype="float64")
    for direction in ("remove_low", "remove_high"):
        expected = res["fourth_moment"].sel(direction=direction)
        for i in range(res.sizes["level"]):
            phi = coarse_activity(res, act, i, direction=direction)
            assert phi.attrs["n_modes"] == int(res["n_modes"][i])
            assert phi.attrs["scale"] == float(res["fraction"][i])
            v = phi.values
            fm = (v**4).mean(axis=1) / (v**2).mean(axis=1) ** 2
            np.testing.assert_allclose(fm, expected[i], rtol=1e-9)


def test_momentum_fraction_value_and_projection():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((8, 400))
    act = rgdata.as_activity(x, unit=list("abcdefgh"))
    res = momentum(act, [1.0, 0.5, 0.25], dtype="float64")
    phi = coarse_activity(res, act.isel(unit=slice(None, None, -1)), 0.5)  # any unit order
    assert list(phi["unit"].values) == list("abcdefgh")
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    lam, u = np.linalg.eigh(z @ z.T / z.shape[1])
    top = u[:, ::-1][:, :4]
    np.testing.assert_allclose(phi.values, top @ top.T @ z, atol=1e-10)
    np.testing.assert_allclose(coarse_activity(res, act, 0).values, z, atol=1e-12)


def test_momentum_mismatch_and_bad_level_are_refused():
    rng = np.random.default_rng(9)
    act = rgdata.as_activity(rng.standard_normal((6, 300)))
    both = momentum(act, direction="both", dtype="float64")
    with pytest.raises(ValueError, match="pass direction= one of them"):
        coarse_activity(both, act, 0)
    single = momentum(act, dtype="float64")
    with pytest.raises(ValueError, match="does not match the result.*'remove_low'"):
        coarse_activity(single, act, 0, direction="remove_high")
    other = rgdata.as_activity(rng.standard_normal((6, 300)))
    with pytest.raises(ValueError, match="eigenvalues differ from result"):
        coarse_activity(single, other, 1)
    with pytest.raises(ValueError, match="0.3 is not one of this result's kept fractions"):
        coarse_activity(single, act, 0.3)
    with pytest.raises(ValueError, match="level=9 is out of range"):
        coarse_activity(single, act, 9)


# ---------------------------------------------------------------- block spins


def random_configs(n, side, seed):
    rng = np.random.default_rng(seed)
    return rgdata.as_configurations(rng.choice(np.array([-1, 1], np.int8), (n, side, side)))


def quiet_flow(cfg, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return block_coupling_flow(cfg, operators=1, n_jackknife=4, **kw)


def test_block_levels_match_block_spins_with_the_results_seed():
    cfg = random_configs(40, 16, seed=10)
    flow = quiet_flow(cfg, n_levels=2, random_state=11)
    for level in range(3):
        got = coarse_activity(flow, cfg, level)
        direct = rgdata.configurations_as_activity(
            block_spins(cfg, 2, "majority", levels=level, random_state=11)
        )
        np.testing.assert_array_equal(got.values, direct.values)
        np.testing.assert_array_equal(got["x"].values, direct["x"].values)
        assert got.attrs["scale"] == 2**level and got.attrs["kind"] == "spins"
        assert got.attrs["ties_replayed"] == 1
    with pytest.raises(ValueError, match="random_state=int 5 conflicts.*11"):
        coarse_activity(flow, cfg, 1, random_state=5)
    with pytest.raises(ValueError, match=r"level=3 is out of range.*0\.\.2"):
        coarse_activity(flow, cfg, 3)
    with pytest.raises(ValueError, match="40 samples of a \\(8, 8\\) lattice"):
        coarse_activity(flow, random_configs(40, 8, seed=0), 1)
    with pytest.raises(ValueError, match="tied blocks at levels 1..2"):
        coarse_activity(flow, random_configs(40, 16, seed=99), 2)


def test_block_majority_hand_example_4x4():
    hand = np.array(
        [[1, 1, -1, -1], [1, -1, -1, 1], [-1, -1, -1, 1], [1, -1, 1, -1]], dtype=np.int8
    )
    # blocks: {1,1,1,-1} -> +1; {-1,-1,-1,1} -> -1; {-1,-1,1,-1} -> -1;
    # {-1,1,1,-1} ties -> its first spin (y=2, x=2) = -1
    rest = random_configs(7, 4, seed=12).values
    cfg = rgdata.as_configurations(np.concatenate([hand[None], rest]))
    flow = quiet_flow(cfg, n_levels=1, tie_break="first")
    got = coarse_activity(flow, cfg, 1)
    np.testing.assert_array_equal(got.isel(time=0).values, [1, -1, -1, -1])
    np.testing.assert_array_equal(got["y"].values, [0, 0, 1, 1])
    np.testing.assert_array_equal(got["x"].values, [0, 1, 0, 1])


def test_mcrg_result_needs_a_seed_for_ties():
    cfg = random_configs(40, 8, seed=13)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = mcrg(cfg, levels=1, even=1, odd=1, random_state=14)
    with pytest.raises(ValueError, match="random_state is needed"):
        coarse_activity(res, cfg, 1)
    with pytest.warns(UserWarning, match="records no int seed"):
        got = coarse_activity(res, cfg, 1, random_state=14)
    direct = block_spins(cfg, 2, "majority", levels=1, random_state=14)
    np.testing.assert_array_equal(got.values, direct.values.reshape(40, -1).T)
    assert got.attrs["ties_replayed"] == 0
    assert coarse_activity(res, cfg, 0).attrs["scale"] == 1  # level 0 never ties


# ---------------------------------------------------------------- the shared attrs schema


def test_every_rebuilder_writes_the_same_level_attrs():
    """prg, momentum and block levels carry the input's attrs (less kind) then one schema."""
    act = rgdata.as_activity(correlated_spikes(16, 400, seed=3), kind="spikes", lab="demo")
    cfg = random_configs(40, 16, seed=10)
    res_prg, res_mom = prg(act, random_state=0), momentum(act)
    res_blk = quiet_flow(cfg, n_levels=1, random_state=1)
    cases = [
        (coarse_activity(res_prg, act, 2), "cluster_size", 4, res_prg.attrs["analysis"]),
        (coarse_activity(res_mom, act, 1), "fraction", float(res_mom["fraction"][1]), "momentum"),
        (coarse_activity(res_blk, cfg, 1), "block_size", 2, "block_coupling_flow"),
    ]
    for coarse, scale_name, scale, source in cases:
        keys = list(coarse.attrs)
        assert keys[0] == "coarse_result" and coarse.attrs["level"] in (1, 2)
        assert keys.index("level") < keys.index("scale") < keys.index("scale_name")
        assert keys.index("scale_name") < keys.index("source_analysis")
        assert coarse.attrs["scale_name"] == scale_name and coarse.attrs["scale"] == scale
        assert coarse.attrs["source_analysis"] == source
    assert cases[0][0].attrs["lab"] == cases[1][0].attrs["lab"] == "demo"
