"""momentum(solver="randomized"): the top modes only, checked against the exact path.

Tolerances come from the residuals the result records (docs/scale.md, item 5):

* eigenvalues: a Rayleigh pair ``(lambda, u)`` of a symmetric ``C`` with residual
  ``r = ||C u - lambda u||`` lies within ``r`` of an eigenvalue (and, for a simple
  well-separated one, of the matching one);
* kept subspace: ``s = ||P - P_exact||_2 <= ||R_K||_F / delta_K`` (Davis-Kahan sin theta),
  ``delta_K`` the gap between the K-th computed and the (K+1)-th exact eigenvalue;
* retained variance ``u^T P C P u / C_ii``: moves by at most ``2 lambda_1 s / C_ii``;
* each filtered variable moves by ``delta(t) = e_i^T (P - P_exact) z(t)``, with
  ``rms(delta) <= sqrt(lambda_1) s`` and ``(mean delta^4)^(1/4) <= T^(1/4) rms(delta)``,
  which bounds ``<phi^4>/<phi^2>^2`` (:func:`_kurtosis_bound`); medians, quartiles and
  extremes over units move by at most the largest unit bound.
"""

import numpy as np
import pytest

import rgdata
from rgdata.coarse import momentum

FRACTIONS = [1.0, 0.2, 0.1, 0.05]


def _planted(n=200, t=4000, alpha=1.5, seed=0):
    """Units mixing Laplace sources with covariance eigenvalues 10 k^-alpha (known)."""
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q *= np.sign(np.diag(r))
    lam = 10.0 * np.arange(1, n + 1) ** -alpha
    sources = rng.laplace(size=(n, t)) / np.sqrt(2)  # unit variance, kurtosis 6
    return (q * np.sqrt(lam)) @ sources, lam


def _exact_modes(x):
    z = x - x.mean(1, keepdims=True)
    c = z @ z.T / x.shape[1]
    lam, u = np.linalg.eigh(c)
    return z, c, lam[::-1], u[:, ::-1]


def _kurtosis_bound(m2, m4, e2, t):
    """Largest change of m4/m2^2 when phi moves by delta with rms(delta) <= e2."""
    a, b = m4**0.25, np.sqrt(m2)
    e4 = t**0.25 * e2
    lo = np.maximum(a - e4, 0) / (b + e2)
    hi = (a + e4) / np.maximum(b - e2, 1e-300)
    k = (a / b) ** 4
    return np.maximum(hi**4 - k, k - lo**4)


def test_planted_power_law_matches_exact_within_residual_bounds():
    x, _ = _planted()
    t = x.shape[1]
    act = rgdata.as_activity(x)
    exact = momentum(act, FRACTIONS, matrix="covariance")
    # 30 power iterations: the planted gap at K = 40 is 7e-4 of lambda_1 = 10, and the
    # default 7 leave the 40th mode's residual at ~1e-5 (a subspace bound of ~1e-2, which
    # the bounds below would still have to meet, but loosely)
    rand = momentum(
        act, FRACTIONS, matrix="covariance", solver="randomized", n_iter=30, random_state=1
    )
    z, c, lam, u = _exact_modes(x)
    k_max = rand.sizes["mode"]
    assert k_max == 40 and rand.attrs["n_modes_computed"] == 40
    assert rand.attrs["solver"] == "randomized" and exact.attrs["solver"] == "exact"
    res = rand.eigen_residual.values
    # eigenvalues: within the residual of the exact ones (numpy eigh, another LAPACK driver)
    err = np.abs(rand.eigenvalues.values - lam[:k_max])
    assert np.all(err <= res + 1e-12 * lam[0])
    np.testing.assert_allclose(exact.eigenvalues[:k_max], lam[:k_max], rtol=1e-10)
    # the captured variance is the share of the trace in the computed modes
    np.testing.assert_allclose(rand.captured_variance, lam[:k_max].sum() / lam.sum(), rtol=1e-8)
    for level in range(1, len(FRACTIONS)):
        k = int(rand.n_modes[level])
        s = np.linalg.norm(res[:k]) / (rand.eigenvalues.values[k - 1] - lam[k])
        assert s < 1e-8  # so the bounds below are tight
        var = np.sum(u[:, :k] ** 2 * lam[:k], axis=1)
        phi = u[:, :k] @ (u[:, :k].T @ z)
        m2, m4 = np.mean(phi**2, axis=1), np.mean(phi**4, axis=1)
        tol_ret = 2 * lam[0] * s / np.diag(c) + 1e-12
        got = rand.isel(level=level)
        ref = exact.isel(level=level)
        assert np.all(np.abs(got.retained_variance - ref.retained_variance) <= tol_ret)
        tol_k = _kurtosis_bound(m2, m4, np.sqrt(lam[0]) * s, t) + 1e-9
        assert np.all(np.abs(got.fourth_moment - ref.fourth_moment) <= tol_k)
        # and both equal a direct numpy projection on the exact modes
        assert np.all(np.abs(got.fourth_moment - m4 / m2**2) <= tol_k)
        assert np.all(np.abs(got.retained_variance - var / np.diag(c)) <= tol_ret)
        for name in ("median", "q25", "q75", "min", "max"):
            diff = abs(float(got[f"fourth_moment_{name}"] - ref[f"fourth_moment_{name}"]))
            assert diff <= tol_k.max()
        # the pooled histogram: no value is within the bound of a bin edge here, so equal
        np.testing.assert_allclose(got.distribution, ref.distribution, atol=1e-12)
        np.testing.assert_allclose(got.outside_fraction, ref.outside_fraction, atol=1e-12)
    # level 0 is the data itself on both paths
    np.testing.assert_array_equal(rand.fourth_moment[0], exact.fourth_moment[0])


