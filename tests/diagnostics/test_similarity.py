"""Self-similarity scores checked against analytic distances on synthetic levels."""

import json

import numpy as np
import pytest
import scipy.integrate
import scipy.stats
import xarray as xr

import rgdata
from rgdata.diagnostics import (
    autocorrelation_distances,
    distribution_distance,
    level_distances,
    self_similarity,
    spectrum_distances,
    split_distances,
)

X = np.linspace(-10, 10, 2001)  # bin width 0.01


def _gauss(mu, sigma=1.0, x=X):
    return scipy.stats.norm.pdf(x, mu, sigma)


def _levels(densities, x=X, level=None):
    level = np.arange(len(densities)) if level is None else level
    return xr.DataArray(
        np.asarray(densities),
        dims=("level", "bin"),
        coords={"level": level, "bin_center": ("bin", x)},
    )


def _js_continuous(d):
    """Jensen-Shannon divergence of N(0,1) and N(d,1) by adaptive quadrature (nats)."""

    def integrand(x):
        p, q = _gauss(0, x=x), _gauss(d, x=x)
        m = 0.5 * (p + q)
        return 0.5 * (p * np.log(p / m) + q * np.log(q / m))

    return scipy.integrate.quad(integrand, -12, 12 + d, limit=200)[0]


@pytest.mark.parametrize("metric", ["js", "wasserstein", "l2"])
def test_identical_distributions_have_zero_distance(metric):
    da = _levels([_gauss(0), _gauss(0), _gauss(0)])
    d = level_distances(da, metric=metric)
    np.testing.assert_allclose(d, 0.0, atol=1e-14)
    assert d.dims == ("level",)
    assert d["level"].values.tolist() == [1, 2]
    assert d["lower_level"].values.tolist() == [0, 1]
    assert d.attrs["metric"] == metric


def test_shifted_gaussians_match_analytic_distances():
    shifts = np.array([0.0, 0.3, 1.0, 2.5])
    da = _levels([_gauss(m) for m in np.cumsum(shifts)])
    step = shifts[1:]
    # W1 between N(0,1) and N(d,1) is d
    w = level_distances(da, metric="wasserstein")
    np.testing.assert_allclose(w, step, rtol=1e-4)
    # L2: ||p - q||^2 = (1 - exp(-d^2 / 4)) / sqrt(pi)
    l2 = level_distances(da, metric="l2")
    np.testing.assert_allclose(
        l2, np.sqrt((1 - np.exp(-(step**2) / 4)) / np.sqrt(np.pi)), rtol=1e-4
    )
    # JS against quadrature of the continuous formula, and the small-shift limit d^2/8
    js = level_distances(da, metric="js")
    np.testing.assert_allclose(js, [_js_continuous(d) for d in step], rtol=1e-4)
    assert js[0] == pytest.approx(0.3**2 / 8, rel=0.02)


def test_js_of_disjoint_supports_is_ln2():
    x = np.arange(10.0)
    p = np.r_[np.ones(5), np.zeros(5)] / 5
    q = p[::-1]
    assert distribution_distance(p, q, x, "js") == pytest.approx(np.log(2))
    assert distribution_distance(p, q, x, "wasserstein") == pytest.approx(5.0)


def test_extra_dims_are_kept():
    a = _levels([_gauss(0), _gauss(1)])
    b = _levels([_gauss(0), _gauss(2)])
    da = xr.concat([a, b], dim=xr.Variable("direction", ["x", "y"]))
    d = level_distances(da, metric="wasserstein")
    assert d.dims == ("direction", "level")
    np.testing.assert_allclose(d.values[:, 0], [1.0, 2.0], rtol=1e-4)


def _spectra(k, fn):
    kmax = max(k)
    vals = np.full((len(k), kmax), np.nan)
    for i, kk in enumerate(k):
        r = np.arange(1, kk + 1)
        vals[i, :kk] = fn(r, kk)
    return xr.DataArray(
        vals,
        dims=("level", "rank"),
        coords={"rank": np.arange(1, kmax + 1), "cluster_size": ("level", k)},
    )


def test_power_law_spectra_collapse_exactly():
    k = [2, 4, 8, 16, 32]
    ev = _spectra(k, lambda r, kk: 3.0 * (r / kk) ** -1.4)
    d = spectrum_distances(ev)
    np.testing.assert_allclose(d, 0.0, atol=1e-12)
    assert d["cluster_size"].values.tolist() == [4, 8, 16, 32]


