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
blocks (:mod:`rgdata._jackknife`), refitting from the full fit. The engines
are in :mod:`._hierarchical_fit_engines`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from threadpoolctl import threadpool_limits

from .._estimator import Estimator
from .._jackknife import jackknife_covariance, jackknife_error
from .._validation import check_binary, check_int, check_option, check_real
from .._warnings import warn_user
from ..activity import check_activity
from . import _hierarchy_binary as hb
from ._hierarchical_core import _check_weights
from ._hierarchical_fit_engines import THREADED_MIN, FitEngines
from .hierarchy_gaussian import as_operator
from .hierarchy_tree import CoarseTree, check_tree

__all__ = ["HierarchicalMaxEntFit"]

MODELS = ("auto", "binary", "gaussian")
STATISTICS = ("pairwise", "means", "tree")
ENGINES = ("auto", "exact", "monte_carlo")


class HierarchicalMaxEntFit(FitEngines, Estimator):
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
        Jackknife standard errors (and covariance, binary fits): refits per
        left-out block, or for the Monte Carlo engine the linearized jackknife
        (``error_method_``); ``inf`` for a multiplier at the bound or whose
        statistic is on the edge of its range (an infinite multiplier).
    error_method_ : str
        How the errors were computed (also attrs ``error_method`` of
        :meth:`to_dataset`).
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
        (as ``PairwiseMaxEnt``). Its errors are the linearized block
        jackknife ``beta + M^-1 (c_b - c)`` through the sampled model's
        response matrix ``M = dE f / d beta`` (enumerated up to 16 units,
        from Monte Carlo samples above; it needs ``24 P^2`` bytes, 4 GB for
        160 units, and where that exceeds the memory available the errors are
        NaN with a warning); the couplings and entropies of levels above 1
        are NaN. ``converged_`` is
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
            approximation), ``mc_allowance`` (0 for exact moments),
            ``error_method``.
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
                "error_method": self.error_method_,
            },
        )
