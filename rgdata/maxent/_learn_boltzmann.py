"""Boltzmann learning: preconditioned gradient steps on persistent Gibbs chains."""

from __future__ import annotations

import numpy as np

from .._progress import progress_bar
from ._chains import ChainSet
from ._codings import unpack
from ._learn import FitProblem, Judge, Outcome, Schedule, mc_outcome
from ._mismatch import Mismatch
from ._start import param_bound

LEARNING_RATE = 0.5  # first step size (halved when the mismatch doubles)
MAX_FIELD_STEP = 0.5  # largest change of any unit's local field per step


def learn(problem: FitProblem, chains: ChainSet, schedule: Schedule) -> Outcome:
    """Boltzmann learning with persistent Gibbs chains and data-driven preconditioning.

    Each iteration estimates the model's moments from the chains and takes
    a step in coordinates centred on the data means m (Ferrari, Phys Rev E
    94:023301, 2016): ``dJ_ij = lr (<dx_i dx_j>_data - <dx_i dx_j>_model) / (v_i v_j)``
    with ``dx = x - m``, ``dh_i = lr (m_i - <x_i>_model) / v_i - Σ_j dJ_ij m_j``
    (so that a coupling change does not shift the means), with ``v_i`` the
    data variance of unit i; ``dV(K) = lr (P_data(K) - P_model(K)) / P(K)``.
    Steps are clipped to ±1, and the coupling step is scaled down so that no
    unit's local field moves by more than ``MAX_FIELD_STEP`` in any state. The
    Monte Carlo sample per iteration doubles whenever the largest mismatch
    is within twice the Monte Carlo allowance, up to ``max_samples``. Stops
    when the mismatch of means, second moments (and P(K)) meets ``schedule.tol`` and
    ``tol_rms`` (:class:`Mismatch`), measured with ``max_samples`` Monte Carlo
    samples, or by the problem's exact *check* when given. Entries of
    ``problem.fixed`` keep their starting value.
    """
    stats, coding, k_potential = problem.stats, problem.coding, problem.k_potential
    l2, fixed, theta0 = problem.l2, problem.fixed, problem.theta0
    max_samples = schedule.max_samples
    n = problem.n_units
    iu = np.triu_indices(n, 1)
    n_pair = len(iu[0])
    d = problem.data_vector()
    m_d = stats["mean"]
    if coding == "01":
        v = m_d * (1.0 - m_d)
    else:
        v = 1.0 - m_d**2
    v = np.maximum(v, 1.0 / stats["n_samples"])
    bound = param_bound(n, len(theta0))
    typical = np.ones(n)  # worst case |x_j| = 1: bounds the field change in every state
    theta = theta0.copy()
    n_samples = int(min(schedule.start_samples, max_samples))
    converged = False
    mis = Mismatch(np.inf, np.inf, 0.0, 0.0)
    bar = progress_bar(
        range(schedule.max_iter), enable=schedule.progress, desc="Boltzmann learning"
    )
    judge = Judge(problem, schedule, bar)
    n_done = 0
    burn = 50
    lr = LEARNING_RATE
    best = np.inf
    for _ in bar:
        n_done += 1
        h, J, V = unpack(theta, n, k_potential)
        m, per_chain, n_used = chains.stats_vectors(
            h, J, V, coding, k_potential, n_samples, n_burn=burn
        )
        burn = 0
        mis, action = judge(m, per_chain, n_used, theta)
        z = mis.max_z
        if action == "stop":
            converged = True
            break
        if action == "confirm":
            n_samples = int(max_samples)
            continue
        noise = mis.allowance
        if z < 2.0 * noise and n_samples < max_samples:
            n_samples = int(min(2 * n_samples, max_samples))
        elif z > 2.0 * best and lr > 0.05:
            lr *= 0.5
        best = min(best, z)
        # gradient in coordinates centred on the data means: <(x_i - m_i)(x_j - m_j)>
        # under the data minus under the model (m = data means in both)
        g_h = m_d - m[:n]
        g_j = d[n : n + n_pair] - m[n : n + n_pair] - m_d[iu[0]] * g_h[iu[1]]
        g_j = g_j - m_d[iu[1]] * g_h[iu[0]] - l2 * theta[n : n + n_pair]
        g_h = g_h - l2 * theta[:n]
        d_j = np.clip(lr * g_j / (v[iu[0]] * v[iu[1]]), -1.0, 1.0)
        dj_full = np.zeros((n, n))
        dj_full[iu] = d_j
        dj_full = dj_full + dj_full.T
        # trust region: the typical change of each unit's local field stays below max_field_step
        field_change = np.abs(dj_full) @ typical
        f = np.minimum(1.0, MAX_FIELD_STEP / np.maximum(field_change, 1e-300))
        d_j = d_j * np.minimum(f[iu[0]], f[iu[1]])
        dj_full = np.zeros((n, n))
        dj_full[iu] = d_j
        dj_full = dj_full + dj_full.T
        d_h = np.clip(lr * g_h / v, -1.0, 1.0) - dj_full @ m_d
        step = [d_h, d_j]
        if k_potential:
            pk_d = d[n + n_pair :]
            pk_m = m[n + n_pair :]
            g_v = pk_d - pk_m - l2 * theta[n + n_pair :]
            var_v = np.maximum(np.maximum(pk_d, pk_m), 1.0 / n_used)
            step.append(np.clip(lr * g_v / var_v, -1.0, 1.0))
        new = np.clip(theta + np.concatenate(step), -bound, bound)
        theta = new if fixed is None else np.where(fixed, theta, new)
    return mc_outcome("boltzmann", theta, converged, n_done, mis, judge, n_samples)
