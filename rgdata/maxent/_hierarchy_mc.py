"""Monte Carlo engine of binary hierarchical maximum entropy with all pairwise statistics.

What can and cannot be sampled
------------------------------
With ``W_j = w_1 + ... + w_j`` the multilevel optimum for the loss
``g_1 = beta . f`` is ``P(x) = P(y_L) prod_j P(y_j | y_{j+1})`` with
``P(y_j | y_{j+1}) ∝ exp(-g_j / W_j)`` on each fibre and ``g_{j+1} = -W_j
log sum_fibre exp(-g_j / W_j)``. Multiplying the factors out,

    log P(x) = -g_1(x) / W_1 + sum_{j >= 2} (1 / W_{j-1} - 1 / W_j) g_j(y_j) - log Z,

so every coarser level contributes ``-(w_j / W_j) log Z_{j-1}(y_j)``, a
non-integer power of the sum of ``exp(-g_{j-1} / W_{j-1})`` over the fibre of
``y_j`` (all finer configurations with the same cluster counts). For
tree-local statistics (means and sibling products of counts) that sum
factorises over clusters and ``g_j(y_j) = sum_v G_v(y_v) + (sibling products
of levels >= j)`` is exact (:mod:`._hierarchy_counts`). With a product
``x_a x_b`` of two units in different clusters the fibre sum couples all
clusters: ``g_j`` is a partition function of ``2^(n - n_j)``-ish terms for
every ``y_j``, and a non-integer power of it has no positive auxiliary-variable
representation (the exchange algorithm handles the power -1 only), so the
exact optimum is not sampled here for non-local statistics.

The model sampled instead (documented approximation)
----------------------------------------------------
Split ``beta`` into its tree-local part ``beta_T`` (the means; for every
pair of sibling clusters ``c, d`` of level k the mean of ``beta_ab`` over
``a in c, b in d``, i.e. the coefficient of ``y_c y_d``) and the remainder
``beta - beta_T`` (deviations from the block means, and every pair of units
in different top-level variables). The coarse free energies ``g_j`` are
those of ``beta_T`` (exact per cluster) and the remainder acts at level 1
only:

    log P(x) = sum_a h_a x_a + sum_{a<b} J_ab x_a x_b + sum_{j>=2} sum_v U_v(y_v) + const,
    h_a = -beta_a / W_1,   J_ab = -(beta_ab - beta_T,cd) / W_1 - beta_T,cd / W_k,
    U_v(n) = (1 / W_{j-1} - 1 / W_j) G_v(n)   (v a variable of level j >= 2).

(The sibling products telescope to ``-beta_T / W_k``.) This is *exact* when
``beta`` is tree-local (it is then the per-cluster optimum of
:func:`._hierarchy_counts._passes`) and when ``w = (1, 0, ..., 0)`` (every
``U`` vanishes and ``W_k = W_1``: ordinary pairwise maximum entropy); in
between it is the per-cluster multilevel optimum of the tree-local part,
tilted at level 1 by the non-local remainder. It is a pairwise model of the
units with a count potential ``U_v`` on every cluster of every coarser
level: heat-bath (Gibbs) sweeps update one unit at a time, its conditional
log-odds being its local field plus one difference ``U_v(n + 1) - U_v(n)``
per level (:func:`tree_gibbs_stats`).

The multipliers are fitted (:mod:`._hierarchy_mc_fit`) by the Boltzmann
learning of :mod:`._learn_boltzmann` (up to 16 units) or the histogram
reweighting of :mod:`._learn_reweighting` (above) on ``theta = -beta / W_1``
with the persistent chains of :class:`TreeChains`, whose convergence verdict
is that of ``PairwiseMaxEnt``: residuals in comparison standard errors with
the Monte Carlo error of the chains included (:class:`._mismatch.Mismatch`).
The learner steps in the effective pairwise exponent
(:meth:`PairTree.effective_theta`), in which only the count potentials'
non-quadratic rest moves with ``beta`` beyond an exponential tilt; the late,
bounded reweighted steps include that rest's change in their weights
(:mod:`._hierarchy_mc_tilt`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .._threads import ThreadChooser
from . import _hierarchy_counts as hc
from ._codings import moments01_to, pack, stats_vector
from ._sampler import _uniform, record_sweep

__all__ = [
    "PairTree",
    "TreeChains",
    "count_steps",
    "tree_gibbs_stats",
    "tree_gibbs_samples",
    "exact_tree_stats",
    "exact_tree_probabilities",
]

#: largest number of units whose approximate model is also enumerated (exact check)
MAX_CHECK_UNITS = 16
#: relative size of the last fixed-point step of an inverse counted as converged
INVERSE_TOL = 1e-6


class PairTree:
    """All unit pairs of a cluster-sum tree, mapped to the tree's sibling statistics.

    Parameters
    ----------
    maps : list of ndarray
        Cluster-sum (0/1 partition) matrices, level 1 -> 2, 2 -> 3, ...
    """

    def __init__(self, maps: list[np.ndarray]) -> None:
        n = maps[0].shape[1]
        top = np.ones(n)
        for t in maps:
            top = t @ top  # units per top-level variable
        # a root of weight 0 over the top variables makes their pair products tree-local
        # (it adds no entropy term) where its joint grid of counts is small enough
        self.root = bool(np.prod(top + 1.0) <= hc.MAX_GRID and top.size > 1)
        if self.root:
            maps = [*maps, np.ones((1, top.size))]
        self.count_tree = hc.build_count_tree(maps)
        self.n = n
        anc = [np.arange(n)]
        for t in maps:
            anc.append(np.argmax(t, axis=0)[anc[-1]])
        self.ancestors = np.array(anc[1:], dtype=np.int64).reshape(len(maps), n)
        index = {lab: k for k, lab in enumerate(self.count_tree.labels)}
        a, b = np.triu_indices(n, 1)
        label = np.full(a.size, -1, np.int64)
        level = np.ones(a.size, np.int64)
        done = np.zeros(a.size, bool)
        for j in range(1, len(anc)):
            same = (anc[j][a] == anc[j][b]) & ~done
            for p in np.flatnonzero(same):
                c, d = anc[j - 1][a[p]], anc[j - 1][b[p]]
                label[p] = index[(j, int(min(c, d)), int(max(c, d)))]
                level[p] = j
            done |= same
        self.pair_label = label  # count-tree statistic of each unit pair, -1: top level
        self.pair_level = level  # 1-based level of the two sibling variables
        ok = label >= 0
        self._ok = ok
        self._block = np.bincount(label[ok], minlength=len(self.count_tree.labels)).astype(float)
        self.n_levels = len(maps) + 1
        self.max_vars = max(int(t.shape[0]) for t in maps)
        self.max_size = max(int(s.max()) for s in self.count_tree.sizes)
        self._inverse_memo: dict[tuple, tuple[np.ndarray, bool]] = {}
        #: units per variable of every coarser level
        self._level_sizes = [
            np.bincount(anc, minlength=int(anc.max()) + 1) for anc in self.ancestors
        ]

    def tree_weights(self, cum: np.ndarray) -> np.ndarray:
        """Cumulative weights per level of the count tree: *cum*, repeated for the root."""
        cum = np.asarray(cum, dtype=float)
        return np.append(cum, cum[-1]) if self.root else cum

    def counts(self, x: np.ndarray) -> list[np.ndarray]:
        """Per coarser level, the active units of every variable in configurations *x*.

        *x* is ``(S, n)`` 0/1; returns one ``(S, n_variables)`` int64 array per level
        (a product with each level's 0/1 membership matrix: integer sums, exact in
        float64 whatever the BLAS kernel).
        """
        out = []
        xf = np.asarray(x, dtype=np.float64)
        for anc in self.ancestors:
            member = np.zeros((anc.size, int(anc.max()) + 1))
            member[np.arange(anc.size), anc] = 1.0
            out.append((xf @ member).astype(np.int64))
        return out

    def tree_beta(self, beta: np.ndarray) -> np.ndarray:
        """Tree-local part of all-pairs multipliers: means and block means per sibling pair."""
        n, ok = self.n, self._ok
        out = np.zeros(len(self.count_tree.labels))
        out[:n] = beta[:n]
        sums = np.bincount(self.pair_label[ok], weights=beta[n:][ok], minlength=out.size)
        blk = self._block[n:]
        out[n:] = np.where(blk > 0, sums[n:] / np.where(blk > 0, blk, 1.0), 0.0)
        return out

    def _linear_beta(self, h: np.ndarray, jv: np.ndarray, cum: np.ndarray) -> np.ndarray:
        """Inverse of the pairwise part of :meth:`model`: ``beta`` from ``h`` and ``J`` (upper)."""
        n, ok = self.n, self._ok
        beta = np.concatenate([-cum[0] * h, -cum[0] * jv])
        w_k = cum[self.pair_level[ok] - 1]
        blk = self._block
        sums = np.bincount(self.pair_label[ok], weights=jv[ok] * w_k, minlength=blk.size)
        bt = -np.where(blk > 0, sums / np.where(blk > 0, blk, 1.0), 0.0)  # -W_k mean(J)
        beta[n:][ok] += bt[self.pair_label[ok]] * (1.0 - cum[0] / w_k)
        return beta

    def _count_projection(self, beta: np.ndarray, cum: np.ndarray):
        """Pairwise part of the count potentials: fields (n,) and couplings (upper) they add.

        Each ``U_v(n)`` is projected on ``1, n, n^2`` (weights: the marginal of
        ``n`` under the tree-local model); ``c n^2 = c sum_a x_a + 2 c sum_{a<b}
        x_a x_b``.
        """
        coef, _ = self.quadratic_part(beta, cum)
        return self._projection_terms(coef)

    def quadratic_part(self, beta: np.ndarray, cum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted least-squares fit of every ``U_v(n)`` by ``c0 + c1 n + c2 n^2``.

        Returns the coefficients ``(levels, max_vars, 3)`` (0 for variables of
        one unit and for padding) and the potentials ``U`` of :meth:`model`.
        The weights are the marginal of the count under the tree-local model
        (floored at 1e-12); one batched QR solve per level.
        """
        cum_t = self.tree_weights(cum)
        _, _, G, q, _ = hc._passes(self.tree_beta(beta), self.count_tree, cum_t)
        U = self._potentials(G, cum_t)
        coef = np.zeros((self.n_levels - 1, self.max_vars, 3))
        for lev, size in enumerate(self._level_sizes):
            k = np.arange(int(size.max()) + 1, dtype=float)
            ok = (k[None, :] <= size[:, None]) & (size[:, None] > 1)
            qv = q[lev + 1][:, : k.size]
            w = np.where(ok, np.sqrt(np.maximum(qv, 1e-12)), 0.0)
            X = np.stack([np.ones_like(k), k, k**2], axis=1)[None] * w[:, :, None]
            y = U[lev, : size.size, : k.size] * w
            Q, R = np.linalg.qr(X)
            rhs = np.einsum("vki,vk->vi", Q, y)
            fit = size > 1
            coef[lev, : size.size][fit] = np.linalg.solve(R[fit], rhs[fit][..., None])[..., 0]
        return coef, U

    def _projection_terms(self, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Fields and upper-triangle couplings of ``sum_v c1_v y_v + c2_v y_v^2``."""
        n = self.n
        a, b = np.triu_indices(n, 1)
        dh = np.zeros(n)
        dj = np.zeros(a.size)
        for lev, anc in enumerate(self.ancestors):
            c1, c2 = coef[lev, anc, 1], coef[lev, anc, 2]
            dh += c1 + c2
            same = anc[a] == anc[b]
            dj[same] += 2.0 * c2[a[same]]
        return dh, dj

    def effective_theta(self, beta: np.ndarray, cum: np.ndarray) -> np.ndarray:
        """The sampled model's pairwise exponent including the count potentials' projection."""
        h, J, _ = self.model(beta, cum)
        dh, dj = self._count_projection(beta, cum)
        return np.concatenate([h + dh, J[np.triu_indices(self.n, 1)] + dj])

    def beta_of_effective(
        self,
        theta: np.ndarray,
        cum: np.ndarray,
        tol: float = 1e-10,
        max_iter: int = 500,
        *,
        strict: bool = False,
    ) -> np.ndarray:
        """Inverse of :meth:`effective_theta` by damped fixed-point iteration.

        Far from the exponents the learner starts from (a large step of many
        couplings) the iteration need not settle: the count potentials'
        quadratic part then changes faster than the linear map it corrects,
        and no nearby ``beta`` may have *theta* as its effective exponent.
        With *strict* such a *theta* raises ``ValueError`` (its last fixed-point
        step above ``INVERSE_TOL`` of the multipliers' scale); otherwise the
        last iterate is returned. The last few results are memoised (the
        learner, its chains and the reweighting tilt ask for the same
        exponents).
        """
        key = (np.asarray(theta, float).tobytes(), np.asarray(cum, float).tobytes(), tol, max_iter)
        if key not in self._inverse_memo:
            if len(self._inverse_memo) >= 8:
                self._inverse_memo.pop(next(iter(self._inverse_memo)))
            self._inverse_memo[key] = self._beta_of_effective(theta, cum, tol, max_iter)
        beta, ok = self._inverse_memo[key]
        if strict and not ok:
            raise ValueError("no multipliers found with this effective exponent")
        return beta.copy()

    def _beta_of_effective(
        self, theta: np.ndarray, cum: np.ndarray, tol: float, max_iter: int
    ) -> tuple[np.ndarray, bool]:
        """The fixed-point iterate and whether its last step was below ``INVERSE_TOL``."""
        n = self.n
        beta = self._linear_beta(theta[:n], theta[n:], cum)
        size = np.inf
        for _ in range(max_iter):
            dh, dj = self._count_projection(beta, cum)
            new = self._linear_beta(theta[:n] - dh, theta[n:] - dj, cum)
            step = new - beta
            beta = beta + 0.7 * step
            size = float(np.max(np.abs(step))) / max(1.0, float(np.max(np.abs(beta))))
            if size < tol:
                break
        return beta, size < INVERSE_TOL

    def model(self, beta: np.ndarray, cum: np.ndarray):
        """Log-probability parameters ``(h, J, U)`` of the sampled model for *beta*."""
        n, ok = self.n, self._ok
        bt = self.tree_beta(beta)
        cum = self.tree_weights(cum)
        _, _, G, _, _ = hc._passes(bt, self.count_tree, cum)
        h = -beta[:n] / cum[0]
        bp = beta[n:]
        jv = -bp / cum[0]
        bt_pair = bt[self.pair_label[ok]]
        jv[ok] = -(bp[ok] - bt_pair) / cum[0] - bt_pair / cum[self.pair_level[ok] - 1]
        J = np.zeros((n, n))
        J[np.triu_indices(n, 1)] = jv
        J = J + J.T
        return h, J, self._potentials(G, cum)

    def potentials(self, bt: np.ndarray, cum: np.ndarray) -> np.ndarray:
        """The count potentials ``U`` of :meth:`model` for the tree-local multipliers *bt*."""
        cum = self.tree_weights(cum)
        _, _, G, _, _ = hc._passes(bt, self.count_tree, cum)
        return self._potentials(G, cum)

    def _potentials(self, G: list, cum: np.ndarray) -> np.ndarray:
        U = np.zeros((self.n_levels - 1, self.max_vars, self.max_size + 2))
        for j in range(1, self.n_levels):
            g = np.where(np.isfinite(G[j]), G[j], 0.0)
            U[j - 1, : g.shape[0], : g.shape[1]] = (1.0 / cum[j - 1] - 1.0 / cum[j]) * g
        return U


@njit(cache=True, inline="always")
def _init(s, h, J, anc, n_var):
    n = s.shape[0]
    field = h.copy()
    counts = np.zeros((anc.shape[0], n_var), np.int64)
    for i in range(n):
        if s[i]:
            for j in range(n):
                field[j] += J[j, i]
            for lev in range(anc.shape[0]):
                counts[lev, anc[lev, i]] += 1
    return field, counts


@njit(cache=True)
def count_steps(U):
    """Differences ``dU[lev, v, k] = U[lev, v, k + 1] - U[lev, v, k]`` of the count potentials.

    Parameters
    ----------
    U : ndarray
        Count potentials ``(levels, variables, counts)`` of :meth:`PairTree.model`.

    Returns
    -------
    ndarray
        ``(levels, variables, counts - 1)``: the change of ``U`` when one more
        unit of the variable is active; the heat-bath update adds one entry
        per level to a unit's log-odds (the same float as the difference of
        the two entries, so the chains do not change).
    """
    n_lev, n_var, n_cnt = U.shape
    dU = np.empty((n_lev, n_var, n_cnt - 1))
    for lev in range(n_lev):
        for v in range(n_var):
            for k in range(n_cnt - 1):
                dU[lev, v, k] = U[lev, v, k + 1] - U[lev, v, k]
    return dU


@njit(cache=True, parallel=True)
def tree_gibbs_stats(h, J, anc, U, states, rng, n_sweeps, n_burn):
    """Heat-bath sweeps of the pairwise model with per-cluster count potentials.

    ``log P(x) = h.x + sum_{i<j} J_ij x_i x_j + sum_lev U[lev, anc[lev, i], count]``.
    Returns per-chain sums of ``x_i`` ``(C, N)`` and of ``x_i x_j`` (upper
    triangle, ``(C, N, N)``), one record per sweep after *n_burn*; *states*
    and *rng* are updated in place (persistent chains).
    """
    n_chains, n = states.shape
    sums = np.zeros((n_chains, n))
    pairs = np.zeros((n_chains, n, n))
    dU = count_steps(U)
    for c in prange(n_chains):
        s = states[c]
        field, counts = _init(s, h, J, anc, U.shape[1])
        active = np.empty(n, np.int64)
        own = rng[c : c + 1].copy()  # the chain's generator off the shared cache line
        for sweep in range(n_burn + n_sweeps):
            _tree_sweep(s, field, counts, J, anc, dU, own)
            if sweep >= n_burn:
                record_sweep(s, active, sums[c], pairs[c])
        rng[c] = own[0]
    return sums, pairs


@njit(cache=True, inline="always")
def _tree_sweep(s, field, counts, J, anc, dU, rng):
    """One heat-bath sweep of all units; *dU* from :func:`count_steps`, *rng* one state."""
    n = s.shape[0]
    n_lev = anc.shape[0]
    for i in range(n):
        si = s[i]
        lo = field[i]
        for lev in range(n_lev):
            v = anc[lev, i]
            lo += dU[lev, v, counts[lev, v] - si]
        p1 = 1.0 / (1.0 + np.exp(-lo))
        new = 1 if _uniform(rng, 0) < p1 else 0
        if new != si:
            s[i] = new
            d = 1.0 if new == 1 else -1.0
            for j in range(n):
                field[j] += d * J[i, j]  # J is symmetric: the contiguous row
            for lev in range(n_lev):
                counts[lev, anc[lev, i]] += new - si


@njit(cache=True, parallel=True)
def tree_gibbs_samples(h, J, anc, U, states, rng, n_per_chain, n_burn):
    """Record *n_per_chain* configurations per chain, one per sweep: ``(C, n_per_chain, N)``."""
    n_chains, n = states.shape
    out = np.empty((n_chains, n_per_chain, n), np.int8)
    dU = count_steps(U)
    for c in prange(n_chains):
        s = states[c]
        field, counts = _init(s, h, J, anc, U.shape[1])
        own = rng[c : c + 1].copy()  # the chain's generator off the shared cache line
        for _ in range(n_burn):
            _tree_sweep(s, field, counts, J, anc, dU, own)
        for r in range(n_per_chain):
            _tree_sweep(s, field, counts, J, anc, dU, own)
            for i in range(n):
                out[c, r, i] = s[i]
        rng[c] = own[0]
    return out


class TreeChains:
    """Persistent chains of the sampled model, with :class:`._chains.ChainSet`'s interface.

    The learners pass the effective pairwise exponent ``(h, J)`` (``V`` must
    be None; :meth:`beta_of`); :meth:`stats_vectors` turns it into the model
    of :meth:`PairTree.model` and returns the Monte Carlo means and pair
    moments (0/1), per chain, and the number of recorded sweeps.

    The Gibbs kernels run the chains on one thread or on all of numba's,
    whichever :class:`.ThreadChooser` measures faster now (it runs the
    parallel kernel only while the other cores are free): the chains are
    independent, each with its own generator, so the thread count changes
    how long a call takes, never its result. (The fit's
    :func:`._threads.fit_threads` reads the load average, which includes the
    fit's own work of the last minute: on an otherwise idle 2-core machine it
    gives one thread.)
    """

    def __init__(
        self, pair_tree: PairTree, cum: np.ndarray, states01: np.ndarray, rng_states: np.ndarray
    ) -> None:
        self.pair_tree = pair_tree
        self.cum = np.asarray(cum, dtype=float)
        self.states = np.ascontiguousarray(states01, dtype=np.int8)
        self.rng = rng_states
        self.n_recorded = 0
        #: (beta, m, per_chain, n) of the last stats_vectors call
        self.last: tuple | None = None
        #: serial or parallel Gibbs kernels, by measured speed (results do not depend on it)
        self.threads = ThreadChooser()

    def beta_of(self, h: np.ndarray, J: np.ndarray) -> np.ndarray:
        """Multipliers of the learner's parameters: the sampled model's effective exponent.

        The learner's ``(h, J)`` are the pairwise exponent of the sampled model
        including the pairwise projection of its count potentials
        (:meth:`PairTree.effective_theta`): a step in them then moves the model
        as an exponential tilt would, up to the potentials' non-quadratic rest.
        """
        return self.pair_tree.beta_of_effective(pack(h, J, None), self.cum)

    def stats_vectors(self, h, J, V, coding, k_potential, n_samples, n_burn=0):
        """Statistics vector ``m``, per-chain vectors ``(C, P)`` and the sample size."""
        if V is not None or k_potential or coding != "01":
            raise ValueError("the hierarchical chains take 0/1 pairwise exponents only")
        beta = self.beta_of(h, J)
        n_chains = self.states.shape[0]
        sweeps = self._sweeps(n_samples)
        sums, pairs = self._run(tree_gibbs_stats, beta, sweeps, n_burn)
        self.n_recorded += sweeps * n_chains
        per_chain = np.array(
            [
                stats_vector(*moments01_to(sums[c], pairs[c], float(sweeps), "01"), None, False)
                for c in range(n_chains)
            ]
        )
        total = float(sweeps * n_chains)
        m = stats_vector(*moments01_to(sums.sum(0), pairs.sum(0), total, "01"), None, False)
        self.last = (beta, m, per_chain, int(total))
        return m, per_chain, int(total)

    def samples(self, h, J, V, coding, n_samples, n_burn=0):
        """About *n_samples* 0/1 configurations ``(S, N)``, chain by chain, one per sweep."""
        if V is not None or coding != "01":
            raise ValueError("the hierarchical chains take 0/1 pairwise exponents only")
        n_chains, n = self.states.shape
        sweeps = self._sweeps(n_samples)
        out = self._run(tree_gibbs_samples, self.beta_of(h, J), sweeps, n_burn)
        self.n_recorded += sweeps * n_chains
        return out.reshape(-1, n)

    def _sweeps(self, n_samples: int) -> int:
        """Sweeps per chain for about *n_samples* records over all chains."""
        return max(1, int(np.ceil(n_samples / self.states.shape[0])))

    def _run(self, kernel, beta: np.ndarray, sweeps: int, n_burn: int):
        """*kernel* (a parallel Gibbs kernel) at *beta*, on the threads the chooser picks."""
        n_chains, n = self.states.shape
        work = float((sweeps + n_burn) * n_chains * n)
        args = (*self._kernel_args(beta), sweeps, n_burn)
        return self.threads.run_kernel(work, kernel, *args)

    def _kernel_args(self, beta: np.ndarray) -> tuple:
        """The sampled model at *beta* and the chains, as the Gibbs kernels take them."""
        hm, Jm, U = self.pair_tree.model(beta, self.cum)
        return (
            np.ascontiguousarray(hm),
            np.ascontiguousarray(Jm),
            self.pair_tree.ancestors,
            U,
            self.states,
            self.rng,
        )


def exact_tree_stats(
    pair_tree: PairTree, beta: np.ndarray, cum: np.ndarray, max_units: int = MAX_CHECK_UNITS
) -> np.ndarray:
    """Exact statistics (means, pair moments) of the sampled model by enumeration."""
    x, p = exact_tree_probabilities(pair_tree, beta, cum, max_units)
    mean = p @ x
    second = (x * p[:, None]).T @ x
    return stats_vector(mean, second, None, False)


def exact_tree_probabilities(
    pair_tree: PairTree, beta: np.ndarray, cum: np.ndarray, max_units: int = MAX_CHECK_UNITS
) -> tuple[np.ndarray, np.ndarray]:
    """Every 0/1 configuration ``(2^n, n)`` (float) and its probability under the sampled model."""
    n = pair_tree.n
    if n > max_units:
        raise ValueError(f"exact_tree_stats enumerates 2^n states: n = {n} > {max_units}")
    h, J, U = pair_tree.model(beta, cum)
    x = ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)
    logp = x @ h + 0.5 * np.einsum("si,ij,sj->s", x, J, x)
    for lev, counts in enumerate(pair_tree.counts(x)):
        logp += U[lev, np.arange(counts.shape[1])[None, :], counts].sum(1)
    p = np.exp(logp - logp.max())
    return x, p / p.sum()
