"""Maximum likelihood by Monte Carlo histogram reweighting (Broderick et al. 2007)."""

from __future__ import annotations

from collections import deque

import numpy as np
from scipy.optimize import minimize

from .._progress import progress_bar
from ._chains import ChainSet
from ._codings import unpack
from ._learn import FitProblem, Judge, Outcome, Schedule, mc_outcome
from ._mismatch import Mismatch, measure
from ._moments import stat_variance
from ._reweighted_sample import ReweightedSample, normalized
from ._start import bounds

MAX_STORED_SAMPLES = 2**22  # samples kept in memory per reweighting iteration
STALL_ITERATIONS = 4  # iterations without a 20% rms gain before the sample doubles
AVERAGE_WINDOW = 4  # iterates averaged (the most recent ones at the largest sample)
AVERAGE_EVERY = 2  # iterations between checks of the averaged parameters
MAX_PARAM_STEP = 1.0  # Fisher-scaled steps: largest change of one parameter
MIN_ESS = 0.5  # smallest effective sample size of a step's weights, as a fraction
INNER_ITER = 30  # L-BFGS-B iterations per reweighted step
TILT_ROUNDS = 4  # reweighted steps per iteration with a non-linear tilt (problem.tilt)
TILT_TOL = 1e-3  # change of the tilt (weighted mean over patterns) at which the rounds stop


