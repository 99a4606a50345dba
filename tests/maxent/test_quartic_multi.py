"""The multivariate phi^4 coupling g_multi of the momentum-space flow.

Checked against: exact grid quadrature of small models (the first-order
cumulant relation and its combinatorial factor 24), a planted multivariate
phi^4 model on a ring sampled by a Metropolis sampler written here (not the
package's), the Gaussian null with its analytic sampling error, and the
spread over independent replicates.
"""

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.signal import lfilter

import rgdata
from rgdata.maxent.quartic import fit_quartic_flow, quartic_coupling_first_order

# ----------------------------------------------------------------------------- helpers


def grid_moments(cov_modes, basis, g, half_width=9.0, n=801):
    """Exact moments of psi = basis @ a, a in R^2 with
    P(a) ∝ exp(-a^T cov_modes^-1 a / 2 - g sum_i psi_i^4), by a 2-D trapezoid grid."""
    x = np.linspace(-half_width, half_width, n)
    a1, a2 = np.meshgrid(x, x, indexing="ij")
    prec = np.linalg.inv(cov_modes)
    psi = basis[:, 0, None, None] * a1 + basis[:, 1, None, None] * a2  # (site, n, n)
    e = -0.5 * (prec[0, 0] * a1**2 + 2 * prec[0, 1] * a1 * a2 + prec[1, 1] * a2**2)
    e = e - g * np.sum(psi**4, axis=0)
    w = np.exp(e - e.max())
    w /= w.sum()
    second = np.einsum("ixy,jxy,xy->ij", psi, psi, w)
    fourth = np.einsum("ixy,xy->i", psi**4, w)
    return second, fourth


