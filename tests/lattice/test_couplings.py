"""Pseudo-likelihood couplings of lattice configurations and their block-spin flow.

Known answers: the nearest-neighbour Ising model has K_nn = 1/T and no other
coupling; exact Boltzmann draws of a 4x4 torus with planted couplings
(energies by explicit bond loops, independent of the operator code); random
spins have every coupling 0; the flow direction above / below T_c.
"""

import itertools
import json

import numpy as np
import pytest
import xarray as xr

import rgdata.flow
import rgdata.lattice.couplings
from rgdata import as_configurations
from rgdata.lattice import (
    block_coupling_flow,
    block_spin_levels,
    exact,
    fit_block_flow,
    lattice_couplings,
    sample_ising,
)
from rgdata.lattice._pseudolikelihood import _features, _jackknife, _local_terms, _newton
from rgdata.lattice.couplings import _resolve_couplings

TC = exact.TC_2D


def _z(res, name, value):
    return (float(res.couplings.sel(coupling=name)) - value) / float(
        res.couplings_err.sel(coupling=name)
    )


# --------------------------------------------------------------- exact 4x4 ensemble
def _all_states(L=4):
    codes = np.arange(2 ** (L * L), dtype=np.int64)
    bits = (codes[:, None] >> np.arange(L * L)) & 1
    return (2 * bits - 1).astype(np.int8).reshape(-1, L, L)


def _explicit_sums(s):
    """nn, nnn, plaquette and magnetisation sums by explicit bond loops (one term per bond)."""
    L = s.shape[1]
    s = s.astype(np.int64)
    nn = np.zeros(len(s), np.int64)
    nnn = np.zeros(len(s), np.int64)
    plaq = np.zeros(len(s), np.int64)
    for y in range(L):
        for x in range(L):
            yp, xp, xm = (y + 1) % L, (x + 1) % L, (x - 1) % L
            nn += s[:, y, x] * s[:, y, xp] + s[:, y, x] * s[:, yp, x]
            nnn += s[:, y, x] * s[:, yp, xp] + s[:, y, x] * s[:, yp, xm]
            plaq += s[:, y, x] * s[:, y, xp] * s[:, yp, x] * s[:, yp, xp]
    return np.stack([nn, nnn, plaq, s.sum(axis=(1, 2))], axis=1).astype(float)


@pytest.fixture(scope="module")
def exact4():
    states = _all_states(4)
    return states, _explicit_sums(states)


PLANTED = np.array([0.3, 0.1, -0.05, 0.04])  # nn, nnn, plaquette, field


def _boltzmann(sums, K):
    logw = sums @ K
    p = np.exp(logw - logw.max())
    return p / p.sum()


def _draw(states, p, n, seed):
    idx = np.random.default_rng(seed).choice(len(states), size=n, p=p)
    return as_configurations(states[idx])


def test_features_are_local_derivatives_of_explicit_sums(exact4):
    """x_{a,i} = s_i dS_a/ds_i: flipping spin i changes S_a by -2 x_{a,i}."""
    states, sums = exact4
    rng = np.random.default_rng(0)
    pick = states[rng.choice(len(states), 50, replace=False)]
    ops = _resolve_couplings(["nn", "nnn", "plaquette"], 2, True)
    terms = [_local_terms(s, 2) for s in ops.values()]
    x = _features(pick, terms)
    base = _explicit_sums(pick)
    for y, xx in itertools.product(range(4), range(4)):
        flipped = pick.copy()
        flipped[:, y, xx] *= -1
        delta = _explicit_sums(flipped) - base
        np.testing.assert_array_equal(delta.T, -2 * x[:, :, y, xx])


def test_population_pseudo_likelihood_is_exact(exact4):
    """With the exact Boltzmann weights as data, the maximiser is the planted coupling."""
    states, sums = exact4
    p = _boltzmann(sums, PLANTED)
    ops = _resolve_couplings(["nn", "nnn", "plaquette"], 2, True)
    x = _features(states, [_local_terms(s, 2) for s in ops.values()])
    X = x.reshape(4, -1).T.astype(float)  # (state*site, op)
    w = np.repeat(p, 16)
    K, status, lam = _newton(X, w, np.zeros(4), 1e-14, 100)
    assert status == 1 and lam > 0
    np.testing.assert_allclose(K, PLANTED, atol=1e-9)


