"""Non-perturbative maximum-likelihood fit of the multivariate phi^4 model on few modes.

:func:`fit_quartic_field` fits ``P(a) ∝ exp(-sum_mu alpha_mu a_mu^2 - g sum_i
psi_i^4)`` on the amplitudes ``a`` of the top ``k`` eigenmodes (the modes of
:func:`rgdata.coarse.momentum`, :mod:`._quartic_projection`) by Newton steps on
Metropolis Monte Carlo moments: the model of ``g_multi`` in
:func:`rgdata.maxent.fit_quartic_flow` without the expansion in ``g``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import norm

from .._validation import check_int, check_random_state
from .._warnings import once_per_call, warn_user
from ._quartic_projection import correlation_modes
from .pairwise import MaxEntConvergenceWarning
from .quartic_model import quartic_coupling_first_order

#: fit_quartic_field is converged when every moment mismatch is within the two-sided normal
#: quantile of this family-wise level (Bonferroni over the k + 1 moments)
_FIELD_CONVERGENCE_LEVEL = 0.01

__all__ = ["fit_quartic_field"]


def _field_sweeps(
    a: np.ndarray,
    v: np.ndarray,
    alpha: np.ndarray,
    g: float,
    n_sweeps: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Metropolis sweeps (one update per mode) of independent chains of mode amplitudes *a*
    under ``exp(-sum_mu alpha_mu a_mu^2 - g sum_i (v a)_i^4)``. Returns the final state and
    per-chain means of the sufficient statistics ``a_mu^2`` (chain, k) and ``sum psi^4``
    (chain,), plus their pooled covariance over all recorded states."""
    n_chains, k = a.shape
    psi = a @ v.T
    step = 2.0 / np.sqrt(2.0 * np.maximum(alpha, 1e-12) + 12.0 * g * (v**2).sum(axis=0))
    sum_t = np.zeros((n_chains, k + 1))
    sum_tt = np.zeros((k + 1, k + 1))
    for _ in range(n_sweeps):
        for mu in range(k):
            d = step[mu] * rng.standard_normal(n_chains)
            new = psi + d[:, None] * v[:, mu]
            de = alpha[mu] * ((a[:, mu] + d) ** 2 - a[:, mu] ** 2)
            if g:
                de += g * np.sum(new**4 - psi**4, axis=1)
            ok = np.log(rng.random(n_chains)) < -de
            a[ok, mu] += d[ok]
            psi[ok] = new[ok]
        t = np.concatenate([a**2, np.sum(psi**4, axis=1, keepdims=True)], axis=1)
        sum_t += t
        sum_tt += t.T @ t
    mean_chain = sum_t / n_sweeps
    mean = mean_chain.mean(axis=0)
    cov = sum_tt / (n_sweeps * n_chains) - np.outer(mean, mean)
    return a, mean_chain, cov


def _field_newton_step(
    theta: np.ndarray, model: np.ndarray, target: np.ndarray, cov: np.ndarray
) -> tuple[np.ndarray, int, int]:
    """One Newton step of the moment matching of :func:`fit_quartic_field`.

    ``theta = (alpha_1 .. alpha_k, g)``; *model* and *target* are the model's
    and the data's means of ``(a_mu^2, sum_i psi_i^4)`` and *cov* the model
    covariance of these statistics (the Hessian of the negative
    log-likelihood). The joint step solves ``cov dtheta = model - target``.
    Where it would make ``g`` negative, ``g`` is set to its boundary 0 and
    the alphas are re-solved with ``g`` fixed there: ``cov[:k, :k] dalpha =
    (model - target)[:k] - cov[:k, k] (0 - g)`` (the linearised moments of
    the alphas matched). The step is then halved until the model is
    normalisable (``g > 0``, or ``g == 0`` and every ``alpha > 0``).

    Returns the new ``theta``, 1 when ``g`` is at the boundary 0 (else 0)
    and the number of halvings.
    """
    k = theta.size - 1
    resid = model - target
    new = theta + np.linalg.solve(cov, resid)
    if new[k] < 0:
        dalpha = np.linalg.solve(cov[:k, :k], resid[:k] + cov[:k, k] * theta[k])
        new = np.append(theta[:k] + dalpha, 0.0)
    delta = new - theta
    halvings = 0
    while not (new[k] > 0 or np.all(new[:k] > 0)):
        if halvings == 60:  # theta itself is normalisable, so this is not reached
            raise RuntimeError("no normalisable step found from a normalisable start")
        halvings += 1
        new = theta + 0.5**halvings * delta
    return new, int(new[k] == 0), halvings


