"""Real-space PRG: pairing, per-level quantities, planted models, bad input."""

import warnings

import numpy as np
import pytest
import xarray as xr

import rgdata
from rgdata.coarse import _prg_pairing, prg
from rgdata.coarse._prg_pairing import greedy_pairs, random_pairs
from rgdata.diagnostics import fit_exponent


def naive_greedy(corr):
    """Reference: re-scan the whole matrix for the best remaining pair every time."""
    c = np.array(corr, dtype=float)
    n = c.shape[0]
    used = [False] * n
    pairs = []
    while sum(not u for u in used) >= 2:
        best, bi, bj = -np.inf, -1, -1
        for i in range(n):
            if used[i]:
                continue
            for j in range(i + 1, n):
                if not used[j] and c[i, j] > best:  # strict: first (i, j) wins ties
                    best, bi, bj = c[i, j], i, j
        used[bi] = used[bj] = True
        pairs.append((bi, bj))
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def numpy_greedy(corr):
    """Faster reference with the same rule: argmax over the masked upper triangle."""
    c = np.array(corr, dtype=float)
    n = c.shape[0]
    c[np.tril_indices(n)] = -np.inf
    pairs = []
    for _ in range(n // 2):
        i, j = np.unravel_index(np.argmax(c), c.shape)
        pairs.append((i, j))
        c[[i, j], :] = -np.inf
        c[:, [i, j]] = -np.inf
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def sym(rng, n):
    a = rng.normal(size=(n, n))
    return (a + a.T) / 2


@pytest.mark.parametrize("n", [2, 3, 9, 40, 41])
def test_greedy_matches_brute_force(n, rng):
    c = sym(rng, n)
    np.testing.assert_array_equal(greedy_pairs(c), naive_greedy(c))


def test_greedy_ties_broken_by_lowest_index_pair():
    c = np.ones((7, 7))
    c[0, 1] = c[1, 0] = 0.5
    expected = naive_greedy(c)
    np.testing.assert_array_equal(greedy_pairs(c), expected)
    np.testing.assert_array_equal(expected, [[0, 2], [1, 3], [4, 5]])
    rounded = np.round(sym(np.random.default_rng(3), 30), 1)  # many exact ties
    np.testing.assert_array_equal(greedy_pairs(rounded), naive_greedy(rounded))


def test_greedy_threshold_path_is_exact(monkeypatch, rng):
    # force the large-matrix path (threshold + recursion) on a moderate matrix
    monkeypatch.setattr(_prg_pairing, "_FULL_SORT_MAX_EDGES", 50)
    for n in (120, 301):
        c = sym(rng, n)
        np.testing.assert_array_equal(greedy_pairs(c), numpy_greedy(c))
    # block structure: many units whose best edges are all below the threshold
    c = sym(rng, 200) * 0.01
    c[:20, :20] += 1.0
    np.testing.assert_array_equal(greedy_pairs(c), numpy_greedy(c))


def test_random_pairs_is_a_matching(rng):
    p = random_pairs(11, rng)
    assert p.shape == (5, 2)
    assert np.unique(p).size == 10


def spikes(rng, n, t, p=0.2):
    return rgdata.as_activity((rng.random((n, t)) < p).astype(np.int8), kind="spikes")


def test_schema_and_netcdf_roundtrip(tmp_path, rng):
    act = spikes(rng, 40, 4000)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 8 of 40 units left out of level 4: recorded, not warned
        res = prg(act, random_state=0)
    assert list(res["cluster_size"].values) == [1, 2, 4, 8, 16]
    for v in ("variance", "silence_free_energy", "tau_c", "n_clusters", "zero_fraction"):
        assert res[v].dims == ("level",)
    assert res["eigenvalues"].dims == ("level", "rank")
    assert res["autocorrelation"].dims == ("level", "lag")
    assert res["distribution"].dims == ("level", "bin")
    assert res["membership"].dims == ("level", "unit")
    assert res["variance_blocks"].dims == ("level", "block")
    assert list(res["n_clusters"].values) == [40, 20, 10, 5, 2]
    # 5 clusters at level 3: one cluster of 8 units left out of level 4
    assert list(res["n_left_out"].values) == [0, 0, 0, 0, 8]
    assert (res["membership"].sel(level=4) == -1).sum() == 8
    assert "left out" in res.attrs["left_out"]
    path = tmp_path / "prg.nc"
    res.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_allclose(back, res)
    assert back.attrs["normalization"] == "nonzero_mean"
    assert back.attrs["pairing"] == "correlation"


def test_membership_is_hierarchical(rng):
    res = prg(spikes(rng, 64, 3000))
    mem = res["membership"].values
    for lv in range(1, mem.shape[0]):
        for c in np.unique(mem[lv][mem[lv] >= 0]):
            units = np.flatnonzero(mem[lv] == c)
            assert units.size == 2**lv
            # children at the level below: exactly two clusters
            assert np.unique(mem[lv - 1][units]).size == 2


def test_quantities_against_direct_computation(rng):
    x = rng.normal(size=(16, 3000))
    x[1] += x[0]
    res = prg(rgdata.as_activity(x), n_levels=3)
    mem = res["membership"].values
    for lv in range(4):
        var = []
        for c in range(int(res["n_clusters"][lv])):
            s = x[mem[lv] == c].sum(axis=0)
            var.append(s.var())
        assert np.isclose(res["variance"][lv], np.mean(var))
        allev = [
            np.sort(np.linalg.eigvalsh(np.atleast_2d(np.cov(x[mem[lv] == c], ddof=0))))[::-1]
            for c in range(int(res["n_clusters"][lv]))
        ]
        np.testing.assert_allclose(res["eigenvalues"][lv, : 2**lv], np.mean(allev, axis=0))
    # the strongly correlated pair is paired first
    assert mem[1, 0] == mem[1, 1] == 0


def test_silence_free_energy_direct(rng):
    act = spikes(rng, 8, 5000, p=0.1)
    res = prg(act, n_levels=2)
    x = act.values
    mem = res["membership"].values
    f = [-np.log(np.mean(x[mem[2] == c].sum(axis=0) == 0)) for c in range(2)]
    assert np.isclose(res["silence_free_energy"][2], np.mean(f))


def test_autocorrelation_of_ar1(rng):
    # AR(1) with coefficient a: C(t) = a**t, so tau_c = -1/ln(a) exactly
    a, n, t = 0.8, 8, 40000
    e = rng.normal(size=(n, t))
    x = np.empty_like(e)
    x[:, 0] = e[:, 0]
    for k in range(1, t):
        x[:, k] = a * x[:, k - 1] + e[:, k]
    res = prg(rgdata.as_activity(x), n_levels=2, max_lag=30)
    np.testing.assert_allclose(res["autocorrelation"][0, :6], a ** np.arange(6), atol=0.03)
    # the 1/e crossing, linearly interpolated between integer lags
    lag = np.arange(10)
    c = a**lag
    k = np.flatnonzero(c < np.exp(-1))[0]
    tau_lin = k - 1 + (c[k - 1] - np.exp(-1)) / (c[k - 1] - c[k])
    np.testing.assert_allclose(res["tau_c"].values, tau_lin, atol=0.15)


def test_independent_units_random_pairing_alpha_beta_one(rng):
    act = spikes(rng, 64, 20000)
    res = prg(act, pairing="random", random_state=1)
    for q in ("variance", "silence_free_energy"):
        fit = fit_exponent(res, q, ci=0.99)
        assert fit["ci_low"] <= 1.0 <= fit["ci_high"], (q, fit)
        assert fit["ci_high"] - fit["ci_low"] < {"variance": 0.02, "silence_free_energy": 0.1}[q]


def test_independent_gaussian_random_pairing_alpha_one(rng):
    act = rgdata.as_activity(rng.normal(size=(64, 20000)) * rng.uniform(0.5, 2, (64, 1)))
    fit = fit_exponent(prg(act, pairing="random", random_state=2), "variance", ci=0.99)
    assert fit["ci_low"] <= 1.0 <= fit["ci_high"], fit


def test_independent_units_correlation_pairing_selection_bias(rng):
    """Greedy pairing picks the chance correlations of independent units.

    The selected pairs have sample correlations of order sqrt(2 ln N / T), so
    alpha = 1 + O(sqrt(ln N / T)): small and positive (a documented caveat; the
    shuffle null through the same pipeline measures it).
    """
    act = spikes(rng, 64, 20000)
    fit = fit_exponent(prg(act), "variance")
    bound = 2 * np.sqrt(2 * np.log(64) / 20000)
    assert 0.0 < fit["exponent"] - 1.0 < bound
    beta = fit_exponent(prg(act), "silence_free_energy", k_range=(1, 16))
    assert abs(beta["exponent"] - 1.0) < bound


def test_identical_units_alpha_two(rng):
    base = (rng.random(5000) < 0.3).astype(np.int8)
    # 64 units: the default fit range (levels with >= 8 clusters) holds K = 1..8
    act = rgdata.as_activity(np.tile(base, (64, 1)), kind="spikes")
    res = prg(act)
    fit = fit_exponent(res, "variance")
    assert float(fit["exponent"]) == pytest.approx(2.0, abs=1e-9)
    assert float(fit["ci_low"]) == pytest.approx(2.0, abs=1e-9)
    beta = fit_exponent(res, "silence_free_energy")
    assert float(beta["exponent"]) == pytest.approx(0.0, abs=1e-9)


def planted_tree(rng, depth, alpha, t):
    """Hierarchical (Dyson-like) Gaussian model with Var(K-cluster sum) = K**alpha.

    ``x_i = sum_{l=0..L} sqrt(b_l) z_{l, i >> l}`` with iid standard normal
    ``z``. For a cluster of ``K = 2**m`` units aligned with the tree,
    ``V_m = Var(sum) = 2**m sum_{l<m} b_l 2**l + 4**m S_m`` with tail sums
    ``S_m = sum_{l>=m} b_l``. Then ``V_{m+1} - 2 V_m = 2 * 4**m S_{m+1}``, and
    ``V_m = 2**(m alpha)`` requires ``S_{m+1} = (2**(alpha-1) - 1) 2**(m(alpha-2))``
    with ``S_0 = 1``: positive decreasing weights for ``1 < alpha < 2``. The
    covariance of a cluster has eigenvalues ``lambda_s = sum_{l<s} b_l 2**l``
    (Haar wavelets of scale ``s = 1..m``, multiplicity ``2**(m-s)``) and the
    uniform mode ``V_m / K``.
    """
    s = np.ones(depth + 2)
    for m in range(depth + 1):
        s[m + 1] = (2 ** (alpha - 1) - 1) * 2 ** (m * (alpha - 2))
    b = s[:-1] - s[1:]
    b[depth] = s[depth]
    n = 2**depth
    x = np.zeros((n, t))
    idx = np.arange(n)
    for lv in range(depth + 1):
        z = rng.normal(size=(n >> lv, t))
        x += np.sqrt(b[lv]) * z[idx >> lv]
    return x, b


def test_planted_tree_recovered_with_exponent_and_spectra(rng):
    depth, alpha, t = 5, 1.5, 20000
    x, b = planted_tree(rng, depth, alpha, t)
    perm = rng.permutation(2**depth)
    act = rgdata.as_activity(x[perm], unit=perm)
    res = prg(act, n_levels=depth - 1, corr_dtype="float64")
    mem = res["membership"].values
    for lv in range(depth):
        # units in the same cluster share the same tree block i >> lv
        for c in np.unique(mem[lv]):
            assert np.unique(perm[mem[lv] == c] >> lv).size == 1, (lv, c)
    var_true = 2.0 ** (alpha * np.arange(depth))
    np.testing.assert_allclose(res["variance"], var_true, rtol=4 * np.sqrt(2 / t) * 2)
    fit = fit_exponent(res, "variance", ci=0.99)
    assert fit["ci_low"] <= alpha <= fit["ci_high"], fit
    # spectra: group averages over each degenerate Haar level
    m = 4
    ev = res["eigenvalues"].sel(level=m).values[: 2**m]
    groups = [ev[:1]]
    start = 1
    for s_ in range(m, 0, -1):
        mult = 2 ** (m - s_)
        groups.append(ev[start : start + mult])
        start += mult
    expected = [2 ** (m * (alpha - 1))] + [
        sum(b[l_] * 2**l_ for l_ in range(s_)) for s_ in range(m, 0, -1)
    ]
    got = [g.mean() for g in groups]
    np.testing.assert_allclose(got, expected, rtol=4 * np.sqrt(2 / t) * 2)


def test_unit_order_does_not_matter(rng):
    x, _ = planted_tree(rng, 5, 1.4, 5000)
    x += rng.normal(size=x.shape)
    act = rgdata.as_activity(x)
    perm = rng.permutation(x.shape[0])
    r1 = prg(act)
    r2 = prg(act.isel(unit=perm))
    for v in ("variance", "silence_free_energy", "tau_c", "eigenvalues"):
        xr.testing.assert_allclose(r1[v], r2[v])
    for lv in range(r1.sizes["level"]):
        sets1 = {frozenset(np.flatnonzero(r1["membership"][lv].values == c)) for c in range(99)}
        m2 = r2["membership"].sel(unit=act["unit"].values)[lv].values
        sets2 = {frozenset(np.flatnonzero(m2 == c)) for c in range(99)}
        assert sets1 == sets2


def test_float32_and_float64_pairings_agree(rng):
    x, _ = planted_tree(rng, 6, 1.3, 4000)
    x += 0.5 * rng.normal(size=x.shape)
    act = rgdata.as_activity(x)
    r32 = prg(act, corr_dtype="float32")
    r64 = prg(act, corr_dtype="float64")
    np.testing.assert_array_equal(r32["membership"], r64["membership"])
    np.testing.assert_allclose(r32["variance"], r64["variance"], rtol=1e-12)
    # a numpy dtype selects the same precision as its name; other dtypes are refused
    same = prg(act, corr_dtype=np.float64)
    assert same.attrs["corr_dtype"] == "float64"
    np.testing.assert_array_equal(same["membership"], r64["membership"])
    with pytest.raises(ValueError, match=r"unknown corr_dtype .*int8.*'float32', 'float64'"):
        prg(act, corr_dtype=np.int8)


def test_random_pairing_reproducible(rng):
    act = spikes(rng, 32, 2000)
    a = prg(act, pairing="random", random_state=7)
    b = prg(act, pairing="random", random_state=7)
    c = prg(act, pairing="random", random_state=8)
    xr.testing.assert_identical(a, b)
    assert not np.array_equal(a["membership"], c["membership"])
    assert a.attrs["random_state"] == 7


def test_normalizations(rng):
    act = spikes(rng, 16, 3000)
    res = prg(act)
    assert res.attrs["normalization"] == "nonzero_mean"
    # distribution integrates to 1 - zero_fraction - out_of_range
    total = (res["distribution"] * res["bin_width"]).sum("bin")
    np.testing.assert_allclose(total + res["zero_fraction"] + res["out_of_range"], 1.0)
    cont = rgdata.as_activity(rng.normal(size=(16, 3000)))
    for norm in ("variance", "none"):
        r = prg(cont, normalization=norm)
        assert r.attrs["normalization"] == norm
        assert np.all(np.isnan(r["silence_free_energy"]))
    assert prg(cont).attrs["normalization"] == "variance"
    with pytest.raises(ValueError, match="nonzero_mean.*non-negative"):
        prg(cont, normalization="nonzero_mean")


def test_eigenvalue_levels_skipped_when_too_few_samples(rng):
    act = spikes(rng, 64, 150, p=0.1)
    with pytest.warns(UserWarning, match=r"eigenvalues not computed at levels \[4, 5\]"):
        res = prg(act, n_levels=5)
    assert np.all(np.isnan(res["eigenvalues"].sel(level=5)))
    assert list(res.attrs["eigenvalues_skipped_levels"]) == [4, 5]


def test_bad_input(rng):
    good = rng.normal(size=(8, 500))
    act = rgdata.as_activity(good)
    with pytest.raises(TypeError, match="xarray.DataArray"):
        prg(good)
    bad = act.copy()
    bad[0, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        prg(bad)
    const = act.copy()
    const[2] = 1.0
    with pytest.raises(ValueError, match="constant unit"):
        prg(const)
    with pytest.raises(ValueError, match="at least 2 are needed"):
        prg(act.isel(unit=[0]))
    with pytest.raises(ValueError, match=r"n_levels=4 needs at least 2\*\*4 = 16 units"):
        prg(act, n_levels=4)
    with pytest.raises(ValueError, match="too few for n_blocks=4"):
        prg(act.isel(time=slice(0, 30)), n_blocks=4)
    with pytest.raises(ValueError, match="too few for n_blocks='auto'"):
        prg(act.isel(time=slice(0, 15)))
    with pytest.raises(ValueError, match="unknown n_blocks 'many'"):
        prg(act, n_blocks="many")
    with pytest.raises(ValueError, match="unknown max_lag 'long'"):
        prg(act, max_lag="long")
    with pytest.raises(ValueError, match="unknown pairing 'best'"):
        prg(act, pairing="best")
    with pytest.raises(ValueError, match="unknown normalization"):
        prg(act, normalization="zscore")
    trials = rgdata.as_activity(rng.normal(size=(3, 8, 100)))
    with pytest.raises(ValueError, match="stack_trials"):
        prg(trials)


def test_no_warnings_on_clean_input(rng):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        prg(spikes(rng, 32, 4000))


def test_binary_ties_do_not_depend_on_unit_order(rng):
    # binary spikes: correlations depend only on integer counts, so exact ties abound
    act = spikes(rng, 64, 1500, p=0.05)
    perm = rng.permutation(64)
    r1 = prg(act)
    r2 = prg(act.isel(unit=perm))
    m1 = r1["membership"].values
    m2 = r2["membership"].sel(unit=act["unit"].values).values
    np.testing.assert_array_equal(m1, m2)
    xr.testing.assert_allclose(r1["variance"], r2["variance"])


def test_correlation_spectrum(rng):
    # independent units with very different variances: the covariance spectrum
    # decays (sorted variances) while the correlation spectrum is flat (all 1)
    scales = np.geomspace(0.1, 10, 32)[:, None]
    act = rgdata.as_activity(rng.normal(size=(32, 20000)) * scales)
    cov = prg(act, n_levels=3, spectrum="covariance")
    cor = prg(act, n_levels=3, spectrum="correlation")
    ev = cor["eigenvalues"].sel(level=3).values[:8]
    # eigenvalues of a sample correlation matrix of 8 independent units: 1 +- ~4 sqrt(8/T)
    np.testing.assert_allclose(ev, 1.0, atol=4 * np.sqrt(8 / 20000))
    assert (
        cov["eigenvalues"].sel(level=3).values[0] > 10 * cov["eigenvalues"].sel(level=3).values[7]
    )
    assert cor.attrs["spectrum"] == "correlation"
    with pytest.raises(ValueError, match="unknown spectrum"):
        prg(act, spectrum="laplacian")


def test_holdout_removes_selection_bias(rng):
    """Pairs chosen on the first half, quantities measured on the second half.

    Independent units: the clusters do not depend on the measured samples, so
    E[Var(cluster sum)] = K * mean unit variance exactly and alpha = 1 lies in
    the block CI (without the hold-out it sits above it, see the test above).
    """
    act = spikes(rng, 64, 40000)
    res = prg(act, holdout=True)
    fit = fit_exponent(res, "variance", ci=0.99)
    assert fit["ci_low"] <= 1.0 <= fit["ci_high"], fit
    assert res.attrs["holdout"] == 1
    assert list(res.attrs["measured_samples"]) == [20000, 40000]
    assert int(res["block_start"][0]) == 20000
    # quantities really come from the second half
    mem = res["membership"].values
    x2 = act.values[:, 20000:]
    v = np.mean([x2[mem[2] == c].sum(axis=0).var() for c in range(int(res["n_clusters"][2]))])
    assert res["variance"][2] == pytest.approx(v)
    # planted structure is still found from half the data
    x, _ = planted_tree(rng, 4, 1.5, 8000)
    r = prg(rgdata.as_activity(x), holdout=True, n_levels=3)
    for c in range(2):
        assert np.unique(np.flatnonzero(r["membership"][3].values == c) >> 3).size == 1


def test_pm1_spins_silence_is_all_minus_one(rng):
    x01 = (rng.random((16, 4000)) < 0.2).astype(np.int8)
    spins = rgdata.as_activity(2 * x01 - 1, kind="spins")
    r_pm = prg(spins, n_levels=3, pairing="random", random_state=0)
    r_01 = prg(rgdata.as_activity(x01, kind="spikes"), n_levels=3, pairing="random", random_state=0)
    assert r_pm.attrs["data_coding"] == "pm1"
    assert r_pm.attrs["normalization"] == "variance"
    np.testing.assert_array_equal(r_pm["membership"], r_01["membership"])
    np.testing.assert_allclose(r_pm["silence_free_energy"], r_01["silence_free_energy"])
    # +-1 coding doubles every unit, so the variances are 4 times larger
    np.testing.assert_allclose(r_pm["variance"], 4 * r_01["variance"])


def test_random_state_recorded_as_unused_for_deterministic_pairing(rng):
    """A greedy (hold-out or not) run draws no random numbers: its attrs must not claim
    an unreproducible 'OS entropy' seed; a random-pairing run records the seed it used."""
    act = rgdata.as_activity((rng.random((16, 400)) < 0.2).astype(np.int8), kind="spikes")
    greedy = prg(act, holdout=True)
    assert greedy.attrs["random_state"] == "not used (greedy pairing is deterministic)"
    xr.testing.assert_identical(prg(act, holdout=True), greedy)
    assert prg(act, pairing="random", random_state=3).attrs["random_state"] == 3
    assert "OS entropy" in prg(act, pairing="random").attrs["random_state"]