def ring_modes(n):
    """Real Fourier modes of a ring of n sites (orthonormal columns) and their wavenumbers."""
    j = np.arange(n)
    cols, qs = [np.full(n, 1 / np.sqrt(n))], [0]
    for q in range(1, (n + 1) // 2):
        cols += [np.sqrt(2 / n) * np.cos(2 * np.pi * q * j / n)]
        cols += [np.sqrt(2 / n) * np.sin(2 * np.pi * q * j / n)]
        qs += [q, q]
    if n % 2 == 0:
        cols.append((-1.0) ** j / np.sqrt(n))
        qs.append(n // 2)
    return np.array(cols).T, np.array(qs)


def metropolis_field(u, lam, g, n_chains, n_burn, n_rec, rng, step=2.0):
    """Samples of the mode amplitudes a of P(a) ∝ exp(-sum a^2 / (2 lam) - g sum_i (u a)_i^4).

    Independent chains, one Metropolis update per mode per sweep. Returns
    (n_chains * n_rec, k), chain-major: contiguous blocks of rows are whole
    chains, hence independent.
    """
    k = lam.size
    a = rng.normal(size=(n_chains, k)) * np.sqrt(lam)
    phi = a @ u.T
    out = np.empty((n_chains, n_rec, k))
    for sweep in range(n_burn + n_rec):
        for mu in range(k):
            d = step * np.sqrt(lam[mu]) * rng.normal(size=n_chains)
            new = phi + d[:, None] * u[:, mu]
            de = ((a[:, mu] + d) ** 2 - a[:, mu] ** 2) / (2 * lam[mu])
            de += g * np.sum(new**4 - phi**4, axis=1)
            ok = np.log(rng.random(n_chains)) < -de
            a[ok, mu] += d[ok]
            phi[ok] = new[ok]
        if sweep >= n_burn:
            out[:, sweep - n_burn] = a
    return out.reshape(-1, k)


def planted_ring(g0, seed, n=12, n_chains=2000, n_rec=100):
    """phi^4 field on the 5 longest-wavelength modes of a 12-site ring (massive free propagator
    1 / (0.5 + 2 - 2 cos q)), plus Gaussian noise of variance 0.1 on the 7 other modes.

    Returns the (unit, time) data and the planted coupling of the unit-variance field
    g0 * v^2 (v the sites' variance, the same for all by translation symmetry)."""
    rng = np.random.default_rng(seed)
    u, q = ring_modes(n)
    keep = q <= 2
    lam = 1 / (0.5 + 2 - 2 * np.cos(2 * np.pi * q[keep] / n))
    a = metropolis_field(u[:, keep], lam, g0, n_chains, 100, n_rec, rng)
    phi = a @ u[:, keep].T
    noise = rng.normal(scale=np.sqrt(0.1), size=(a.shape[0], int((~keep).sum())))
    x = phi + noise @ u[:, ~keep].T
    return rgdata.as_activity(x.T), g0 * np.mean(phi**2) ** 2


def flow(act, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return fit_quartic_flow(act, **kw)


# ----------------------------------------------------------------------------- the formula


def test_first_order_cumulant_factor_against_quadrature():
    # 3 sites, field confined to a 2-D subspace (rank-2 propagator), unequal variances
    basis = np.linalg.qr(np.array([[1.0, 0.2], [0.5, -1.0], [0.3, 0.7]]))[0]
    cov_modes = np.array([[2.0, 0.0], [0.0, 0.7]])
    prop = basis @ cov_modes @ basis.T
    rel = {}
    for g in (1e-4, 2e-4, 1e-3):
        second, fourth = grid_moments(cov_modes, basis, g)
        kappa4 = fourth - 3 * np.diag(second) ** 2
        rel[g] = kappa4 / (-24 * g * np.sum(prop**4, axis=1)) - 1
    # kappa4_i = -24 g sum_j G_ij^4 (1 + c_i g + O(g^2)) at every site: the deviation is
    # linear in g (slopes c_i from g = 1e-4 and 2e-4 agree) ...
    np.testing.assert_allclose(rel[1e-4] / 1e-4, rel[2e-4] / 2e-4, rtol=0.05)
    # ... and extrapolates to 0 at g = 0; a factor 12 or 48 instead of 24 would leave +1 or -0.5
    np.testing.assert_allclose(2 * rel[1e-4] - rel[2e-4], 0.0, atol=2e-3)
    assert np.all(np.abs(rel[1e-3]) < 0.2)


def test_estimator_bias_is_second_order_in_g():
    # two unit-variance sites with correlation 0.6 at g = 0
    basis = np.eye(2)
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    biases = []
    for g in (1e-4, 3e-4, 1e-3, 3e-3):
        second, fourth = grid_moments(cov, basis, g)
        m2 = second[0, 0]
        kappa4 = fourth / m2**2 - 3  # of the rescaled (unit-variance) field
        corr = second / m2
        target = g * m2**2  # the coupling of psi = x / sqrt(m2)
        for w in ("gls", "ols"):
            est = quartic_coupling_first_order(kappa4, corr, weights=w)
            biases.append((est / target - 1) / target)
    biases = np.array(biases)
    # relative bias = c * g with c about -44 at small g (c = -36 for one variable)
    assert np.all((biases > -60) & (biases < -25))


def test_independent_units_reduce_to_single_variable_cumulant():
    k4 = np.array([-0.3, -0.1, 0.2, -0.05])
    for w in ("gls", "ols"):
        assert quartic_coupling_first_order(k4, np.eye(4), weights=w) == pytest.approx(
            -k4.mean() / 24, rel=1e-12
        )
    # in the flow: independent units at fraction 1, where G is the sample correlation (~ I)
    x = np.random.default_rng(0).standard_t(8, size=(10, 20_000))
    ds = flow(rgdata.as_activity(x), n_blocks=10)
    np.testing.assert_allclose(ds.g_multi.values[0], ds.g_cumulant.values[0], rtol=1e-4)
    np.testing.assert_allclose(ds.g_multi_err.values[0], ds.g_cumulant_err.values[0], rtol=0.05)
    # ... and at lower fractions projecting n iid units onto k modes (projector P) gives psi_i
    # with kappa4 = kappa4_x sum_j P_ij^4 / P_ii^2 (cumulants of sums of independent variables)
    # and G_ij = P_ij / sqrt(P_ii P_jj), so g_multi(f) = R g_multi(1) with
    # R = sum_ij P_ij^4 / P_ii^2 / sum_ij G_ij^4 (= (k/N)^2 when every P_jj = k/N), up to the
    # sampling error of g_multi(f) - R g_multi(1) from the jackknife covariance
    lam, u = np.linalg.eigh(np.corrcoef(x))
    u = u[:, np.argsort(lam)[::-1]]
    g, cov = ds.g_multi.values, ds.g_multi_cov.values
    for i, k in enumerate(ds.n_modes.values[1:], start=1):
        proj = u[:, :k] @ u[:, :k].T
        d = np.diag(proj)
        r = np.sum(proj**4 / d[:, None] ** 2) / np.sum(proj**4 / np.outer(d, d) ** 2)
        err = np.sqrt(cov[i, i] + r**2 * cov[0, 0] - 2 * r * cov[i, 0])
        assert abs(g[i] - r * g[0]) < 4 * err
        assert abs(g[i]) > 4 * err  # the f^2 fall is resolved, not lost in the noise


def test_bad_inputs():
    with pytest.raises(ValueError, match="to match kappa4"):
        quartic_coupling_first_order([0.1, 0.2], np.eye(3))
    with pytest.raises(ValueError, match="symmetric"):
        quartic_coupling_first_order([0.1, 0.2], [[1.0, 0.5], [0.1, 1.0]])
    with pytest.raises(ValueError, match="positive diagonal"):
        quartic_coupling_first_order([0.1, 0.2], [[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="unknown weights"):
        quartic_coupling_first_order([0.1, 0.2], np.eye(2), weights="wls")
    with pytest.raises(ValueError, match="kappa4 must have 1 dimensions"):
        quartic_coupling_first_order(np.zeros((2, 2)), np.eye(2))
    with pytest.raises(ValueError, match="at least one site"):
        quartic_coupling_first_order([], np.zeros((0, 0)))


# ----------------------------------------------------------------------------- Gaussian null


def gaussian_activity(rng, n=12, t=4000, rho=0.0):
    """Correlated Gaussian units, AR(1) in time with coefficient rho."""
    mix = rng.normal(size=(n, n)) + 1.5 * np.eye(n)
    z = rng.normal(size=(n, t))
    if rho:  # stationary start: y_0 = z_0, y_s = rho y_(s-1) + sqrt(1 - rho^2) z_s
        ar, _ = lfilter([np.sqrt(1 - rho**2)], [1, -rho], z[:, 1:], axis=1, zi=rho * z[:, :1])
        z[:, 1:] = ar
    return rgdata.as_activity(mix @ z)


def test_gaussian_data_give_zero_at_every_fraction(tmp_path):
    rng = np.random.default_rng(1)
    ds = flow(gaussian_activity(rng, n=16, t=20_000), n_blocks=20)
    assert ds.sizes["fraction"] == 4
    assert np.all(np.abs(ds.g_multi) < 4 * ds.g_multi_err)
    # the jackknife error matches the leading-order Gaussian sampling error of the GLS
    # estimator, 1 / sqrt(24 T sum_ij G_ij^4) (20 blocks: the jackknife is itself ~16 % noisy)
    analytic = 1 / np.sqrt(24 * 20_000 * ds.propagator_sum4.values)
    assert np.all((ds.g_multi_err / analytic > 0.6) & (ds.g_multi_err / analytic < 1.5))
    np.testing.assert_allclose(np.sqrt(np.diag(ds.g_multi_cov)), ds.g_multi_err, rtol=1e-10)
    assert ds.attrs["g_multi_propagator_jackknife"] == 1
    assert "24 G_ij^4" in ds.attrs["g_multi_method"]
    path = tmp_path / "q.nc"
    ds.to_netcdf(path, engine="h5netcdf")
    back = xr.load_dataset(path, engine="h5netcdf")
    xr.testing.assert_allclose(
        back[["g_multi", "g_multi_err", "g_multi_cov"]],
        ds[["g_multi", "g_multi_err", "g_multi_cov"]],
    )
    assert back.attrs["g_multi_model"] == ds.attrs["g_multi_model"]


@pytest.mark.parametrize("rho", [0.0, pytest.param(0.9, marks=pytest.mark.slow)])
def test_jackknife_error_matches_spread_over_replicates(rho):
    rng = np.random.default_rng(2)
    reps = [
        flow(gaussian_activity(rng, t=4000, rho=rho), fractions=[1.0, 0.5, 0.25], n_blocks=20)
        for _ in range(40)
    ]
    g = np.array([r.g_multi.values for r in reps])
    err = np.array([r.g_multi_err.values for r in reps]).mean(axis=0)
    spread = g.std(axis=0, ddof=1)
    # 40 replicates: the spread is known to ~11 %
    assert np.all((spread / err > 0.7) & (spread / err < 1.4))
    assert np.all(np.abs(g.mean(axis=0)) < 4 * spread / np.sqrt(40))
    if rho:
        # autocorrelated data: the independent-sample error is too small (by sqrt of the
        # integrated autocorrelation time of He4, (1 + rho^4) / (1 - rho^4) = 4.8), the
        # jackknife is not
        naive = 1 / np.sqrt(24 * 4000 * np.mean([r.propagator_sum4.values for r in reps], 0))
        assert np.all(spread > 1.5 * naive)


def test_fixed_propagator_above_the_unit_limit(monkeypatch):
    import rgdata.maxent.quartic_flow as q

    act = gaussian_activity(np.random.default_rng(3), n=12, t=8000)
    full = flow(act, n_blocks=10)
    monkeypatch.setattr(q, "_MAX_UNITS_PROPAGATOR_JACKKNIFE", 4)
    fixed = flow(act, n_blocks=10)
    assert fixed.attrs["g_multi_propagator_jackknife"] == 0
    np.testing.assert_allclose(fixed.g_multi, full.g_multi, rtol=1e-12)
    # near g = 0 the propagator's own sampling error hardly matters
    np.testing.assert_allclose(fixed.g_multi_err, full.g_multi_err, rtol=0.1)


# ----------------------------------------------------------------------------- planted phi^4


def test_planted_multivariate_coupling_recovered():
    act, g_true = planted_ring(g0=0.005, seed=4)
    ds = flow(act, fractions=[1.0, 5 / 12], n_blocks=20)
    assert ds.n_modes.values.tolist() == [12, 5]
    g, err = ds.g_multi.values[1], ds.g_multi_err.values[1]
    # the second-order bias (about 44 g^2 = 6e-5) is below half the error bar
    assert 44 * g_true**2 < err / 2
    assert abs(g - g_true) < 4 * err
    assert g > 4 * err  # the coupling is detected
    # the pooled single-variable cumulant ignores the propagator: sum_j G_ij^4 ~ 2 here,
    # so it is about twice the planted coupling (g_multi being right, as just checked)
    assert ds.propagator_sum4.values[1] / 12 > 1.8
    np.testing.assert_allclose(
        ds.g_cumulant.values[1] / g, ds.propagator_sum4.values[1] / 12, rtol=1e-10
    )


def test_planted_large_coupling_is_biased_low_at_second_order():
    # g = 0.007 for the unit-variance field: the first-order estimate misses it by ~ 40 g^2
    act, g_true = planted_ring(g0=0.05, seed=5)
    ds = flow(act, fractions=[1.0, 5 / 12], n_blocks=20)
    g, err = ds.g_multi.values[1], ds.g_multi_err.values[1]
    assert g_true - g > 4 * err
    # (over seeds 10-15 the ratio was 40-45)
    assert 30 < (g_true - g) / g_true**2 < 60
