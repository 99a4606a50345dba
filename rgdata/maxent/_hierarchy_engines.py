"""The two exact binary engines of :class:`rgdata.maxent.HierarchicalMaxEntFit`.

Each engine returns the statistic labels, ``solve(c, beta0, scale, gtol)``
(the dual minimised from ``beta0``; returns ``beta``, the model statistics
and the optimiser's success) and ``levels(beta)`` (per-level fields,
couplings and entropies): :func:`enumeration_engine` over the ``2^n``
states (any statistics, ``n <= 16``), :func:`count_engine` per cluster on
a cluster-sum tree (tree-local statistics, any ``n``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _hierarchy_binary as hb
from . import _hierarchy_counts as hc
from .hierarchy_tree import CoarseTree

__all__ = ["enumeration_engine", "count_engine", "coarse_levels", "check_feasible"]


def coarse_levels(spec: Any, n_levels: int) -> list[int]:
    """Levels whose second moments are constrained: ``coarse_statistics`` as a list."""
    if isinstance(spec, bool | np.bool_):
        return list(range(2, n_levels + 1)) if spec else []
    if not isinstance(spec, list | tuple) or not all(
        isinstance(v, int | np.integer) and 2 <= v <= n_levels for v in spec
    ):
        raise ValueError(
            f"coarse_statistics must be a bool or a list of levels in 2..{n_levels}, got {spec!r}"
        )
    return sorted({int(v) for v in spec})


def enumeration_engine(
    tree: CoarseTree, cum: np.ndarray, ys: list[np.ndarray], statistics: str, coarse: Any
) -> dict[str, Any]:
    """The ``2^n``-state engine: means, pairs and coarse second moments."""
    n = tree.units.size
    if n > hb.MAX_ENUM_UNITS:
        raise ValueError(
            f"a binary hierarchy with statistics={statistics!r} enumerates 2^n states: "
            f"n = {n} units exceeds {hb.MAX_ENUM_UNITS}; use statistics='tree' (exact per "
            "cluster at any n), engine='monte_carlo' (all pairs, cluster-sum trees), a "
            "smaller tree, or model='gaussian'"
        )
    sizes = tree.sizes
    binary = [np.all((y == 0) | (y == 1), axis=1) for y in ys]
    levels_c = coarse_levels(coarse, len(sizes))
    labels = hb.statistic_labels(sizes, binary, statistics == "pairwise", levels_c)
    problem = hb.build_problem(n, tree.maps, labels)
    F = problem.F
    design = np.column_stack([np.ones(F.shape[0]), F])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        raise ValueError(
            f"the statistics are linearly dependent on this tree (coarse_statistics={coarse}, "
            f"statistics={statistics!r}), so their multipliers are not identifiable: second "
            "moments of cluster sums are sums of level-1 pair moments and of the second "
            "moments of the level below; use coarse_statistics with statistics='means' and "
            "name fewer levels (coarse_statistics=[2])"
        )

    def solve(c, beta0, scale, gtol):
        beta, marg, res = hb.solve_dual(problem, c, cum, beta0, scale, gtol)
        return beta, marg[0] @ F, bool(res.success)

    def levels(beta):
        _, marg, g = hb.recursion(F @ beta, problem.maps, cum)
        fc = [
            hb.level_couplings(gj, pj, problem.values[j], cum[j])
            for j, (gj, pj) in enumerate(zip(g, marg, strict=False))
        ]
        return [f[0] for f in fc], [f[1] for f in fc], hb.entropies(marg)

    return {"labels": labels, "F": F, "problem": problem, "solve": solve, "levels": levels}


def count_engine(tree: CoarseTree, cum: np.ndarray, coarse: Any) -> dict[str, Any]:
    """The per-cluster engine: means and sibling products of counts (``statistics="tree"``)."""
    if tree.kind != "partition":
        raise ValueError(
            "statistics='tree' needs a tree of cluster sums (a partition at every level: "
            f"prg_tree, block_tree, label or cluster lists); got a {tree.kind} tree"
        )
    if coarse is not False:
        raise ValueError(
            "coarse_statistics is implied by statistics='tree' (sibling products of every "
            "level); leave it False"
        )
    ct = hc.build_count_tree(tree.maps)

    def solve(c, beta0, scale, gtol):
        beta, model, *_, res = hc.solve_count_dual(ct, c, cum, beta0, scale, gtol)
        return beta, model, bool(res.success)

    def levels(beta):
        _, _, G, q, ent = hc._passes(beta, ct, cum)
        fields, couplings = hc.count_couplings(ct, tree.maps, G, q, beta, cum)
        return fields, couplings, ent

    return {"labels": ct.labels, "solve": solve, "levels": levels}


def check_feasible(F: np.ndarray, c: np.ndarray) -> None:
    """Raise unless some distribution on the states has ``E f = c`` (a linear programme)."""
    from scipy.optimize import linprog

    A = np.vstack([np.ones(F.shape[0]), F.T])
    b = np.concatenate([[1.0], c])
    res = linprog(np.zeros(F.shape[0]), A_eq=A, b_eq=b, bounds=(0, None), method="highs")
    if res.status == 2:
        raise ValueError(
            "constraints are infeasible: no distribution of the binary states has these "
            "statistics (accepted: values inside the convex hull of the statistics of the "
            f"states, e.g. 0 <= mean <= 1 and pair <= each mean); got {np.round(c, 4).tolist()[:8]}"
        )
