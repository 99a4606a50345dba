"""Flow estimation against planted recursions with analytic fixed points and eigenvalues."""

import warnings

import numpy as np
import pytest
import xarray as xr

from rgdata.flow.flows import apply_flow, estimate_flow, find_fixed_points, linearize
from rgdata.maxent.hierarchical import decimation_couplings, log_loss_hierarchy


def trajectories(step, starts, n_levels):
    out = np.empty((len(starts), n_levels))
    out[:, 0] = starts
    for k in range(1, n_levels):
        out[:, k] = step(out[:, k - 1])
    return out


def noisy(clean, sigma, seed):
    return clean + sigma * np.random.default_rng(seed).standard_normal(clean.shape)


def as_da(values):
    return xr.DataArray(
        values[..., None], dims=("trajectory", "level", "parameter"), coords={"parameter": ["g"]}
    )


def test_planted_quadratic_map_two_fixed_points():
    lam, B, sigma = 1.5, 1.0, 0.002
    clean = trajectories(lambda g: lam * g - B * g**2, np.linspace(0.05, 0.95, 8), 6)
    obs = noisy(clean, sigma, 0)
    flow = estimate_flow(as_da(obs), np.full(obs.shape, sigma), model="quadratic", random_state=1)
    fps = flow.fixed_points.values[:, 0]
    err = flow.fixed_points_err.values[:, 0]
    truth = np.array([0.0, (lam - 1) / B])
    assert np.all(np.abs(fps - truth) < 4 * err)
    eig = flow.eigenvalues_real.values[:, 0]
    eig_err = flow.eigenvalues_real_err.values[:, 0]
    assert np.all(np.abs(eig - np.array([lam, 2 - lam])) < 4 * eig_err)
    assert list(flow.stability.values) == ["unstable", "stable"]
    assert flow.attrs["attractor"] == 1
    # errors are not absurdly loose: a few times the noise at most
    assert np.all(err < 10 * sigma) and np.all(eig_err < 0.1)
    np.testing.assert_allclose(flow.attrs["chi2_per_dof"], 1.0, atol=0.5)