def test_non_collapsing_spectra_have_the_analytic_distance():
    k = np.array([2, 4, 8, 16])
    mu = 0.8
    # lambda = r^-mu not rescaled by K: at fixed r/K, ln(lambda) shifts by mu ln(K'/K)
    ev = _spectra(list(k), lambda r, kk: r**-mu)
    d = spectrum_distances(ev)
    np.testing.assert_allclose(d, mu * np.log(k[1:] / k[:-1]), rtol=1e-10)
    # a rescaled spectrum is at distance |ln c|
    ev2 = _spectra([4, 4], lambda r, kk: r**-1.0)
    ev2[1] *= 5.0
    assert float(spectrum_distances(ev2.assign_coords(cluster_size=("level", [4, 4])))[0]) == (
        pytest.approx(np.log(5.0))
    )


def _autocorr(taus, tau_c, n_lag=200):
    lag = np.arange(n_lag)
    return xr.DataArray(
        np.exp(-lag[None, :] / np.asarray(taus)[:, None]),
        dims=("level", "lag"),
        coords={"lag": lag, "tau_c": ("level", np.asarray(tau_c, float))},
    )


def test_exponential_autocorrelations_collapse_on_lag_over_tau():
    taus = [2.0, 4.0, 8.0, 16.0]
    d = autocorrelation_distances(_autocorr(taus, taus))
    assert np.all(d < 1e-3)
    # with the wrong tau_c (all equal), the curves do not collapse: compare with the
    # RMS of exp(-x tau/tau_a) - exp(-x tau/tau_b) over the common range, evaluated densely
    wrong = autocorrelation_distances(_autocorr(taus, [4.0] * 4))
    for i in range(3):
        x = np.linspace(0, 199 / 4.0, 64)
        expect = np.sqrt(np.mean((np.exp(-x * 4 / taus[i]) - np.exp(-x * 4 / taus[i + 1])) ** 2))
        assert float(wrong[i]) == pytest.approx(expect, abs=2e-3)
        assert float(wrong[i]) > 30 * float(d.max())


def _prg_like(rng, n_per_level, mus, n_bins=61):
    """A PRG-schema result whose level distributions are histograms of samples."""
    edges = np.linspace(-6, 6, n_bins + 1)
    centers = 0.5 * (edges[1:] + edges[:-1])
    dens = [np.histogram(rng.normal(mu, 1, n_per_level), edges, density=True)[0] for mu in mus]
    k = 2 ** np.arange(len(mus))
    return xr.Dataset(
        {"distribution": (("level", "bin"), np.asarray(dens))},
        coords={
            "level": np.arange(len(mus)),
            "cluster_size": ("level", k),
            "bin_center": ("bin", centers),
        },
        attrs={"analysis": "prg"},
    )


def test_self_similarity_on_prg_schema_with_all_quantities(tmp_path):
    k = [1, 2, 4, 8]
    ds = _levels([_gauss(0)] * 4).to_dataset(name="distribution")
    ds = ds.assign_coords(cluster_size=("level", k))
    ds["eigenvalues"] = _spectra(k, lambda r, kk: (r / kk) ** -1.0).drop_vars("cluster_size")
    ds["autocorrelation"] = _autocorr([1.0, 2.0, 4.0, 8.0], [1, 2, 4, 8]).drop_vars("tau_c")
    ds["tau_c"] = ("level", [1.0, 2.0, 4.0, 8.0])
    sim = self_similarity(ds)
    assert json.loads(sim.attrs["quantities"]) == ["distribution", "spectrum", "autocorrelation"]
    for name in ("distribution_distance", "spectrum_distance", "autocorrelation_distance"):
        assert sim[name].dims == ("level",)
        assert np.all(sim[name] < 2e-3), name
    sim.to_netcdf(tmp_path / "s.nc", engine="h5netcdf")
    back = xr.open_dataset(tmp_path / "s.nc", engine="h5netcdf").load()
    xr.testing.assert_allclose(back, sim)


