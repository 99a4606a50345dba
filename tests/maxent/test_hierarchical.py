"""Hierarchical maxent: the RG recursion and its closed forms against brute-force maximisation."""

import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import minimize
from scipy.special import logsumexp, softmax
from sklearn.exceptions import NotFittedError

from rgdata.maxent.hierarchical import (
    HierarchicalMaxEnt,
    chain_decimation_maps,
    chain_energy,
    decimation_couplings,
    hierarchical_maxent,
    level_block,
    log_loss_hierarchy,
    multilevel_objective,
    quadratic_hierarchy,
)


def brute_force(f, maps, weights, beta):
    """Maximise sum_j w_j H(Y_j) - beta E f directly over the simplex (softmax logits)."""
    f = np.asarray(f, float)
    w = np.asarray(weights, float)

    def neg(z):
        p = softmax(z)
        levels, images = [p], [np.arange(p.size)]
        for m in maps:
            levels.append(np.bincount(m, weights=levels[-1], minlength=m.max() + 1))
            images.append(m[images[-1]])
        val = (
            sum(
                wj * -np.sum(pj[pj > 0] * np.log(pj[pj > 0]))
                for wj, pj in zip(w, levels, strict=True)
            )
            - beta * p @ f
        )
        dp = (
            sum(wj * (-np.log(pj[img]) - 1) for wj, pj, img in zip(w, levels, images, strict=True))
            - beta * f
        )
        grad = p * (dp - p @ dp)
        return -val, -grad

    res = minimize(
        neg,
        np.zeros(f.size),
        jac=True,
        method="L-BFGS-B",
        options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 20_000},
    )
    return softmax(res.x), -res.fun


def random_problem(rng, sizes):
    maps = [rng.permutation(np.arange(n) % m) for n, m in zip(sizes[:-1], sizes[1:], strict=True)]
    return rng.normal(size=sizes[0]), maps, rng.uniform(0.2, 1.5, size=len(sizes))


@pytest.mark.parametrize("seed,sizes", [(0, [16, 6, 2]), (1, [12, 4]), (2, [16, 8, 4, 2])])
def test_recursion_matches_brute_force(seed, sizes):
    rng = np.random.default_rng(seed)
    f, maps, w = random_problem(rng, sizes)
    beta = 1.7
    model = HierarchicalMaxEnt(w, beta, maps).fit(f)
    p_bf, val_bf = brute_force(f, maps, w, beta)
    np.testing.assert_allclose(model.probability_, p_bf, atol=2e-6)
    np.testing.assert_allclose(model.objective_, val_bf, rtol=1e-9, atol=1e-9)
    # the recursion's value is the objective evaluated on its own distribution
    np.testing.assert_allclose(
        multilevel_objective(model.probability_, f, maps, w, beta), model.objective_, rtol=1e-10
    )
    # any perturbation lowers the objective
    for _ in range(5):
        q = softmax(np.log(model.probability_) + 0.05 * rng.normal(size=f.size))
        assert multilevel_objective(q, f, maps, w, beta) < model.objective_


def test_single_level_is_boltzmann():
    f = np.array([0.0, 1.0, 3.0, 0.5])
    m = HierarchicalMaxEnt([2.0, 0.0], 1.0, [np.zeros(4, dtype=int)]).fit(f)
    np.testing.assert_allclose(m.probability_, softmax(-f / 2.0), rtol=1e-12)
    np.testing.assert_allclose(m.objective_, 2.0 * logsumexp(-f / 2.0), rtol=1e-12)


def test_dataset_roundtrip(tmp_path):
    rng = np.random.default_rng(3)
    f, maps, w = random_problem(rng, [8, 4, 2])
    ds = hierarchical_maxent(f, maps, w, beta=0.5)
    assert ds.sizes == {"level": 3, "state": 8}
    np.testing.assert_allclose(ds.potential.sel(level=1), 0.5 * f)
    ds.to_netcdf(tmp_path / "h.nc", engine="h5netcdf")
    xr.testing.assert_allclose(xr.load_dataset(tmp_path / "h.nc", engine="h5netcdf"), ds)


