"""Momentum-space PCA-RG checked against exact results and planted models."""

import numpy as np
import pytest
import scipy.stats
import xarray as xr

import rgdata
from rgdata.coarse import default_fractions, momentum


def _random_orthogonal(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.diag(r))


def _kurtosis_se(phi):
    """Delta-method standard error of m4/m2^2 along the last axis (independent samples)."""
    m2 = np.mean(phi**2, axis=-1, keepdims=True)
    m4 = np.mean(phi**4, axis=-1, keepdims=True)
    infl = (phi**4 - m4) / m2**2 - 2 * m4 * (phi**2 - m2) / m2**3
    return infl.std(axis=-1) / np.sqrt(phi.shape[-1])


def test_default_fractions():
    assert default_fractions(160).tolist() == [1, 1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64]
    assert default_fractions(1).tolist() == [1.0]


def test_full_set_reproduces_raw_kurtosis_and_eigenvalues(rng):
    x = rng.standard_normal((12, 3000)) ** 3 + rng.standard_normal((1, 3000))
    act = rgdata.as_activity(x)
    for matrix, cov in (
        ("correlation", np.corrcoef(x)),
        ("covariance", np.cov(x, bias=True)),
    ):
        ds = momentum(act, [1.0, 0.5], matrix=matrix)
        raw = scipy.stats.kurtosis(x, axis=1, fisher=False)
        np.testing.assert_allclose(ds.fourth_moment.sel(fraction=1.0), raw, rtol=1e-10)
        np.testing.assert_allclose(
            ds.eigenvalues, np.linalg.eigvalsh(cov)[::-1], rtol=1e-10, atol=1e-12
        )
        np.testing.assert_allclose(ds.retained_variance.sel(fraction=1.0), 1.0, rtol=1e-10)
    # retained variance at 1/2 = sum of u_i^2 lambda over the top six modes of C
    lam, u = np.linalg.eigh(np.cov(x, bias=True))
    top = u[:, -6:] ** 2 @ lam[-6:] / np.diag(np.cov(x, bias=True))
    np.testing.assert_allclose(ds.retained_variance.sel(fraction=0.5), top, rtol=1e-8)


def test_matches_naive_projection_for_both_paths(rng):
    """Incremental streaming (and the Gram path for T < N) equal a direct projection."""
    for n, t in ((10, 400), (40, 25)):
        x = rng.standard_normal((n, t)) @ np.diag(np.linspace(1, 3, t)) if n > t else None
        x = rng.standard_normal((n, t)) + 0.5 * rng.laplace(size=(1, t)) if x is None else x
        z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
        lam, u = np.linalg.eigh(z @ z.T / t)
        lam, u = lam[::-1], u[:, ::-1]
        rank = min(n, t - 1)
        with pytest.warns(UserWarning, match="rank") if rank < n else _nullcontext():
            ds = momentum(rgdata.as_activity(x), [1, 0.5, 0.2, 0.1], direction="both", chunk_size=7)
        for direction in ("remove_low", "remove_high"):
            sub = ds.sel(direction=direction)
            for frac, k in zip(sub.fraction.values, sub.n_modes.values, strict=True):
                cols = np.arange(k) if direction == "remove_low" else np.arange(rank - k, rank)
                phi = u[:, cols] @ (u[:, cols].T @ z)
                expect = np.mean(phi**4, 1) / np.mean(phi**2, 1) ** 2
                np.testing.assert_allclose(
                    sub.fourth_moment.sel(fraction=frac), expect, rtol=1e-7, err_msg=direction
                )


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_gaussian_data_stay_at_three(rng):
    """Any covariance: filtered Gaussian variables are Gaussian (fourth moment 3)."""
    n, t = 40, 20000
    cov_sqrt = _random_orthogonal(n, rng) @ np.diag(np.arange(1, n + 1) ** -0.7)
    x = cov_sqrt @ rng.standard_normal((n, t))
    ds = momentum(rgdata.as_activity(x), direction="both")
    se = np.sqrt(24.0 / t)
    assert ds.attrs["gaussian_fourth_moment_se"] == pytest.approx(se)
    # 480 variables: 5 sigma per variable (Bonferroni at ~1e-3), 4 sigma for the medians
    assert np.all(np.abs(ds.fourth_moment - 3) < 5 * se)
    assert np.all(np.abs(ds.fourth_moment_median - 3) < 4 * se)
    # pooled distributions are the standard normal density
    centers = ds.bin_center.values
    gauss = scipy.stats.norm.pdf(centers)
    width = centers[1] - centers[0]
    counts = n * t
    for dist in ds.distribution.values.reshape(-1, centers.size):
        # Poisson error of a histogram density, inflated 4x for correlated units
        err = np.sqrt(gauss / (counts * width)) * 4 * 5 + 1e-3
        assert np.all(np.abs(dist - gauss) < err)


