"""Pairwise and K-pairwise maximum-entropy (inverse Ising) models.

The model of N binary units x (coding ``"01"``: x in {0, 1}, the default for
spikes; coding ``"pm1"``: x in {-1, +1}, the Ising convention) is

    P(x) = exp( Σ_i h_i x_i + Σ_{i<j} J_ij x_i x_j + V(K) ) / Z,

with K the number of units in the "on" state (1 or +1). Positive J favours
co-activation. ``V`` is only present in the K-pairwise model of Tkacik et al.
(PLoS Comput Biol 10:e1003408, 2014); its gauge is ``V(0) = V(1) = V(2) = 0``.
See ``docs/maxent.md`` for the methods, conventions and validation.

This module holds the estimators' learning: parameter and data checks, the
choice of learner and starting point, and the verdict on the fit. The
fitted model's quantities are in :mod:`._pairwise_model`, the learners in
``_learn_*.py`` (one per method, one signature: :mod:`._learn`), goodness
of fit in :mod:`.goodness`, the independent model in :mod:`.independent`
(re-exported here, imported at the bottom because it subclasses
:class:`PairwiseMaxEnt`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import xarray as xr
from threadpoolctl import threadpool_limits

from .._threads import fit_threads
from .._validation import check_int, check_option, check_random_state, check_real
from .._warnings import once_per_call, warn_user
from . import _learn_boltzmann, _learn_exact, _learn_pseudolikelihood, _learn_reweighting
from ._chains import ChainSet, high_activity_fraction
from ._codings import CODINGS, convert_pairwise_coding, means_to01, pack, stats_vector, unpack
from ._enumerate import MAX_EXACT_UNITS
from ._learn import FitProblem, Schedule, exact_check
from ._mismatch import data_mismatch, families_dataset
from ._moments import data_statistics, exact_stats, poisson_binomial
from ._pairwise_model import AUTO_EXACT_UNITS, PairwiseModel, prepare_data
from ._sampler import seed_states
from ._start import FORBIDDEN, PARAM_BOUND, count_matched_theta, independent_theta, param_bound

__all__ = [
    "PairwiseMaxEnt",
    "KPairwiseMaxEnt",
    "IndependentMaxEnt",
    "convert_pairwise_coding",
    "MaxEntConvergenceWarning",
    "HighActivityModeWarning",
]

METHODS = ("auto", "exact", "pseudolikelihood", "boltzmann", "reweighting")
INITS = ("auto", "pseudolikelihood", "independent")
PL_INIT_MAX_COST = 2e9  # N^2 T above which init="auto" starts Boltzmann learning from J = 0
PL_START_TOL = 0.5  # reweighting's pseudo-likelihood start: gradient within this many data SE
LEARNERS = {
    "exact": _learn_exact.learn,
    "pseudolikelihood": _learn_pseudolikelihood.learn,
    "boltzmann": _learn_boltzmann.learn,
    "reweighting": _learn_reweighting.learn,
}


class MaxEntConvergenceWarning(UserWarning):
    """A maximum-entropy fit stopped before matching the data within its error."""


class HighActivityModeWarning(UserWarning):
    """A fitted model has a second, high-activity state its Monte Carlo moments do not include."""


class PairwiseMaxEnt(PairwiseModel):
    """Pairwise maximum-entropy (inverse Ising) model of binary activity.

    Parameters
    ----------
    method : {"auto", "exact", "pseudolikelihood", "boltzmann", "reweighting"}
        ``"exact"`` maximises the exact likelihood by enumerating the 2^N
        states (N <= 24); ``"pseudolikelihood"`` maximises the symmetric
        pseudo-likelihood (fast, approximate: it does not match moments
        exactly); ``"boltzmann"`` is Boltzmann learning with persistent
        Gibbs chains, started from the pseudo-likelihood solution and run
        until the moments match the data within *tol* standard errors;
        ``"reweighting"`` replaces each gradient step by the maximum of the
        likelihood reweighted from the current Monte Carlo sample
        (histogram reweighting, Broderick et al. 2007), which keeps
        strongly coupled populations (e.g. 160 retinal neurons) from
        overshooting into high-activity states; same stopping rule.
        ``"auto"``: exact for N <= 20, reweighting otherwise: on a 40-unit
        subset of the shipped retina Boltzmann learning stopped after 400
        iterations 13 standard errors off with every family biased low
        (mean z -3.0), while reweighting converged in 17 iterations (78 s;
        docs/maxent.md, "Which learner for N > 20").
    l2 : float
        L2 penalty ``l2/2 * |theta|^2`` on all parameters (h, J and V) added
        to the negative log-likelihood per sample.
    coding : {"01", "pm1"}
        Coding of the model's variables: ``"01"`` (x in {0, 1}, spikes) or
        ``"pm1"`` (x in {-1, +1}, Ising spins). Data in either coding are
        accepted and recoded. ``h_`` and ``J_`` are in this coding.
    k_potential : bool
        Add the K-pairwise count potential V(K) (Tkacik et al. 2014).
        Counts K >= 3 never seen in the data get ``V(K) = -inf`` (stored as
        -1e4), their maximum-likelihood value: P(K) = 0 there as in the
        data. ``forbidden_counts_`` lists them.
    max_iter : int, optional
        Iteration cap (default 2000 for exact/pseudolikelihood, 400 for the Monte Carlo
        learners).
    tol : float
        Convergence target for the largest ``|model - data|`` of the means,
        second moments (and P(K)), in comparison standard errors: the data's
        block standard error, or the error the data would have under the
        model if that is larger (statistics seen a handful of times). For
        Monte Carlo fits the target is ``tol`` plus the typical largest Monte
        Carlo error over all statistics (``mc_allowance_``), since no
        estimate of thousands of model moments is noise-free.
    tol_rms : float
        Convergence target for the root-mean-square mismatch over all
        statistics, in the same units, after removing the Monte Carlo
        noise's share (1 = the model is as far from the data as the data's
        own sampling error). Each family of statistics (means, second
        moments, P(K)) must also pass on its own: its rms below *tol_rms*
        and its bias ``mean z * sqrt(n)`` within 3 plus its Monte Carlo
        allowance (``residual_families_``).
    n_chains : int
        Persistent Gibbs chains (run in parallel threads).
    max_samples : int, optional
        Largest Monte Carlo sample (sweeps x chains) per learning iteration,
        and the sample of the final convergence check (its noise sets
        ``mc_allowance_``); default ``max(20 T, 200000)`` for T data samples.
    init : {"auto", "pseudolikelihood", "independent"}
        Starting point of Boltzmann and reweighting learning. ``"auto"`` uses
        the pseudo-likelihood fit when ``N^2 T <= 2e9`` (where it costs
        seconds) and the independent model (J = 0) otherwise. For
        reweighting the pseudo-likelihood start stops once its gradient is
        within ``PL_START_TOL`` (0.5) data standard errors: the reweighted
        steps refine it with the full likelihood.
    random_state : None, int or numpy.random.Generator
        Seeds the chains, the initial states and predictions.
    progress : bool
        Show a progress bar during Boltzmann learning.

    Attributes
    ----------
    h_ : ndarray (N,)
    J_ : ndarray (N, N), symmetric, zero diagonal
    V_ : ndarray (N+1,) or None
    n_units_, n_samples_ : int
    units_ : ndarray of unit labels
    method_ : str, the method actually used
    converged_ : bool
    n_iter_ : int
    forbidden_counts_ : ndarray of the counts K with V(K) = -inf (K-pairwise; else empty)
    residual_ : float, largest moment mismatch in comparison standard errors
    residual_rms_ : float, rms moment mismatch (Monte Carlo noise removed)
    mc_allowance_ : float, typical largest Monte Carlo error (0 for exact moments)
    residual_families_ : xarray.Dataset on a ``family`` dim (means, second_moments
        and, K-pairwise, count_distribution): ``n``, ``max_z``, ``rms_z`` (Monte
        Carlo share removed), ``mean_z``, ``bias`` (mean z * sqrt(n)) and
        ``bias_allowance``; a family fails when rms_z >= tol_rms or
        ``|bias| >= 3 + bias_allowance``
    high_activity_fraction_ : float, share of sweeps above the data's largest count
        of Gibbs chains started with every unit active (NaN for exact fits; > 0.5
        warns with HighActivityModeWarning)
    log_likelihood_ : float, mean log-likelihood per sample (nats; NaN for N > 24)
    history_ : ndarray, residual per Boltzmann iteration
    data_stats_ : dict of the data's moments and their standard errors

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> rng = np.random.default_rng(0)
    >>> act = rgdata.as_activity((rng.random((8, 5000)) < 0.3).astype(int), kind="spikes")
    >>> m = PairwiseMaxEnt(method="exact").fit(act)
    >>> m.J_.shape
    (8, 8)
    """

    def __init__(
        self,
        method: str = "auto",
        *,
        l2: float = 0.0,
        coding: str = "01",
        k_potential: bool = False,
        max_iter: int | None = None,
        tol: float = 1.5,
        tol_rms: float = 1.0,
        n_chains: int = 8,
        max_samples: int | None = None,
        init: str = "auto",
        random_state: Any = None,
        progress: bool = False,
    ) -> None:
        self.method = method
        self.l2 = l2
        self.coding = coding
        self.k_potential = k_potential
        self.max_iter = max_iter
        self.tol = tol
        self.tol_rms = tol_rms
        self.n_chains = n_chains
        self.max_samples = max_samples
        self.init = init
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        check_option(self.method, "method", METHODS)
        check_option(self.coding, "coding", CODINGS)
        check_option(self.init, "init", INITS)
        check_real(self.l2, "l2", min_value=0.0)
        check_real(self.tol, "tol", min_value=0.0, strict_min=True)
        check_real(self.tol_rms, "tol_rms", min_value=0.0, strict_min=True)
        check_int(self.n_chains, "n_chains", min_value=1)
        if self.max_iter is not None:
            check_int(self.max_iter, "max_iter", min_value=1)
        if self.max_samples is not None:
            check_int(self.max_samples, "max_samples", min_value=100)
        if not isinstance(self.k_potential, bool | np.bool_):
            raise TypeError(f"k_potential must be a bool, got {self.k_potential!r}")

    def _check_data(self, x: np.ndarray, units: np.ndarray) -> None:
        t, n = x.shape
        on = x > 0
        const = np.flatnonzero(on.all(0) | (~on).all(0))
        if const.size:
            shown = ", ".join(str(u) for u in units[const][:5])
            msg = (
                f"activity has {const.size} constant unit(s) ({shown}): a unit that never "
                "(or always) fires has an infinite maximum-entropy field"
            )
            if self.l2 == 0:
                raise ValueError(
                    msg + ". Drop them (activity.drop_sel(unit=[...])) or pass l2 > 0, "
                    "which keeps their field finite"
                )
            warn_user(msg + f"; their fields are kept finite by l2={self.l2}")
        n_par = n * (n + 1) // 2 + (n - 2 if self.k_potential else 0)
        if t < n_par and self.l2 == 0:
            raise ValueError(
                f"activity has {t} time samples for {n_par} parameters (N(N+1)/2 with N={n}); "
                "at least as many samples as parameters are needed without regularization: "
                "pass l2 > 0 or use fewer units"
            )
        if t < 10 * n_par:
            warn_user(
                f"only {t} time samples for {n_par} parameters (fewer than 10 per parameter): "
                "couplings will be noisy; consider l2 > 0"
            )

    @once_per_call
    def fit(self, activity: xr.DataArray) -> PairwiseMaxEnt:
        """Fit the model to binary Activity.

        Parameters
        ----------
        activity : xarray.DataArray
            ``(unit, time)`` or ``(trial, unit, time)`` (trials are stacked
            into time), coded 0/1 or -1/+1; every time bin is one sample.

        Returns
        -------
        self

        Raises
        ------
        ValueError, TypeError
            For bad parameters or data (the message names the argument).

        Notes
        -----
        Everything a previous ``fit`` learned (parameters, Monte Carlo chains,
        caches) is discarded first: a refit on other data or with another
        method gives the same result as a fresh estimator. The numba kernels
        run on at most as many threads as there are idle cores (the 1-minute
        load average; capped by ``numba.get_num_threads()``): on busy cores a
        second thread slows a fit down. The result does not depend on it.
        """
        self._reset_fit_state()
        self._check_params()
        # the matrix products here are small or skinny: one BLAS thread is faster and
        # avoids oversubscription next to the numba threads; numba uses the idle cores only
        with threadpool_limits(limits=1, user_api="blas"), fit_threads():
            return self._fit(activity)

    def _fit(self, activity: xr.DataArray) -> PairwiseMaxEnt:
        k_pot = bool(self.k_potential)
        x, units, data_coding = prepare_data(activity, self.coding)
        t, n = x.shape
        method = self.method
        if method == "auto":
            method = "exact" if n <= AUTO_EXACT_UNITS else "reweighting"
        if method == "exact" and n > MAX_EXACT_UNITS:
            raise ValueError(
                f"method='exact' enumerates 2^N states and accepts N <= {MAX_EXACT_UNITS} "
                f"units; got N={n}. Use method='boltzmann' or 'pseudolikelihood'"
            )
        if method == "exact" and n > AUTO_EXACT_UNITS:
            warn_user(
                f"method='exact' with N={n} units enumerates 2^{n} states per iteration: slow"
            )
        self._check_data(x, units)
        rng = check_random_state(self.random_state)
        stats = data_statistics(x, self.coding)
        n_extra = n * (n - 1) // 2 + (n - 2 if k_pot else 0)
        theta0 = independent_theta(stats["mean"], self.coding, n_extra)
        fixed = None
        self.forbidden_counts_ = np.zeros(0, np.int64)
        if k_pot:
            # counts never seen in the data: V = -inf is their maximum-likelihood value
            unseen = np.flatnonzero(stats["pk"][3:] == 0)
            fixed = np.zeros(len(theta0), bool)
            fixed[n + n * (n - 1) // 2 + unseen] = True
            theta0[fixed] = FORBIDDEN
            self.forbidden_counts_ = unseen + 3
        problem = FitProblem(stats, self.coding, k_pot, theta0, self.l2, fixed, x)
        outcome = self._learn(method, problem, rng)
        theta = outcome.theta
        self.history_ = outcome.history
        self._fit_mismatch = outcome.mismatch
        h, J, V = unpack(theta, n, k_pot)
        self.h_, self.J_, self.V_ = h, J, V
        self.n_units_, self.n_samples_ = n, t
        self.units_ = units
        self.method_ = method
        self.data_coding_ = data_coding
        self.data_stats_ = stats
        self.n_iter_ = int(outcome.n_iter)
        at_bound = np.abs(theta) >= param_bound(n, len(theta)) - 1e-9
        self.n_at_bound_ = int(np.sum(at_bound if fixed is None else at_bound & ~fixed))
        self._rng = rng
        self._cache: dict[str, Any] = {}
        self._finish(outcome.converged, outcome.message)
        return self

    def _learn(self, method: str, problem: FitProblem, rng: np.random.Generator):
        """Run the learner of *method* from its starting point; returns its Outcome.

        Boltzmann and reweighting learning start from the pseudo-likelihood
        fit, from the count-matched independent model (K-pairwise) or from
        the independent model (``init``), with persistent Gibbs chains
        started at data patterns drawn by *rng*.
        """
        x, n = problem.x, problem.n_units
        t = x.shape[0]
        if method == "exact":
            return LEARNERS[method](problem, None, Schedule(self.max_iter or 2000))
        max_iter = self.max_iter or (2000 if method == "pseudolikelihood" else 400)
        init = self.init
        if init == "auto":
            init = "pseudolikelihood" if n * n * t <= PL_INIT_MAX_COST else "independent"
        mc = method in ("boltzmann", "reweighting")
        self.init_ = init if mc else "independent"
        if method == "pseudolikelihood" or init == "pseudolikelihood":
            # reweighting refines the start with the full likelihood of each sample, so
            # the pseudo-likelihood start stops within PL_START_TOL data SE; Boltzmann
            # learning's small gradient steps need the optimum
            pl_schedule = {
                "pseudolikelihood": Schedule(max_iter),
                "reweighting": Schedule(500, gradient_tol=PL_START_TOL),
            }.get(method, Schedule(500))
            start = LEARNERS["pseudolikelihood"](problem, None, pl_schedule)
            if not mc:
                return start
            problem = problem.starting_at(start.theta)
        elif problem.k_potential:
            m01 = means_to01(problem.stats["mean"], self.coding)
            theta = count_matched_theta(
                m01, problem.stats["pk"], poisson_binomial(m01), self.coding, problem.fixed
            )
            problem = problem.starting_at(theta)
        start_states = (x[rng.integers(0, t, size=self.n_chains)] > 0).astype(np.int8)
        self._chains = ChainSet(start_states, seed_states(rng, self.n_chains))
        max_samples = self.max_samples or max(20 * t, 200_000)
        floor = 20_000 if method == "boltzmann" else 200_000
        if n <= AUTO_EXACT_UNITS:
            problem = replace(
                problem, check=exact_check(problem.stats, self.coding, problem.k_potential)
            )
        schedule = Schedule(
            max_iter,
            self.tol,
            self.tol_rms,
            max_samples,
            min(max(floor, 2 * t // 10), max_samples),
            self.progress,
        )
        return LEARNERS[method](problem, self._chains, schedule)

    def _check_high_activity(self) -> None:
        """Look for a high-activity mode that data-started chains cannot reach (Monte Carlo)."""
        self.high_activity_fraction_ = float("nan")
        if self._use_exact():
            return  # exact moments include every state
        k_max = int(np.flatnonzero(self.data_stats_["pk"] > 0).max())
        frac = high_activity_fraction(self.h_, self.J_, self.V_, self.coding, k_max)
        self.high_activity_fraction_ = frac
        if frac > 0.5:
            warn_user(
                f"{type(self).__name__}: Gibbs chains started with all {self.n_units_} units "
                f"active stay above K = {k_max} active units (the data's largest count) in "
                f"{100 * frac:.0f}% of sweeps: the fitted model has a second, high-activity "
                "state that chains started from data patterns never reach (Rostami et al. "
                "2017). Its Monte Carlo moments, and this fit, describe the low-activity state "
                "only, and the weight of the other state is unknown. KPairwiseMaxEnt, whose "
                "V(K) excludes counts never seen, cannot have such a state.",
                HighActivityModeWarning,
            )

    def _finish(self, ok: bool, message: str) -> None:
        """Compute residual_ / log_likelihood_ and warn when the fit is not good enough."""
        stats = self.data_stats_
        k_pot = self.V_ is not None
        d = stats_vector(stats["mean"], stats["second"], stats["pk"], k_pot)
        if self._fit_mismatch is not None and not self._use_exact():
            mis = self._fit_mismatch
        else:
            m = stats_vector(*self._model_moments(), k_pot)
            mis = data_mismatch(
                m,
                stats,
                self.coding,
                k_pot,
                self._cache.get("mc_se"),
                self._cache.get("per_chain"),
            )
        self.residual_ = mis.max_z
        self.residual_rms_ = mis.rms
        self.mc_allowance_ = mis.allowance
        self.residual_families_ = families_dataset(mis)
        if self.n_units_ <= MAX_EXACT_UNITS:
            _, _, _, log_z, _ = exact_stats(self.h_, self.J_, self.V_, self.coding)
            theta = pack(self.h_, self.J_, self.V_)
            self.log_likelihood_ = float(theta @ d - log_z)
        else:
            self.log_likelihood_ = float("nan")
        self.converged_ = bool(ok and mis.converged(self.tol, self.tol_rms))
        self._check_high_activity()
        if not self.converged_:
            why = []
            if not ok:
                why.append(f"the optimiser stopped ({message or 'iteration limit'})")
            if mis.max_z >= self.tol + mis.allowance:
                noise = f" + {mis.allowance:.2f} Monte Carlo allowance" if mis.allowance else ""
                why.append(
                    f"the largest moment mismatch is {mis.max_z:.2f} standard errors "
                    f"(tol={self.tol}{noise})"
                )
            if mis.rms >= self.tol_rms:
                why.append(
                    f"the rms moment mismatch is {mis.rms:.2f} standard errors "
                    f"(tol_rms={self.tol_rms})"
                )
            failing = mis.failing_families(self.tol_rms)
            if failing:
                why.append("a family of statistics fails on its own (" + "; ".join(failing) + ")")
            hint = ""
            if self.method_ == "pseudolikelihood":
                hint = "; pseudolikelihood does not match moments exactly: use method='boltzmann'"
            elif self.l2 > 0:
                hint = f"; l2={self.l2} trades moment matching for smaller parameters"
            else:
                hint = "; raise max_iter / max_samples"
            warn_user(
                f"{type(self).__name__} ({self.method_}) did not converge: "
                + " and ".join(why)
                + hint,
                MaxEntConvergenceWarning,
            )
        if self.n_at_bound_:
            warn_user(
                f"{self.n_at_bound_} parameter(s) reached the bound +-{PARAM_BOUND} "
                "(+-N times that for V) "
                "(statistics never or always observed in the data, e.g. pairs that never "
                "co-fire); their maximum-likelihood value is infinite. Use l2 > 0 to regularize"
            )


class KPairwiseMaxEnt(PairwiseMaxEnt):
    """K-pairwise maximum-entropy model (Tkacik et al., PLoS Comput Biol 2014).

    The pairwise model plus a potential V(K) on the number K of active units,
    so that the model reproduces P(K) in addition to means and second
    moments. Gauge: ``V(0) = V(1) = V(2) = 0``. Same parameters as
    :class:`PairwiseMaxEnt` (with ``k_potential=True``); ``V_`` holds the
    learned potential for K = 0..N.
    """

    def __init__(
        self,
        method: str = "auto",
        *,
        l2: float = 0.0,
        coding: str = "01",
        max_iter: int | None = None,
        tol: float = 1.5,
        tol_rms: float = 1.0,
        n_chains: int = 8,
        max_samples: int | None = None,
        init: str = "auto",
        random_state: Any = None,
        progress: bool = False,
    ) -> None:
        super().__init__(
            method,
            l2=l2,
            coding=coding,
            k_potential=True,
            max_iter=max_iter,
            tol=tol,
            tol_rms=tol_rms,
            n_chains=n_chains,
            max_samples=max_samples,
            init=init,
            random_state=random_state,
            progress=progress,
        )


from .independent import IndependentMaxEnt  # noqa: E402  (it subclasses PairwiseMaxEnt)
