"""Binary hierarchical maximum entropy by enumeration: statistics, level maps and the dual.

For ``n <= MAX_ENUM_UNITS`` binary (0/1) units every one of the ``2^n``
states is listed once. Each level's variables ``y_j = S_j x`` (counts for
cluster sums, kept spins for decimation) label the level's states, the maps
between consecutive labels feed the exact recursion of
:mod:`rgdata.maxent.hierarchical`, and the sufficient statistics are columns
of a ``(2^n, P)`` matrix ``F``. The multipliers solve the convex dual
``D(beta) = max_P [sum_j w_j H(Y_j) - beta . E f] + beta . c`` whose
gradient is ``c - E_beta f`` (L-BFGS-B).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from ._hierarchical_core import _entropy, _fibre_logsumexp

#: largest number of binary units enumerated (2^16 states)
MAX_ENUM_UNITS = 16
#: multipliers are bounded at this times W_L, the total entropy weight (a statistic on the
#: boundary of its range needs infinity; the couplings of level j are beta / W_j, and a
#: rare unit under weights (1, ..., 1) needs |beta| of about W_L times its log-odds)
BETA_BOUND = 20.0


@dataclass
class BinaryProblem:
    """The enumerated states and statistics of one fit."""

    states: np.ndarray  # (2^n, n) int8
    maps: list[np.ndarray]  # state labels level j -> level j+1
    values: list[np.ndarray]  # (n_states_j, n_j) coarse values of each level state
    F: np.ndarray  # (2^n, P) statistics on the level-1 states
    labels: list[tuple[int, int, int]]  # (level, a, b); b = -1 for a mean


def statistic_labels(
    sizes: list[int], binary: list, pairwise: bool, coarse_levels: list[int]
) -> list[tuple[int, int, int]]:
    """``(level, a, b)`` of every statistic: level-1 means (``b = -1``), products ``y_a y_b``.

    Level 1: the means, and with *pairwise* the products ``x_a x_b``
    (``a < b``). Each level in *coarse_levels*: the second moments
    ``y_a y_b`` (``a < b``, and ``a = b`` for the variables of the level that
    are not binary: the square of a 0/1 variable is its mean).
    *binary* holds, per level, one flag per variable (or one for the level).
    """
    labels = [(1, a, -1) for a in range(sizes[0])]
    if pairwise:
        labels += [(1, int(a), int(b)) for a, b in zip(*np.triu_indices(sizes[0], 1), strict=True)]
    for lev in coarse_levels:
        flags = np.broadcast_to(np.asarray(binary[lev - 1], bool), (sizes[lev - 1],))
        iu = np.triu_indices(sizes[lev - 1])
        labels += [
            (lev, int(a), int(b)) for a, b in zip(*iu, strict=True) if a != b or not flags[a]
        ]
    return labels


def evaluate_statistics(ys: list[np.ndarray], labels: list[tuple[int, int, int]]) -> np.ndarray:
    """Statistics of the columns of the level values ``ys[j]`` ``(n_j, m)``: ``(m, P)``."""
    cols = []
    for lev, a, b in labels:
        y = ys[lev - 1]
        cols.append(y[a] if b < 0 else y[a] * y[b])
    return np.array(cols, dtype=float).T


def build_problem(n: int, maps: list[np.ndarray], labels) -> BinaryProblem:
    """Enumerate ``2^n`` states, label every level's states and evaluate the statistics."""
    states = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(np.int8)
    ys = [states.T.astype(float)]
    for t in maps:
        ys.append(t @ ys[-1])
    # level 1 states keep their labels 0 .. 2^n - 1 (bit i = unit i)
    inverse, values = [np.arange(2**n)], [states.astype(float)]
    for y in ys[1:]:
        uniq, inv = np.unique(np.round(y.T, 9), axis=0, return_inverse=True)
        inverse.append(inv.ravel())
        values.append(uniq)
    level_maps = []
    for j in range(len(maps)):
        m = np.zeros(values[j].shape[0], np.intp)
        m[inverse[j]] = inverse[j + 1]
        level_maps.append(m)
    F = evaluate_statistics(ys, labels)
    return BinaryProblem(states, level_maps, values, F, labels)