def test_planted_couplings_recovered_from_exact_draws(exact4):
    states, sums = exact4
    cfg = _draw(states, _boltzmann(sums, PLANTED), 20000, seed=1)
    res = lattice_couplings(cfg, ["nn", "nnn", "plaquette"], field=True)
    assert list(res.coupling.values) == ["nn", "nnn", "plaquette", "field"]
    for name, value in zip(res.coupling.values, PLANTED, strict=True):
        assert abs(_z(res, name, value)) < 4, (name, float(res.couplings.sel(coupling=name)))
    # the errors are small enough for the check to mean something
    assert float(res.couplings_err.max()) < 0.02
    # a wrong model (planted nnn left out) does not reproduce K_nn
    wrong = lattice_couplings(cfg, ["nn"])
    assert abs(_z(wrong, "nn", PLANTED[0])) > 4


def test_jackknife_errors_are_calibrated(exact4):
    """Over independent repeats the z-scores have unit spread (iid draws, 20 blocks)."""
    states, sums = exact4
    p = _boltzmann(sums, PLANTED)
    z = []
    for seed in range(40):
        res = lattice_couplings(
            _draw(states, p, 1000, seed=100 + seed), ["nn", "nnn", "plaquette"], field=True
        )
        z.append((res.couplings.values - PLANTED) / res.couplings_err.values)
    z = np.array(z)
    # sd of an sd from 40 draws is about 0.11; the jackknife's own noise widens z slightly
    assert np.all(np.abs(z.mean(axis=0)) < 4 / np.sqrt(40))
    sd = z.std(axis=0, ddof=1)
    assert np.all((sd > 0.7) & (sd < 1.4)), sd


def test_covariance_matches_jackknife_replicates(exact4):
    states, sums = exact4
    cfg = _draw(states, _boltzmann(sums, PLANTED), 2000, seed=3)
    res = lattice_couplings(cfg, ["nn", "nnn", "plaquette"], n_jackknife=10)
    reps = res.couplings_jackknife.values
    dev = reps - reps.mean(axis=0)
    np.testing.assert_allclose(res.couplings_cov.values, 0.9 * dev.T @ dev, rtol=1e-12)
    np.testing.assert_allclose(res.couplings_err.values, np.sqrt(np.diag(res.couplings_cov)))


# --------------------------------------------------------------- sampled Ising model
@pytest.mark.parametrize("T", [3.0, TC, 2.0])
def test_level0_recovers_nearest_neighbour_ising(T):
    cfg = sample_ising(16, T, 2000, algorithm="wolff", random_state=7)
    res = lattice_couplings(cfg)
    assert res.attrs["status"] == "converged" and res.attrs["temperature"] == pytest.approx(T)
    assert abs(_z(res, "nn", 1 / T)) < 4
    for name in ("nnn", "third", "plaquette"):
        assert abs(_z(res, name, 0.0)) < 4, name
    assert float(res.couplings_err.sel(coupling="nn")) < 0.02


def test_infinite_temperature_gives_zero_couplings():
    rng = np.random.default_rng(5)
    cfg = as_configurations(rng.choice(np.array([-1, 1], np.int8), size=(1000, 16, 16)))
    res = lattice_couplings(cfg, 5, field=True)
    z = res.couplings.values / res.couplings_err.values
    assert np.all(np.abs(z) < 4), z
    assert np.all(res.couplings_err.values < 0.01)


def roundtrip(ds, tmp_path, name="r.nc"):
    ds.to_netcdf(tmp_path / name, engine="h5netcdf")
    return xr.load_dataset(tmp_path / name, engine="h5netcdf")


def test_roundtrip_netcdf(tmp_path):
    cfg = sample_ising(8, 2.5, 200, random_state=1)
    res = lattice_couplings(cfg, ["nn", "nnn"], n_jackknife=10)
    res.to_netcdf(tmp_path / "c.nc", engine="h5netcdf")
    back = xr.load_dataset(tmp_path / "c.nc", engine="h5netcdf")
    xr.testing.assert_allclose(back, res)
    assert json.loads(back.attrs["operators"])["nn"] == [[0, 0], [0, 1]]
    assert "pseudo-likelihood" in back.attrs["method"]


def test_3d_nearest_neighbour():
    cfg = sample_ising(8, 5.0, 1600, dim=3, random_state=2)
    res = lattice_couplings(cfg, ["nn", "nnn"])
    assert abs(_z(res, "nn", 0.2)) < 4 and abs(_z(res, "nnn", 0.0)) < 4


