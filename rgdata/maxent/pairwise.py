"""Pairwise and K-pairwise maximum-entropy (inverse Ising) models.

The model of N binary units x (coding ``"01"``: x in {0, 1}, the default for
spikes; coding ``"pm1"``: x in {-1, +1}, the Ising convention) is

    P(x) = exp( Σ_i h_i x_i + Σ_{i<j} J_ij x_i x_j + V(K) ) / Z,

with K the number of units in the "on" state (1 or +1). Positive J favours
co-activation. ``V`` is only present in the K-pairwise model of Tkacik et al.
(PLoS Comput Biol 10:e1003408, 2014); its gauge is ``V(0) = V(1) = V(2) = 0``.
See ``docs/maxent.md`` for the methods, conventions and validation.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import xarray as xr
from threadpoolctl import threadpool_limits

from .._estimator import Estimator
from .._validation import (
    check_binary,
    check_int,
    check_option,
    check_random_state,
    check_real,
)
from .._warnings import once_per_call, warn_user
from ..activity import check_activity, stack_trials
from . import _pairwise_fit as _pf
from ._enumerate import MAX_EXACT_UNITS, ExactModel
from ._sampler import gibbs_samples, seed_states

__all__ = [
    "PairwiseMaxEnt",
    "KPairwiseMaxEnt",
    "IndependentMaxEnt",
    "convert_pairwise_coding",
    "MaxEntConvergenceWarning",
    "HighActivityModeWarning",
]

METHODS = ("auto", "exact", "pseudolikelihood", "boltzmann", "reweighting")
CODINGS = ("01", "pm1")
INITS = ("auto", "pseudolikelihood", "independent")
PL_INIT_MAX_COST = 2e9  # N^2 T above which init="auto" starts Boltzmann learning from J = 0
AUTO_EXACT_UNITS = 20


class MaxEntConvergenceWarning(UserWarning):
    """A maximum-entropy fit stopped before matching the data within its error."""


class HighActivityModeWarning(UserWarning):
    """A fitted model has a second, high-activity state its Monte Carlo moments do not include."""


def convert_pairwise_coding(
    h: Any, J: Any, source: str, target: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite fields and couplings of a pairwise model in another coding.

    The two parametrisations describe exactly the same distribution over
    patterns (x01 = (xpm1 + 1) / 2): ``J01 = 4 Jpm1`` and
    ``h01 = 2 hpm1 - 2 Σ_j Jpm1_ij``. A count potential V(K) is the same in
    both codings.

    Parameters
    ----------
    h : (N,) array-like
    J : (N, N) array-like, symmetric with zero diagonal
    source, target : {"01", "pm1"}

    Returns
    -------
    h, J : numpy arrays in the *target* coding.

    Examples
    --------
    >>> h, J = convert_pairwise_coding([0.0, 0.0], [[0, 1.0], [1.0, 0]], "pm1", "01")
    >>> float(J[0, 1]), float(h[0])
    (4.0, -2.0)
    """
    check_option(source, "source", CODINGS)
    check_option(target, "target", CODINGS)
    h = np.asarray(h, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    if h.ndim != 1 or J.shape != (h.size, h.size):
        raise ValueError(
            f"h must be (N,) and J (N, N); got h of shape {h.shape} and J of shape {J.shape}"
        )
    if not np.allclose(J, J.T) or np.any(np.diag(J) != 0):
        raise ValueError("J must be symmetric with a zero diagonal")
    h01, J01 = _pf.params_to01(h, J, source)
    return _pf.params_from01(h01, J01, target)


def _prepare_data(activity: Any, coding: str, name: str = "activity"):
    """Validate binary Activity and return (x (T, N) float32 in *coding*, units, data coding)."""
    activity = check_activity(activity, binary=True, allow_constant=True, name=name)
    if "trial" in activity.dims:
        activity = stack_trials(activity)
    values = activity.values
    data_coding = check_binary(values, name)
    x = _pf.to_coding(values.T, data_coding, coding)
    return x, activity["unit"].values, data_coding


def _poisson_binomial(p: np.ndarray) -> np.ndarray:
    """Exact distribution of the number of successes of independent Bernoullis."""
    dist = np.zeros(p.size + 1)
    dist[0] = 1.0
    for i, pi in enumerate(p):
        dist[1 : i + 2] = dist[1 : i + 2] * (1 - pi) + dist[: i + 1] * pi
        dist[0] *= 1 - pi
    return dist


def _binary_entropy(p: np.ndarray) -> float:
    p = np.clip(p, 1e-300, 1.0)
    q = np.clip(1.0 - p, 1e-300, 1.0)
    return float(-np.sum(p * np.log(p) + q * np.log(q)))


class PairwiseMaxEnt(Estimator):
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
        accepted and recoded. h_ and J_ are in this coding.
    k_potential : bool
        Add the K-pairwise count potential V(K) (Tkacik et al. 2014).
        Counts K >= 3 never seen in the data get ``V(K) = -inf`` (stored as
        -1e4), their maximum-likelihood value: P(K) = 0 there as in the
        data. ``forbidden_counts_`` lists them.
    max_iter : int, optional
        Iteration cap (default 2000 for exact/pseudolikelihood, 400 for the Monte Carlo
        learners).
    tol : float
        Convergence target for the largest |model - data| of the means,
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
        Starting point of Boltzmann learning. ``"auto"`` uses the
        pseudo-likelihood fit when ``N^2 T <= 2e9`` (where it costs seconds)
        and the independent model (J = 0) otherwise.
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
        |bias| >= 3 + bias_allowance
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

    _k_default = False
    _fitted_attribute = "h_"
    _fit_call = "fit(activity)"

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
        method gives the same result as a fresh estimator.
        """
        self._reset_fit_state()
        self._check_params()
        # the matrix products here are small or skinny: one BLAS thread is faster and
        # avoids oversubscription next to the numba threads
        with threadpool_limits(limits=1, user_api="blas"):
            return self._fit(activity)

    def _fit(self, activity: xr.DataArray) -> PairwiseMaxEnt:
        k_pot = bool(self.k_potential)
        x, units, data_coding = _prepare_data(activity, self.coding)
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
        stats = _pf.data_statistics(x, self.coding)
        n_extra = n * (n - 1) // 2 + (n - 2 if k_pot else 0)
        theta0 = _pf.independent_theta(stats["mean"], self.coding, n_extra)
        fixed = None
        self.forbidden_counts_ = np.zeros(0, np.int64)
        if k_pot:
            # counts never seen in the data: V = -inf is their maximum-likelihood value
            unseen = np.flatnonzero(stats["pk"][3:] == 0)
            fixed = np.zeros(len(theta0), bool)
            fixed[n + n * (n - 1) // 2 + unseen] = True
            theta0[fixed] = _pf.FORBIDDEN
            self.forbidden_counts_ = unseen + 3
        self.history_ = np.zeros(0)
        self._fit_mismatch = None
        message = ""
        if method == "exact":
            max_iter = self.max_iter or 2000
            theta, ok, n_iter, message = _pf.fit_exact(
                stats, self.coding, theta0, k_pot, self.l2, max_iter, fixed
            )
        else:
            max_iter = self.max_iter or (2000 if method == "pseudolikelihood" else 400)
            init = self.init
            if init == "auto":
                init = "pseudolikelihood" if n * n * t <= PL_INIT_MAX_COST else "independent"
            if method == "pseudolikelihood" or init == "pseudolikelihood":
                pl_iter = max_iter if method == "pseudolikelihood" else 500
                theta_pl, ok, n_iter, message = _pf.fit_pseudolikelihood(
                    x, self.coding, theta0, self.l2, pl_iter
                )
                theta = np.concatenate([theta_pl, theta0[len(theta_pl) :]])
            elif k_pot:
                m01 = _pf.means_to01(stats["mean"], self.coding)
                theta = _pf.count_matched_theta(
                    m01, stats["pk"], _poisson_binomial(m01), self.coding, fixed
                )
            else:
                theta = theta0
            mc = method in ("boltzmann", "reweighting")
            self.init_ = init if mc else "independent"
            if mc:
                start = x[rng.integers(0, t, size=self.n_chains)]
                states01 = (start > 0).astype(np.int8)
                self._chains = _pf.ChainSet(states01, seed_states(rng, self.n_chains))
                max_samples = self.max_samples or max(20 * t, 200_000)
                floor = 20_000 if method == "boltzmann" else 200_000
                start_samples = min(max(floor, 2 * t // 10), max_samples)
                learner = _pf.fit_boltzmann if method == "boltzmann" else _pf.fit_reweighting
                theta, ok, n_iter, mis, history, _ = learner(
                    stats,
                    self.coding,
                    theta,
                    k_pot,
                    self.l2,
                    self.tol,
                    max_iter,
                    self._chains,
                    max_samples,
                    start_samples,
                    tol_rms=self.tol_rms,
                    check=self._exact_check(stats, k_pot) if n <= AUTO_EXACT_UNITS else None,
                    progress=self.progress,
                    fixed=fixed,
                )
                self.history_ = history
                # the pseudo-likelihood start's message does not describe this learner
                message = (
                    ""
                    if ok
                    else f"{method} learning stopped after {n_iter} of {max_iter} iterations"
                )
                if ok:  # measured with max_samples at the final parameters
                    self._fit_mismatch = mis
        h, J, V = _pf.unpack(theta, n, k_pot)
        self.h_, self.J_, self.V_ = h, J, V
        self.n_units_, self.n_samples_ = n, t
        self.units_ = units
        self.method_ = method
        self.data_coding_ = data_coding
        self.data_stats_ = stats
        self.n_iter_ = int(n_iter)
        at_bound = np.abs(theta) >= _pf.param_bound(n, len(theta)) - 1e-9
        self.n_at_bound_ = int(np.sum(at_bound if fixed is None else at_bound & ~fixed))
        self._rng = rng
        self._cache: dict[str, Any] = {}
        self._finish(ok, message)
        return self

    def _exact_check(self, stats: dict, k_pot: bool):
        """Function: parameters theta -> their Mismatch with the data, by exact enumeration."""
        n = stats["mean"].shape[0]

        def check(theta: np.ndarray) -> _pf.Mismatch:
            mean, second, pk, _, _ = _pf.exact_stats(*_pf.unpack(theta, n, k_pot), self.coding)
            m = _pf.stats_vector(mean, second, pk, k_pot)
            return _pf.data_mismatch(m, stats, self.coding, k_pot)

        return check

    def _check_high_activity(self) -> None:
        """Look for a high-activity mode that data-started chains cannot reach (Monte Carlo)."""
        self.high_activity_fraction_ = float("nan")
        if self._use_exact():
            return  # exact moments include every state
        k_max = int(np.flatnonzero(self.data_stats_["pk"] > 0).max())
        frac = _pf.high_activity_fraction(self.h_, self.J_, self.V_, self.coding, k_max)
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
        d = _pf.stats_vector(stats["mean"], stats["second"], stats["pk"], k_pot)
        if self._fit_mismatch is not None and not self._use_exact():
            mis = self._fit_mismatch
        else:
            m = _pf.stats_vector(*self._model_moments(), k_pot)
            mis = _pf.data_mismatch(
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
        self.residual_families_ = _families_dataset(mis)
        if self.n_units_ <= MAX_EXACT_UNITS:
            _, _, _, log_z, _ = _pf.exact_stats(self.h_, self.J_, self.V_, self.coding)
            theta = _pf.pack(self.h_, self.J_, self.V_)
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
                f"{self.n_at_bound_} parameter(s) reached the bound +-{_pf.PARAM_BOUND} "
                "(+-N times that for V) "
                "(statistics never or always observed in the data, e.g. pairs that never "
                "co-fire); their maximum-likelihood value is infinite. Use l2 > 0 to regularize"
            )

    # ------------------------------------------------------------------ model quantities
    def _params01(self):
        h01, J01 = _pf.params_to01(self.h_, self.J_, self.coding)
        return h01, J01, self.V_

    def _exact(self) -> ExactModel:
        if "exact" not in self._cache:
            self._cache["exact"] = ExactModel(*self._params01())
        return self._cache["exact"]

    def _mc_samples(self, n_samples: int | None = None, random_state: Any = None) -> np.ndarray:
        """Cached Gibbs sample of the model, 0/1 coding, (n, N)."""
        n_samples = n_samples or 200_000
        key = f"mc_{n_samples}"
        if random_state is not None or key not in self._cache:
            rng = self._rng if random_state is None else check_random_state(random_state)
            x01 = self._gibbs(n_samples, rng)
            if random_state is not None:
                return x01
            self._cache[key] = x01
        return self._cache[key]

    def _gibbs(self, n: int, rng: np.random.Generator, thin: int = 2) -> np.ndarray:
        h01, J01, V = self._params01()
        n_chains = self.n_chains
        per = int(np.ceil(n / n_chains))
        states = (rng.random((n_chains, self.n_units_)) < 0.5).astype(np.int8)
        if hasattr(self, "_chains"):
            states = self._chains.states.copy()
        use_v = V is not None
        out = gibbs_samples(
            h01,
            np.ascontiguousarray(J01),
            V if use_v else np.zeros(self.n_units_ + 1),
            use_v,
            states,
            seed_states(rng, n_chains),
            per,
            thin,
            500,
        )
        return out.reshape(-1, self.n_units_)[:n]

    def _use_exact(self) -> bool:
        return self.n_units_ <= AUTO_EXACT_UNITS

    def _model_moments(self):
        """Means, second moments and P(K) of the model, in the model's coding."""
        if "moments" in self._cache:
            return self._cache["moments"]
        if self._use_exact():
            m01, s01 = self._exact().moments()
            pk = self._exact().count_distribution()
            mean, second = _pf.moments_from01(m01, s01, self.coding)
        elif hasattr(self, "_chains") and self.method_ in ("boltzmann", "reweighting"):
            n = max(20 * self.n_samples_, 200_000)
            n = min(n, self.max_samples or n)
            chains = _pf.ChainSet(self._chains.states.copy(), seed_states(self._rng, self.n_chains))
            mean, second, pk, n_used = chains.stats(self.h_, self.J_, self.V_, self.coding, n)
            per_chain = chains.chain_vectors(self.coding, self.V_ is not None)
            self._record_mc_error(mean, second, pk, per_chain, n_used)
            sums, pairs, khist, sweeps = chains.last_chain_sums
            self._cache["chain_moments"] = [
                (
                    *_pf._moments01_to(sums[c], pairs[c], float(sweeps), self.coding),
                    khist[c] / sweeps,
                )
                for c in range(sums.shape[0])
            ]
            self._cache["moments"] = (mean, second, pk)
            return self._cache["moments"]
        else:
            x01 = self._mc_samples()
            mean, second, pk = _dense_moments(x01, self.coding)
            per = int(np.ceil(len(x01) / self.n_chains))  # rows are chain-major
            k_pot = self.V_ is not None
            chain_moments = [
                _dense_moments(x01[c : c + per], self.coding) for c in range(0, len(x01), per)
            ]
            self._cache["chain_moments"] = chain_moments
            per_chain = [_pf.stats_vector(*cm, k_pot) for cm in chain_moments]
            self._record_mc_error(mean, second, pk, np.array(per_chain), len(x01))
        self._cache["moments"] = (mean, second, pk)
        return self._cache["moments"]

    def _record_mc_error(self, mean, second, pk, per_chain, n_used: int) -> None:
        """Cache the Monte Carlo standard error of the model's statistics (from chain spread)."""
        m = _pf.stats_vector(mean, second, pk, self.V_ is not None)
        self._cache["mc_se"] = _pf.chain_error(per_chain, m, self.coding, self.n_units_, n_used)[0]
        self._cache["per_chain"] = np.asarray(per_chain)
        self._cache["mc_n_used"] = int(n_used)

    def _moment_mc_errors(self, iu) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Monte Carlo errors of the predicted means, covariances (pairs *iu*) and P(K).

        Zeros for exact predictions. Otherwise from the spread between the
        chains of the cached model moments (:func:`_pf.spread_error`); the
        covariance's independent-sample variance is approximated by
        ``v_i v_j + c_ij^2`` (Isserlis), so its tau is not floored at 1.
        """
        n = self.n_units_
        if self._use_exact():
            return np.zeros(n), np.zeros(len(iu[0])), np.zeros(n + 1)
        mean, second, pk = self._model_moments()
        chain = self._cache["chain_moments"]
        n_used = self._cache["mc_n_used"]
        means = np.array([c[0] for c in chain])
        covs = np.array([(c[1] - np.outer(c[0], c[0]))[iu] for c in chain])
        pks = np.array([c[2] for c in chain])
        var = np.maximum(_pf.stat_variance(mean, self.coding, n), 0.0)
        cov = (second - np.outer(mean, mean))[iu]
        se_mean = _pf.spread_error(means, var / n_used)[0]
        se_cov = _pf.spread_error(covs, (var[iu[0]] * var[iu[1]] + cov**2) / n_used, False)[0]
        se_pk = _pf.spread_error(pks, pk * (1.0 - pk) / n_used)[0]
        return se_mean, se_cov, se_pk

    def _three_point_mc(self, tri: np.ndarray, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
        """Connected three-point correlations from a Gibbs sample and their Monte Carlo error.

        The sample's rows are chain-major (``n_chains`` chains); the error is
        :func:`_pf.spread_error` of the per-chain estimates (each chain's mean
        of ``dx_i dx_j dx_k``, centred at the pooled means), with the variance
        of ``dx_i dx_j dx_k`` over the sample as the independent-sample
        variance.
        """
        x = _pf.to_coding(self._mc_samples(n_samples), "01", self.coding).astype(np.float32)
        xc = x - x.mean(0, dtype=np.float64).astype(np.float32)
        n_rows = len(x)
        per = int(np.ceil(n_rows / self.n_chains))
        starts = np.arange(0, n_rows, per)
        c3 = np.empty(len(tri))
        iid = np.empty(len(tri))
        per_chain = np.empty((len(starts), len(tri)))
        for s in range(0, len(tri), 64):
            tr = tri[s : s + 64]
            prod = xc[:, tr[:, 0]] * xc[:, tr[:, 1]] * xc[:, tr[:, 2]]
            c3[s : s + 64] = prod.mean(0, dtype=np.float64)
            iid[s : s + 64] = prod.var(0, dtype=np.float64)
            per_chain[:, s : s + 64] = (
                np.add.reduceat(prod, starts, axis=0, dtype=np.float64)
                / (np.diff(np.append(starts, n_rows))[:, None])
            )
        return c3, _pf.spread_error(per_chain, iid / n_rows)[0]

    def predict_means(self) -> np.ndarray:
        """Model means <x_i> in the model's coding (exact for N <= 20, else Monte Carlo)."""
        self._check_fitted()
        return self._model_moments()[0].copy()

    def predict_correlations(self, connected: bool = True) -> np.ndarray:
        """Model covariances <x_i x_j> - <x_i><x_j> (or raw second moments), (N, N)."""
        self._check_fitted()
        mean, second, _ = self._model_moments()
        if connected:
            return second - np.outer(mean, mean)
        return second.copy()

    def predict_count_distribution(self) -> np.ndarray:
        """Model distribution P(K) of the number of active units, K = 0..N."""
        self._check_fitted()
        return self._model_moments()[2].copy()

    def predict_three_point(self, triplets: Any) -> np.ndarray:
        """Connected three-point correlations <dx_i dx_j dx_k> for rows (i, j, k) of *triplets*.

        Exact for N <= 20; otherwise from a cached Monte Carlo sample of 200,000 patterns.
        """
        self._check_fitted()
        tr = np.asarray(triplets, dtype=np.int64).reshape(-1, 3)
        if tr.size and (tr.min() < 0 or tr.max() >= self.n_units_):
            raise ValueError(f"triplets must index units 0..{self.n_units_ - 1}")
        if self._use_exact():
            return self._connected3(self._exact().third_moments(tr), tr)
        x = _pf.to_coding(self._mc_samples(), "01", self.coding).astype(np.float64)
        return _connected_three_point(x, tr)

    def _connected3(self, raw01: np.ndarray, tr: np.ndarray) -> np.ndarray:
        """Connected three-point correlation in the model's coding from exact 0/1 moments."""
        ex = self._exact()
        m01, s01 = ex.moments()
        i, j, k = tr.T
        c01 = (
            raw01
            - m01[i] * s01[j, k]
            - m01[j] * s01[i, k]
            - m01[k] * s01[i, j]
            + 2 * m01[i] * m01[j] * m01[k]
        )
        # connected correlations are multilinear: x_pm1 = 2 s - 1 scales each factor by 2
        return c01 if self.coding == "01" else 8.0 * c01

    def entropy(self) -> float:
        """Entropy of the model in nats (exact enumeration, N <= 24)."""
        self._check_fitted()
        if self.n_units_ > MAX_EXACT_UNITS:
            raise ValueError(
                f"entropy() needs exact enumeration (N <= {MAX_EXACT_UNITS}); "
                f"this model has N={self.n_units_}"
            )
        return self._exact().entropy()

    def log_likelihood(self, activity: xr.DataArray) -> float:
        """Mean log-likelihood per time sample of *activity* under the model (nats, N <= 24)."""
        self._check_fitted()
        x, _, _ = _prepare_data(activity, self.coding)
        if x.shape[1] != self.n_units_:
            raise ValueError(
                f"activity has {x.shape[1]} units; the model was fitted on {self.n_units_}"
            )
        if self.n_units_ > MAX_EXACT_UNITS:
            raise ValueError(
                f"log_likelihood() needs exact enumeration (N <= {MAX_EXACT_UNITS}); "
                f"this model has N={self.n_units_}"
            )
        return float(self._exact().log_prob(x > 0).mean())

    def multi_information_fraction(self, activity: xr.DataArray | None = None) -> dict:
        """Fraction of the multi-information captured: (S_ind - S_model) / (S_ind - S_data).

        S_data is the plug-in entropy of the empirical pattern frequencies,
        biased low when the number of samples is not much larger than the
        number of distinct patterns (the fraction is then underestimated).
        Entropies in nats; needs N <= 24.

        Returns
        -------
        dict with ``fraction``, ``entropy_independent``, ``entropy_model``,
        ``entropy_data``, ``n_patterns_observed``.
        """
        self._check_fitted()
        if activity is None:
            raise ValueError("multi_information_fraction needs the activity the model describes")
        x, _, _ = _prepare_data(activity, self.coding)
        on = x > 0
        s_ind = _binary_entropy(on.mean(0))
        s_model = self.entropy()
        _, freq = _pf.unique_patterns(on)
        s_data = float(-np.sum(freq * np.log(freq)))
        denom = s_ind - s_data
        frac = (s_ind - s_model) / denom if denom > 0 else float("nan")
        return {
            "fraction": float(frac),
            "entropy_independent": s_ind,
            "entropy_model": s_model,
            "entropy_data": s_data,
            "n_patterns_observed": int(freq.size),
        }

    # ------------------------------------------------------------------ sampling / output
    def sample(self, n: int, random_state: Any = None) -> xr.DataArray:
        """Draw *n* patterns from the model as Activity ``(unit, time)``.

        Exact independent draws for N <= 20; otherwise Gibbs sampling (500
        burn-in sweeps, 2 sweeps between recorded patterns, several chains).
        Values are in the model's coding (kind "spikes" for 01, "spins" for pm1).
        """
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        rng = check_random_state(random_state)
        if self._use_exact():
            x01 = self._exact().sample(n, rng)
        else:
            x01 = self._gibbs(n, rng)
        x = x01 if self.coding == "01" else (2 * x01 - 1).astype(np.int8)
        from ..activity import as_activity

        return as_activity(
            x.T,
            kind="spikes" if self.coding == "01" else "spins",
            unit=self.units_,
            source=f"rgdata {type(self).__name__} sample",
            allow_constant=True,
        )

    def _params_attrs(self) -> dict:
        return {
            "model": type(self).__name__,
            "method": self.method_,
            "coding": self.coding,
            "l2": float(self.l2),
            "tol": float(self.tol),
            "k_potential": int(self.V_ is not None),
            "k_gauge": "V(0)=V(1)=V(2)=0" if self.V_ is not None else "",
            "n_units": int(self.n_units_),
            "n_samples": int(self.n_samples_),
            "converged": int(self.converged_),
            "n_iter": int(self.n_iter_),
            "residual": float(self.residual_),
            "residual_rms": float(self.residual_rms_),
            "mc_allowance": float(self.mc_allowance_),
            "tol_rms": float(self.tol_rms),
            "high_activity_fraction": float(self.high_activity_fraction_),
            "log_likelihood": float(self.log_likelihood_),
            "n_at_bound": int(self.n_at_bound_),
            "forbidden_counts": json.dumps([int(k) for k in self.forbidden_counts_]),
            "n_blocks": int(self.data_stats_["n_blocks"]),
            "random_state": json.dumps(
                self.random_state if isinstance(self.random_state, int | None) else "Generator"
            ),
        }

    def to_dataset(self) -> xr.Dataset:
        """The fitted parameters as a Dataset (h, J, V) with the fit's parameters in attrs."""
        self._check_fitted()
        n = self.n_units_
        ds = xr.Dataset(
            {
                "h": ("unit", self.h_),
                "J": (("unit", "unit_j"), self.J_),
            },
            coords={"unit": self.units_, "unit_j": self.units_},
            attrs=self._params_attrs(),
        )
        if self.V_ is not None:
            ds["V"] = ("count", self.V_)
            ds = ds.assign_coords(count=np.arange(n + 1))
        fam = self.residual_families_
        for name in fam.data_vars:
            ds[f"residual_{name}"] = fam[name]
        return ds

    def goodness_of_fit(
        self,
        activity: xr.DataArray,
        *,
        n_triplets: int = 500,
        n_model_samples: int = 200_000,
        random_state: Any = 0,
    ) -> xr.Dataset:
        """Compare model predictions with the data, in units of their combined error.

        Every z-score is ``|model - data| / sqrt(se_data^2 + se_model^2)``:
        ``se_data`` is the block standard error (20 contiguous time blocks) of
        the data's statistic; ``se_model`` is the Monte Carlo error of the
        model's prediction (0 for exact predictions, N <= 20), measured from
        the spread between the independent Gibbs chains that drew the model
        sample (the factor ``tau`` of correlated sweeps is pooled over each
        family of statistics). Without it a small model sample inflates the
        z-scores of a correct model. The independent model (same means, no
        couplings) is reported alongside as the null.

        Parameters
        ----------
        activity : xarray.DataArray
            The data (usually the data the model was fitted on).
        n_triplets : int
            Number of random unit triplets for three-point correlations.
        n_model_samples : int
            Size of the Gibbs sample of the model from which three-point
            correlations are predicted when N > 20 (means, covariances and
            P(K) use the cached moments of :meth:`predict_means`).
        random_state : None, int or Generator
            Chooses the triplets.

        Returns
        -------
        xarray.Dataset
            Variables ``mean_{data,model,se,se_model}`` (unit),
            ``cov_{data,model,independent,se,se_model}`` (pair),
            ``c3_{data,model,se,se_model}`` (triplet),
            ``pk_{data,model,independent,se,se_model}`` (count); ``*_se`` is
            the data's error, ``*_se_model`` the prediction's Monte Carlo
            error. attrs hold summary z-scores (``max_z_*``, ``rms_z_*``) and
            the fit's parameters.
        """
        self._check_fitted()
        x, units, _ = _prepare_data(activity, self.coding)
        t, n = x.shape
        if n != self.n_units_:
            raise ValueError(f"activity has {n} units; the model was fitted on {self.n_units_}")
        n_triplets = check_int(n_triplets, "n_triplets", min_value=0)
        n_model_samples = check_int(n_model_samples, "n_model_samples", min_value=100)
        rng = check_random_state(random_state)
        stats = _pf.data_statistics(x, self.coding)
        nb = stats["n_blocks"]
        edges = np.linspace(0, t, nb + 1).astype(np.int64)
        iu = np.triu_indices(n, 1)
        mean_d = stats["mean"]
        xc = x - mean_d.astype(np.float32)
        cov_blocks = np.stack(
            [
                (
                    (xc[edges[b] : edges[b + 1]].T @ xc[edges[b] : edges[b + 1]])
                    / (edges[b + 1] - edges[b])
                )[iu]
                for b in range(nb)
            ]
        )
        cov_d = (xc.T @ xc / t)[iu]
        cov_se = cov_blocks.std(0, ddof=1) / np.sqrt(nb)
        n_tri_all = n * (n - 1) * (n - 2) // 6
        if n_tri_all <= n_triplets:
            tri = np.array(
                [(i, j, k) for i in range(n) for j in range(i + 1, n) for k in range(j + 1, n)],
                dtype=np.int64,
            ).reshape(-1, 3)
        else:
            tri = np.sort(
                np.array([rng.choice(n, 3, replace=False) for _ in range(n_triplets)]), axis=1
            ).reshape(-1, 3)
        c3_blocks = np.stack(
            [
                _connected_three_point(x[edges[b] : edges[b + 1]], tri, center=mean_d)
                for b in range(nb)
            ]
        )
        c3_d = _connected_three_point(x, tri, center=mean_d)
        c3_se = c3_blocks.std(0, ddof=1) / np.sqrt(nb)
        mean_m = self.predict_means()
        cov_m = self.predict_correlations()[iu]
        pk_m = self.predict_count_distribution()
        mc_mean, mc_cov, mc_pk = self._moment_mc_errors(iu)
        if self._use_exact() or not len(tri):
            c3_m = self.predict_three_point(tri) if len(tri) else np.zeros(0)
            mc_c3 = np.zeros(len(tri))
        else:
            c3_m, mc_c3 = self._three_point_mc(tri, n_model_samples)
        p_on = (x > 0).mean(0)
        pk_ind = _poisson_binomial(p_on)
        floor = 1e-300

        def _z(a, b, se, se_model=0.0):
            return np.abs(a - b) / np.maximum(np.sqrt(se**2 + se_model**2), floor)

        se_cov = np.maximum(cov_se, stats["se_second"][iu])
        z_mean = _z(mean_m, mean_d, stats["se_mean"], mc_mean)
        z_cov = _z(cov_m, cov_d, se_cov, mc_cov)
        z_cov_ind = _z(0.0, cov_d, se_cov)
        z_c3 = _z(c3_m, c3_d, c3_se, mc_c3) if len(tri) else np.zeros(1)
        z_c3_ind = _z(0.0, c3_d, c3_se) if len(tri) else np.zeros(1)
        seen = (stats["pk"] > 0) | (pk_m > 0)
        z_pk = _z(pk_m, stats["pk"], stats["se_pk"], mc_pk)[seen]
        attrs = dict(self._params_attrs())
        attrs.update(
            {
                "max_z_mean": float(z_mean.max()),
                "rms_z_mean": float(np.sqrt(np.mean(z_mean**2))),
                "max_z_cov": float(z_cov.max()),
                "rms_z_cov": float(np.sqrt(np.mean(z_cov**2))),
                "rms_z_cov_independent": float(np.sqrt(np.mean(z_cov_ind**2))),
                "rms_z_c3": float(np.sqrt(np.mean(z_c3**2))),
                "rms_z_c3_independent": float(np.sqrt(np.mean(z_c3_ind**2))),
                "frac_cov_within_2se": float(np.mean(z_cov < 2)),
                "frac_c3_within_2se": float(np.mean(z_c3 < 2)),
                "max_z_pk": float(z_pk.max()),
                "rms_z_pk": float(np.sqrt(np.mean(z_pk**2))),
                "n_model_samples_c3": 0 if self._use_exact() else int(n_model_samples),
                "z_definition": "|model - data| / sqrt(se_data^2 + se_model_mc^2)",
                "n_samples_data": int(t),
                "se_method": f"block standard error over {nb} contiguous time blocks",
                "prediction": "exact enumeration"
                if self._use_exact()
                else "Monte Carlo (Gibbs) estimate",
            }
        )
        if self.n_units_ <= MAX_EXACT_UNITS:
            mi = self.multi_information_fraction(activity)
            attrs["multi_information_fraction"] = mi["fraction"]
            attrs["entropy_data_plugin"] = mi["entropy_data"]
            attrs["entropy_independent"] = mi["entropy_independent"]
            attrs["entropy_model"] = mi["entropy_model"]
        ds = xr.Dataset(
            {
                "mean_data": ("unit", mean_d),
                "mean_model": ("unit", mean_m),
                "mean_se": ("unit", stats["se_mean"]),
                "mean_se_model": ("unit", mc_mean),
                "cov_data": ("pair", cov_d.astype(np.float64)),
                "cov_model": ("pair", cov_m),
                "cov_independent": ("pair", np.zeros_like(cov_m)),
                "cov_se": ("pair", se_cov),
                "cov_se_model": ("pair", mc_cov),
                "c3_data": ("triplet", c3_d),
                "c3_model": ("triplet", c3_m),
                "c3_se": ("triplet", c3_se),
                "c3_se_model": ("triplet", mc_c3),
                "pk_data": ("count", stats["pk"]),
                "pk_model": ("count", pk_m),
                "pk_independent": ("count", pk_ind),
                "pk_se": ("count", stats["se_pk"]),
                "pk_se_model": ("count", mc_pk),
            },
            coords={
                "unit": units,
                "pair_i": ("pair", iu[0]),
                "pair_j": ("pair", iu[1]),
                "triplet_i": ("triplet", tri[:, 0]) if len(tri) else ("triplet", tri[:, 0]),
                "triplet_j": ("triplet", tri[:, 1]),
                "triplet_k": ("triplet", tri[:, 2]),
                "count": np.arange(n + 1),
            },
            attrs=attrs,
        )
        return ds


def _families_dataset(mis: _pf.Mismatch) -> xr.Dataset:
    """Per-family mismatch numbers of *mis* as a Dataset on a ``family`` dim."""
    fam = mis.families
    return xr.Dataset(
        {
            "n": ("family", np.array([f.n for f in fam], np.int64)),
            "max_z": ("family", np.array([f.max_z for f in fam], float)),
            "rms_z": ("family", np.array([f.rms for f in fam], float)),
            "mean_z": ("family", np.array([f.mean_z for f in fam], float)),
            "bias": ("family", np.array([f.bias for f in fam], float)),
            "bias_allowance": ("family", np.array([f.bias_allowance for f in fam], float)),
        },
        coords={"family": [f.name for f in fam]},
        attrs={"bias_tol": _pf.BIAS_TOL},
    )


def _dense_moments(x01: np.ndarray, coding: str):
    """Means, second moments (in *coding*) and P(K) of a dense 0/1 sample ``(S, N)``."""
    x = np.asarray(x01, dtype=np.float32)
    m01 = x.mean(0, dtype=np.float64)
    s01 = (x.T @ x).astype(np.float64) / len(x)
    pk = np.bincount(x.sum(1).astype(np.int64), minlength=x.shape[1] + 1) / len(x)
    mean, second = _pf.moments_from01(m01, s01, coding)
    return mean, second, pk


def _connected_three_point(
    x: np.ndarray, tri: np.ndarray, center: np.ndarray | None = None
) -> np.ndarray:
    """Sample connected three-point correlations <dx_i dx_j dx_k> for each triplet."""
    x = np.asarray(x, dtype=np.float64)
    mu = x.mean(0) if center is None else center
    xc = x - mu
    out = np.empty(len(tri))
    for s in range(0, len(tri), 128):
        tr = tri[s : s + 128]
        out[s : s + 128] = np.mean(xc[:, tr[:, 0]] * xc[:, tr[:, 1]] * xc[:, tr[:, 2]], axis=0)
    return out


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


class IndependentMaxEnt(PairwiseMaxEnt):
    """Independent (first-order) maximum-entropy model: fields only, J = 0.

    The null model for pairwise fits: it matches every mean exactly
    (``h = logit(<x>)`` in 0/1 coding, ``artanh(<x>)`` in ±1 coding) and
    predicts zero covariance. Shares prediction, sampling and
    goodness-of-fit methods with :class:`PairwiseMaxEnt`.
    """

    def __init__(self, *, coding: str = "01", random_state: Any = None) -> None:
        super().__init__("exact", coding=coding, random_state=random_state)

    def fit(self, activity: xr.DataArray) -> IndependentMaxEnt:
        """Set the fields from the data's means (closed form). Returns self.

        A previous fit's state is discarded first, as in :meth:`PairwiseMaxEnt.fit`.
        """
        self._reset_fit_state()
        check_option(self.coding, "coding", CODINGS)
        x, units, data_coding = _prepare_data(activity, self.coding)
        t, n = x.shape
        on = x > 0
        const = np.flatnonzero(on.all(0) | (~on).all(0))
        if const.size:
            shown = ", ".join(str(u) for u in units[const][:5])
            raise ValueError(
                f"activity has {const.size} constant unit(s) ({shown}): their independent-model "
                "field is infinite. Drop them (activity.drop_sel(unit=[...]))"
            )
        stats = _pf.data_statistics(x, self.coding)
        theta = _pf.independent_theta(stats["mean"], self.coding, 0)
        self.h_ = theta
        self.J_ = np.zeros((n, n))
        self.V_ = None
        self.n_units_, self.n_samples_ = n, t
        self.units_ = units
        self.method_ = "closed form"
        self.data_coding_ = data_coding
        self.data_stats_ = stats
        self.n_iter_ = 0
        self.n_at_bound_ = 0
        self.forbidden_counts_ = np.zeros(0, np.int64)
        self.history_ = np.zeros(0)
        self._rng = check_random_state(self.random_state)
        self._cache = {}
        # residual over means only (the model makes no attempt at correlations)
        mean = self._model_moments()[0] if n <= MAX_EXACT_UNITS else stats["mean"]
        mis = _pf.mismatch(mean, stats["mean"], stats["se_mean"], None, (("means", slice(0, n)),))
        self.residual_ = mis.max_z
        self.residual_rms_ = mis.rms
        self.residual_families_ = _families_dataset(mis)
        self.mc_allowance_ = 0.0
        self.high_activity_fraction_ = float("nan")
        self.converged_ = True
        self.log_likelihood_ = float(
            np.sum(theta * stats["mean"])
            - np.sum(
                np.logaddexp(0.0, theta) if self.coding == "01" else np.logaddexp(theta, -theta)
            )
        )
        return self

    def _use_exact(self) -> bool:
        return True

    def _model_moments(self):
        if "moments" not in self._cache:
            h = self.h_
            if self.coding == "01":
                p = 1.0 / (1.0 + np.exp(-h))
                mean = p
            else:
                mean = np.tanh(h)
                p = 0.5 * (1 + mean)
            second = np.outer(mean, mean)
            np.fill_diagonal(second, mean if self.coding == "01" else 1.0)
            self._cache["moments"] = (mean, second, _poisson_binomial(p))
        return self._cache["moments"]

    def predict_three_point(self, triplets: Any) -> np.ndarray:
        """Zero: independent units have no connected correlations."""
        self._check_fitted()
        return np.zeros(len(np.asarray(triplets).reshape(-1, 3)))

    def entropy(self) -> float:
        """Entropy in nats (sum of the units' binary entropies)."""
        self._check_fitted()
        mean = self._model_moments()[0]
        p = mean if self.coding == "01" else 0.5 * (1 + mean)
        return _binary_entropy(p)

    def sample(self, n: int, random_state: Any = None) -> xr.DataArray:
        """Draw *n* independent patterns as Activity in the model's coding."""
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        rng = check_random_state(random_state)
        mean = self._model_moments()[0]
        p = mean if self.coding == "01" else 0.5 * (1 + mean)
        x01 = (rng.random((n, self.n_units_)) < p).astype(np.int8)
        x = x01 if self.coding == "01" else (2 * x01 - 1).astype(np.int8)
        from ..activity import as_activity

        return as_activity(
            x.T,
            kind="spikes" if self.coding == "01" else "spins",
            unit=self.units_,
            source="rgdata IndependentMaxEnt sample",
            allow_constant=True,
        )