def test_planted_independent_sources(rng):
    """x = Q D s with independent sub-Gaussian sources: the filtered excess kurtosis is
    sum_j w_j^4 k_j / (sum_j w_j^2)^2 over the kept sources, w_j = Q_ij sqrt(lambda_j).

    The error bar is the spread over independent replicates of the whole pipeline
    (it includes the error of the estimated eigenvectors)."""
    n, t, n_rep = 6, 20_000, 20
    lam = 4.0 ** -np.arange(n) * 64  # wide gaps: eigenvector bias O(1/(T gap^2)) negligible
    q = _random_orthogonal(n, rng)
    # alternate uniform sources (excess kurtosis -6/5) and Laplace sources (+3)
    uniform = np.arange(n) % 2 == 0
    kappa = np.where(uniform, -1.2, 3.0)
    fractions = [1, 0.5, 1 / 3, 1 / 6]
    reps = []
    for _ in range(n_rep):
        s = np.where(
            uniform[:, None],
            rng.uniform(-np.sqrt(3), np.sqrt(3), (n, t)),
            rng.laplace(scale=1 / np.sqrt(2), size=(n, t)),
        )
        x = q @ (np.sqrt(lam)[:, None] * s)
        ds = momentum(rgdata.as_activity(x), fractions, direction="both", matrix="covariance")
        reps.append(ds.fourth_moment.values)
    reps = np.asarray(reps)  # (rep, direction, fraction, unit)
    mean, se = reps.mean(0), reps.std(0, ddof=1) / np.sqrt(n_rep)
    np.testing.assert_allclose(ds.eigenvalues, lam, rtol=0.05)
    w = q * np.sqrt(lam)[None, :]
    for d, direction in enumerate(ds.direction.values):
        for f, k in enumerate(ds.n_modes.values):
            kept = np.arange(k) if direction == "remove_low" else np.arange(n - k, n)
            wk = w[:, kept]
            predicted = 3 + (wk**4 @ kappa[kept]) / (wk**2).sum(1) ** 2
            # 48 comparisons, t with 19 dof: 5 sigma keeps the family-wise error < 1%
            assert np.all(np.abs(mean[d, f] - predicted) < 5 * se[d, f]), (direction, k)
    # keeping one mode: every variable is +-one source, fourth moment 3 + its kappa
    np.testing.assert_allclose(mean[0, -1], 1.8, atol=0.01)
    np.testing.assert_allclose(mean[1, -1], 6.0, atol=0.1)
    # the filtering moved the moments by far more than the error bars
    assert np.all(np.ptp(mean, axis=1) > 20 * se.max(axis=1))


def test_market_mode_removal_goes_gaussian(rng):
    n, t = 20, 40000
    market = rng.laplace(scale=1 / np.sqrt(2), size=t)  # unit variance, excess kurtosis 3
    load = rng.uniform(0.8, 1.2, n)
    x = load[:, None] * market + rng.standard_normal((n, t))
    act = rgdata.as_activity(x, kind="returns")
    high = momentum(act, [1, (n - 1) / n], direction="remove_high")
    assert high.n_modes.values.tolist() == [n, n - 1]
    raw = 3 + 3 * load**4 / (load**2 + 1) ** 2
    se_raw = _kurtosis_se(x)
    assert np.all(np.abs(high.fourth_moment.sel(fraction=1.0) - raw) < 4 * se_raw)
    se = np.sqrt(24.0 / t)
    assert abs(float(high.fourth_moment_median[-1]) - 3) < 4 * se
    assert float(high.fourth_moment_median[0]) > 3 + 10 * se
    low = momentum(act, [1, 1 / n], direction="remove_low")
    # keeping only the top mode leaves (almost) the market factor: fourth moment ~ 6
    assert abs(float(low.fourth_moment_median[-1]) - 6) < 0.3