def test_frozen_lattice_warns_and_gives_nan():
    cfg = as_configurations(np.ones((40, 8, 8), np.int8))
    with pytest.warns(UserWarning, match="diverging .* couplings are set to NaN"):
        res = lattice_couplings(cfg, ["nn"])
    assert np.isnan(res.couplings.values).all() and res.attrs["status"].startswith("diverging")


def test_an_int_counts_off_the_even_couplings_and_a_list_may_name_odd_ones():
    even = list(rgdata.lattice.default_operators(2, "even"))
    assert list(_resolve_couplings(3, 2, False)) == even[:3]
    assert list(_resolve_couplings(["nn", "magnetization"], 2, False)) == ["nn", "magnetization"]
    with pytest.raises(ValueError, match=f"operators must be <= {len(even)}"):
        _resolve_couplings(len(even) + 1, 2, False)
    with pytest.raises(TypeError, match="operators must be None, an int, .* got float"):
        _resolve_couplings(2.5, 2, False)


def test_bad_input_messages():
    cfg = sample_ising(8, 2.5, 50, random_state=1)
    with pytest.raises(ValueError, match="too wide for a lattice of side 4"):
        lattice_couplings(sample_ising(4, 2.5, 50, random_state=1), ["third"])
    with pytest.raises(ValueError, match="unknown operator 'bogus'"):
        lattice_couplings(cfg, ["bogus"])
    with pytest.raises(TypeError, match="wrap one name in a list"):
        lattice_couplings(cfg, "nn")
    with pytest.raises(ValueError, match="at least 2 \\* n_jackknife = 60"):
        lattice_couplings(cfg, n_jackknife=30)
    with pytest.raises(TypeError, match="configs must be an xarray.DataArray"):
        lattice_couplings(np.ones((10, 4, 4)))
    with pytest.raises(ValueError, match="do not name it"):
        lattice_couplings(cfg, {"field": ((0, 0),)}, field=True)
    with pytest.raises(ValueError, match="cannot be blocked 3 time"):
        block_coupling_flow(cfg, 3)
    with pytest.raises(TypeError, match="list of block_coupling_flow results"):
        fit_block_flow(xr.Dataset())


# --------------------------------------------------------------- block-spin flow
def test_block_flow_levels_match_block_spin_levels():
    cfg = sample_ising(16, TC, 200, random_state=3)
    flow = block_coupling_flow(cfg, 2, operators=["nn", "nnn"], n_jackknife=10, random_state=4)
    assert flow.couplings.dims == ("level", "coupling")
    assert flow.side.values.tolist() == [16, 8, 4]
    levels = block_spin_levels(cfg, 2, levels=2, random_state=4)
    for lev in range(3):
        direct = lattice_couplings(levels[lev], ["nn", "nnn"], n_jackknife=10)
        np.testing.assert_allclose(flow.couplings.sel(level=lev), direct.couplings, rtol=1e-10)
        np.testing.assert_allclose(
            flow.couplings_jackknife.sel(level=lev), direct.couplings_jackknife, rtol=1e-10
        )
    assert int(flow.n_ties.sel(level=1)) == levels[1].attrs["n_ties"]
    again = block_coupling_flow(cfg, 2, operators=["nn", "nnn"], n_jackknife=10, random_state=4)
    xr.testing.assert_identical(flow, again)


def test_block_flow_leaves_out_wide_operators(tmp_path):
    cfg = sample_ising(16, 3.0, 100, random_state=3)
    with pytest.warns(UserWarning, match="level 2: third"):
        flow = block_coupling_flow(cfg, 2, n_jackknife=10, random_state=0)
    assert np.isnan(flow.couplings.sel(level=2, coupling="third"))
    assert np.isfinite(flow.couplings.sel(level=2, coupling="nn"))
    # a variable on (level, coupling), not a JSON attribute: it survives netCDF
    assert "left_out" not in flow.attrs
    back = roundtrip(flow, tmp_path)
    assert back.left_out.dims == ("level", "coupling")
    assert back.left_out.sel(level=2, coupling="third") == 1
    assert int(back.left_out.sum()) == 1