def test_subspace_and_signs():
    x, _ = _planted()
    act = rgdata.as_activity(x)
    from rgdata.coarse._momentum_kernels import standardize
    from rgdata.coarse._momentum_randomized import top_modes

    z, _ = standardize(np.asarray(act.values), "covariance", np.float64)
    found = top_modes(z, 20, n_oversamples=20, n_iter=20, random_state=0)
    _, _, lam, u = _exact_modes(x)
    # principal angles between span(u_rand) and span(u_exact): sin = ||(I - U U^T) V||
    sin = np.linalg.norm(found.vectors - u[:, :20] @ (u[:, :20].T @ found.vectors), ord=2)
    bound = np.linalg.norm(found.residuals) / (found.eigenvalues[-1] - lam[20])
    assert sin <= bound + 1e-12 and sin < 1e-6
    # each vector equals the exact one up to sign
    signs = np.sign(np.sum(found.vectors * u[:, :20], axis=0))
    np.testing.assert_allclose(found.vectors * signs, u[:, :20], atol=1e-6)


@pytest.mark.filterwarnings("ignore:solver=.randomized.:UserWarning")
def test_seeded_reproducible_and_seed_dependent():
    x, _ = _planted(n=120, t=2000)
    act = rgdata.as_activity(x)
    kw = {"solver": "randomized", "n_iter": 1, "n_oversamples": 2}
    a = momentum(act, [1, 0.25], random_state=3, **kw)
    b = momentum(act, [1, 0.25], random_state=3, **kw)
    c = momentum(act, [1, 0.25], random_state=4, **kw)
    np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
    np.testing.assert_array_equal(a.fourth_moment, b.fourth_moment)
    # one power iteration and two extra directions: another seed, other round-off
    assert not np.array_equal(a.eigenvalues, c.eigenvalues)


def test_dask_backed_activity_gives_numpy_result():
    # the dask path (tests/coarse/test_momentum_lazy.py) keeps it lazy, with the same numbers
    da = pytest.importorskip("dask.array")
    x, _ = _planted(n=120, t=2000)
    ref = momentum(rgdata.as_activity(x), [1, 0.25], solver="randomized")
    lazy = rgdata.as_activity(x).copy(data=da.from_array(x, chunks=(32, 500)))
    got = momentum(lazy, [1, 0.25], solver="randomized")
    for name in ("eigenvalues", "fourth_moment", "retained_variance"):
        assert isinstance(got[name].data, np.ndarray)
        np.testing.assert_allclose(got[name], ref[name], rtol=1e-9)
    assert "kept lazy" in got.attrs["input_storage"] and ref.attrs["input_storage"] == "memory"


