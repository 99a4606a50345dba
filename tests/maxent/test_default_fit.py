"""The default pairwise fit of a 50-unit recording: planted recovery, convergence, threads.

The fit (``PairwiseMaxEnt()``: reweighting from a pseudo-likelihood start
stopped within ``PL_START_TOL`` data standard errors) is checked against the
planted parameters with errors from the Fisher information, which is
estimated from a separate long sample of the planted model (not from the
fit). Kernels and fits must not depend on the number of numba threads, which
the fit picks from the machine's load.
"""

import numba
import numpy as np
import pytest

import rgdata
from rgdata import _threads
from rgdata.maxent import PairwiseMaxEnt
from rgdata.maxent._codings import params_to01
from rgdata.maxent._learn import FitProblem, Schedule
from rgdata.maxent._learn_pseudolikelihood import learn as learn_pl
from rgdata.maxent._moments import data_statistics, unique_patterns
from rgdata.maxent._pairwise_pl import pl_objective_01, to_csr
from rgdata.maxent._reweight import csr_moments
from rgdata.maxent._sampler import gibbs_samples, seed_states
from rgdata.maxent._start import independent_theta

N = 50
IU = np.triu_indices(N, 1)
two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs 2 numba threads")


def _planted01(seed):
    """0/1 fields and couplings of a +-1 model with h ~ N(0, 0.2), J ~ N(0, 0.5/sqrt(N))."""
    rng = np.random.default_rng(seed)
    h = rng.normal(0.0, 0.2, N)
    J = np.triu(rng.normal(0.0, 0.5 / np.sqrt(N), (N, N)), 1)
    return params_to01(h, J + J.T, "pm1")


def _gibbs(h01, J01, t, seed, thin=20):
    """(t, N) 0/1 samples from 16 Gibbs chains, *thin* sweeps apart, 1000 burn-in sweeps."""
    rng = np.random.default_rng(seed)
    states = (rng.random((16, N)) < 0.5).astype(np.int8)
    out = gibbs_samples(
        h01, J01, np.zeros(N + 1), False, states, seed_states(rng, 16), t // 16, thin, 1000
    )
    return out.reshape(-1, N)


def _feature_covariance(x01, chunk=8_000):
    """Covariance of the sufficient statistics (x_i, x_i x_j) of 0/1 samples, by chunks.

    The products of 0/1 features are counted in float32, exact below 2^24 samples.
    """
    p = N + len(IU[0])
    total, outer, n = np.zeros(p), np.zeros((p, p)), 0
    for a in range(0, len(x01), chunk):
        x = x01[a : a + chunk].astype(np.float32)
        f = np.concatenate([x, x[:, IU[0]] * x[:, IU[1]]], axis=1)
        total += f.sum(0, dtype=np.float64)
        outer += f.T @ f
        n += len(f)
    mean = total / n
    return (outer - n * np.outer(mean, mean)) / (n - 1)


@pytest.fixture(scope="module")
def planted_fit():
    """A planted 50-unit model, 20,000 of its samples and the default fit of them."""
    h01, J01 = _planted01(seed=50)
    t = 20_000
    x = _gibbs(h01, J01, t, seed=51)
    fit = PairwiseMaxEnt(random_state=0).fit(rgdata.as_activity(x.T.copy(), kind="spikes"))
    return h01, J01, t, x, fit


@pytest.mark.slow
def test_default_fit_recovers_the_planted_model_within_fisher_errors(planted_fit):
    h01, J01, t, _, fit = planted_fit
    assert fit.method_ == "reweighting"
    # converged in data standard errors, family by family (means and second moments)
    assert fit.converged_
    fam = fit.residual_families_
    assert set(fam.family.values) == {"means", "second_moments"}
    assert np.all(fam.rms_z.values < fit.tol_rms)
    assert np.all(np.abs(fam.bias.values) < fam.attrs["bias_tol"] + fam.bias_allowance.values)
    # parameter errors: the inverse Fisher information / T, the Fisher information being
    # the covariance of the sufficient statistics under the planted model (a fresh sample)
    cov = _feature_covariance(_gibbs(h01, J01, 64_000, seed=52, thin=5))
    err = np.concatenate([fit.h_ - h01, fit.J_[IU] - J01[IU]])
    z = err / np.sqrt(np.diag(np.linalg.inv(cov)) / t)
    # Mahalanobis distance / number of parameters: ~1 + chi-square noise (sd 0.04) for the
    # maximum-likelihood estimate, plus the fit's own distance from it (rms mismatch
    # < tol_rms SE adds at most ~tol_rms^2); the 1.5 % bias of an inverted sample covariance
    d2 = t * err @ cov @ err / len(err)
    assert 0.85 < d2 < 1.0 + fit.tol_rms**2
    assert np.sqrt(np.mean(z**2)) < 1.0 + fit.tol_rms**2
    # 1275 near-normal z: P(max |z| > 4.75) ~ 0.3 %
    assert np.max(np.abs(z)) < 4.75


@pytest.mark.slow
@two_threads
def test_default_fit_is_reproducible_and_independent_of_threads(planted_fit, monkeypatch):
    _, _, t, x, fit = planted_fit
    act = rgdata.as_activity(x.T.copy(), kind="spikes")
    monkeypatch.setattr(_threads, "idle_threads", lambda top=None: 1)
    one = PairwiseMaxEnt(random_state=0).fit(act)
    np.testing.assert_array_equal(one.J_, fit.J_)
    np.testing.assert_array_equal(one.h_, fit.h_)
    assert one.n_iter_ == fit.n_iter_