def test_flow_direction_above_at_and_below_tc():
    """Above T_c the block couplings shrink, below they grow, at T_c they settle."""
    runs = {"hot": (TC + 0.25, 1500), "crit": (TC, 3000), "cold": (TC - 0.2, 6000)}
    strength = {}
    for i, (key, (T, n)) in enumerate(runs.items()):
        cfg = sample_ising(32, T, n, algorithm="wolff", random_state=20 + i)
        flow = block_coupling_flow(cfg, 2, operators=["nn", "nnn"], random_state=i)
        # K_nn + K_nnn: the pair coupling summed over the 4 + 4 closest sites (the nnn share
        # grows from 0 at level 0, so K_nn alone drops at the first step at every T);
        # its jackknife replicates give the error of the change between levels 1 and 2
        reps = flow.couplings_jackknife.sum("coupling").values
        change = reps[:, 2] - reps[:, 1]
        n_j = len(change)
        err = np.sqrt((n_j - 1) / n_j * np.sum((change - change.mean()) ** 2))
        total = flow.couplings.sum("coupling").values
        strength[key] = (total[2] - total[1], err)
    (d_hot, e_hot), (d_crit, e_crit), (d_cold, e_cold) = (strength[k] for k in runs)
    assert d_hot < -4 * e_hot
    assert d_cold > 4 * e_cold
    assert abs(d_crit) < 4 * e_crit
    assert abs(d_crit) < min(abs(d_hot), abs(d_cold)) / 3


def _planted_flow(lam, k_star, K0s, n_levels, err, seed):
    """block_coupling_flow-like results with a planted linear flow of (nn, nnn)."""
    rng = np.random.default_rng(seed)
    out = []
    A = np.array([[lam, 0.1], [0.05, 0.3]])
    for T, K0 in K0s:
        K = [np.asarray(K0, float)]
        for _ in range(n_levels):
            K.append(k_star + A @ (K[-1] - k_star))
        K = np.array(K)
        reps = K[None] + err * rng.standard_normal((20,) + K.shape) / np.sqrt(19)
        ds = xr.Dataset(
            {
                "couplings": (("level", "coupling"), reps.mean(axis=0)),
                "couplings_jackknife": (("jackknife", "level", "coupling"), reps),
            },
            coords={"level": np.arange(n_levels + 1), "coupling": ["nn", "nnn"]},
            attrs={"analysis": "block_coupling_flow", "block_factor": 2, "temperature": T},
        )
        out.append(ds)
    return out, A


def test_fit_block_flow_recovers_planted_linear_map():
    k_star = np.array([0.35, 0.09])
    starts = [(T, [1 / T, 0.0]) for T in (2.25, 2.26, 2.27, 2.28, 2.29)]
    flows, A = _planted_flow(1.9, k_star, starts, 3, 1e-4, seed=0)
    lam_exact = np.max(np.linalg.eigvals(A).real)
    res = fit_block_flow(flows, ["nn", "nnn"], first_level=0, n_resamples=200)
    fp, fp_err = res.K_star.values, res.K_star_err.values
    assert np.all(np.abs(fp - k_star) < 4 * fp_err)
    assert abs(float(res.lambda_t) - lam_exact) < 4 * float(res.lambda_t_err)
    assert float(res.y_t) == pytest.approx(np.log2(float(res.lambda_t)))
    assert res["trajectory"].values.tolist() == [2.25, 2.26, 2.27, 2.28, 2.29]
    one = fit_block_flow(flows, "nn", first_level=1, n_resamples=50)
    assert one.attrs["projection"] == "one-parameter projection on nn"


def test_fit_block_flow_numbers_are_variables_that_survive_netcdf(tmp_path):
    k_star = np.array([0.35, 0.09])
    starts = [(T, [1 / T, 0.0]) for T in (2.25, 2.26, 2.27, 2.28, 2.29)]
    flows, _ = _planted_flow(1.9, k_star, starts, 3, 1e-4, seed=0)
    res = fit_block_flow(flows, ["nn", "nnn"], n_resamples=50)
    # one home per number: data variables on the fit's parameter dim, no JSON attrs
    for key in ("K_star", "K_star_err", "lambda_t", "lambda_t_err", "y_t", "y_t_err"):
        assert key not in res.attrs
    assert res.K_star.dims == ("parameter",) and res.lambda_t.dims == ()
    i = res.attrs["fixed_point_index"]
    np.testing.assert_array_equal(res.K_star, res.fixed_points.isel(fixed_point=i))
    back = roundtrip(res, tmp_path)
    assert back.parameter.values.tolist() == ["nn", "nnn"]
    for key in ("K_star", "K_star_err", "lambda_t", "lambda_t_err", "y_t", "y_t_err"):
        np.testing.assert_array_equal(back[key], res[key])
    # the block-flow fit lives with the other flows; the lattice name is the same function
    assert rgdata.flow.fit_block_flow is fit_block_flow
    assert rgdata.lattice.couplings.fit_block_flow is fit_block_flow


