"""The one signature every pairwise maximum-entropy learner has.

Each learner module (``_learn_exact``, ``_learn_pseudolikelihood``,
``_learn_boltzmann``, ``_learn_reweighting``) exposes

    learn(problem: FitProblem, chains: ChainSet | None, schedule: Schedule) -> Outcome

*problem* says what is fitted (the data's statistics, the model's form, the
starting point), *schedule* how long and how precisely, *chains* are the
persistent Gibbs chains of the Monte Carlo learners (``None`` for the
others); the :class:`Outcome` carries the parameters and the learner's
record. :class:`Judge` is the convergence verdict the Monte Carlo learners
share.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ._codings import stats_vector, unpack
from ._mismatch import Mismatch, data_mismatch, measure
from ._moments import exact_stats


@dataclass(frozen=True)
class FitProblem:
    """What a learner fits.

    Attributes
    ----------
    stats : dict
        The data's statistics and their errors (:func:`_moments.data_statistics`).
    coding : {"01", "pm1"}
        The model's coding.
    k_potential : bool
        Whether the model has the count potential V(K).
    theta0 : ndarray
        Starting parameter vector (layout of :func:`_codings.pack`).
    l2 : float
        L2 penalty ``l2/2 |theta|^2`` per sample.
    fixed : ndarray of bool or None
        Entries of theta kept at their value in *theta0* (forbidden counts).
    x : ndarray or None
        The data ``(T, N)`` in *coding* (the pseudo-likelihood needs it).
    check : callable or None
        ``theta -> Mismatch`` by exact enumeration (N <= 20): the final word
        on convergence for the Monte Carlo learners.
    tilt : callable or None
        ``(sample, theta, theta_new) -> ndarray``: for a model whose
        log-weight is not linear in theta, the part of the log-weight change
        from *theta* to *theta_new* beyond ``(theta_new - theta) . f``, per
        distinct pattern of a :class:`._reweighted_sample.ReweightedSample`
        (the hierarchical count potentials, :mod:`._hierarchy_mc_tilt`).
        The reweighting learner includes it in its weights.
    """

    stats: dict
    coding: str
    k_potential: bool
    theta0: np.ndarray
    l2: float = 0.0
    fixed: np.ndarray | None = None
    x: np.ndarray | None = None
    check: Callable[[np.ndarray], Mismatch] | None = None
    tilt: Callable[[Any, np.ndarray, np.ndarray], np.ndarray] | None = None

    @property
    def n_units(self) -> int:
        """Number of units N."""
        return int(self.stats["mean"].shape[0])

    def data_vector(self) -> np.ndarray:
        """The data's statistics vector (means, second moments[, P(K >= 3)])."""
        s = self.stats
        return stats_vector(s["mean"], s["second"], s["pk"], self.k_potential)

    def starting_at(self, theta0: np.ndarray) -> FitProblem:
        """The same problem started from *theta0*."""
        return replace(self, theta0=theta0)


@dataclass(frozen=True)
class Schedule:
    """How long and how precisely a learner runs.

    Attributes
    ----------
    max_iter : int
        Iteration cap.
    tol, tol_rms : float
        Convergence targets of :meth:`Mismatch.converged` (Monte Carlo learners).
    max_samples : int
        Largest Monte Carlo sample per iteration and of the final check.
    start_samples : int
        Monte Carlo sample of the first iteration.
    progress : bool
        Show a progress bar.
    gradient_tol : float or None
        Pseudo-likelihood only: stop once every component of the gradient
        (per sample, a difference of moments) is within *gradient_tol* of the
        data's standard error of the matching statistic (a starting point for
        Monte Carlo learning needs no more). None: the optimiser's own
        tolerance.
    """

    max_iter: int
    tol: float = 1.5
    tol_rms: float = 1.0
    max_samples: int = 200_000
    start_samples: int = 20_000
    progress: bool = False
    gradient_tol: float | None = None


@dataclass(frozen=True)
class Outcome:
    """What a learner returns.

    Attributes
    ----------
    theta : ndarray
        The learned parameter vector.
    converged : bool
        The learner's own stopping rule was met.
    n_iter : int
        Iterations run.
    message : str
        Why it stopped when it did not converge ("" otherwise or when unknown).
    mismatch : Mismatch or None
        The mismatch measured at *theta* with the full sample when the Monte
        Carlo learners converged; None otherwise.
    history : ndarray
        Largest mismatch per iteration (Monte Carlo learners).
    n_samples : int
        The Monte Carlo sample size the learner ended with (0 for the others).
    """

    theta: np.ndarray
    converged: bool
    n_iter: int
    message: str = ""
    mismatch: Mismatch | None = None
    history: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_samples: int = 0


def exact_check(stats: dict, coding: str, k_potential: bool) -> Callable[[np.ndarray], Mismatch]:
    """Function: parameters theta -> their :class:`Mismatch` with the data, by exact enumeration."""
    n = stats["mean"].shape[0]

    def check(theta: np.ndarray) -> Mismatch:
        mean, second, pk, _, _ = exact_stats(*unpack(theta, n, k_potential), coding)
        m = stats_vector(mean, second, pk, k_potential)
        return data_mismatch(m, stats, coding, k_potential)

    return check


class Judge:
    """A Monte Carlo learner's verdict on moments measured at theta, and its record.

    A call returns the :class:`Mismatch` and ``"stop"`` (converged: the
    problem's exact *check* agrees, or the sample already had
    ``schedule.max_samples``), ``"confirm"`` (met on a smaller sample: measure
    again with ``max_samples``) or ``"continue"``. :attr:`history` records the
    largest mismatch of every call; *bar* (a progress bar) shows it when
    ``schedule.progress``.
    """

    def __init__(self, problem: FitProblem, schedule: Schedule, bar: Any) -> None:
        self.problem, self.schedule = problem, schedule
        self.history: list[float] = []
        self.bar = bar if schedule.progress else None

    def __call__(self, m, per_chain, n_used: int, theta) -> tuple[Mismatch, str]:
        p, s = self.problem, self.schedule
        mis = measure(m, per_chain, p.stats, p.coding, p.k_potential, n_used)
        self.history.append(mis.max_z)
        if self.bar is not None:
            self.bar.set_postfix(residual=f"{mis.max_z:.2f}", rms=f"{mis.rms:.2f}", samples=n_used)
        if not mis.converged(s.tol, s.tol_rms):
            return mis, "continue"
        if p.check is not None:  # exact moments: the final word, no Monte Carlo noise
            final = p.check(theta)
            return (final, "stop") if final.converged(s.tol, s.tol_rms) else (mis, "continue")
        return mis, "stop" if n_used >= 0.99 * s.max_samples else "confirm"


def mc_outcome(
    name: str, theta, converged: bool, n_done: int, mis: Mismatch, judge: Judge, n_samples: int
) -> Outcome:
    """The :class:`Outcome` of a Monte Carlo learner *name* ("boltzmann", "reweighting")."""
    message = (
        ""
        if converged
        else f"{name} learning stopped after {n_done} of {judge.schedule.max_iter} iterations"
    )
    return Outcome(
        theta,
        converged,
        n_done,
        message,
        mis if converged else None,
        np.asarray(judge.history),
        int(n_samples),
    )
