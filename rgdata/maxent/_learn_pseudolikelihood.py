"""Maximum pseudo-likelihood: fast, approximate fields and couplings (V is not fitted)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ._chains import ChainSet
from ._codings import stats_vector, unpack
from ._learn import FitProblem, Outcome, Schedule
from ._moments import unique_patterns
from ._pairwise_pl import pl_dense_terms, pl_objective_01, to_csr
from ._start import PARAM_BOUND


def learn(problem: FitProblem, chains: ChainSet | None, schedule: Schedule) -> Outcome:
    """Maximise the symmetric pseudo-log-likelihood (sum of per-unit conditionals).

    Needs ``problem.x``. Fields and couplings start from ``problem.theta0``;
    the count potential (if any) keeps its starting value. *chains* is not
    used. With ``schedule.gradient_tol`` the optimiser stops as soon as every
    component of the projected gradient (per sample: a difference between the
    data's moment and the conditional model's) is below that many data
    standard errors of the matching statistic (:func:`_gradient_stop`).
    """
    coding, l2 = problem.coding, problem.l2
    xu, w = unique_patterns(problem.x)
    t, n = xu.shape
    iu = np.triu_indices(n, 1)
    n_par = n + len(iu[0])
    sparse = coding == "01" and float(np.mean(xu > 0)) < 0.25
    if sparse:
        ptr, idx = to_csr(xu)
        n_chunks = max(1, min(64, t // 2000))
    xu = xu.astype(np.float64)

    def fun(theta):
        h, J, _ = unpack(theta, n, False)
        if sparse:
            f, g_h, gm = pl_objective_01(h, J, ptr, idx, w, n_chunks)
            g = np.concatenate([-g_h, -(gm + gm.T)[iu]])
            return f + 0.5 * l2 * theta @ theta, g + l2 * theta
        field = xu @ J + h
        # one fused pass: the negative log-likelihood, and field := w_t (x - E[x | rest])
        f = pl_dense_terms(field, xu, w, coding == "pm1") + 0.5 * l2 * theta @ theta
        g_h = -field.sum(0)
        gm = xu.T @ field
        g_j = -(gm + gm.T)[iu]
        return f, np.concatenate([g_h, g_j]) + l2 * theta

    callback = None
    if schedule.gradient_tol is not None:
        se = stats_vector(problem.stats["se_mean"], problem.stats["se_second"], None, False)
        fun, callback = _gradient_stop(fun, se[:n_par], schedule.gradient_tol)
    res = minimize(
        fun,
        problem.theta0[:n_par],
        jac=True,
        method="L-BFGS-B",
        bounds=[(-PARAM_BOUND, PARAM_BOUND)] * n_par,
        options={"maxiter": schedule.max_iter, "ftol": 1e-12, "gtol": 1e-7},
        callback=callback,
    )
    stopped = callback is not None and callback.met
    theta = np.concatenate([res.x, problem.theta0[n_par:]])
    message = "" if stopped else str(res.message)
    return Outcome(theta, bool(res.success or stopped), int(res.nit), message)


def _gradient_stop(fun, se: np.ndarray, tol: float):
    """Wrap *fun* to remember its last gradient; a callback that stops within *tol* x *se*.

    The gradient of the per-sample negative pseudo-log-likelihood is, per
    parameter, a difference of moments (data minus conditional model), so
    ``|g| / se`` says how far the fit still is from its optimum in units of
    the data's own error. Components at a bound pointing outwards (a
    parameter held at +-PARAM_BOUND) are projected away, as L-BFGS-B does.
    Returns ``(wrapped fun, callback)``; ``callback.met`` tells whether the
    tolerance stopped the optimiser.
    """
    last: dict = {}

    def wrapped(theta):
        f, g = fun(theta)
        last["x"], last["g"] = theta.copy(), g
        return f, g

    def callback(intermediate_result):
        x = intermediate_result.x
        if "x" not in last or not np.array_equal(x, last["x"]):
            return
        g = np.where((x >= PARAM_BOUND) & (last["g"] < 0), 0.0, last["g"])
        g = np.where((x <= -PARAM_BOUND) & (g > 0), 0.0, g)
        if float(np.max(np.abs(g) / se)) < tol:
            callback.met = True
            raise StopIteration

    callback.met = False
    return wrapped, callback
