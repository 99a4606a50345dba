"""Fitting hierarchical maximum entropy to a recording: multipliers, errors, per-level couplings.

:class:`HierarchicalMaxEntFit` solves the maximum-entropy reading of the
multilevel objective of :mod:`rgdata.maxent.hierarchical`: maximise
``sum_j w_j H(Y_j)`` subject to ``E f(X) = c`` with ``c`` the data's mean
statistics. The Lagrange multipliers ``beta`` minimise the convex dual
``D(beta) = max_P [sum_j w_j H(Y_j) - beta . E f] + beta . c``.

* ``model="binary"``: 0/1 units, ``n <= 16`` enumerated; statistics are the
  means, the pairwise products (``statistics="pairwise"``) and optionally
  the second moments of the coarse variables (``coarse_statistics=True``);
  L-BFGS-B on the dual with the exact recursion. ``statistics="tree"``
  (means and sibling products of counts) is exact per cluster at any ``n``.
  Means and all pairs beyond 16 units (``engine="monte_carlo"``): the exact
  optimum needs non-integer powers of fibre partition functions and is not
  sampled; :mod:`._hierarchy_mc` samples the per-cluster optimum of the
  tree-local part of ``beta`` tilted at level 1 by the rest (exact for
  weights ``(1, 0, ..., 0)`` and for tree-local ``beta``; ``exact_model_``),
  fitted by ``PairwiseMaxEnt``'s Monte Carlo learners and convergence
  verdict (Monte Carlo error included).
* ``model="gaussian"``: centred continuous data constrained by their full
  covariance; the optimum is the Gaussian of that covariance and the
  multipliers are in closed form (:func:`rgdata.maxent.gaussian_couplings`)
  for any linear coarse-graining map, at any ``n`` whose covariance fits in
  memory.

Errors are a delete-one-block jackknife over ``n_blocks`` contiguous time
blocks (:mod:`rgdata._jackknife`), refitting from the full fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from threadpoolctl import threadpool_limits

from .._estimator import Estimator
from .._jackknife import jackknife_covariance, jackknife_error
from .._validation import (
    check_array,
    check_binary,
    check_int,
    check_option,
    check_random_state,
    check_real,
)
from .._warnings import warn_user
from ..activity import check_activity
from . import _hierarchy_binary as hb
from ._hierarchical_core import _check_weights
from ._hierarchy_engines import check_feasible, count_engine, enumeration_engine
from ._hierarchy_mc_fit import MIN_SAMPLES, monte_carlo_engine
from ._mismatch import families_dataset
from .hierarchy_gaussian import (
    as_operator,
    gaussian_couplings,
    gaussian_entropies,
    gaussian_hierarchy,
)
from .hierarchy_tree import CoarseTree, check_tree

__all__ = ["HierarchicalMaxEntFit"]

MODELS = ("auto", "binary", "gaussian")
STATISTICS = ("pairwise", "means", "tree")
ENGINES = ("auto", "exact", "monte_carlo")
#: matrices smaller than this use one BLAS thread (as rgdata.coarse.prg does)
THREADED_MIN = 1024
#: L-BFGS tolerance on the largest constraint residual, in data standard errors
GTOL = 1e-7
#: the same for the jackknife refits (started from the full fit)
GTOL_JACKKNIFE = 1e-4


def _block_edges(t: int, n_blocks: int) -> np.ndarray:
    return np.linspace(0, t, n_blocks + 1).astype(int)


class HierarchicalMaxEntFit(Estimator):
    """Hierarchical maximum entropy fitted to data: ``beta`` from the convex dual.

    Parameters
    ----------
    weights : array-like of float, shape (n_levels,)
        Entropy weight ``w_j`` of each level of the tree (``w_1 > 0``, all
        ``>= 0``); ``(1, 0, ..., 0)`` is ordinary maximum entropy.
    model : {"auto", "binary", "gaussian"}
        ``"auto"``: binary for 0/1 or +-1 data, Gaussian otherwise.
    statistics : {"pairwise", "means", "tree"}
        Statistics of a binary fit. ``"pairwise"``: the means and every
        product ``x_a x_b``; ``"means"``: the means only (both enumerate the
        ``2^n`` states, ``n <= 16``). ``"tree"``: the means and, for every
        cluster of the tree, the products ``y_a y_b`` of its children's counts
        (siblings), solved exactly per cluster at any ``n`` (cluster-sum trees
        only). Gaussian fits always use the full covariance.
    coarse_statistics : bool or list of int
        Enumerated binary fits: also constrain the second moments of the
        variables of every coarser level (True) or of the listed levels (2 =
        the first coarse level). They must not be implied by the other
        statistics (use ``statistics="means"``; a level's second moments
        also fix those of every coarser level of cluster sums).
    n_blocks : int
        Contiguous time blocks for the standard errors and the jackknife.
    tol : float
        Largest accepted constraint residual, in data standard errors (Monte
        Carlo engine: plus the Monte Carlo allowance ``mc_allowance_``).
    engine : {"auto", "exact", "monte_carlo"}
        Binary fits. ``"exact"``: enumeration (``n <= 16``) or the
        per-cluster recursion (``statistics="tree"``). ``"monte_carlo"``:
        means and all pairs (``statistics="pairwise"``) on a cluster-sum tree
        at any ``n`` by Boltzmann learning with persistent Gibbs chains of
        the model of :mod:`rgdata.maxent._hierarchy_mc`, exact for weights
        ``(1, 0, ..., 0)`` and for tree-local multipliers, an approximation
        otherwise (``exact_model_``; docs/hierarchical.md). ``"auto"``:
        exact where possible, Monte Carlo for ``statistics="pairwise"``
        with more than 16 units.
    tol_rms : float
        Monte Carlo engine: largest rms residual (Monte Carlo share removed),
        as in :class:`rgdata.maxent.PairwiseMaxEnt`.
    n_chains, max_samples, max_iter : int
        Monte Carlo engine: persistent chains, largest sample (recorded
        sweeps x chains; default ``max(20 T, 200000)``, at least 1000) and
        learning iterations.
    random_state : None, int or numpy.random.Generator
        Seeds the Monte Carlo engine (chains and their starting patterns).
    progress : bool
        Progress bar of Monte Carlo learning.

    Attributes
    ----------
    beta_ : ndarray, shape (n_statistics,)
        Multipliers of the statistics (loss ``beta . f``); Gaussian:
        ``K_1[a, b]`` for ``x_a x_b`` (``a < b``) and ``K_1[a, a] / 2`` for ``x_a^2``.
    beta_err_, beta_cov_ : ndarray
        Jackknife standard errors (and covariance, binary fits).
    statistic_labels_ : list of (level, a, b)
        ``b = -1`` for a mean.
    data_statistics_, data_se_, model_statistics_ : ndarray
        ``c``, its block standard error, ``E_beta f``.
    residual_, residual_rms_ : float
        Largest and rms ``|E_beta f - c| / se``; ``converged_`` when the
        largest is below ``tol``.
    fields_, couplings_ : list of ndarray
        Per level: fields ``h_a`` and couplings ``J_ab`` of the level's
        Boltzmann exponent ``-g_j / W_j = sum h_a y_a + sum_{a<b} J_ab y_a y_b
        + sum_a J_aa y_a^2 / 2`` (+ const; weighted least squares on the
        level's states for binary levels above 1, exact otherwise).
    fields_err_, couplings_err_ : list of ndarray
        Their jackknife standard errors.
    entropies_ : ndarray
        ``H(Y_j)`` of the fitted distribution (nats; differential for Gaussian).
    level_variance_ : list of ndarray
        Data variance of every level's variables.
    tree_ : CoarseTree
    engine_ : str
        ``"enumeration"``, ``"cluster counts"``, ``"monte carlo"`` (binary)
        or absent (Gaussian).
    exact_model_ : bool
        Binary: whether the fitted distribution is the exact multilevel
        optimum (False only for the Monte Carlo engine with non-flat weights
        and non-tree-local multipliers).
    mc_allowance_, n_iter_, n_mc_samples_, history_, residual_families_
        Monte Carlo engine: the typical largest Monte Carlo error (in
        comparison standard errors), learning iterations, Monte Carlo samples
        drawn in all, largest residual per iteration, per-family residuals
        (as ``PairwiseMaxEnt``). Its ``beta_err_``, the couplings and
        entropies of levels above 1 are NaN and ``beta_cov_`` is None (not
        computed). ``converged_`` is
        the learner's verdict; ``residual_``, ``residual_rms_`` and
        ``model_statistics_`` come from the last measurement at ``beta_``
        (a new one when the learner's was not), so on a borderline fit they
        can lie just beyond ``tol`` plus the allowance.
    probability_ : ndarray
        Enumerated binary fits: the fitted distribution of the ``2^n`` states
        (bit ``i`` of the state index is unit ``i``).
    n_at_bound_ : int
        Multipliers at the bound ``+-20 W_L`` (binary; statistics on the edge of their
        range; ``W_L`` the sum of the weights).

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((4, 4000)) < 0.3).astype(np.int8)
    >>> fit = HierarchicalMaxEntFit([1.0, 0.5, 0.5]).fit(
    ...     rgdata.as_activity(x, kind="spikes"), tree=[[[0, 1], [2, 3]], [[0, 1]]]
    ... )
    >>> fit.converged_, fit.beta_.shape
    (True, (10,))
    """

    _fitted_attribute = "beta_"
    _fit_call = "fit(activity, tree=...)"

    def __init__(
        self,
        weights: Any,
        *,
        model: str = "auto",
        statistics: str = "pairwise",
        coarse_statistics: bool | list[int] = False,
        n_blocks: int = 20,
        tol: float = 1.5,
        engine: str = "auto",
        tol_rms: float = 1.0,
        n_chains: int = 8,
        max_samples: int | None = None,
        max_iter: int = 400,
        random_state: Any = None,
        progress: bool = False,
    ) -> None:
        self.weights = weights
        self.model = model
        self.statistics = statistics
        self.coarse_statistics = coarse_statistics
        self.n_blocks = n_blocks
        self.tol = tol
        self.engine = engine
        self.tol_rms = tol_rms
        self.n_chains = n_chains
        self.max_samples = max_samples
        self.max_iter = max_iter
        self.random_state = random_state
        self.progress = progress

    # ------------------------------------------------------------------ fit

    def fit(self, activity: Any, tree: Any, constraints: Any = None) -> HierarchicalMaxEntFit:
        """Fit the multipliers to *activity* on the coarse-graining *tree*.

        Parameters
        ----------
        activity : xarray.DataArray
            ``(unit, time)`` Activity.
        tree : rgdata.coarse.prg result, CoarseTree or list
            See :func:`rgdata.maxent.check_tree`; a PRG result is matched to
            the activity's units by label.
        constraints : array-like, optional
            Binary fits: target values ``c`` of the statistics instead of
            the data's means (the data still give their standard errors).

        Returns
        -------
        HierarchicalMaxEntFit
            self.
        """
        self._reset_fit_state()
        model = check_option(self.model, "model", MODELS)
        check_option(self.statistics, "statistics", STATISTICS)
        n_blocks = check_int(self.n_blocks, "n_blocks", min_value=2)
        check_real(self.tol, "tol", min_value=0.0, strict_min=True)
        check_option(self.engine, "engine", ENGINES)
        activity = check_activity(activity, allow_trials=False, allow_constant=False)
        x_all = np.asarray(activity.values)
        tree = self._tree(tree, activity)
        x = x_all[tree.units]
        w = _check_weights(self.weights, len(tree.maps) + 1)
        n, t = x.shape
        if model == "auto":
            try:
                check_binary(x, "activity")
                model = "binary"
            except ValueError:
                model = "gaussian"
        if t < 2 * n_blocks:
            raise ValueError(
                f"activity has {t} time points; the {n_blocks} blocks of the errors need at "
                f"least {2 * n_blocks} (2 per block; reduce n_blocks)"
            )
        self.model_ = model
        self.weights_ = w
        self.cumulative_weights_ = np.cumsum(w)
        self.tree_ = tree
        self.units_ = np.asarray(activity["unit"].values)[tree.units]
        ys = [x.astype(float)]
        for m in tree.maps:
            ys.append(as_operator(m) @ ys[-1])
        self.level_variance_ = [y.var(axis=1) for y in ys]
        if model == "gaussian" and constraints is not None:
            raise ValueError(
                "constraints are accepted for binary fits only (a Gaussian fit is "
                "constrained by the data's covariance)"
            )
        # short vectors and matrices below THREADED_MIN: threaded BLAS only synchronises
        # (10-20x slower for 200 x 200 inverses on 2 busy cores); the same rule as prg
        single = model == "binary" or n < THREADED_MIN
        with threadpool_limits(limits=1 if single else None, user_api="blas"):
            if model == "binary":
                self._fit_binary(x, ys, n_blocks, constraints)
            else:
                self._fit_gaussian(x, ys, n_blocks)
        return self

    def _tree(self, tree: Any, activity: xr.DataArray) -> CoarseTree:
        if isinstance(tree, xr.Dataset):
            tree_ = check_tree(tree, activity.sizes["unit"])
            labels = np.asarray(tree["unit"].values)
            act_labels = list(np.asarray(activity["unit"].values))
            missing = [lab for lab in labels[tree_.units] if lab not in act_labels]
            if missing:
                raise ValueError(
                    f"tree (a prg result) has unit(s) {missing[:5]} that activity lacks; "
                    "pass the activity prg ran on"
                )
            pos = np.array([act_labels.index(lab) for lab in labels[tree_.units]])
            tree_ = CoarseTree(tree_.maps, pos, tree_.kind, tree_.source, tree_.dropped)
            if tree_.dropped.size:
                warn_user(
                    f"prg left {tree_.dropped.size} unit(s) out of its deepest level; they are "
                    "not part of the hierarchy and were dropped (dropped_units_)",
                    UserWarning,
                )
            self.dropped_units_ = labels[tree_.dropped]
            return tree_
        self.dropped_units_ = np.zeros(0)
        return check_tree(tree, activity.sizes["unit"])

    # ------------------------------------------------------------------ binary

    def _fit_binary(self, x, ys, n_blocks, constraints) -> None:
        n, t = x.shape
        coding = check_binary(x, "activity")
        if coding == "pm1":
            x = (x > 0).astype(np.int8)
            ys = [x.astype(float)]
            for m in self.tree_.maps:
                ys.append(m @ ys[-1])
        self.data_coding_ = coding
        cum = self.cumulative_weights_
        if self._use_monte_carlo(n):
            self._fit_monte_carlo(x, n_blocks, constraints)
            return
        if self.statistics == "tree":
            engine = count_engine(self.tree_, cum, self.coarse_statistics)
        else:
            engine = enumeration_engine(
                self.tree_, cum, ys, self.statistics, self.coarse_statistics
            )
            self._problem = engine["problem"]
        labels = engine["labels"]
        if t < len(labels):
            raise ValueError(
                f"activity has {t} time points for {len(labels)} statistics; at least one time "
                "point per statistic is needed (fewer statistics: statistics='means' or a "
                "smaller tree)"
            )
        edges = _block_edges(t, n_blocks)
        block_sums = np.array(
            [
                hb.evaluate_statistics([y[:, lo:hi] for y in ys], labels).sum(axis=0)
                for lo, hi in zip(edges[:-1], edges[1:], strict=True)
            ]
        )
        sizes_b = np.diff(edges)
        c_data = block_sums.sum(axis=0) / t
        block_means = block_sums / sizes_b[:, None]
        se = np.maximum(block_means.std(axis=0, ddof=1) / np.sqrt(n_blocks), 1.0 / t)
        c = c_data
        if constraints is not None:
            c = check_array(constraints, "constraints", ndim=1).astype(float)
            if c.size != len(labels):
                raise ValueError(
                    f"constraints has {c.size} entries; there are {len(labels)} statistics"
                )
            if "F" in engine:
                check_feasible(engine["F"], c)
        solve = engine["solve"]
        beta, model_stats, ok = solve(c, np.zeros(len(labels)), se, GTOL)
        loo = (c_data * t - block_sums) / (t - sizes_b)[:, None] - c_data + c
        reps = np.array([solve(loo[b], beta, se, GTOL_JACKKNIFE)[0] for b in range(n_blocks)])
        self.beta_ = beta
        self.beta_err_ = jackknife_error(reps)
        self.beta_cov_ = jackknife_covariance(reps)
        self._beta_replicates = reps
        bound = hb.BETA_BOUND * self.cumulative_weights_[-1]
        self.n_at_bound_ = int(np.sum(np.abs(beta) >= bound * (1 - 1e-9)))
        self.statistic_labels_ = labels
        self.data_statistics_ = c
        self.data_se_ = se
        self.model_statistics_ = model_stats
        self.engine_ = "enumeration" if "F" in engine else "cluster counts"
        self.exact_model_ = True
        if "F" in engine:
            self.probability_ = hb.recursion(
                engine["F"] @ beta, self._problem.maps, self.cumulative_weights_
            )[1][0]
        levels = engine["levels"]
        self.fields_, self.couplings_, self.entropies_ = levels(beta)
        rep_levels = [levels(b)[:2] for b in reps]
        self._summary_replicates = np.array([self._summaries(*r) for r in rep_levels])
        self.couplings_err_ = [
            jackknife_error(np.array([r[1][j] for r in rep_levels]))
            for j in range(len(self.couplings_))
        ]
        self.fields_err_ = [
            jackknife_error(np.array([r[0][j] for r in rep_levels]))
            for j in range(len(self.fields_))
        ]

        self._finish_residual(ok)

    def _use_monte_carlo(self, n: int) -> bool:
        if self.engine == "exact":
            return False
        if self.statistics != "pairwise" or self.coarse_statistics is not False:
            if self.engine == "monte_carlo":
                raise ValueError(
                    "engine='monte_carlo' fits statistics='pairwise' (means and all pairs) "
                    f"without coarse_statistics; got statistics={self.statistics!r}, "
                    f"coarse_statistics={self.coarse_statistics!r} (use engine='exact')"
                )
            return False
        return self.engine == "monte_carlo" or n > hb.MAX_ENUM_UNITS

    def _fit_monte_carlo(self, x, n_blocks, constraints) -> None:
        n, t = x.shape
        max_samples = self.max_samples
        if max_samples is not None:
            max_samples = check_int(max_samples, "max_samples", min_value=MIN_SAMPLES)
        n_chains = check_int(self.n_chains, "n_chains", min_value=2)
        max_iter = check_int(self.max_iter, "max_iter", min_value=1)
        tol_rms = check_real(self.tol_rms, "tol_rms", min_value=0.0, strict_min=True)
        rng = check_random_state(self.random_state)
        engine = monte_carlo_engine(
            self.tree_,
            self.cumulative_weights_,
            n_chains=n_chains,
            max_samples=max_samples,
            max_iter=max_iter,
            tol=float(self.tol),
            tol_rms=tol_rms,
            rng=rng,
            progress=bool(self.progress),
        )
        labels = engine["labels"]
        if t < len(labels):
            raise ValueError(
                f"activity has {t} time points for {len(labels)} statistics; at least one time "
                "point per statistic is needed (fewer units or statistics='tree')"
            )
        if constraints is not None:
            constraints = check_array(constraints, "constraints", ndim=1).astype(float)
            if constraints.size != len(labels):
                raise ValueError(
                    f"constraints has {constraints.size} entries; there are {len(labels)} "
                    "statistics"
                )
        out = engine["fit"](x, n_blocks, constraints)
        mis = out["mismatch"]
        self.engine_ = "monte carlo"
        self.exact_model_ = out["exact"]
        self.beta_ = out["beta"]
        nan = np.full(len(labels), np.nan)
        self.beta_err_ = nan
        self.beta_cov_ = None  # not computed (a NaN matrix of 12,880^2 would take 1.3 GB)
        self.statistic_labels_ = labels
        self.data_statistics_ = out["data"]
        self.data_se_ = out["se"]
        self.model_statistics_ = out["model"]
        self.n_iter_ = out["n_iter"]
        self.n_mc_samples_ = out["n_samples"]
        self.history_ = out["history"]
        self.mc_allowance_ = mis.allowance
        self.residual_families_ = families_dataset(mis)
        bound = hb.BETA_BOUND * self.cumulative_weights_[-1]
        self.n_at_bound_ = int(np.sum(np.abs(self.beta_) >= 0.999 * bound))
        cum = self.cumulative_weights_
        J = np.zeros((n, n))
        J[np.triu_indices(n, 1)] = -self.beta_[n:] / cum[0]
        self.fields_ = [-self.beta_[:n] / cum[0]] + [
            np.full(s, np.nan) for s in self.tree_.sizes[1:]
        ]
        self.couplings_ = [J + J.T] + [np.full((s, s), np.nan) for s in self.tree_.sizes[1:]]
        self.fields_err_ = [np.full(f.shape, np.nan) for f in self.fields_]
        self.couplings_err_ = [np.full(c.shape, np.nan) for c in self.couplings_]
        self.entropies_ = np.full(len(self.tree_.sizes), np.nan)
        self._summary_replicates = np.full((2, len(self.tree_.sizes), 2), np.nan)
        z = (self.model_statistics_ - self.data_statistics_) / self.data_se_
        self.residual_z_ = z
        self.residual_ = mis.max_z
        self.residual_rms_ = mis.rms
        self.converged_ = out["converged"]
        if self.n_at_bound_:
            self._warn_bound()
        elif not self.converged_:
            warn_user(
                f"the Monte Carlo fit did not reach the constraints: largest residual "
                f"{mis.max_z:.3g} comparison standard errors (tol {self.tol:g} + Monte Carlo "
                f"allowance {mis.allowance:.2g}), rms {mis.rms:.3g} (tol_rms {tol_rms:g}); "
                f"{out['message'] or 'learning stopped'}",
                UserWarning,
            )

    # ------------------------------------------------------------------ gaussian

    def _fit_gaussian(self, x, ys, n_blocks) -> None:
        n, t = x.shape
        if t <= 2 * n:
            raise ValueError(
                f"activity has {t} time points for {n} units; a Gaussian fit needs the "
                f"covariance of every block to be invertible: more than {2 * n} time points"
            )
        self.data_coding_ = "continuous"
        xc = x - x.mean(axis=1, keepdims=True)
        C = xc @ xc.T / t
        maps, w = self.tree_.maps, self.weights_
        K = gaussian_couplings(C, maps, w)
        check = gaussian_hierarchy(K[0], maps, w)["covariance"]
        edges = _block_edges(t, n_blocks)
        iu = np.triu_indices(n)
        block_c = []
        k_sum = [np.zeros((s, s)) for s in self.tree_.sizes]
        k_sq = [np.zeros((s, s)) for s in self.tree_.sizes]
        level_reps = []
        for lo, hi in zip(edges[:-1], edges[1:], strict=True):
            xb = xc[:, lo:hi]
            cb = xb @ xb.T / (hi - lo)
            block_c.append(cb[iu])
            c_loo = (C * t - cb * (hi - lo)) / (t - (hi - lo))
            Kb = gaussian_couplings(c_loo, maps, w)
            for j, kb in enumerate(Kb):
                k_sum[j] += kb
                k_sq[j] += kb**2
            fc = [self._gauss_level(kb, j) for j, kb in enumerate(Kb)]
            level_reps.append(self._summaries([f[0] for f in fc], [f[1] for f in fc]))
        nb = n_blocks
        k_err = [
            np.sqrt((nb - 1) / nb * np.maximum(sq - sm**2 / nb, 0.0))
            for sm, sq in zip(k_sum, k_sq, strict=True)
        ]
        scale = np.where(iu[0] == iu[1], 0.5, 1.0)
        self.beta_ = K[0][iu] * scale
        self.beta_err_ = k_err[0][iu] * scale
        self.couplings_err_ = [
            e / cw for e, cw in zip(k_err, self.cumulative_weights_, strict=True)
        ]
        self.fields_err_ = [np.zeros(e.shape[0]) for e in k_err]
        self.statistic_labels_ = [(1, int(a), int(b)) for a, b in zip(*iu, strict=True)]
        self.data_statistics_ = C[iu]
        block_c = np.array(block_c)
        self.data_se_ = np.maximum(block_c.std(axis=0, ddof=1) / np.sqrt(nb), 1e-300)
        self.model_statistics_ = check[iu]
        self.entropies_ = gaussian_entropies(C, maps)
        self.n_at_bound_ = 0
        self.level_couplings_K_ = K
        self.fields_, self.couplings_ = [], []
        for j, k in enumerate(K):
            h, J = self._gauss_level(k, j)
            self.fields_.append(h)
            self.couplings_.append(J)
        self._summary_replicates = np.array(level_reps)
        self._finish_residual(True)

    def _gauss_level(self, k: np.ndarray, j: int):
        return np.zeros(k.shape[0]), -k / self.cumulative_weights_[j]

    # ------------------------------------------------------------------ shared

    def _finish_residual(self, optimiser_ok: bool) -> None:
        z = (self.model_statistics_ - self.data_statistics_) / self.data_se_
        self.residual_z_ = z
        self.residual_ = float(np.max(np.abs(z)))
        self.residual_rms_ = float(np.sqrt(np.mean(z**2)))
        self.converged_ = bool(self.residual_ < self.tol)
        if self.n_at_bound_:
            self._warn_bound()
        elif not self.converged_:
            warn_user(
                f"the fit did not reach the constraints: largest residual {self.residual_:.3g} "
                f"data standard errors (tol {self.tol:g}; optimiser success {optimiser_ok})",
                UserWarning,
            )

    def _warn_bound(self) -> None:
        warn_user(
            f"{self.n_at_bound_} multiplier(s) reached the bound +-{hb.BETA_BOUND:g} W_L: "
            "their statistics lie on the edge of their range (e.g. a pair that never "
            "co-fires), where the maximum-entropy multiplier is infinite",
            UserWarning,
        )

    # ------------------------------------------------------------------ results

    def _sibling_pairs(self, j: int) -> tuple[np.ndarray, np.ndarray]:
        n = self.tree_.sizes[j]
        a, b = np.triu_indices(n, 1)
        if j < len(self.tree_.maps) and self.tree_.kind == "partition":
            parent = np.argmax(self.tree_.maps[j], axis=0)
            keep = parent[a] == parent[b]
        elif j < len(self.tree_.maps):
            keep = b == a + 1
        else:
            keep = np.ones(a.size, bool)
        return a[keep], b[keep]

    def _summaries(self, fields, couplings) -> np.ndarray:
        rows = []
        for j, (h, J) in enumerate(zip(fields, couplings, strict=True)):
            sd = np.sqrt(self.level_variance_[j])
            a, b = self._sibling_pairs(j)
            top_free = j == len(fields) - 1 and getattr(self, "engine_", "") == "cluster counts"
            sib = float(np.mean(J[a, b] * sd[a] * sd[b])) if a.size and not top_free else np.nan
            first = np.mean(h * sd) if self.model_ == "binary" else np.mean(np.diag(J) * sd**2)
            rows.append([float(first), sib])
        return np.array(rows)

    def flow_parameters(self) -> xr.Dataset:
        """Per-level couplings in the stated basis, made dimensionless, with jackknife errors.

        Parameters (dim ``parameter``): binary ``field`` (mean ``h_a sd_a``)
        and ``sibling`` (mean ``J_ab sd_a sd_b`` over pairs of variables that
        merge at the next level; adjacent pairs for decimation and linear
        maps; all pairs at the top level, NaN there for ``statistics="tree"``,
        whose top-level variables are independent by construction); Gaussian ``self`` (mean
        ``J_aa sd_a^2``) and ``sibling``. ``sd`` is the data's standard
        deviation of each level variable.

        Returns
        -------
        xarray.Dataset
            ``params``, ``errors`` (``level``, ``parameter``) and
            ``covariance`` (``flat``, ``flat2``: the jackknife covariance of
            the flattened ``(level, parameter)`` values, correlated across
            levels because every level comes from the same data), with the
            ``scale`` coordinate (mean number of units per variable).
        """
        self._check_fitted()
        nominal = self._summaries(self.fields_, self.couplings_)
        reps = self._summary_replicates
        flat = reps.reshape(reps.shape[0], -1)
        ok = np.all(np.isfinite(flat), axis=0)
        cov = np.full((flat.shape[1], flat.shape[1]), np.nan)
        cov[np.ix_(ok, ok)] = jackknife_covariance(flat[:, ok])
        names = ["field", "sibling"] if self.model_ == "binary" else ["self", "sibling"]
        levels = np.arange(1, nominal.shape[0] + 1)
        return xr.Dataset(
            {
                "params": (("level", "parameter"), nominal),
                "errors": (("level", "parameter"), jackknife_error(reps)),
                "covariance": (("flat", "flat2"), cov),
            },
            coords={
                "level": levels,
                "parameter": names,
                "scale": ("level", self._scales()),
            },
            attrs={"model": self.model_, "basis": "h_a y_a + J_ab y_a y_b (+ J_aa y_a^2 / 2)"},
        )

    def _scales(self) -> np.ndarray:
        sizes = self.tree_.sizes
        return np.array([sizes[0] / s for s in sizes], dtype=float)

    def to_dataset(self) -> xr.Dataset:
        """The fit as a Dataset: per-level and per-statistic numbers.

        Returns
        -------
        xarray.Dataset
            ``level`` dim (coord ``scale``: units per variable): ``weight``,
            ``cumulative_weight``, ``entropy``, ``n_variables``,
            ``flow_params``/``flow_errors`` (``level``, ``parameter``, see
            :meth:`flow_parameters`); ``statistic`` dim: ``beta``,
            ``beta_err``, ``data``, ``data_se``, ``model_value``, ``z``,
            ``stat_level``, ``stat_a``, ``stat_b`` (``-1`` for means);
            attrs ``model``, ``residual``, ``residual_rms``, ``converged``,
            ``tree_source``, ``tree_kind``, ``engine``, ``exact_model`` (0
            where the fitted distribution is the Monte Carlo engine's
            approximation), ``mc_allowance`` (0 for exact moments).
        """
        self._check_fitted()
        flow = self.flow_parameters()
        lab = np.array(self.statistic_labels_, dtype=np.int64).reshape(-1, 3)
        return xr.Dataset(
            {
                "weight": ("level", self.weights_),
                "cumulative_weight": ("level", self.cumulative_weights_),
                "entropy": ("level", self.entropies_),
                "n_variables": ("level", np.array(self.tree_.sizes)),
                "flow_params": (("level", "parameter"), flow["params"].values),
                "flow_errors": (("level", "parameter"), flow["errors"].values),
                "beta": ("statistic", self.beta_),
                "beta_err": ("statistic", self.beta_err_),
                "data": ("statistic", self.data_statistics_),
                "data_se": ("statistic", self.data_se_),
                "model_value": ("statistic", self.model_statistics_),
                "z": ("statistic", self.residual_z_),
                "stat_level": ("statistic", lab[:, 0]),
                "stat_a": ("statistic", lab[:, 1]),
                "stat_b": ("statistic", lab[:, 2]),
            },
            coords={
                "level": flow["level"].values,
                "scale": ("level", self._scales()),
                "parameter": flow["parameter"].values,
            },
            attrs={
                "analysis": "hierarchical_maxent_fit",
                "model": self.model_,
                "residual": self.residual_,
                "residual_rms": self.residual_rms_,
                "converged": int(self.converged_),
                "tree_source": self.tree_.source,
                "tree_kind": self.tree_.kind,
                "n_dropped_units": int(np.size(self.dropped_units_)),
                "engine": getattr(self, "engine_", "closed form"),
                "exact_model": int(getattr(self, "exact_model_", True)),
                "mc_allowance": float(getattr(self, "mc_allowance_", 0.0)),
            },
        )