def test_float32_agrees(rng):
    x = rng.standard_normal((30, 2000)) + rng.standard_normal((1, 2000)) ** 3
    a = momentum(rgdata.as_activity(x), direction="both")
    b = momentum(rgdata.as_activity(x), direction="both", dtype="float32")
    # a dominant mode (28 of 30) must not push the small genuine modes (0.05) below the
    # round-off threshold of the rank
    assert a.attrs["rank"] == b.attrs["rank"] == 30
    np.testing.assert_allclose(b.fourth_moment, a.fourth_moment, rtol=1e-3)
    np.testing.assert_allclose(b.eigenvalues, a.eigenvalues, rtol=1e-4, atol=1e-5)


def test_schema_attrs_and_netcdf_roundtrip(rng, tmp_path):
    x = (rng.random((8, 500)) < 0.2).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes", source="test")
    ds = momentum(act, [1, 0.5, 0.25], direction="remove_high", n_bins=11, bin_range=4.0)
    assert ds.fourth_moment.dims == ("level", "unit")
    assert ds.distribution.dims == ("level", "bin")
    assert ds.level.values.tolist() == [0, 1, 2] and ds.attrs["level_dim"] == "level"
    assert ds.scale.values.tolist() == ds.fraction.values.tolist() == [1, 0.5, 0.25]
    assert "fractions" not in ds.attrs  # one representation: the coordinate
    assert str(ds.direction.values) == "remove_high"
    assert ds.n_modes.values.tolist() == [8, 4, 2]
    assert ds.attrs["kind"] == "spikes" and ds.attrs["rank"] == 8
    width = 8.0 / 11
    total = ds.distribution.sum("bin") * width + ds.outside_fraction
    np.testing.assert_allclose(total, 1.0)
    path = tmp_path / "m.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.open_dataset(path, engine="h5netcdf").load()
    xr.testing.assert_allclose(back, ds)
    assert "fraction" in ds.xindexes and "fraction" not in back.xindexes  # netCDF: no index
    # selecting by kept fraction works on both, and set_xindex restores the index
    xr.testing.assert_allclose(back.sel(fraction=0.5), ds.sel(fraction=0.5))
    xr.testing.assert_allclose(
        back.set_xindex("fraction").sel(fraction=[0.5]), ds.sel(fraction=[0.5])
    )
    assert back.attrs["direction"] == "remove_high"
    both = momentum(act, [1, 0.5], direction="both")
    both.to_netcdf(tmp_path / "b.nc", engine="h5netcdf")
    back = xr.open_dataset(tmp_path / "b.nc", engine="h5netcdf").load()
    assert back.direction.values.tolist() == ["remove_low", "remove_high"]
    xr.testing.assert_allclose(
        back.sel(direction="remove_low").fourth_moment, both.fourth_moment[0]
    )


def test_deterministic(rng):
    x = rng.standard_normal((10, 300))
    a = momentum(rgdata.as_activity(x))
    b = momentum(rgdata.as_activity(x))
    xr.testing.assert_identical(a, b)


def test_outside_range_warns(rng):
    x = rng.standard_normal((6, 400)) ** 5
    with pytest.warns(UserWarning, match="outside bin_range=1.0"):
        ds = momentum(rgdata.as_activity(x), [1.0], bin_range=1.0)
    assert float(ds.outside_fraction[0]) > 0.01
    assert "outside" in ds.attrs["warnings"]


