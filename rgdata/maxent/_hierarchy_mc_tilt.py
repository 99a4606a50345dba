"""The exact reweighting of a hierarchical Monte Carlo sample: the count potentials' rest.

The sampled model of :mod:`._hierarchy_mc` has the log-weight

    log P(x) = theta . f(x) + sum_v R_v(y_v) + const,

where ``theta`` is its effective pairwise exponent
(:meth:`.PairTree.effective_theta`: fields and couplings plus the quadratic
part ``c1 n + c2 n^2`` of every count potential ``U_v``) and ``R_v(n) =
U_v(n) - c0 - c1 n - c2 n^2`` the potential's non-quadratic rest. The rest
moves with the multipliers, so a sample of the model at ``theta`` describes
the model at ``theta + delta`` with the log-weights

    delta . f(x) + sum_v [R'_v(y_v) - R_v(y_v)]

(``R'`` the rest at ``theta + delta``), not the exponential tilt ``delta .
f(x)`` alone. :class:`CountTilt` computes the second term for every distinct
pattern of a :class:`._reweighted_sample.ReweightedSample`; the histogram
reweighting learner adds it to its weights (``FitProblem.tilt``), so the
statistics it predicts for a step are those of the model the step leads to.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._threads import ThreadChooser
from ._hierarchy_mc import PairTree

__all__ = ["CountTilt", "count_rest", "csr_count_sums"]


def count_rest(pair_tree: PairTree, beta: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """The non-quadratic rest ``U_v(n) - c0 - c1 n - c2 n^2`` of every count potential.

    Same layout as ``U`` of :meth:`.PairTree.model`, ``(levels, variables,
    counts)``; the coefficients are those of :meth:`.PairTree.quadratic_part`.
    """
    coef, U = pair_tree.quadratic_part(beta, cum)
    k = np.arange(U.shape[2], dtype=float)
    return U - coef[..., :1] - coef[..., 1:2] * k - coef[..., 2:3] * k**2


@njit(cache=True, parallel=True)
def csr_count_sums(indptr, idx, anc, table, out):
    """``out[s] = sum_lev sum_v (table[lev, v, y_v] - table[lev, v, 0])`` for pattern *s*.

    Patterns are compressed rows (active units ``idx[indptr[s]:indptr[s + 1]]``);
    ``y_v`` is the number of active units of variable ``v = anc[lev, i]``.
    Variables with no active unit contribute 0, so the result differs from
    ``sum_v table[lev, v, y_v]`` by one constant for all patterns.
    """
    for s in prange(indptr.shape[0] - 1):
        a, b = indptr[s], indptr[s + 1]
        e = 0.0
        for lev in range(anc.shape[0]):
            for p in range(a, b):
                v = anc[lev, idx[p]]
                first = True
                for q in range(a, p):
                    if anc[lev, idx[q]] == v:
                        first = False
                        break
                if not first:
                    continue
                count = 1
                for q in range(p + 1, b):
                    if anc[lev, idx[q]] == v:
                        count += 1
                e += table[lev, v, count] - table[lev, v, 0]
        out[s] = e


class CountTilt:
    """The change of the count potentials' rest between two effective exponents, per pattern.

    Parameters
    ----------
    pair_tree : PairTree
        The tree of the sampled model.
    cum : ndarray
        Cumulative weights ``W_j``.

    Calling it with a :class:`._reweighted_sample.ReweightedSample` drawn at
    *theta* and a new exponent *theta_new* returns, for every distinct
    pattern of the sample, ``sum_v [R'_v(y_v) - R_v(y_v)]`` (up to one
    constant for all patterns, which the weights' normalisation removes).
    """

    def __init__(self, pair_tree: PairTree, cum: np.ndarray) -> None:
        self.pair_tree = pair_tree
        self.cum = np.asarray(cum, dtype=float)
        self._memo: dict[bytes, np.ndarray] = {}
        #: serial or parallel csr_count_sums, by measured speed (one pattern per iteration)
        self.threads = ThreadChooser()

    def rest(self, theta: np.ndarray) -> np.ndarray | None:
        """:func:`count_rest` of the model whose effective exponent is *theta* (memoised).

        None where no multipliers have that exponent
        (:meth:`.PairTree.beta_of_effective` with ``strict=True``).
        """
        key = np.ascontiguousarray(theta, dtype=float).tobytes()
        if key not in self._memo:
            if len(self._memo) >= 4:
                self._memo.pop(next(iter(self._memo)))
            try:
                beta = self.pair_tree.beta_of_effective(theta, self.cum, strict=True)
            except ValueError:
                self._memo[key] = None
            else:
                self._memo[key] = count_rest(self.pair_tree, beta, self.cum)
        return self._memo[key]

    def __call__(self, sample, theta: np.ndarray, theta_new: np.ndarray) -> np.ndarray:
        """Log-weight beyond ``(theta_new - theta) . f`` of every distinct pattern of *sample*.

        NaN for every pattern where *theta_new* (or *theta*) is no model's
        effective exponent: such a step has no weights, and the learner's
        effective-sample-size rule shortens it.
        """
        out = np.empty(sample.indptr.shape[0] - 1)
        new, old = self.rest(theta_new), self.rest(theta)
        if new is None or old is None:
            out.fill(np.nan)
            return out
        table = np.ascontiguousarray(new - old)
        args = (sample.indptr, sample.idx, self.pair_tree.ancestors, table, out)
        work = float(sample.idx.size)
        self.threads.run_kernel(work, csr_count_sums, *args)
        return out
