"""Fitting all-pairs binary hierarchies by Monte Carlo (the model of :mod:`._hierarchy_mc`).

:func:`monte_carlo_engine` returns what :class:`HierarchicalMaxEntFit` needs
from an engine: the statistic labels (means, then every pair ``x_a x_b`` in
upper-triangle order) and ``fit(x, c, se)``. The fit starts from the exact
per-cluster optimum of the tree statistics (means and the block sums of the
pair moments over every pair of sibling clusters: the sampled model matches
them there exactly; above 16 units from the pair-free model whose means
match), then runs the Boltzmann learning of :mod:`._learn_boltzmann` (up to
16 units) or the histogram reweighting of :mod:`._learn_reweighting` (above,
with the count potentials' change in the weights of its late steps,
:class:`._hierarchy_mc_tilt.CountTilt`) on the sampled model's effective
pairwise exponent, with persistent :class:`._hierarchy_mc.TreeChains`.
Convergence is ``PairwiseMaxEnt``'s:
largest residual below ``tol`` plus the Monte Carlo allowance, rms (Monte
Carlo share removed) below ``tol_rms``, every family unbiased, measured with
``max_samples`` recorded sweeps.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from scipy.optimize import minimize

from .._threads import fit_threads
from . import _hierarchy_counts as hc
from ._hierarchy_mc import MAX_CHECK_UNITS, PairTree, TreeChains, exact_tree_stats
from ._hierarchy_mc_errors import (
    MAX_RESPONSE_OPERATIONS,
    memory_refusal,
    response_matrix,
    response_operations,
    sample_counts,
)
from ._hierarchy_mc_tilt import CountTilt
from ._learn import FitProblem, Schedule
from ._learn_boltzmann import learn
from ._learn_reweighting import learn as learn_reweighting
from ._mismatch import data_mismatch, measure
from ._moments import data_statistics
from ._sampler import seed_states
from .hierarchy_tree import CoarseTree

__all__ = ["monte_carlo_engine", "error_samples", "MIN_SAMPLES"]

#: smallest accepted Monte Carlo sample (recorded sweeps x chains) of the final check
MIN_SAMPLES = 1_000
#: Monte Carlo samples per statistic for the response matrix of the errors (see error_samples)
ERROR_SAMPLES_PER_STAT = 50


def _labels(n: int) -> list[tuple[int, int, int]]:
    a, b = np.triu_indices(n, 1)
    return [(1, i, -1) for i in range(n)] + [(1, int(i), int(j)) for i, j in zip(a, b, strict=True)]


def monte_carlo_engine(
    tree: CoarseTree,
    cum: np.ndarray,
    *,
    n_chains: int,
    max_samples: int | None,
    max_iter: int,
    tol: float,
    tol_rms: float,
    rng: np.random.Generator,
    progress: bool,
) -> dict[str, Any]:
    """The Monte Carlo engine: labels and ``fit(x, n_blocks, c)``.

    ``fit`` takes the 0/1 units ``(n, T)``, the number of time blocks and
    optional constraints; it returns a dict with ``beta``, ``model``
    (Monte Carlo statistics at ``beta``), ``data``, ``se``, the
    :class:`._mismatch.Mismatch`, ``converged``, ``n_iter``, ``history``,
    ``n_samples``, ``exact`` (True where the sampled model is the exact
    multilevel optimum: flat weights or tree-local ``beta``), ``response`` (the
    response matrix ``d E f / d beta`` at ``beta`` for the errors,
    :mod:`._hierarchy_mc_errors`; None where it does not fit in memory),
    ``error_samples`` (its Monte Carlo samples; 0 where enumerated),
    ``error_refusal`` (why there is no response matrix, else None) and
    ``error_counts`` (the samples in which each statistic is non-zero; None
    where enumerated).
    """
    if tree.kind != "partition":
        raise ValueError(
            "engine='monte_carlo' needs a tree of cluster sums (a partition at every level: "
            f"prg_tree, block_tree, label or cluster lists); got a {tree.kind} tree"
        )
    pair_tree = PairTree(tree.maps)
    n = pair_tree.n
    labels = _labels(n)

    def fit(x: np.ndarray, n_blocks: int, constraints: np.ndarray | None) -> dict[str, Any]:
        t = x.shape[1]
        stats = data_statistics(x.T, "01", n_blocks)
        floor = 1.0 / t
        stats["se_mean"] = np.maximum(stats["se_mean"], floor)
        stats["se_second"] = np.maximum(stats["se_second"], floor)
        iu = np.triu_indices(n, 1)
        if constraints is not None:
            stats["mean"] = constraints[:n].copy()
            second = np.zeros((n, n))
            second[iu] = constraints[n:]
            second = second + second.T
            second[np.diag_indices(n)] = stats["mean"]
            stats["second"] = second
        c = np.concatenate([stats["mean"], stats["second"][iu]])
        se = np.concatenate([stats["se_mean"], stats["se_second"][iu]])
        # enumerated sizes start from the tree fit (Boltzmann learning takes it well); above,
        # histogram reweighting jumps from it into high-activity states (on 32 retina units),
        # so it starts from the couplings-free model whose means match (count potentials on)
        start = _tree_start if n <= MAX_CHECK_UNITS else _means_start
        beta0 = start(pair_tree, c, se, cum)
        problem = FitProblem(stats, "01", False, pair_tree.effective_theta(beta0, cum))
        if n <= MAX_CHECK_UNITS:

            def check(theta):
                m = exact_tree_stats(pair_tree, pair_tree.beta_of_effective(theta, cum), cum)
                return data_mismatch(m, stats, "01", False)

            problem = replace(problem, check=check)
        else:
            # histogram reweighting with the count potentials' change in the weights
            problem = replace(problem, tilt=CountTilt(pair_tree, cum))
        states = (x.T[rng.integers(0, t, size=n_chains)] > 0).astype(np.int8)
        chains = TreeChains(pair_tree, cum, states, seed_states(rng, n_chains))
        cap = int(max_samples or max(20 * t, 200_000))
        # PairwiseMaxEnt's first samples: 20,000 for Boltzmann, 200,000 for reweighting
        # (smaller reweighted samples step into states they never visited)
        floor = 20_000 if n <= MAX_CHECK_UNITS else 200_000
        schedule = Schedule(
            max_iter, tol, tol_rms, cap, min(max(floor, 2 * t // 10), cap), progress
        )
        with fit_threads():
            out = (learn_reweighting if n > MAX_CHECK_UNITS else learn)(problem, chains, schedule)
            beta = pair_tree.beta_of_effective(out.theta, cum)
            if n <= MAX_CHECK_UNITS:
                model = exact_tree_stats(pair_tree, beta, cum)
                mis = data_mismatch(model, stats, "01", False)
            elif (
                out.converged
                and out.mismatch is not None
                and chains.last is not None
                and np.array_equal(chains.last[0], beta)
            ):
                # the learner's last measurement: at the final theta, with max_samples
                model, mis = chains.last[1], out.mismatch
            else:
                h, J = out.theta[:n], _unpack_pairs(out.theta, n)
                model, per_chain, used = chains.stats_vectors(h, J, None, "01", False, cap)
                mis = measure(model, per_chain, stats, "01", False, used)
            errors = _response(pair_tree, beta, cum, chains, out.theta)
        # the learner's verdict, as PairwiseMaxEnt reports it; when its last measurement was
        # not at the final beta, ``mis`` is a new one, which on a borderline fit may differ
        converged = bool(out.converged)
        return {
            "beta": beta,
            "model": model,
            "data": c,
            "se": se,
            "mismatch": mis,
            "converged": converged,
            "message": out.message,
            "n_iter": out.n_iter,
            "history": out.history,
            "n_samples": chains.n_recorded,
            "exact": bool(np.allclose(cum, cum[0]) or _tree_local(pair_tree, beta)),
            **errors,
        }

    return {"labels": labels, "fit": fit, "pair_tree": pair_tree}


def error_samples(n_stats: int) -> int:
    """Monte Carlo samples of the response matrix: ``ERROR_SAMPLES_PER_STAT`` per statistic.

    At least 100,000, so that the matrix's own noise (relative ``sqrt(P / S)``)
    stays a few percent of the errors.
    """
    return int(max(ERROR_SAMPLES_PER_STAT * n_stats, 100_000))


def _response(pair_tree: PairTree, beta, cum, chains: TreeChains, theta) -> dict[str, Any]:
    """The errors' inputs at *beta*: ``response`` (the response matrix; None where it
    does not fit in memory or would cost more than ``MAX_RESPONSE_OPERATIONS``, a
    model in high-activity states), ``error_samples`` (its Monte Carlo samples; 0:
    enumerated, up to 16 units), ``error_counts`` (the samples in which each
    statistic is non-zero; None where enumerated) and ``error_refusal`` (why there
    is no response matrix, else None)."""
    n = pair_tree.n
    n_stats = n + n * (n - 1) // 2
    none = {"response": None, "error_samples": 0, "error_counts": None, "error_refusal": None}
    refusal = memory_refusal(n_stats)
    if refusal is not None:
        return {**none, "error_refusal": refusal}
    if n <= MAX_CHECK_UNITS:
        return {**none, "response": response_matrix(pair_tree, beta, cum)}
    x = chains.samples(theta[:n], _unpack_pairs(theta, n), None, "01", error_samples(n_stats))
    ops = response_operations(x, len(pair_tree.count_tree.labels))
    if ops > MAX_RESPONSE_OPERATIONS:
        mean_active = float(np.count_nonzero(x, axis=1).mean())
        why = (
            f"not computed: the fitted model's samples have {mean_active:.1f} active units on "
            f"average, and its response matrix would cost {ops:.2g} multiply-adds (more than "
            f"{MAX_RESPONSE_OPERATIONS:.0e})"
        )
        return {**none, "error_refusal": why}
    return {
        "response": response_matrix(pair_tree, beta, cum, x),
        "error_samples": x.shape[0],
        "error_counts": sample_counts(x),
        "error_refusal": None,
    }


def _unpack_pairs(theta: np.ndarray, n: int) -> np.ndarray:
    J = np.zeros((n, n))
    J[np.triu_indices(n, 1)] = theta[n:]
    return J + J.T


def _tree_local(pair_tree: PairTree, beta: np.ndarray) -> bool:
    n = pair_tree.n
    bt = pair_tree.tree_beta(beta)
    full = np.where(pair_tree.pair_label >= 0, bt[np.maximum(pair_tree.pair_label, 0)], 0.0)
    scale = max(1.0, float(np.max(np.abs(beta))))
    return bool(np.max(np.abs(beta[n:] - full), initial=0.0) <= 1e-9 * scale)


def _tree_start(pair_tree: PairTree, c: np.ndarray, se: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """All-pairs ``beta`` of the exact per-cluster fit of the tree statistics (block sums)."""
    n, ok = pair_tree.n, pair_tree.pair_label >= 0
    n_tree = len(pair_tree.count_tree.labels)
    c_tree = np.zeros(n_tree)
    c_tree[:n] = c[:n]
    c_tree += np.bincount(pair_tree.pair_label[ok], weights=c[n:][ok], minlength=n_tree)
    c_tree[:n] = c[:n]
    s_tree = np.zeros(n_tree)
    s_tree[:n] = se[:n]
    s_tree += np.sqrt(
        np.bincount(pair_tree.pair_label[ok], weights=se[n:][ok] ** 2, minlength=n_tree)
    )
    s_tree[:n] = se[:n]
    s_tree = np.maximum(s_tree, 1e-12)
    cum_t = pair_tree.tree_weights(cum)
    bt, *_ = hc.solve_count_dual(
        pair_tree.count_tree, c_tree, cum_t, np.zeros(n_tree), s_tree, 1e-4
    )
    beta = np.zeros(n + n * (n - 1) // 2)
    beta[:n] = bt[:n]
    beta[n:][ok] = bt[pair_tree.pair_label[ok]]
    return beta


def _means_start(pair_tree: PairTree, c: np.ndarray, se: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """``beta`` with no pair terms whose sampled model (exact per cluster) has the data's means."""
    n = pair_tree.n
    n_tree = len(pair_tree.count_tree.labels)
    cum_t = pair_tree.tree_weights(cum)
    scale = np.maximum(se[:n], 1e-12)

    def dual(u):
        bt = np.zeros(n_tree)
        bt[:n] = u / scale
        obj, model, *_ = hc._passes(bt, pair_tree.count_tree, cum_t)
        return obj + bt[:n] @ c[:n], (c[:n] - model[:n]) / scale

    m = np.clip(c[:n], 1e-6, 1 - 1e-6)
    u0 = -cum[0] * np.log(m / (1 - m)) * scale
    res = minimize(dual, u0, jac=True, method="L-BFGS-B", options={"gtol": 1e-4, "maxiter": 2000})
    beta = np.zeros(n + n * (n - 1) // 2)
    beta[:n] = res.x / scale
    return beta