def learn(problem: FitProblem, chains: ChainSet, schedule: Schedule) -> Outcome:
    """Maximum likelihood by Monte Carlo histogram reweighting (Broderick et al. 2007).

    Each iteration draws a sample of the current model from persistent Gibbs
    chains and maximises the *reweighted* log-likelihood
    ``delta·d - log mean_s exp(delta·f(x_s))`` (concave, exact for the
    sample; L-BFGS-B, ``INNER_ITER`` iterations) over the parameter change
    delta. The step is halved until the effective sample size of the
    weights, ``(Σw)^2 / Σw^2``, is at least ``MIN_ESS`` of the sample, so the
    new model stays where the sample represents it. Unlike a gradient step,
    the reweighted objective sees how strongly every statistic responds to
    every parameter (including the collective response of P(K) when many
    couplings change together).

    Safeguards: a step after which the measured mismatch more than doubles
    (the model moved into states its sample never visited) is undone, with
    the chains restored, and retried four times shorter from the stored
    sample. The sample doubles (up to ``schedule.max_samples``; at most
    ``MAX_STORED_SAMPLES`` are kept in memory) when the largest or the rms
    mismatch is within twice its Monte Carlo noise (measured from the spread
    between chains) or the rms has not fallen by 20 % in
    ``STALL_ITERATIONS`` iterations: each step fits the sample's own noise.

    Once the sample is at its largest, steps use Fisher-scaled coordinates
    (see :func:`_reweighted_step`) and the running average of the iterates
    (Polyak-Ruppert; the last ``AVERAGE_WINDOW`` iterates) is checked every
    ``AVERAGE_EVERY`` iterations: it averages away the noise each step fits.
    For a model whose log-weight is not linear in theta (``problem.tilt``,
    the hierarchical count potentials) these late steps and their
    effective-sample-size test use the full change of the log-weight
    (:func:`_tilted_step`); the early, large steps keep the exponential tilt.
    Convergence (:class:`Mismatch`, ``schedule.tol`` and ``tol_rms``) is confirmed with
    ``max_samples`` Monte Carlo samples, or by the problem's exact *check*
    when given. Entries of ``problem.fixed`` keep their starting value.
    """
    coding, k_potential = problem.coding, problem.k_potential
    l2, fixed, theta0 = problem.l2, problem.fixed, problem.theta0
    tol, tol_rms, max_samples = schedule.tol, schedule.tol_rms, schedule.max_samples
    n = problem.n_units
    d = problem.data_vector()
    free = np.ones(len(theta0), bool) if fixed is None else ~fixed
    theta = theta0.copy()
    n_samples = int(min(schedule.start_samples, max_samples, MAX_STORED_SAMPLES))
    converged = False
    mis = Mismatch(np.inf, np.inf, 0.0, 0.0)
    burn = 50
    n_done = 0
    # the last accepted point: parameters, its sample, the chains that drew it, its mismatch
    accepted = None
    max_scale = 1.0
    best_at, best_at_z = 0, np.inf
    bar = progress_bar(
        range(schedule.max_iter), enable=schedule.progress, desc="reweighting learning"
    )
    judge = Judge(problem, schedule, bar)
    history = judge.history
    cap = min(max_samples, MAX_STORED_SAMPLES)
    recent: deque = deque(maxlen=AVERAGE_WINDOW)  # iterates at the largest sample
    since_check = 0
    for _ in bar:
        n_done += 1
        if len(recent) == AVERAGE_WINDOW and since_check >= AVERAGE_EVERY:
            since_check = 0
            # at the largest sample each step fits that sample's noise; the average of the
            # iterates (Polyak-Ruppert) does not, so it is checked every few iterations
            theta_bar = np.mean(recent, axis=0)
            final = _confirm(theta_bar, problem, chains, max_samples)
            history.append(final.max_z)
            if final.converged(tol, tol_rms):
                theta, mis, converged = theta_bar, final, True
                break
        h, J, V = unpack(theta, n, k_potential)
        saved = (chains.states.copy(), chains.rng.copy())
        if n_samples > MAX_STORED_SAMPLES:
            m, per_chain, n_used = chains.stats_vectors(
                h, J, V, coding, k_potential, n_samples, n_burn=burn
            )
            sample = None
        else:
            x01 = chains.samples(h, J, V, coding, n_samples, n_burn=burn)
            sample = ReweightedSample(x01, coding, k_potential, chains.states.shape[0])
            del x01
            n_used = sample.n_samples
            per_chain = sample.per_chain
            m = per_chain.mean(0)
        burn = 0
        mis, action = judge(m, per_chain, n_used, theta)
        z = mis.max_z
        if action == "stop":
            converged = True
            break
        if action == "confirm":
            n_samples = int(max_samples)
            continue
        if accepted is not None and z > 2.0 * accepted[3]:
            # the step made the model much worse than the sample predicted (typically a
            # jump into states the sample never visited): go back and take a shorter one
            theta, sample, saved, z_prev, step, scale = accepted
            chains.states[:], chains.rng[:] = saved
            recent.clear()
            max_scale = scale / 4.0
            if max_scale < 1e-3:
                break
            theta_new = theta + max_scale * step
            accepted = (theta, sample, saved, z_prev, step, max_scale)
            theta = theta_new
            continue
        # more samples when the mismatch (largest or rms) is within twice the Monte Carlo
        # noise, or when the rms has stopped falling: each step fits the sample's own noise,
        # so a sample cannot take the fit much below its noise
        stalled = len(history) - best_at > STALL_ITERATIONS
        if mis.rms < 0.8 * best_at_z:
            best_at, best_at_z = len(history), mis.rms
        within_noise = z < 2.0 * mis.allowance or mis.rms < 2.0 * mis.noise_rms
        if (within_noise or stalled) and n_samples < cap:
            n_samples = int(min(2 * n_samples, cap))
            best_at, best_at_z = len(history), mis.rms
        if sample is None:  # a full-size check failed: learn from a stored sample again
            n_samples = cap
            continue
        # at the largest sample the steps are small: Fisher-scaled coordinates let the
        # optimiser reach statistics of every frequency (rare pairs included); earlier, the
        # unscaled problem's slow progress on rare statistics damps the large first steps
        scaled = n_samples >= cap
        variance = np.maximum(stat_variance(m, coding, n), 1.0 / n_used) if scaled else None
        # a non-linear tilt (problem.tilt) only with these bounded late steps: the large early
        # ones move it so far that its rounds do not settle (see _tilted_step)
        tilt = problem.tilt if scaled else None
        step = _tilted_step(tilt, sample, theta, d, free, l2, n, variance)
        scale = min(1.0, 2.0 * max_scale)
        while scale > 1e-3:
            # NaN (a step to no model, FitProblem.tilt) fails this test too
            if sample.ess_fraction(_log_weights(tilt, sample, theta, scale * step)) >= MIN_ESS:
                break
            scale *= 0.5
        max_scale = scale
        accepted = (theta, sample, saved, z, step, scale)
        theta = theta + scale * step
        if n_samples >= cap:
            recent.append(theta)
            since_check += 1
    return mc_outcome("reweighting", theta, converged, n_done, mis, judge, n_samples)