def test_bad_inputs():
    f = np.zeros(4)
    with pytest.raises(ValueError, match=r"maps\[0\] has 3 entries but level 1 has 4 states"):
        HierarchicalMaxEnt([1, 1], 1.0, [np.array([0, 1, 1])]).fit(f)
    with pytest.raises(ValueError, match="weights has 3 entries; 2 are needed"):
        HierarchicalMaxEnt([1, 1, 1], 1.0, [np.array([0, 0, 1, 1])]).fit(f)
    with pytest.raises(ValueError, match=r"weights\[0\] > 0"):
        HierarchicalMaxEnt([0, 1], 1.0, [np.array([0, 0, 1, 1])]).fit(f)
    with pytest.raises(TypeError, match="must hold integers"):
        HierarchicalMaxEnt([1, 1], 1.0, [np.array([0.0, 0, 1, 1])]).fit(f)
    with pytest.raises(TypeError, match="maps must be a non-empty list"):
        HierarchicalMaxEnt([1, 1], 1.0, None).fit(f)
    with pytest.raises(ValueError, match="f contains 1 NaN"):
        HierarchicalMaxEnt([1, 1], 1.0, [np.array([0, 0, 1, 1])]).fit(np.r_[0, 1, 2, np.nan])
    with pytest.raises(NotFittedError, match="HierarchicalMaxEnt is not fitted"):
        HierarchicalMaxEnt([1, 1], 1.0, [np.array([0, 0, 1, 1])]).to_dataset()


# ------------------------------------------------------------------ quadratic losses


def as_lists(ds):
    """Compact per-level matrices of a quadratic_hierarchy Dataset."""
    n_lev = ds.sizes["level"]
    return {
        "coordinates": [np.flatnonzero(ds.kept.values[j]) for j in range(n_lev)],
        "precisions": [level_block(ds, "precision", j + 1) for j in range(n_lev)],
        "covariance": ds.covariance.values,
    }


def gaussian_brute_force(A, coords, w, beta):
    """Maximise sum_j w_j h(X_{S_j}) - beta tr(A Sigma)/2 over covariances (Cholesky)."""
    n = A.shape[0]
    tril = np.tril_indices(n)

    def neg(v):
        L = np.zeros((n, n))
        L[tril] = v
        S = L @ L.T
        val = sum(
            wj * 0.5 * np.linalg.slogdet(S[np.ix_(c, c)])[1]
            for wj, c in zip(w, coords, strict=True)
        )
        return -(val - 0.5 * beta * np.trace(A @ S))

    res = minimize(neg, np.eye(n)[tril], method="BFGS", options={"gtol": 1e-10})
    L = np.zeros((n, n))
    L[tril] = res.x
    return L @ L.T


def spd(rng, n):
    B = rng.normal(size=(n, n))
    return B @ B.T / n + 0.5 * np.eye(n)


def test_quadratic_closed_form_matches_brute_force():
    rng = np.random.default_rng(4)
    A = spd(rng, 4)
    keeps = [np.array([0, 2, 3]), np.array([1, 2])]  # level 2 = x0,x2,x3; level 3 = x2,x3
    w = np.array([0.6, 1.3, 0.8])
    beta = 2.0
    ds = quadratic_hierarchy(A, keeps, w, beta)
    sol = as_lists(ds)
    assert [c.tolist() for c in sol["coordinates"]] == [[0, 1, 2, 3], [0, 2, 3], [2, 3]]
    S_bf = gaussian_brute_force(A, sol["coordinates"], w, beta)
    np.testing.assert_allclose(sol["covariance"], S_bf, rtol=1e-5, atol=1e-6)
    W = np.cumsum(w)
    # the top level's marginal precision is Theta_L = K_L / W_L
    top = sol["coordinates"][-1]
    np.testing.assert_allclose(
        np.linalg.inv(S_bf[np.ix_(top, top)]), sol["precisions"][-1], rtol=1e-5
    )
    # the conditional of each level given the next has precision (Theta_j) on the dropped coords
    for j in range(2):
        c, nxt = sol["coordinates"][j], sol["coordinates"][j + 1]
        drop = np.flatnonzero(~np.isin(c, nxt))
        prec = np.linalg.inv(S_bf[np.ix_(c, c)])
        np.testing.assert_allclose(
            prec[np.ix_(drop, drop)], sol["precisions"][j][np.ix_(drop, drop)], rtol=1e-5
        )
        # the flow: Theta_{j+1} = (W_j / W_{j+1}) Schur(Theta_j), not the inverse ratio
        keep = np.flatnonzero(np.isin(c, nxt))
        T = sol["precisions"][j]
        schur = T[np.ix_(keep, keep)] - T[np.ix_(keep, drop)] @ np.linalg.solve(
            T[np.ix_(drop, drop)], T[np.ix_(drop, keep)]
        )
        np.testing.assert_allclose(sol["precisions"][j + 1], W[j] / W[j + 1] * schur, rtol=1e-10)
        assert not np.allclose(sol["precisions"][j + 1], W[j + 1] / W[j] * schur, rtol=1e-3)