def test_noise_reference_separates_collapsed_from_flowing():
    rng = np.random.default_rng(7)
    n = 20000
    for mus, flowing in (([0.0] * 5, False), ([0.0, 0.5, 1.0, 1.5, 2.0], True)):
        a = _prg_like(rng, n, mus)
        b = _prg_like(rng, n, mus)
        full = a.copy()
        full["distribution"] = 0.5 * (a["distribution"] + b["distribution"])
        for metric in ("js", "wasserstein", "l2"):
            sim = self_similarity(full, metric=metric, halves=(a, b))
            ratio = sim["distribution_ratio"].values
            assert sim["distribution_noise"].dims == ("level",)
            assert sim["distribution_split"].dims == ("level_all",)
            if flowing:
                assert np.all(ratio > 5), (metric, ratio)
            else:
                # independent levels: distance / noise is O(1) (a chi-like variable)
                assert np.all(ratio < 3), (metric, ratio)


def test_self_similarity_on_momentum_result():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((30, 4000))
    act = rgdata.as_activity(x)
    full = rgdata.coarse.momentum(act, direction="both")
    halves = tuple(
        rgdata.coarse.momentum(act.isel(time=sl), direction="both")
        for sl in (slice(0, 2000), slice(2000, None))
    )
    sim = self_similarity(full, metric="wasserstein", halves=halves)
    assert sim.attrs["level_dim"] == "level"
    assert json.loads(sim.attrs["quantities"]) == ["distribution"]
    assert sim["distribution_distance"].dims == ("direction", "level")
    assert sim["fraction"].values.tolist() == full["fraction"].values[1:].tolist()
    assert sim["n_modes"].values.tolist() == full["n_modes"].values[1:].tolist()
    # Gaussian data: every level is the same Gaussian, within noise
    assert np.all(sim["distribution_ratio"] < 4)
    split = split_distances(*halves, metric="wasserstein")
    assert split["distribution_split"].dims == ("direction", "level")


def test_bad_inputs():
    da = _levels([_gauss(0), _gauss(1)])
    with pytest.raises(ValueError, match="unknown metric 'kl'"):
        level_distances(da, metric="kl")
    with pytest.raises(ValueError, match=r"needs \['bin'\]"):
        level_distances(da.rename(bin="x"))
    with pytest.raises(ValueError, match="at least 2 are needed"):
        level_distances(da.isel(level=[0]))
    with pytest.raises(TypeError, match="da must be an xarray.DataArray"):
        level_distances(da.values)
    with pytest.raises(ValueError, match="non-negative"):
        level_distances(-da)
    with pytest.raises(ValueError, match="no 'cluster_size' coordinate"):
        spectrum_distances(xr.DataArray(np.ones((2, 3)), dims=("level", "rank")))
    with pytest.raises(ValueError, match="cluster_size has shape"):
        spectrum_distances(xr.DataArray(np.ones((2, 3)), dims=("level", "rank")), [1, 2, 3])
    with pytest.raises(ValueError, match="no 'tau_c' coordinate"):
        autocorrelation_distances(xr.DataArray(np.ones((2, 3)), dims=("level", "lag")))
    with pytest.raises(ValueError, match="nothing to score"):
        self_similarity(xr.Dataset({"variance": ("level", [1.0, 2.0])}))
    with pytest.raises(ValueError, match="expected a 'level'"):
        self_similarity(xr.Dataset({"variance": ("k", [1.0, 2.0])}))
    with pytest.raises(TypeError, match="result must be an xarray.Dataset"):
        self_similarity(da)


def test_non_positive_eigenvalues_warn():
    ev = _spectra([2, 4], lambda r, kk: (r / kk) ** -1.0)
    ev[1, 3] = 0.0
    with pytest.warns(UserWarning, match="1 non-positive eigenvalue"):
        d = spectrum_distances(ev)
    assert np.isfinite(d).all()


def test_self_similarity_on_a_real_prg_result():
    """Integration with rgdata.coarse.prg: all three quantities are scored, with noise."""
    rng = np.random.default_rng(0)
    x = (rng.random((32, 2000)) < 0.1).astype(np.int8)
    act = rgdata.as_activity(x, kind="spikes")
    res = rgdata.coarse.prg(act, random_state=0)
    halves = [
        rgdata.coarse.prg(act.isel(time=s), random_state=0)
        for s in (slice(0, 1000), slice(1000, None))
    ]
    sim = self_similarity(res, metric="wasserstein", halves=halves)
    assert json.loads(sim.attrs["quantities"]) == ["distribution", "spectrum", "autocorrelation"]
    assert sim.sizes["level"] == res.sizes["level"] - 1
    for q in ("distribution", "spectrum", "autocorrelation"):
        assert np.isfinite(sim[f"{q}_distance"]).all()
        assert np.isfinite(sim[f"{q}_noise"]).all()
