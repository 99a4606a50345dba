"""Maximum pseudo-likelihood: fast, approximate fields and couplings (V is not fitted)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ._chains import ChainSet
from ._codings import unpack
from ._learn import FitProblem, Outcome, Schedule
from ._moments import unique_patterns
from ._pairwise_pl import pl_objective_01, to_csr
from ._start import PARAM_BOUND


def learn(problem: FitProblem, chains: ChainSet | None, schedule: Schedule) -> Outcome:
    """Maximise the symmetric pseudo-log-likelihood (sum of per-unit conditionals).

    Needs ``problem.x``. Fields and couplings start from ``problem.theta0``;
    the count potential (if any) keeps its starting value. *chains* is not
    used.
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
        if coding == "01":
            ll = xu * field - np.logaddexp(0.0, field)
            r = xu - 0.5 * (1.0 + np.tanh(0.5 * field))
        else:
            ll = xu * field - np.logaddexp(field, -field)
            r = xu - np.tanh(field)
        f = -float(w @ ll.sum(1)) + 0.5 * l2 * theta @ theta
        g_h = -(w @ r)
        gm = xu.T @ (w[:, None] * r)
        g_j = -(gm + gm.T)[iu]
        return f, np.concatenate([g_h, g_j]) + l2 * theta

    res = minimize(
        fun,
        problem.theta0[:n_par],
        jac=True,
        method="L-BFGS-B",
        bounds=[(-PARAM_BOUND, PARAM_BOUND)] * n_par,
        options={"maxiter": schedule.max_iter, "ftol": 1e-12, "gtol": 1e-7},
    )
    theta = np.concatenate([res.x, problem.theta0[n_par:]])
    return Outcome(theta, bool(res.success), int(res.nit), str(res.message))