def test_quadratic_modular_loss_factorises():
    rng = np.random.default_rng(5)
    A1, A2 = spd(rng, 3), spd(rng, 3)
    A = np.zeros((6, 6))
    A[:3, :3], A[3:, 3:] = A1, A2
    w = [1.0, 0.5]
    full = as_lists(quadratic_hierarchy(A, [np.array([0, 1, 3, 4])], w, 1.5))
    m1 = as_lists(quadratic_hierarchy(A1, [np.array([0, 1])], w, 1.5))
    m2 = as_lists(quadratic_hierarchy(A2, [np.array([0, 1])], w, 1.5))
    top = full["precisions"][1]
    np.testing.assert_allclose(top[:2, :2], m1["precisions"][1], rtol=1e-12)
    np.testing.assert_allclose(top[2:, 2:], m2["precisions"][1], rtol=1e-12)
    np.testing.assert_allclose(top[:2, 2:], 0, atol=1e-12)
    np.testing.assert_allclose(full["covariance"][:3, 3:], 0, atol=1e-12)


def test_quadratic_matches_discrete_recursion_on_a_grid():
    # independent check: discretise a 2-variable Gaussian on a fine grid and run the
    # discrete recursion (level 2 keeps x0); the marginal variance of x0 must agree
    A = np.array([[1.0, 0.6], [0.6, 2.0]])
    w, beta = [0.7, 0.9], 1.3
    grid = np.linspace(-8, 8, 161)
    X0, X1 = np.meshgrid(grid, grid, indexing="ij")
    f = 0.5 * (A[0, 0] * X0**2 + 2 * A[0, 1] * X0 * X1 + A[1, 1] * X1**2)
    maps = [np.repeat(np.arange(grid.size), grid.size)]
    m = HierarchicalMaxEnt(w, beta, maps).fit(f.ravel())
    var0 = m.marginals_[1] @ grid**2
    sol = quadratic_hierarchy(A, [np.array([0])], w, beta)
    np.testing.assert_allclose(var0, sol.covariance.values[0, 0], rtol=1e-6)
    np.testing.assert_allclose(level_block(sol, "covariance", 2), [[var0]], rtol=1e-6)


def test_quadratic_dataset_roundtrip(tmp_path):
    ds = quadratic_hierarchy(np.array([[2.0, 0.5], [0.5, 1.0]]), [np.array([0])], [1.0, 1.0])
    ds.to_netcdf(tmp_path / "q.nc", engine="h5netcdf")
    xr.testing.assert_allclose(xr.load_dataset(tmp_path / "q.nc", engine="h5netcdf"), ds)
    # Schur complement of A / W_1 onto x0, scaled by W_1 / W_2: (2 - 0.25) / 2
    np.testing.assert_allclose(level_block(ds, "precision", 2), [[0.875]])
    with pytest.raises(ValueError, match="unknown name 'J'"):
        level_block(ds, "J", 1)


def test_quadratic_bad_input():
    with pytest.raises(ValueError, match="positive definite"):
        quadratic_hierarchy(-np.eye(2), [np.array([0])], [1, 1])
    with pytest.raises(ValueError, match=r"keeps\[0\] indexes 5"):
        quadratic_hierarchy(np.eye(2), [np.array([5])], [1, 1])


# ------------------------------------------------------------------ log losses


def symmetric_q():
    """q on 3 bits (state = b0 + 2 b1 + 4 b2) with permutation-equivalent conditionals."""
    q = np.zeros(8)
    for s in range(8):
        b0, b1, b2 = s & 1, (s >> 1) & 1, (s >> 2) & 1
        q[s] = (0.7 if b0 else 0.3) * (0.8 if b1 == b0 else 0.2) * (0.9 if b2 == b1 else 0.1)
    return q


def test_log_loss_escort_closed_form_is_exact_when_renyi_constant():
    q = symmetric_q()
    maps = [np.arange(8) & 3, np.arange(4) & 1]  # drop b2, then b1
    w, beta = [0.5, 1.0, 0.7], 1.4
    ds = log_loss_hierarchy(q, maps, w, beta)
    assert ds.attrs["exact"] == 1
    np.testing.assert_allclose(ds.exponent, beta / np.cumsum(w))
    exact = HierarchicalMaxEnt(w, beta, maps).fit(-np.log(q))
    np.testing.assert_allclose(ds.probability, exact.probability_, rtol=1e-10)
    p_bf, _ = brute_force(-np.log(q), maps, w, beta)
    np.testing.assert_allclose(ds.probability, p_bf, atol=2e-6)


def test_log_loss_closed_form_warns_and_differs_otherwise():
    q = np.random.default_rng(6).uniform(0.1, 1.0, size=8)
    maps = [np.arange(8) & 3]
    with pytest.warns(UserWarning, match="Renyi entropies differ"):
        ds = log_loss_hierarchy(q, maps, [0.5, 1.0], 1.4)
    assert ds.attrs["exact"] == 0
    exact = HierarchicalMaxEnt([0.5, 1.0], 1.4, maps).fit(-np.log(q / q.sum()))
    assert np.max(np.abs(ds.probability.values - exact.probability_)) > 1e-3


