"""The fitting engines of :class:`~rgdata.maxent.hierarchical_fit.HierarchicalMaxEntFit`.

:class:`FitEngines` holds the three ways the estimator's ``fit`` solves the
multipliers, each filling the fitted state (``beta_``, the statistics, the
errors) on the estimator: binary by enumeration or exactly per cluster
(:meth:`~FitEngines._fit_binary`), binary all pairs by Monte Carlo
(:meth:`~FitEngines._fit_monte_carlo`), and Gaussian in closed form
(:meth:`~FitEngines._fit_gaussian`). The estimator (validation, trees,
residuals, summaries, Datasets) is in :mod:`.hierarchical_fit`.
"""

from __future__ import annotations

import numpy as np

from .._jackknife import jackknife_covariance, jackknife_error
from .._validation import check_array, check_binary, check_int, check_random_state, check_real
from .._warnings import warn_user
from . import _hierarchy_binary as hb
from ._hierarchy_engines import check_feasible, count_engine, enumeration_engine
from ._hierarchy_mc_errors import (
    MIN_RESPONSE_COUNT,
    block_statistics,
    interior,
    linear_jackknife,
)
from ._hierarchy_mc_fit import MIN_SAMPLES, monte_carlo_engine
from ._mismatch import families_dataset
from .hierarchy_gaussian import gaussian_couplings, gaussian_entropies, gaussian_hierarchy

__all__ = ["FitEngines", "block_edges", "GTOL", "GTOL_JACKKNIFE", "THREADED_MIN"]

#: matrices smaller than this use one BLAS thread (as rgdata.coarse.prg does)
THREADED_MIN = 1024
#: L-BFGS tolerance on the largest constraint residual, in data standard errors
GTOL = 1e-7
#: the same for the jackknife refits (started from the full fit)
GTOL_JACKKNIFE = 1e-4


def block_edges(t: int, n_blocks: int) -> np.ndarray:
    """Edges of *n_blocks* contiguous time blocks of *t* samples."""
    return np.linspace(0, t, n_blocks + 1).astype(int)