def recursion(loss: np.ndarray, maps: list[np.ndarray], cum: np.ndarray):
    """The RG recursion for the level-1 loss: objective, level marginals, potentials."""
    g = [loss]
    log_cond = []
    for j, m in enumerate(maps):
        lse = _fibre_logsumexp(-g[j] / cum[j], m, int(m.max()) + 1)
        g.append(-cum[j] * lse)
        log_cond.append(-g[j] / cum[j] - lse[m])
    top = -g[-1] / cum[-1]
    t_max = top.max()
    log_norm = t_max + np.log(np.sum(np.exp(top - t_max)))
    marg = [top - log_norm]
    for j in range(len(maps) - 1, -1, -1):
        marg.insert(0, marg[0][maps[j]] + log_cond[j])
    return float(cum[-1] * log_norm), [np.exp(x) for x in marg], g


def solve_dual(
    problem: BinaryProblem,
    c: np.ndarray,
    cum: np.ndarray,
    beta0: np.ndarray,
    scale: np.ndarray,
    gtol: float = 1e-7,
):
    """Minimise ``D(beta)`` in ``u = beta * scale`` (gradient: residuals in units of *scale*).

    Returns ``beta``, the level marginals and the scipy result.
    """
    F = problem.F

    def dual(u):
        beta = u / scale
        obj, marg, _ = recursion(F @ beta, problem.maps, cum)
        return obj + beta @ c, (c - marg[0] @ F) / scale

    res = minimize(
        dual,
        beta0 * scale,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-BETA_BOUND * cum[-1] * s, BETA_BOUND * cum[-1] * s) for s in scale],
        options={"maxiter": 20_000, "maxcor": 30, "gtol": gtol, "ftol": 1e-15},
    )
    beta = res.x / scale
    _, marg, _ = recursion(F @ beta, problem.maps, cum)
    return beta, marg, res


def entropies(marginals: list[np.ndarray]) -> np.ndarray:
    """Entropy (nats) of every level's marginal."""
    return np.array([_entropy(p) for p in marginals])


def level_couplings(
    potential: np.ndarray, marginal: np.ndarray, values: np.ndarray, w_cum: float
) -> tuple[np.ndarray, np.ndarray]:
    """Fields and pairwise couplings of ``-g_j / W_j`` on the level's variables.

    Weighted least squares (weights: the level's marginal) of ``-g_j / W_j``
    on ``1, y_a, y_a y_b`` (``a < b``, plus ``y_a^2`` when the level is not
    binary). Returns the fields ``(n_j,)`` and the symmetric couplings
    ``(n_j, n_j)`` (diagonal: the coefficient of ``y_a^2 / 2`` times 2, i.e.
    the term is ``J_aa y_a^2 / 2``; zero on binary levels). Exact when
    ``g_j`` lies in this basis (level 1 always does).
    """
    n = values.shape[1]
    binary = bool(np.all((values == 0) | (values == 1)))
    iu = np.triu_indices(n, 1)
    cols = [np.ones(values.shape[0]), *values.T, *(values[:, iu[0]] * values[:, iu[1]]).T]
    if not binary:
        cols += list((values**2 / 2).T)
    X = np.array(cols).T
    sw = np.sqrt(marginal)
    coef, *_ = np.linalg.lstsq(X * sw[:, None], (-potential / w_cum) * sw, rcond=None)
    fields = coef[1 : n + 1]
    J = np.zeros((n, n))
    J[iu] = coef[n + 1 : n + 1 + iu[0].size]
    J = J + J.T
    if not binary:
        J[np.diag_indices(n)] = coef[n + 1 + iu[0].size :]
    return fields, J