# ------------------------------------------------------------------ Ising chain


@pytest.mark.parametrize("weights", [[1.0, 0.0, 0.0, 0.0], [0.4, 0.9, 0.3, 1.2]])
def test_chain_decimation_couplings_match_exact_recursion(weights):
    maps, sizes = chain_decimation_maps(4)
    assert sizes == [9, 5, 3, 2]
    beta = 1.1
    m = HierarchicalMaxEnt(weights, beta, maps).fit(-chain_energy(9))
    K = decimation_couplings(beta, weights)
    W = np.cumsum(weights)
    for j, n in enumerate(sizes):
        # g_j / W_j = -K_j sum s s + const on the states of level j
        resid = m.potentials_[j] / W[j] + K[j] * chain_energy(n)
        np.testing.assert_allclose(resid, resid[0], atol=1e-10)
    if weights[1] == 0:
        # plain decimation: tanh K_{j+1} = tanh(K_j)^2
        np.testing.assert_allclose(np.tanh(K[1:]), np.tanh(K[:-1]) ** 2, rtol=1e-12)


def test_chain_brute_force_small():
    maps, sizes = chain_decimation_maps(3)  # 5 -> 3 -> 2 spins
    w, beta = [0.8, 0.5, 1.1], 0.9
    p_bf, _ = brute_force(-chain_energy(5), maps, w, beta)
    K = decimation_couplings(beta, w)
    # rebuild P(x) from the closed-form couplings: product of normalised conditionals
    logp = np.zeros(32)
    img = np.arange(32)
    for j, n in enumerate(sizes):
        e = K[j] * chain_energy(n)
        if j < len(maps):
            lse = np.array([logsumexp(e[maps[j] == k]) for k in range(maps[j].max() + 1)])
            logp += (e - lse[maps[j]])[img]
            img = maps[j][img]
        else:
            logp += (e - logsumexp(e))[img]
    np.testing.assert_allclose(np.exp(logp), p_bf, atol=2e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.all(np.diff(decimation_couplings(2.0, [1, 0, 0, 0, 0])) < 0)


def test_gaussian_chain_decimation_flow_analytic():
    # tridiagonal precision (a on the diagonal, b between neighbours) decimated by 2: the
    # Schur complement gives a' = a - 2 b^2 / a, b' = -b^2 / a in the interior, so the ratio
    # u = b / a flows as u' = -u^2 / (1 - 2 u^2) (fixed points 0, 1 and the massless
    # Gaussian point u* = -1/2 with eigenvalue 4 = 2^(1/nu), nu = 1/2), and Theta is scaled by
    # W_j / W_{j+1}
    n = 17
    a, b = 2.0, -0.7
    A = a * np.eye(n) + b * (np.eye(n, k=1) + np.eye(n, k=-1))
    keeps = [np.arange(0, 17, 2), np.arange(0, 9, 2), np.arange(0, 5, 2)]
    w = np.array([1.0, 0.5, 0.3, 0.8])
    sol = as_lists(quadratic_hierarchy(A, keeps, w, beta=1.3))
    W = np.cumsum(w)
    u = b / a
    for j in range(1, 4):
        T = sol["precisions"][j]
        mid = T.shape[0] // 2
        u = -(u**2) / (1 - 2 * u**2)
        np.testing.assert_allclose(T[mid, mid + 1] / T[mid, mid], u, rtol=1e-12)
    # the scale: interior diagonal follows (W_j / W_{j+1}) (a - 2 b^2 / a) with K_1 = beta A
    a1, b1 = 1.3 * a / W[0], 1.3 * b / W[0]
    np.testing.assert_allclose(
        sol["precisions"][1][4, 4], W[0] / W[1] * (a1 - 2 * b1**2 / a1), rtol=1e-12
    )
    # eigenvalue of the ratio map at the massless point, by finite differences of the solver
    eps = 1e-6
    ratios = []
    for u0 in (-0.5 - eps, -0.5 + eps):
        # the open chain stays positive definite at u0 = -1/2 (eigenvalues 1 - cos(k pi / 18))
        A0 = np.eye(n) + u0 * (np.eye(n, k=1) + np.eye(n, k=-1))
        s0 = as_lists(quadratic_hierarchy(A0, keeps[:1], w[:2], 1.0))
        T = s0["precisions"][1]
        ratios.append(T[4, 5] / T[4, 4])
    np.testing.assert_allclose((ratios[1] - ratios[0]) / (2 * eps), 4.0, rtol=1e-5)