def test_unit_without_weight_warns():
    # unit 2 is uncorrelated with the rest and has the smallest variance: it lives in
    # one mode only, which remove_low drops first
    rng = np.random.default_rng(3)
    common = rng.standard_normal(2000)
    x = np.vstack([common + 0.3 * rng.standard_normal(2000) for _ in range(2)])
    # make unit 2 exactly uncorrelated in the sample (Gram-Schmidt against units 0, 1)
    basis, _ = np.linalg.qr((x - x.mean(1, keepdims=True)).T)
    r = rng.standard_normal(2000)
    r -= r.mean()
    r -= basis @ (basis.T @ r)
    x = np.vstack([x, 0.01 * r / r.std()])
    with pytest.warns(UserWarning, match="no weight on the kept modes"):
        ds = momentum(rgdata.as_activity(x), [1, 1 / 3], matrix="covariance")
    assert np.isnan(ds.fourth_moment.sel(fraction=1 / 3, unit=2))
    assert np.isfinite(ds.fourth_moment_median.sel(fraction=1 / 3))


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"fractions": [1.0, 1.5]}, ValueError, r"fractions must lie in \(0, 1\].*1\.5"),
        ({"fractions": [0.0]}, ValueError, r"fractions must lie in \(0, 1\]"),
        ({"fractions": [0.5, 0.5]}, ValueError, "fractions must be distinct"),
        ({"fractions": []}, ValueError, "fractions is empty"),
        ({"direction": "sideways"}, ValueError, "unknown direction 'sideways'; accepted"),
        ({"matrix": "gram"}, ValueError, "unknown matrix 'gram'"),
        ({"dtype": "float16"}, ValueError, "unknown dtype"),
        ({"dtype": np.float16}, ValueError, r"unknown dtype.*'float32' \(or the numpy dtype"),
        ({"dtype": None}, ValueError, "unknown dtype None"),
        ({"n_bins": 1}, ValueError, "n_bins must be >= 2"),
        ({"bin_range": -1.0}, ValueError, "bin_range must be > 0"),
    ],
)
def test_bad_options(rng, kwargs, exc, match):
    act = rgdata.as_activity(rng.standard_normal((4, 50)))
    with pytest.raises(exc, match=match):
        momentum(act, **kwargs)


@pytest.mark.parametrize("spelling", [np.float32, np.dtype("float32"), "f4"])
def test_dtype_accepts_numpy_spellings(rng, spelling):
    """A numpy dtype (or its code) selects the same precision as its name."""
    act = rgdata.as_activity(rng.standard_normal((6, 200)))
    ref = momentum(act, dtype="float32")
    ds = momentum(act, dtype=spelling)
    assert ds.attrs["dtype"] == "float32" and ds.attrs["dtype_requested"] == "float32"
    np.testing.assert_array_equal(ds.fourth_moment.values, ref.fourth_moment.values)


def test_bad_activity(rng):
    x = rng.standard_normal((4, 50))
    with pytest.raises(TypeError, match="activity must be an xarray.DataArray"):
        momentum(x)
    bad = x.copy()
    bad[1, 3] = np.nan
    da = xr.DataArray(bad, dims=("unit", "time"))
    with pytest.raises(ValueError, match="activity contains 1 NaN"):
        momentum(da)
    const = x.copy()
    const[2] = 1.0
    with pytest.raises(ValueError, match="1 constant unit"):
        momentum(xr.DataArray(const, dims=("unit", "time")))
    with pytest.raises(ValueError, match="1 unit\\(s\\); at least 2"):
        momentum(xr.DataArray(x[:1], dims=("unit", "time")))
    with pytest.raises(ValueError, match="5 time point\\(s\\); at least 10"):
        momentum(xr.DataArray(x[:, :5], dims=("unit", "time")))
    trials = rgdata.as_activity(rng.standard_normal((2, 4, 50)))
    with pytest.raises(ValueError, match="stack_trials"):
        momentum(trials)


def test_rank_is_structural_and_round_off(rng):
    """float32 keeps every genuine mode of a factor model (top eigenvalue >> noise modes);
    a duplicated unit gives exactly one zero mode, found in both precisions."""
    n, t = 400, 800
    load = rng.standard_normal((n, 20)) * 3
    x = load @ rng.standard_normal((20, t)) + rng.standard_normal((n, t))
    for dtype in ("float64", "float32"):
        ds = momentum(rgdata.as_activity(x), [1, 0.5], dtype=dtype)
        assert ds.attrs["rank"] == n, dtype
        dup = np.vstack([x, x[:1]])
        with pytest.warns(UserWarning, match=f"rank {n} < {n + 1} units"):
            ds = momentum(rgdata.as_activity(dup), [1, 0.5], dtype=dtype)
        assert ds.attrs["rank"] == n


def test_progress_bar_names_the_stages(rng, capsys, monkeypatch):
    """progress=True shows the decomposition stages and the streaming; same numbers."""
    monkeypatch.setenv("RGDATA_PROGRESS", "1")  # captured stderr is no terminal
    act = rgdata.as_activity(rng.standard_normal((12, 300)))
    quiet = momentum(act, direction="both")
    loud = momentum(act, direction="both", progress=True)
    err = capsys.readouterr().err
    for stage in ("covariance and eigenvalues", "eigenvectors", "projections"):
        assert f"momentum RG: {stage}" in err
    np.testing.assert_array_equal(loud.fourth_moment.values, quiet.fourth_moment.values)
