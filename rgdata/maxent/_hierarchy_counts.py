"""Binary hierarchical maximum entropy on a cluster-sum tree, exact at any size, per cluster.

With cluster sums as the coarse variables and *tree-local* statistics --
the level-1 means and, for every cluster, the products ``y_a y_b`` of the
counts of its children ("siblings") -- the RG recursion factorises over
clusters. Each variable ``v`` carries a function ``G_v(n)`` of its count
``n = 0 .. size_v`` (``G_i(x) = beta_i x`` for a unit), and a cluster ``c``
of level ``j + 1`` with children ``a, b, ...`` gets

    G_c(n) = -W_j log sum_{n_a + n_b + ... = n} exp(-L(n_a, n_b, ...) / W_j),
    L = sum_a G_a(n_a) + sum_{a<b} beta_ab n_a n_b,

a sum over the joint counts of its children only. The top-level variables
are independent, ``P(y_L) = prod_v exp(-G_v / W_L) / Z_v``, and every
cluster's children given its count follow ``exp(-(...)/W_j)`` on that
count's fibre. Moments and the dual come from one upward and one downward
pass, so a 160-unit PRG tree (clusters of up to 32 units, counts 0..32) costs
milliseconds per evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp

from ._hierarchy_binary import BETA_BOUND

#: largest joint grid of children counts of one cluster
MAX_GRID = 2_000_000


@dataclass
class Group:
    """Clusters of one level whose children have the same sizes: one vectorised block."""

    nodes: np.ndarray  # (m,) cluster indices at the upper level
    children: np.ndarray  # (m, k) child indices at the lower level
    pair_stat: np.ndarray  # (m, n_pairs) statistic index of each child pair
    axes: np.ndarray  # (k, G) child counts of every grid point
    products: np.ndarray  # (n_pairs, G) n_u n_v of every child pair
    total: np.ndarray  # (G,) parent count of every grid point
    order: np.ndarray  # grid points sorted by total
    starts: np.ndarray  # first sorted grid point of each total
    onehot: list[np.ndarray]  # per child: (G, size + 1) indicator of its count


@dataclass
class CountTree:
    """Sizes, vectorised cluster groups and statistic labels of a cluster-sum tree."""

    sizes: list[np.ndarray]  # units per variable, per level
    groups: list[list[Group]]  # groups[j]: the clusters of level j + 2 (0-based j)
    labels: list[tuple[int, int, int]]


def _group(nodes, children, sizes, pair_stat) -> Group:
    k = children.shape[1]
    axes = np.array(
        [a.ravel() for a in np.meshgrid(*[np.arange(s + 1) for s in sizes], indexing="ij")]
    )
    ia, ib = np.triu_indices(k, 1)
    total = axes.sum(axis=0)
    order = np.argsort(total, kind="stable")
    starts = np.searchsorted(total[order], np.arange(total.max() + 1))
    onehot = [(axes[u][:, None] == np.arange(s + 1)).astype(float) for u, s in enumerate(sizes)]
    return Group(
        nodes, children, pair_stat, axes, axes[ia] * axes[ib], total, order, starts, onehot
    )


def build_count_tree(maps: list[np.ndarray]) -> CountTree:
    """Cluster groups and the statistic labels (means, then sibling products level by level)."""
    n = maps[0].shape[1]
    sizes = [np.ones(n, np.int64)]
    groups = []
    labels = [(1, i, -1) for i in range(n)]
    for j, t in enumerate(maps):
        parent = np.argmax(t, axis=0)
        ch = [np.flatnonzero(parent == c) for c in range(t.shape[0])]
        sizes.append(np.array([sizes[-1][c].sum() for c in ch], np.int64))
        by_sig: dict[tuple, list[int]] = {}
        for c, members in enumerate(ch):
            by_sig.setdefault(tuple(sizes[-2][members]), []).append(c)
        level_groups = []
        for sig, nodes in by_sig.items():
            grid = int(np.prod(np.array(sig) + 1))
            if grid > MAX_GRID:
                raise ValueError(
                    f"a cluster of level {j + 2} has a joint grid of {grid} children counts "
                    f"(more than {MAX_GRID}); use a tree with fewer or smaller children"
                )
            children = np.array([ch[c] for c in nodes])
            ia, ib = np.triu_indices(len(sig), 1)
            pair_stat = np.zeros((len(nodes), ia.size), np.intp)
            for r, members in enumerate(children):
                pair_stat[r] = np.arange(len(labels), len(labels) + ia.size)
                labels += [
                    (j + 1, int(members[u]), int(members[v])) for u, v in zip(ia, ib, strict=True)
                ]
            level_groups.append(_group(np.array(nodes), children, sig, pair_stat))
        groups.append(level_groups)
    return CountTree(sizes, groups, labels)


def _grouped_lse(e: np.ndarray, grp: Group) -> np.ndarray:
    """``log sum exp`` of ``e`` (m, G) over the grid points of each parent count -> (m, n_tot)."""
    es = e[:, grp.order]
    top = np.maximum.reduceat(es, grp.starts, axis=1)
    tot_sorted = grp.total[grp.order]
    s = np.add.reduceat(np.exp(es - top[:, tot_sorted]), grp.starts, axis=1)
    return top + np.log(s)


def _passes(beta: np.ndarray, tree: CountTree, cum: np.ndarray):
    """Upward and downward passes: objective, model statistics, ``G`` and marginals per level.

    ``G[j]`` and ``q[j]`` are ``(n_j, max size + 1)`` arrays (``+inf`` / 0
    beyond a variable's size); also returns the entropy of every level.
    """
    n_units = tree.sizes[0].size
    G = [np.column_stack([np.zeros(n_units), beta[:n_units]])]
    conds = []
    for j, level_groups in enumerate(tree.groups):
        sizes = tree.sizes[j + 1]
        g_next = np.full((sizes.size, sizes.max() + 1), np.inf)
        cond_j = []
        for grp in level_groups:
            loss = sum(G[j][grp.children[:, k]][:, grp.axes[k]] for k in range(grp.axes.shape[0]))
            if grp.products.size:
                loss = loss + beta[grp.pair_stat] @ grp.products
            e = -loss / cum[j]
            lse = _grouped_lse(e, grp)
            g_next[grp.nodes, : lse.shape[1]] = -cum[j] * lse
            cond_j.append(e - lse[:, grp.total])
        G.append(g_next)
        conds.append(cond_j)
    top_e = -G[-1] / cum[-1]
    log_z = logsumexp(top_e, axis=1)
    objective = float(cum[-1] * np.sum(log_z))
    q = [None] * len(G)
    q[-1] = np.exp(top_e - log_z[:, None])
    h_top = -float(np.sum(q[-1] * np.log(np.where(q[-1] > 0, q[-1], 1.0))))
    cond_h = np.zeros(len(tree.groups))
    model = np.zeros(len(tree.labels))
    for j in range(len(tree.groups) - 1, -1, -1):
        sizes = tree.sizes[j]
        q_j = np.zeros((sizes.size, sizes.max() + 1))
        for grp, logc in zip(tree.groups[j], conds[j], strict=True):
            joint = q[j + 1][grp.nodes][:, grp.total] * np.exp(logc)
            for k, onehot in enumerate(grp.onehot):
                q_j[grp.children[:, k], : onehot.shape[1]] = joint @ onehot
            if grp.products.size:
                model[grp.pair_stat] = joint @ grp.products.T
            cond_h[j] -= float(np.sum(joint * np.where(joint > 0, logc, 0.0)))
        q[j] = q_j
    model[:n_units] = q[0][:, 1]
    entropies = h_top + np.concatenate([np.cumsum(cond_h[::-1])[::-1], [0.0]])
    return objective, model, G, q, entropies


def solve_count_dual(
    tree: CountTree,
    c: np.ndarray,
    cum: np.ndarray,
    beta0: np.ndarray,
    scale: np.ndarray,
    gtol: float = 1e-7,
):
    """Minimise ``D(beta) = obj(beta) + beta . c`` (L-BFGS-B in ``u = beta * scale``).

    With *scale* the data standard errors the gradient in ``u`` is the
    constraint residual in standard errors, so *gtol* is a tolerance in them.
    """

    def dual(u):
        beta = u / scale
        obj, model, *_ = _passes(beta, tree, cum)
        return obj + beta @ c, (c - model) / scale

    bound = [(-BETA_BOUND * cum[-1] * s, BETA_BOUND * cum[-1] * s) for s in scale]
    res = minimize(
        dual,
        beta0 * scale,
        jac=True,
        method="L-BFGS-B",
        bounds=bound,
        options={"maxiter": 20_000, "maxcor": 30, "gtol": gtol, "ftol": 1e-15},
    )
    beta = res.x / scale
    _, model, G, q, ent = _passes(beta, tree, cum)
    return beta, model, G, q, ent, res


def count_couplings(
    tree: CountTree, maps: list[np.ndarray], G: list, q: list, beta: np.ndarray, cum: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-level fields and couplings of ``-g_j / W_j`` in the basis ``y_a, y_a y_b, y_a^2 / 2``.

    ``g_j`` is ``sum_v G_v(y_v)`` plus the sibling statistics of levels
    ``>= j``. Each ``G_v`` is projected on ``1, n, n^2 / 2`` (weights: the
    marginal of ``n``; exact at level 1, where ``n^2 = n``); a sibling product
    ``beta_cd y_c y_d`` of level ``k >= j`` adds ``-beta_cd / W_j`` to the
    coupling of every level-j pair ``a`` in ``c``, ``b`` in ``d`` (exact).
    """
    fields, couplings = [], []
    for j, level in enumerate(G):
        n_var = level.shape[0]
        h = np.zeros(n_var)
        J = np.zeros((n_var, n_var))
        for v in range(n_var):
            g = level[v, : tree.sizes[j][v] + 1]
            n = np.arange(g.size, dtype=float)
            cols = [np.ones_like(n), n] + ([n**2 / 2] if g.size > 2 else [])
            sw = np.sqrt(q[j][v, : g.size])
            coef, *_ = np.linalg.lstsq(np.array(cols).T * sw[:, None], -g / cum[j] * sw, rcond=None)
            h[v] = coef[1]
            if g.size > 2:
                J[v, v] = coef[2]
        # ancestors: anc[k][a] = level-k variable containing level-j variable a (k >= j)
        anc = np.arange(n_var)
        for k in range(j, len(tree.groups)):
            for grp in tree.groups[k]:
                ia, ib = np.triu_indices(grp.children.shape[1], 1)
                for r, ch in enumerate(grp.children):
                    for p, (u, v) in enumerate(zip(ia, ib, strict=True)):
                        val = -beta[grp.pair_stat[r, p]] / cum[j]
                        in_u, in_v = np.flatnonzero(anc == ch[u]), np.flatnonzero(anc == ch[v])
                        J[np.ix_(in_u, in_v)] += val
                        J[np.ix_(in_v, in_u)] += val
            anc = np.argmax(maps[k], axis=0)[anc]
        fields.append(h)
        couplings.append(J)
    return fields, couplings


def sample_units(
    beta: np.ndarray, tree: CountTree, cum: np.ndarray, n: int, rng: np.random.Generator
) -> np.ndarray:
    """Exact samples of the fitted model's units, top-down: ``(n_units, n)`` 0/1.

    The top counts are drawn from their marginals and every cluster's
    children counts from ``P(children | count)``; level-1 variables are the
    units.
    """
    _, _, G, _, _ = _passes(beta, tree, cum)
    top = -G[-1] / cum[-1]
    p_top = np.exp(top - logsumexp(top, axis=1, keepdims=True))
    counts = np.array([rng.choice(p.size, size=n, p=p) for p in p_top])
    for j in range(len(tree.groups) - 1, -1, -1):
        lower = np.zeros((tree.sizes[j].size, n), np.int64)
        for grp in tree.groups[j]:
            loss = sum(G[j][grp.children[:, k]][:, grp.axes[k]] for k in range(grp.axes.shape[0]))
            if grp.products.size:
                loss = loss + beta[grp.pair_stat] @ grp.products
            e = -loss / cum[j]
            for r, node in enumerate(grp.nodes):
                for value in np.unique(counts[node]):
                    idx = np.flatnonzero(counts[node] == value)
                    pts = np.flatnonzero(grp.total == value)
                    w = np.exp(e[r, pts] - e[r, pts].max())
                    pick = pts[rng.choice(pts.size, size=idx.size, p=w / w.sum())]
                    lower[grp.children[r][:, None], idx[None, :]] = grp.axes[:, pick]
        counts = lower
    return counts.astype(np.int8)