@two_threads
def test_kernels_add_partial_sums_in_a_fixed_order():
    rng = np.random.default_rng(3)
    x = (rng.random((30_000, 40)) < 0.1).astype(np.int8)
    xu, w = unique_patterns(x)
    ptr, idx = to_csr(xu)
    h = rng.normal(-2.0, 1.0, 40)
    J = rng.normal(0.0, 0.5, (40, 40))
    J = J + J.T
    np.fill_diagonal(J, 0.0)
    wx = rng.random(len(xu))
    previous = numba.get_num_threads()
    out = {}
    try:
        for n_threads in (1, 2):
            numba.set_num_threads(n_threads)
            pl = pl_objective_01(h, J, ptr, idx, w, 16)
            out[n_threads] = (pl, csr_moments(ptr, idx, wx, 40, 8))
    finally:
        numba.set_num_threads(previous)
    (f1, gh1, gm1), (m1, p1) = out[1]
    (f2, gh2, gm2), (m2, p2) = out[2]
    assert f1 == f2  # bit for bit: the sum's order does not follow the threads
    for a, b in ((gh1, gh2), (gm1, gm2), (m1, m2), (p1, p2)):
        np.testing.assert_array_equal(a, b)
    # and the kernel's value is the pseudo-likelihood (numpy, dense)
    xf = xu.astype(np.float64)
    field = xf @ J + h
    f_ref = -float(w @ (xf * field - np.logaddexp(0.0, field)).sum(1))
    assert f1 == pytest.approx(f_ref, rel=1e-12)


def test_pseudolikelihood_start_stops_within_its_gradient_tolerance():
    # sparse 0/1 data (the numba kernel's path): h ~ N(-2.5, 0.5), J ~ N(0, 0.5)
    rng = np.random.default_rng(7)
    h01 = rng.normal(-2.5, 0.5, N)
    J01 = np.triu(rng.normal(0.0, 0.5, (N, N)), 1)
    J01 = J01 + J01.T
    x = _gibbs(h01, J01, 8_000, seed=8).astype(np.float32)
    stats = data_statistics(x, "01")
    theta0 = independent_theta(stats["mean"], "01", len(IU[0]))
    problem = FitProblem(stats, "01", False, theta0, 0.0, None, x)
    with _threads.fit_threads():  # as in fit: no spinning threads on busy cores
        full = learn_pl(problem, None, Schedule(150))
        start = learn_pl(problem, None, Schedule(500, gradient_tol=0.5))
    assert start.converged and start.message == ""
    assert start.n_iter < full.n_iter
    # the per-sample gradient at the start, computed here in numpy: within 0.5 data SE
    xf = x.astype(np.float64)
    J = np.zeros((N, N))
    J[IU] = start.theta[N:]
    J = J + J.T
    r = xf - 1.0 / (1.0 + np.exp(-(xf @ J + start.theta[:N])))
    g_h = r.mean(0)
    gm = xf.T @ r / len(xf)
    g = np.concatenate([g_h, (gm + gm.T)[IU]])
    se = np.concatenate([stats["se_mean"], stats["se_second"][IU]])
    assert np.max(np.abs(g) / se) < 0.5
    # while the start is not the optimum: the full run goes further
    assert np.max(np.abs(start.theta - full.theta)) > 1e-3


def test_idle_threads_follow_the_load(monkeypatch):
    running = iter([1, 3, 3, 3, 9, 3, 3, 1, 3] * 2)  # the caller and two others, mostly
    monkeypatch.setattr(_threads, "_running_now", lambda: next(running))
    monkeypatch.setattr(_threads, "IDLE_SNAPSHOT_PAUSE", 0.0)
    monkeypatch.setattr(_threads.os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (50.0, 0.0, 0.0))
    assert _threads.idle_threads(8) == 1  # busy now and over the last minute
    monkeypatch.setattr(_threads, "_running_now", lambda: 1)  # only the caller now
    assert _threads.idle_threads(8) == 3  # the last minute's load was its own, or is gone
    monkeypatch.setattr(_threads, "_running_now", lambda: 3)
    monkeypatch.setattr(_threads.os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert _threads.idle_threads(8) == 3  # two runnable now, but not over the last minute
    assert _threads.idle_threads(2) == 2

    def unavailable():
        raise OSError("no load average")

    monkeypatch.setattr(_threads.os, "getloadavg", unavailable)
    assert _threads.idle_threads(8) == 1  # the snapshots alone
    monkeypatch.setattr(_threads, "_running_now", lambda: None)
    assert _threads.idle_threads(4) == 4
    previous = numba.get_num_threads()
    with _threads.fit_threads() as used:
        assert used == numba.get_num_threads() == previous
    assert numba.get_num_threads() == previous


@pytest.mark.parametrize("coding", ["01", "pm1"])
def test_dense_pseudolikelihood_terms_equal_numpy(coding):
    from rgdata.maxent._pairwise_pl import pl_dense_terms

    rng = np.random.default_rng(5)
    x = (rng.random((500, 12)) < 0.5).astype(np.float64)
    if coding == "pm1":
        x = 2.0 * x - 1.0
    field = rng.normal(0.0, 3.0, x.shape)
    field[0, 0], field[1, 1] = 40.0, -40.0  # far tails: no overflow
    w = rng.random(len(x))
    if coding == "01":
        ll = x * field - np.logaddexp(0.0, field)
        r = x - 0.5 * (1.0 + np.tanh(0.5 * field))
    else:
        ll = x * field - np.logaddexp(field, -field)
        r = x - np.tanh(field)
    out = field.copy()
    f = pl_dense_terms(out, x, w, coding == "pm1")
    assert f == pytest.approx(-float(w @ ll.sum(1)), rel=1e-12)
    np.testing.assert_allclose(out, w[:, None] * r, rtol=1e-12, atol=1e-15)