# --------------------------------------------------------------- failed jackknife replicates
def _one_separable_replicate(L=16):
    """40 samples in 4 jackknife blocks: random spins in block 0, then only configurations
    in which every spin agrees with at least as many neighbours as it disagrees with (all
    up, stripes and 2x2 checkerboards of width 2). Deleting block 0 leaves separable data
    at level 0 (K_nn runs off to infinity); at level 1 the 2x2 checkerboard becomes the
    antiferromagnet, so every replicate is finite there."""
    rng = np.random.default_rng(0)
    y, x = np.indices((L, L))
    up = np.ones((L, L), np.int8)
    vstripe = np.where((x // 2) % 2, 1, -1).astype(np.int8)
    hstripe = np.where((y // 2) % 2, 1, -1).astype(np.int8)
    checker2 = np.where(((x // 2) + (y // 2)) % 2, 1, -1).astype(np.int8)
    s = np.empty((40, L, L), np.int8)
    s[:10] = rng.choice(np.array([-1, 1], np.int8), size=(10, L, L))
    s[10:20] = up
    s[20:30] = [vstripe] * 4 + [up] * 6
    s[30:40] = [hstripe] * 3 + [checker2] * 3 + [up] * 4
    return as_configurations(s)


def _by_hand_jackknife(values):
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    n = len(v)
    return np.sqrt((n - 1) / n * np.sum((v - v.mean()) ** 2))


def test_a_failed_replicate_is_left_out_of_the_errors():
    cfg = _one_separable_replicate()
    with pytest.warns(UserWarning, match="level 0 .*1 of 4 jackknife replicate.*3 finite"):
        flow = block_coupling_flow(cfg, 1, operators=["nn"], n_jackknife=4, random_state=0)
    reps = flow.couplings_jackknife.sel(coupling="nn").values  # (jackknife, level)
    # the separable replicate is detected (not reported converged at a large finite K)
    assert np.isnan(reps[0, 0]) and np.all(np.isfinite(reps[1:, 0]))
    assert np.all(np.isfinite(reps[:, 1]))
    assert flow.n_failed_replicates.values.tolist() == [1, 0]
    assert flow.attrs["n_failed_replicates"] == 1
    # level 0: the 3 finite replicates with factor 2/3; level 1: all 4 (unaffected)
    err = flow.couplings_err.sel(coupling="nn").values
    assert err[0] == pytest.approx(_by_hand_jackknife(reps[:, 0]), rel=1e-12)
    assert err[1] == pytest.approx(_by_hand_jackknife(reps[:, 1]), rel=1e-12)
    assert np.all(err > 0)
    with pytest.warns(UserWarning, match="1 of 4 jackknife replicate"):
        single = lattice_couplings(cfg, ["nn"], n_jackknife=4)
    assert single.attrs["n_failed_replicates"] == 1
    assert float(single.couplings_err[0]) == pytest.approx(err[0], rel=1e-12)
    assert float(single.couplings_cov[0, 0]) == pytest.approx(err[0] ** 2, rel=1e-12)


def test_jackknife_is_nan_aware():
    rng = np.random.default_rng(1)
    reps = rng.standard_normal((10, 3))
    reps[4] = np.nan  # a failed replicate
    reps[:, 2] = np.nan  # a coupling left out
    err, cov, n_eff = _jackknife(reps)
    assert n_eff == 9
    assert err[0] == pytest.approx(_by_hand_jackknife(reps[:, 0]), rel=1e-12)
    assert err[1] == pytest.approx(_by_hand_jackknife(reps[:, 1]), rel=1e-12)
    ok = np.delete(reps[:, :2], 4, axis=0)
    dev = ok - ok.mean(axis=0)
    assert cov[0, 1] == pytest.approx(8 / 9 * np.sum(dev[:, 0] * dev[:, 1]), rel=1e-12)
    assert np.isnan(err[2]) and np.all(np.isnan(cov[2]))
    reps[1:] = np.nan  # a single finite replicate: no error
    err, cov, n_eff = _jackknife(reps)
    assert np.all(np.isnan(err)) and np.all(np.isnan(cov))


def test_fit_block_flow_with_failed_replicates():
    k_star = np.array([0.35, 0.09])
    starts = [(T, [1 / T, 0.0]) for T in (2.25, 2.26, 2.27, 2.28, 2.29)]
    flows, A = _planted_flow(1.9, k_star, starts, 3, 1e-4, seed=0)
    flows[1]["couplings_jackknife"][3, 2, :] = np.nan
    with pytest.warns(UserWarning, match=r"flows\[1\] \(temperature 2.26\): 1 of 20"):
        res = fit_block_flow(flows, ["nn", "nnn"], n_resamples=100)
    lam_exact = np.max(np.linalg.eigvals(A).real)
    assert abs(float(res.lambda_t) - lam_exact) < 4 * float(res.lambda_t_err)
    flows[1]["couplings_jackknife"][1:, 2, :] = np.nan  # 1 finite replicate left at level 2
    with pytest.raises(
        ValueError,
        match=r"flows\[1\] \(temperature 2.26\) has no usable jackknife error at "
        r"level 2 nn, level 2 nnn",
    ):
        fit_block_flow(flows, ["nn", "nnn"], n_resamples=10)


# --------------------------------------------------------------- input checks
@pytest.fixture(scope="module")
def tiny_flows():
    cfg = sample_ising(16, 2.5, 80, random_state=2)
    kw = dict(n_jackknife=4, random_state=0)
    return {
        "ref": block_coupling_flow(cfg, 1, operators=["nn", "nnn"], **kw),
        "four": block_coupling_flow(cfg, 1, operators=["nn", "nnn", "third", "plaquette"], **kw),
        "first": block_coupling_flow(cfg, 1, operators=["nn", "nnn"], tie_break="first", **kw),
        "dec": block_coupling_flow(cfg, 1, operators=["nn", "nnn"], rule="decimation", **kw),
        "b4": block_coupling_flow(cfg, 1, operators=["nn", "nnn"], b=4, **kw),
        "L8": block_coupling_flow(
            sample_ising(8, 2.5, 80, random_state=2), 1, operators=["nn", "nnn"], **kw
        ),
    }


@pytest.mark.parametrize(
    "other, match",
    [
        ("four", r"flows\[1\] couplings \['nn', 'nnn', 'third', 'plaquette'\] vs \['nn', 'nnn'\]"),
        ("first", r"flows\[1\] tie_break first vs random in flows\[0\]"),
        ("dec", r"flows\[1\] block_rule decimation vs majority"),
        ("b4", r"flows\[1\] side \[16, 4\] vs \[16, 8\].*block_factor 4 vs 2"),
        ("L8", r"flows\[1\] side \[8, 4\] vs \[16, 8\]"),
    ],
)
def test_fit_block_flow_refuses_incompatible_flows(tiny_flows, other, match):
    with pytest.raises(ValueError, match="the flows are not compatible.*" + match):
        fit_block_flow([tiny_flows["ref"], tiny_flows[other]], "nn")


@pytest.mark.parametrize(
    "couplings, error, match",
    [
        (3, TypeError, "couplings must be a coupling name or a non-empty sequence of distinct"),
        ([], ValueError, "couplings is empty; give a coupling name"),
        (["nn", "nn"], ValueError, r"couplings names \['nn'\] more than once"),
        (["nn", 1], TypeError, "couplings must hold names"),
        (["bogus"], ValueError, r"no coupling\(s\) \['bogus'\].*out of \['nn', 'nnn'\]"),
    ],
)
def test_fit_block_flow_couplings_checked(tiny_flows, couplings, error, match):
    with pytest.raises(error, match=match):
        fit_block_flow([tiny_flows["ref"], tiny_flows["ref"]], couplings)


def test_tol_and_operator_shapes_checked():
    cfg = sample_ising(8, 2.5, 40, random_state=1)
    with pytest.raises(ValueError, match="tol must be finite"):
        lattice_couplings(cfg, ["nn"], n_jackknife=4, tol=np.inf)
    with pytest.raises(ValueError, match="tol must be > 0"):
        block_coupling_flow(cfg, 1, operators=["nn"], n_jackknife=4, tol=0.0)
    with pytest.raises(TypeError, match="tol must be a real number"):
        lattice_couplings(cfg, ["nn"], n_jackknife=4, tol="1e-12")
    loose = lattice_couplings(cfg, ["nn"], n_jackknife=4, tol=np.float32(1e-8))
    tight = lattice_couplings(cfg, ["nn"], n_jackknife=4)
    assert loose.attrs["status"] == "converged"
    np.testing.assert_allclose(loose.couplings, tight.couplings, atol=1e-4)
    with pytest.raises(
        ValueError,
        match=r"'x' shape must be a tuple of 2-D integer offsets.*"
        r"\(\(0, 0\), \(0, 1\)\)",
    ):
        lattice_couplings(cfg, {"x": ((0, 0), (0,))}, n_jackknife=4)