class FitEngines:
    """The engines of ``HierarchicalMaxEntFit.fit`` (a mixin: they fill the estimator's state)."""

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
        edges = block_edges(t, n_blocks)
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
        bound = hb.BETA_BOUND * self.cumulative_weights_[-1]
        at_bound = np.abs(beta) >= bound * (1 - 1e-9)
        self.n_at_bound_ = int(np.sum(at_bound))
        # a multiplier held at the bound stands for an infinite one: no finite error (its
        # replicates sit at the bound too, which would read as an error of 0)
        self.beta_err_ = np.where(at_bound, np.inf, jackknife_error(reps))
        self.error_method_ = f"{n_blocks}-block jackknife (refits)"
        self.beta_cov_ = jackknife_covariance(reps)
        self.beta_cov_[at_bound, :] = self.beta_cov_[:, at_bound] = np.nan
        self._beta_replicates = reps
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
        bound = hb.BETA_BOUND * self.cumulative_weights_[-1]
        at_bound = np.abs(self.beta_) >= 0.999 * bound
        free = ~at_bound & interior(out["data"], n)
        edge = int(np.sum(~interior(out["data"], n)))
        if edge:
            warn_user(
                f"{edge} statistic(s) lie on the edge of their range (a unit never or always "
                "active, a pair that never co-fires, ...): their maximum-entropy multipliers "
                "are infinite; the fit stops at a large finite value and their errors are inf",
                UserWarning,
            )
        self.beta_err_, self.beta_cov_ = self._linear_errors(x, n_blocks, out, constraints, free)
        self.statistic_labels_ = labels
        self.data_statistics_ = out["data"]
        self.data_se_ = out["se"]
        self.model_statistics_ = out["model"]
        self.n_iter_ = out["n_iter"]
        self.n_mc_samples_ = out["n_samples"]
        self.history_ = out["history"]
        self.mc_allowance_ = mis.allowance
        self.residual_families_ = families_dataset(mis)
        self.n_at_bound_ = int(np.sum(at_bound))
        cum = self.cumulative_weights_
        self.fields_ = [-self.beta_[:n] / cum[0]] + [
            np.full(s, np.nan) for s in self.tree_.sizes[1:]
        ]
        self.couplings_ = [_symmetric(-self.beta_[n:] / cum[0], n)] + [
            np.full((s, s), np.nan) for s in self.tree_.sizes[1:]
        ]
        self.fields_err_ = [self.beta_err_[:n] / cum[0]] + [
            np.full(f.shape, np.nan) for f in self.fields_[1:]
        ]
        self.couplings_err_ = [_symmetric(self.beta_err_[n:] / cum[0], n)] + [
            np.full(c.shape, np.nan) for c in self.couplings_[1:]
        ]
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

    def _linear_errors(self, x, n_blocks, out, constraints, free):
        """Errors of the Monte Carlo fit: the linearized block jackknife (``beta_err_``, cov).

        NaN (and no covariance) where the response matrix was not formed (it does
        not fit in memory, :func:`._hierarchy_mc_errors.memory_refusal`) or is
        singular; ``inf`` where not *free* (at the bound, or a statistic on the
        edge of its range, whose multiplier is infinite); NaN for multipliers whose
        statistic was non-zero in fewer than ``MIN_RESPONSE_COUNT`` of the response
        samples (held at the fit in the solve).
        """
        p = out["beta"].size
        response = out.pop("response")
        if response is None:
            self.error_method_ = out.get("error_refusal") or "not computed: no response matrix"
            warn_user(
                f"the Monte Carlo fit's errors were not computed ({self.error_method_}): "
                "beta_err_ is NaN",
                UserWarning,
            )
            return np.full(p, np.nan), None
        t = x.shape[1]
        block_sums, sizes = block_statistics(x, n_blocks)
        c_data = block_sums.sum(axis=0) / t
        c = c_data if constraints is None else constraints
        loo = (c_data * t - block_sums) / (t - sizes)[:, None] - c_data + c
        counts = out.get("error_counts")
        unseen = np.zeros(p, bool) if counts is None else free & (counts < MIN_RESPONSE_COUNT)
        if unseen.any():
            warn_user(
                f"{int(unseen.sum())} statistic(s) were non-zero in fewer than "
                f"{MIN_RESPONSE_COUNT} of the {out['error_samples']} Monte Carlo samples of "
                "the response matrix (rare pairs): their rows are too noisy to solve, their "
                "multipliers are held at the fit in the jackknife and their errors are NaN",
                UserWarning,
            )
        try:
            reps = linear_jackknife(response, out["beta"], c, loo, free & ~unseen, overwrite=True)
            del response
        except np.linalg.LinAlgError:
            self.error_method_ = "not computed: the response matrix is singular"
            warn_user(
                "the Monte Carlo fit's response matrix is singular: no errors (beta_err_ NaN)",
                UserWarning,
            )
            return np.full(p, np.nan), None
        exact = out["error_samples"] == 0
        self.error_method_ = f"linearized {n_blocks}-block jackknife, response matrix " + (
            "enumerated" if exact else f"from {out['error_samples']} Monte Carlo samples"
        )
        if unseen.any():
            self.error_method_ += (
                f"; {int(unseen.sum())} multiplier(s) whose statistic was non-zero in fewer "
                f"than {MIN_RESPONSE_COUNT} of them held fixed (errors NaN)"
            )
        err = jackknife_error(reps)
        err[~free] = np.inf
        err[unseen] = np.nan
        cov = jackknife_covariance(reps)
        cov[~free | unseen, :] = cov[:, ~free | unseen] = np.nan
        return err, cov

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
        edges = block_edges(t, n_blocks)
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
        self.error_method_ = f"{n_blocks}-block jackknife (refits)"
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


def _symmetric(upper: np.ndarray, n: int) -> np.ndarray:
    """The symmetric ``(n, n)`` matrix with *upper* above the diagonal and zeros on it."""
    out = np.zeros((n, n))
    out[np.triu_indices(n, 1)] = upper
    return out + out.T
