"""Exact maximum likelihood by enumerating the 2^N states (N <= 24)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize

from ._chains import ChainSet
from ._codings import stats_vector, unpack
from ._learn import FitProblem, Outcome, Schedule
from ._moments import exact_stats
from ._start import bounds


def learn(problem: FitProblem, chains: ChainSet | None, schedule: Schedule) -> Outcome:
    """Maximise the exact log-likelihood (L-BFGS-B with parameter bounds).

    The gradient is model minus data moments; the optimiser stops when its
    largest component is below 1e-3 of the smallest data standard error.
    *chains* is not used.
    """
    stats, coding, k_potential = problem.stats, problem.coding, problem.k_potential
    theta0, fixed, l2 = problem.theta0, problem.fixed, problem.l2
    n = problem.n_units
    se = stats_vector(stats["se_mean"], stats["se_second"], stats["se_pk"], k_potential)
    tol_grad = 1e-3 * float(se.min())
    d = problem.data_vector()

    def fun(theta):
        h, J, V = unpack(theta, n, k_potential)
        mean, second, pk, log_z, _ = exact_stats(h, J, V, coding)
        m = stats_vector(mean, second, pk, k_potential)
        free = theta if fixed is None else np.where(fixed, 0.0, theta)
        f = log_z - theta @ d + 0.5 * l2 * free @ free
        return f, m - d + l2 * free

    res = minimize(
        fun,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds(theta0, np.zeros_like(theta0), fixed, n),
        options={"maxiter": schedule.max_iter, "ftol": 1e-14, "gtol": tol_grad, "maxcor": 30},
    )
    return Outcome(res.x, bool(res.success), int(res.nit), str(res.message))