def _moment_z(resid: np.ndarray, err: np.ndarray, at_boundary: int) -> tuple[np.ndarray, float]:
    """Moment mismatches in units of their errors and the largest one that counts.

    On the boundary ``g = 0`` the fourth-moment statistic of the model is
    below the data's by construction (that is why ``g`` is held at 0): there
    only a model statistic above the data's (which would ask for ``g > 0``)
    counts.
    """
    z = resid / err
    counted = np.abs(z)
    if at_boundary:
        counted[-1] = max(z[-1], 0.0)
    return z, float(counted.max())


@once_per_call
def fit_quartic_field(
    activity: xr.DataArray,
    n_modes: int,
    *,
    n_chains: int = 1000,
    n_sweeps: int = 200,
    n_iter: int = 8,
    n_blocks: int = 20,
    random_state: Any = None,
) -> dict[str, Any]:
    """Maximum-likelihood fit of the multivariate phi^4 model on the top *n_modes* eigenmodes.

    The model of the unit-variance coarse-grained variables ``psi = V a``
    (``a`` the amplitudes of the kept modes of the z-scored data, ``V =
    D^{-1/2} U_k``) is the exponential family

        P(a) ∝ exp(-sum_mu alpha_mu a_mu^2 - g sum_i psi_i^4),     g >= 0,

    with one quadratic coupling per kept eigenmode and one quartic coupling
    on every site, i.e. the model of :func:`fit_quartic_flow`'s ``g_multi``
    without the expansion in ``g``. The maximum-likelihood fit matches
    ``E[a_mu^2]`` and ``E[sum_i psi_i^4]`` to the data; the model's moments
    come from Metropolis Monte Carlo over the ``k`` mode amplitudes
    (*n_chains* independent chains), and Newton steps (the Hessian is the
    model covariance of the statistics) start from the Gaussian with
    ``g`` at the first-order estimate.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity ``(unit, time)``.
    n_modes : int
        Kept modes ``k`` (1 to 30: the Monte Carlo is over ``k`` amplitudes
        and the Newton system has ``k + 1`` unknowns).
    n_chains, n_sweeps : int
        Monte Carlo chains and sweeps per Newton iteration (the last
        iteration runs 4 times as many sweeps).
    n_iter : int
        Newton iterations. Each solves ``cov dtheta = E_model - E_data`` for
        the couplings ``theta = (alpha, g)`` (``cov`` the model covariance of
        the statistics); where that would make ``g`` negative, ``g`` is held
        at 0 and the alphas are re-solved with it fixed there; the step is
        halved until the model is normalisable (``g > 0``, or every
        ``alpha > 0``).
    n_blocks : int
        Contiguous time blocks for the data's error.
    random_state : None, int or Generator
        Seeds the Monte Carlo.

    Returns
    -------
    dict
        ``g``, ``g_err`` (sampling error of the data: delta method with the
        block covariance of the data's statistics), ``g_mc_err`` (Monte
        Carlo error of the last iteration), ``alpha`` (per mode),
        ``g_first_order`` (:func:`quartic_coupling_first_order` on the same
        variables), ``at_boundary`` (1 when ``g`` is held at 0 because the
        data are heavier-tailed than the model allows), ``n_modes``,
        ``fraction``; ``alpha_err`` and ``alpha_mc_err`` (data and Monte
        Carlo errors of ``alpha``, with ``g`` fixed where it is held at 0);
        ``moment_z`` (the last iteration's ``E_model - E_data`` of the
        ``k + 1`` statistics in units of their Monte Carlo error: that run's
        and the previous run's, whose noise set the parameters),
        ``max_moment_z`` (the largest ``|moment_z|``; on the boundary the
        fourth-moment statistic counts only when the model's exceeds the
        data's), ``moment_z_limit`` (the two-sided normal quantile of a 1 %
        family-wise level over the ``k + 1`` statistics) and ``converged``
        (``max_moment_z <= moment_z_limit`` and the last step not halved).

    Warns
    -----
    MaxEntConvergenceWarning
        When not ``converged``: the couplings are not yet the
        maximum-likelihood values.
    UserWarning
        When ``g`` is held at its boundary 0.
    """
    from ..activity import check_activity

    activity = check_activity(activity, allow_trials=False, min_time=20)
    values = activity.values
    n_unit, n_time = values.shape
    k = check_int(n_modes, "n_modes", min_value=1, max_value=min(30, n_unit))
    n_chains = check_int(n_chains, "n_chains", min_value=10)
    n_sweeps = check_int(n_sweeps, "n_sweeps", min_value=10)
    n_iter = check_int(n_iter, "n_iter", min_value=1)
    n_blocks = check_int(n_blocks, "n_blocks", min_value=2, max_value=max(2, n_time // 10))
    rng = check_random_state(random_state)
    z, lam, u = correlation_modes(values, k)  # the modes of rgdata.coarse.momentum
    d = (u**2) @ lam  # variance of each projected unit
    v = u / np.sqrt(d)[:, None]
    amp = u.T @ z  # (k, time)
    psi4 = np.sum((v @ amp) ** 4, axis=0)
    stats = np.concatenate([amp**2, psi4[None, :]], axis=0)  # (k + 1, time)
    target = stats.mean(axis=1)
    edges = np.linspace(0, n_time, n_blocks + 1).astype(int)
    block_means = np.array(
        [stats[:, lo:hi].mean(axis=1) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    )
    dev = block_means - block_means.mean(axis=0)
    cov_mean = dev.T @ dev / (n_blocks * (n_blocks - 1))  # covariance of the overall mean
    corr = (v * lam) @ v.T
    kappa4 = np.mean((v @ amp) ** 4, axis=1) - 3.0
    g_first = quartic_coupling_first_order(kappa4, corr)
    theta = np.concatenate([1.0 / (2.0 * lam), [max(g_first, 0.0)]])
    a = rng.standard_normal((n_chains, k)) * np.sqrt(lam)
    a, _, _ = _field_sweeps(a, v, theta[:k], theta[k], n_sweeps, rng)  # burn-in
    boundary = 0
    # Monte Carlo variance of the model means of the run that set the current theta
    # (none for the starting point)
    prev_mc_var = np.zeros(k + 1)
    for it in range(n_iter):
        sweeps = 4 * n_sweeps if it == n_iter - 1 else n_sweeps
        a, mean_chain, cov = _field_sweeps(a, v, theta[:k], theta[k], sweeps, rng)
        model = mean_chain.mean(axis=0)
        mc_cov = np.cov(mean_chain.T) / n_chains
        new, boundary, halvings = _field_newton_step(theta, model, target, cov)
        if it == n_iter - 1:
            # mismatch at the last evaluated theta, in units of its Monte Carlo error: this
            # run's and that of the run whose step set theta
            mismatch_err = np.sqrt(np.diag(mc_cov) + prev_mc_var)
            # one-sided for g only where it was and stays at 0
            held = int(boundary and theta[k] == 0)
            moment_z, max_z = _moment_z(model - target, mismatch_err, held)
            inv = np.linalg.inv(cov)
            g_mc_err = float(np.sqrt((inv @ mc_cov @ inv)[k, k]))
            g_err = float(np.sqrt((inv @ cov_mean @ inv)[k, k]))
            if boundary:  # alphas fitted with g fixed at 0
                inv = np.linalg.inv(cov[:k, :k])
                sl = slice(0, k)
                alpha_err = np.sqrt(np.diag(inv @ cov_mean[sl, sl] @ inv))
                alpha_mc_err = np.sqrt(np.diag(inv @ mc_cov[sl, sl] @ inv))
            else:
                alpha_err = np.sqrt(np.diag(inv @ cov_mean @ inv))[:k]
                alpha_mc_err = np.sqrt(np.diag(inv @ mc_cov @ inv))[:k]
            last_halvings = halvings
        prev_mc_var = np.diag(mc_cov)
        theta = new
    z_limit = float(norm.isf(_FIELD_CONVERGENCE_LEVEL / (2 * (k + 1))))
    converged = bool(max_z <= z_limit and last_halvings == 0)
    if boundary:
        warn_user(
            "the coarse-grained variables are heavier-tailed than the multivariate phi^4 model "
            "with g >= 0 allows; g is held at 0",
            UserWarning,
        )
    if not converged:
        what = (
            f"the last moment mismatch is {max_z:.3g} Monte Carlo errors (limit {z_limit:.3g})"
            if last_halvings == 0
            else f"the last Newton step was halved {last_halvings} times to stay normalisable"
        )
        warn_user(
            f"fit_quartic_field did not converge in n_iter={n_iter} iterations: {what}; "
            "g and alpha are not yet the maximum-likelihood values (raise n_iter, n_sweeps "
            "or n_chains)",
            MaxEntConvergenceWarning,
        )
    return {
        "g": float(theta[k]),
        "g_err": g_err,
        "g_mc_err": g_mc_err,
        "alpha": theta[:k].copy(),
        "alpha_err": alpha_err,
        "alpha_mc_err": alpha_mc_err,
        "g_first_order": g_first,
        "at_boundary": boundary,
        "converged": converged,
        "max_moment_z": max_z,
        "moment_z": moment_z,
        "moment_z_limit": z_limit,
        "n_modes": k,
        "fraction": k / n_unit,
    }