def test_result_fields_round_trip_netcdf(tmp_path):
    import xarray as xr

    x, _ = _planted(n=64, t=1000)
    ds = momentum(rgdata.as_activity(x), [1, 0.25], solver="randomized", n_iter=10)
    assert ds.eigen_residual.dims == ("mode",) and ds.sizes["mode"] == 16
    assert ds.attrs["method"] == "randomized_svd" and ds.attrs["n_oversamples"] == 16
    assert 0 < float(ds.captured_variance) < 1
    ds.to_netcdf(tmp_path / "r.nc", engine="h5netcdf")
    back = xr.open_dataset(tmp_path / "r.nc", engine="h5netcdf").load()
    xr.testing.assert_allclose(back.set_xindex("fraction"), ds)
    assert back.attrs["solver"] == "randomized"


def test_slow_convergence_is_warned_not_silent():
    # a flat spectrum has no gap at the cut: one pass without power iterations is inaccurate
    x = np.random.default_rng(0).standard_normal((150, 1000))
    with pytest.warns(UserWarning, match="residual"):
        ds = momentum(
            rgdata.as_activity(x), [1, 0.1], solver="randomized", n_iter=0, n_oversamples=0
        )
    assert "residual" in ds.attrs["warnings"]
    assert np.max(ds.eigen_residual / ds.eigenvalues) > 1e-3


def test_default_ladder_cut_to_n_modes_is_recorded():
    x, _ = _planted(n=128, t=2000)
    ds = momentum(rgdata.as_activity(x), solver="randomized", n_modes=16)
    assert ds.n_modes.values.tolist() == [128, 16, 8, 4, 2]
    assert "cut to the 5 of 7" in ds.attrs["solver_note"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"solver": "lanczos"}, "solver"),
        ({"solver": "randomized", "direction": "both"}, "direction"),
        ({"solver": "randomized", "direction": "remove_high"}, "direction"),
        ({"solver": "randomized", "n_modes": 0}, "n_modes"),
        ({"solver": "randomized", "n_modes": 61}, "n_modes"),
        ({"solver": "randomized", "fractions": [1, 0.5], "n_modes": 10}, r"fractions \[0\.5\]"),
        ({"solver": "randomized", "fractions": None}, "fractions or n_modes"),
        ({"solver": "randomized", "n_oversamples": -1}, "n_oversamples"),
        ({"solver": "randomized", "n_iter": -1}, "n_iter"),
    ],
)
def test_bad_input(kwargs, match):
    x = np.random.default_rng(0).standard_normal((60, 200))
    kwargs = {"fractions": [1, 0.1], **kwargs}
    with pytest.raises(ValueError, match=match):
        momentum(rgdata.as_activity(x), **kwargs)


def test_rank_deficient_data_refused():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 500))
    x = np.vstack([x, x[:3] + x[1:4]])  # 8 units, rank 5
    with pytest.raises(ValueError, match="solver='exact'"):
        momentum(rgdata.as_activity(x), [1, 0.9], solver="randomized")


@pytest.mark.slow
def test_larger_planted_matches_exact_within_residual_bounds():
    x, _ = _planted(n=1500, t=6000, alpha=1.2, seed=2)
    t = x.shape[1]
    act = rgdata.as_activity(x)
    fr = [1.0, 0.05, 0.02]
    exact = momentum(act, fr, matrix="covariance")
    rand = momentum(act, fr, matrix="covariance", solver="randomized", n_iter=30)
    z, c, lam, u = _exact_modes(x)
    k_max = rand.sizes["mode"]
    res = rand.eigen_residual.values
    err = np.abs(rand.eigenvalues.values - lam[:k_max])
    assert np.all(err <= res + 1e-12 * lam[0])
    for level in (1, 2):
        k = int(rand.n_modes[level])
        s = np.linalg.norm(res[:k]) / (rand.eigenvalues.values[k - 1] - lam[k])
        assert s < 1e-6
        phi = u[:, :k] @ (u[:, :k].T @ z)
        m2, m4 = np.mean(phi**2, axis=1), np.mean(phi**4, axis=1)
        tol_k = _kurtosis_bound(m2, m4, np.sqrt(lam[0]) * s, t) + 1e-9
        got, ref = rand.isel(level=level), exact.isel(level=level)
        assert np.all(np.abs(got.fourth_moment - ref.fourth_moment) <= tol_k)
        assert abs(float(got.fourth_moment_median - ref.fourth_moment_median)) <= tol_k.max()
        tol_ret = 2 * lam[0] * s / np.diag(c) + 1e-12
        assert np.all(np.abs(got.retained_variance - ref.retained_variance) <= tol_ret)