def _confirm(theta, problem: FitProblem, chains: ChainSet, max_samples: int) -> Mismatch:
    """Mismatch of *theta*: exact (``problem.check``) when given, else *max_samples* samples."""
    if problem.check is not None:
        return problem.check(theta)
    stats, coding, k_potential = problem.stats, problem.coding, problem.k_potential
    h, J, V = unpack(theta, problem.n_units, k_potential)
    m, per_chain, n_used = chains.stats_vectors(h, J, V, coding, k_potential, max_samples, 20)
    return measure(m, per_chain, stats, coding, k_potential, n_used)


def _log_weights(tilt, sample, theta, delta):
    """Log-weights of the sample's patterns for the step *delta*, with the tilt when given."""
    log_w = sample.log_weights(delta)
    return log_w if tilt is None else log_w + tilt(sample, theta, theta + delta)


def _tilted_step(tilt, sample, theta, d, free, l2, n, variance):
    """:func:`_reweighted_step`, for a model whose log-weight is not linear in theta.

    With a *tilt* (``FitProblem.tilt``) the weights of a step ``delta`` are
    ``exp(delta . f(x) + t(x; delta))``. Holding ``t`` at its value for the
    previous round's step makes the reweighted objective concave again, and
    its maximiser matches the data's statistics under those weights; the
    rounds repeat (at most ``TILT_ROUNDS``, warm-started) until ``t`` of the
    new step is within ``TILT_TOL`` of the one it was computed with, i.e.
    the predicted statistics are those of the model the step leads to. The
    change of ``t`` is measured as its mean absolute change over the
    sample's patterns under the new weights; a round whose change is not
    below half the previous one (far from the data the linear step moves
    the count potentials so much that the rounds do not settle) ends them,
    and the step of the round with the smallest change is returned. The
    caller's effective-sample-size rule, with the full weights, then sets
    how much of it is taken.
    """
    step = _reweighted_step(sample, theta, d, free, l2, n, variance)
    if tilt is None:
        return step
    offset = tilt(sample, theta, theta + step)
    best, best_change = step, np.inf
    for _ in range(TILT_ROUNDS - 1):
        if not np.all(np.isfinite(offset)):  # no model there: the ESS rule shortens the step
            break
        new_step = _reweighted_step(sample, theta, d, free, l2, n, variance, offset, step)
        new = tilt(sample, theta, theta + new_step)
        if not np.all(np.isfinite(new)):
            break
        w = normalized(sample.log_weights(new_step) + new)
        change = float(np.sum(w * np.abs(new - offset)))
        if change >= 0.5 * best_change:
            break
        best, best_change = new_step, change
        step, offset = new_step, new
        if change <= TILT_TOL:
            break
    return best


def _reweighted_step(sample, theta, d, free, l2, n, variance=None, offset=None, start=None):
    """Maximiser of the reweighted log-likelihood around *theta* (L-BFGS-B, bounded).

    With *variance* (the variance of each statistic, the diagonal of the
    Fisher information) the optimiser works in coordinates
    ``u = delta * sqrt(variance)``, where statistics of very different
    frequency (a unit's mean, a pair seen a few times) have comparable
    curvature, and no parameter moves by more than ``MAX_PARAM_STEP``.
    *offset* (per distinct pattern) is added to every log-weight (a fixed
    tilt, :func:`_tilted_step`); *start* is the starting step (default 0).
    """
    theta_free = theta[free]
    root = np.ones(int(free.sum())) if variance is None else np.sqrt(variance[free])

    def objective(u):
        delta_free = u / root
        delta = np.zeros(len(free))
        delta[free] = delta_free
        log_w = sample.log_weights(delta)
        if offset is not None:
            log_w = log_w + offset
        new = theta_free + delta_free
        f = sample.log_mean_weight(log_w) - delta_free @ d[free] + 0.5 * l2 * new @ new
        g = sample.moments(normalized(log_w))[free] - d[free] + l2 * new
        return f, g / root

    box = bounds(np.zeros(len(free)), theta, None, n)[free]
    if variance is not None:
        box = np.clip(box, -MAX_PARAM_STEP, MAX_PARAM_STEP) * root[:, None]
    u0 = np.zeros(int(free.sum()))
    if start is not None:
        u0 = np.clip(start[free] * root, box[:, 0], box[:, 1])
    res = minimize(
        objective,
        u0,
        jac=True,
        method="L-BFGS-B",
        bounds=box,
        options={"maxiter": INNER_ITER, "maxcor": 20},
    )
    step = np.zeros(len(free))
    step[free] = res.x / root
    return step