def test_marginal_map_g_minus_bg2():
    B, sigma = 2.0, 0.001
    clean = trajectories(lambda g: g - B * g**2, np.linspace(0.05, 0.2, 6), 6)
    obs = noisy(clean, sigma, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # possible ghost fixed point
        flow = estimate_flow(
            as_da(obs), np.full(obs.shape, sigma), model="quadratic", reference=0.0, random_state=3
        )
    # linearised at the reference g = 0: a fixed point with eigenvalue 1 (marginal)
    assert abs(flow.reference_shift.item()) < 4 * flow.reference_shift_err.item()
    lam, lam_err = flow.reference_eigenvalues_real.item(), flow.reference_eigenvalues_err.item()
    assert abs(lam - 1.0) < 4 * lam_err and lam_err < 0.05
    assert flow.attrs["toward_reference"] == 1
    # the fitted fixed point nearest 0 (a near-double root, maybe a ghost) is 0 within its
    # error (near-double roots have heavier-than-Gaussian tails: 5 sigma)
    fps = flow.fixed_points.values[:, 0]
    i = int(np.argmin(np.abs(fps)))
    assert abs(fps[i]) < 5 * flow.fixed_points_err.values[i, 0]


def test_linear_map_recovers_eigenvalue_without_errors():
    # theta' = 0.3 + 0.6 theta: fixed point 0.75, eigenvalue 0.6; residual-based errors
    clean = trajectories(lambda t: 0.3 + 0.6 * t, np.array([0.0, 2.0, -1.0]), 6)
    obs = noisy(clean, 0.01, 4)
    flow = estimate_flow(obs[..., None], model="linear", random_state=5, reference=0.75)
    assert abs(flow.fixed_points.item() - 0.75) < 4 * flow.fixed_points_err.item()
    assert abs(flow.eigenvalues_real.item() - 0.6) < 4 * flow.eigenvalues_real_err.item()
    assert flow.attrs["toward_reference"] == 1
    assert flow.stability.item() == "stable"
    assert "residuals" in flow.attrs["error_source"]


def test_two_parameter_linear_map():
    M = np.array([[0.5, 0.2], [0.1, 1.4]])
    a = np.array([0.1, -0.2])
    rng = np.random.default_rng(6)
    starts = rng.normal(size=(5, 2))
    arr = np.empty((5, 5, 2))
    arr[:, 0] = starts
    for k in range(1, 5):
        arr[:, k] = a + arr[:, k - 1] @ M.T
    sigma = 1e-3
    obs = arr + sigma * rng.standard_normal(arr.shape)
    da = xr.DataArray(
        obs, dims=("trajectory", "level", "parameter"), coords={"parameter": ["h", "J"]}
    )
    flow = estimate_flow(da, np.full(obs.shape, sigma), random_state=7)
    fp_true = np.linalg.solve(np.eye(2) - M, a)
    assert np.all(
        np.abs(flow.fixed_points.values[0] - fp_true) < 4 * flow.fixed_points_err.values[0]
    )
    ev_true = np.sort(np.linalg.eigvals(M))[::-1]
    assert np.all(
        np.abs(flow.eigenvalues_real.values[0] - ev_true) < 4 * flow.eigenvalues_real_err.values[0]
    )
    vals, _ = linearize(flow, flow.fixed_points.values[0])
    np.testing.assert_allclose(vals.real, flow.eigenvalues_real.values[0])
    np.testing.assert_allclose(find_fixed_points(flow), flow.fixed_points.values)
    np.testing.assert_allclose(apply_flow(flow, fp_true), fp_true, atol=0.01)


def test_two_parameter_quadratic_map():
    # decoupled logistic-like maps: x' = 1.5x - x^2, y' = 0.5y + 0.2x*y: 4 fixed points
    def step(v):
        x, y = v[..., 0], v[..., 1]
        return np.stack([1.5 * x - x**2, 0.5 * y + 0.2 * x * y], axis=-1)

    rng = np.random.default_rng(8)
    arr = np.empty((12, 5, 2))
    arr[:, 0] = rng.uniform(0.05, 0.95, size=(12, 2))
    for k in range(1, 5):
        arr[:, k] = step(arr[:, k - 1])
    flow = estimate_flow(
        arr + 1e-4 * rng.standard_normal(arr.shape),
        np.full(arr.shape, 1e-4),
        model="quadratic",
        random_state=9,
    )
    fps = flow.fixed_points.values
    # (0,0) and (0.5,0) are the real fixed points with y=0
    for truth, ev in (([0.0, 0.0], [1.5, 0.5]), ([0.5, 0.0], [0.6, 0.5])):
        i = int(np.argmin(np.sum((fps - truth) ** 2, axis=1)))
        assert np.all(np.abs(fps[i] - truth) < 4 * flow.fixed_points_err.values[i] + 1e-9)
        assert np.all(
            np.abs(flow.eigenvalues_real.values[i] - ev)
            < 4 * flow.eigenvalues_real_err.values[i] + 1e-9
        )


def test_ising_decimation_flow_in_tanh_variable():
    # tanh K' = tanh(K)^2 (1D Ising decimation): in t = tanh K the map is t' = t^2,
    # fixed points t = 0 (K = 0, stable, eigenvalue 0) and t = 1 (K = inf, eigenvalue 2)
    K = np.array([decimation_couplings(b, [1, 0, 0, 0, 0]) for b in (0.4, 0.8, 1.5, 2.5)])
    t = np.tanh(K)
    sigma = 1e-4
    obs = noisy(t, sigma, 10)
    flow = estimate_flow(as_da(obs), np.full(t.shape, sigma), model="quadratic", random_state=11)
    fps = flow.fixed_points.values[:, 0]
    err = flow.fixed_points_err.values[:, 0]
    assert np.all(np.abs(fps - [0.0, 1.0]) < 4 * err)
    eig, eig_err = flow.eigenvalues_real.values[:, 0], flow.eigenvalues_real_err.values[:, 0]
    assert np.all(np.abs(eig - [0.0, 2.0]) < 4 * eig_err)
    assert list(flow.stability.values) == ["stable", "unstable"]
    assert flow.attrs["attractor"] == 0


def test_hierarchical_log_loss_exponent_flow():
    # geometric weights W_{j+1} = r W_j: alpha' = alpha / r, fixed point 0, eigenvalue 1/r
    r = 1.6
    W = r ** np.arange(6)
    w = np.diff(np.r_[0, W])
    alphas = []
    for beta in (0.5, 1.0, 2.0):
        ds = log_loss_hierarchy(
            np.full(64, 1 / 64), [np.arange(2**n) // 2 for n in range(6, 1, -1)], w, beta
        )
        alphas.append(ds.exponent.values)
    alphas = np.array(alphas)
    obs = noisy(alphas, 1e-3, 12)
    flow = estimate_flow(as_da(obs), np.full(obs.shape, 1e-3), random_state=13, reference=0.0)
    assert abs(flow.eigenvalues_real.item() - 1 / r) < 4 * flow.eigenvalues_real_err.item()
    assert abs(flow.fixed_points.item()) < 4 * flow.fixed_points_err.item()
    assert flow.attrs["toward_reference"] == 1


def test_reproducible_and_netcdf(tmp_path):
    clean = trajectories(lambda g: 1.5 * g - g**2, np.linspace(0.1, 0.9, 5), 5)
    obs = noisy(clean, 0.01, 14)
    f1 = estimate_flow(as_da(obs), np.full(obs.shape, 0.01), model="quadratic", random_state=3)
    f2 = estimate_flow(as_da(obs), np.full(obs.shape, 0.01), model="quadratic", random_state=3)
    xr.testing.assert_identical(f1, f2)
    f1.to_netcdf(tmp_path / "f.nc", engine="h5netcdf")
    back = xr.load_dataset(tmp_path / "f.nc", engine="h5netcdf")
    xr.testing.assert_allclose(back, f1)
    assert back.attrs["model"] == "quadratic"


def test_no_fixed_point_roundtrip(tmp_path):
    # theta' = theta + 1: no fixed point
    obs = noisy(trajectories(lambda t: t + 1.0, np.array([0.0, 5.0]), 5), 1e-3, 15)
    flow = estimate_flow(obs[..., None], np.full(obs.shape + (1,), 1e-3), random_state=0)
    assert flow.sizes["fixed_point"] in (0, 1)
    assert flow.attrs["attractor"] == -1
    flow.to_netcdf(tmp_path / "g.nc", engine="h5netcdf")


def test_bad_inputs():
    with pytest.raises(ValueError, match="unknown model 'cubic'"):
        estimate_flow(np.arange(5.0), model="cubic")
    with pytest.raises(ValueError, match="at least 4 are needed"):
        estimate_flow(np.arange(4.0), model="quadratic")
    with pytest.raises(ValueError, match="at least 2 are needed"):
        estimate_flow(np.arange(1.0))
    with pytest.raises(ValueError, match="errors must be finite and > 0"):
        estimate_flow(np.arange(5.0), np.zeros(5))
    with pytest.raises(ValueError, match="errors has shape"):
        estimate_flow(np.arange(5.0), np.ones(3))
    with pytest.raises(ValueError, match="needs a 'level' dim"):
        estimate_flow(xr.DataArray(np.arange(5.0), dims="fraction"))
    with pytest.raises(TypeError, match="params must be an xarray.DataArray"):
        estimate_flow(xr.Dataset())
    with pytest.raises(TypeError, match="flow must be a Dataset"):
        find_fixed_points(np.zeros(3))
    with pytest.warns(UserWarning, match="hold NaN"):
        estimate_flow(np.r_[1.0, 0.5, np.nan, 0.2, 0.1, 0.05, 0.02])


def test_level_dim_fraction():
    da = xr.DataArray(
        0.5 ** np.arange(6), dims="fraction", coords={"fraction": 0.5 ** np.arange(6)}
    )
    flow = estimate_flow(
        da + 1e-3 * np.random.default_rng(0).standard_normal(6),
        level_dim="fraction",
        random_state=0,
    )
    assert "fraction" in flow.dims
    assert abs(flow.eigenvalues_real.item() - 0.5) < 4 * flow.eigenvalues_real_err.item()


def test_underestimated_errors_are_inflated_by_chi2():
    # true noise 0.01, claimed 0.001: chi2/dof ~ 100; inflated errors still cover the truth
    clean = trajectories(lambda t: 0.2 + 0.5 * t, np.linspace(-1, 1, 6), 5)
    obs = noisy(clean, 0.01, 16)
    with pytest.warns(UserWarning, match="chi2/dof"):
        flow = estimate_flow(obs[..., None], np.full(obs.shape + (1,), 0.001), random_state=0)
    assert flow.attrs["error_inflation"] > 5
    assert abs(flow.fixed_points.item() - 0.4) < 4 * flow.fixed_points_err.item()
    assert abs(flow.eigenvalues_real.item() - 0.5) < 4 * flow.eigenvalues_real_err.item()


def test_correlated_errors_through_covariance():
    # every level of a trajectory shares an offset (errors correlated across levels): with the
    # covariance the fixed point's error covers the truth; it is wider than the naive one
    clean = trajectories(lambda t: 0.3 + 0.6 * t, np.array([-1.0, 0.5, 2.0]), 6)
    s_ind, s_com = 0.002, 0.02
    cov = np.eye(clean.size) * s_ind**2
    for t in range(3):
        idx = np.arange(t * 6, (t + 1) * 6)
        cov[np.ix_(idx, idx)] += s_com**2
    z = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        obs = clean + s_ind * rng.standard_normal(clean.shape) + s_com * rng.standard_normal((3, 1))
        flow = estimate_flow(obs[..., None], covariance=cov, random_state=seed, n_resamples=100)
        z.append((flow.fixed_points.item() - 0.75) / flow.fixed_points_err.item())
        assert "covariance" in flow.attrs["error_source"]
    assert np.all(np.abs(z) < 4)
    with pytest.raises(ValueError, match="covariance has shape"):
        estimate_flow(obs[..., None], covariance=np.eye(3))
