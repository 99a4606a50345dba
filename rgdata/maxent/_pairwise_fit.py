"""Numerics of pairwise maximum-entropy fits on bare arrays (no xarray here).

Conventions
-----------
* A model in coding ``c`` ("01": x in {0, 1}; "pm1": x in {-1, +1}) has
  ``log P(x) = h·x + Σ_{i<j} J_ij x_i x_j + V(K) - log Z`` with ``K`` the
  number of units in the "on" state (1 or +1).
* Parameter vector ``theta = [h (N), J upper triangle (N(N-1)/2), V(3..N)]``;
  the count potential is gauge-fixed by ``V(0) = V(1) = V(2) = 0`` (a
  constant, a term linear in K and one in K(K-1)/2 are already a uniform
  shift of log Z, of h and of J).
* Samplers and the enumerator work in 0/1; :func:`params_to01` and
  :func:`moments_from01` translate.
"""

from __future__ import annotations

import warnings
from collections import deque
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize
from scipy.stats import chi2

from .._progress import progress_bar
from ._enumerate import ExactModel
from ._pairwise_pl import pl_objective_01, to_csr
from ._reweight import csr_energies, csr_group_sorted, csr_moments, csr_row_hashes, csr_take
from ._sampler import gibbs_samples, gibbs_stats, seed_states

PARAM_BOUND = 20.0
FORBIDDEN = -1e4  # V(K) of counts the model excludes (exp(-1e4) == 0)
MAX_STORED_SAMPLES = 2**22  # samples kept in memory per reweighting iteration
STALL_ITERATIONS = 4  # reweighting: iterations without a 20% rms gain before the sample doubles
AVERAGE_WINDOW = 4  # reweighting: iterates averaged (the most recent ones at the largest sample)
AVERAGE_EVERY = 2  # reweighting: iterations between checks of the averaged parameters
MAX_PARAM_STEP = 1.0  # reweighting, Fisher-scaled steps: largest change of one parameter
N_BLOCKS = 20


# --------------------------------------------------------------------------- codings
def params_to01(h: np.ndarray, J: np.ndarray, coding: str) -> tuple[np.ndarray, np.ndarray]:
    """Fields and couplings of the same distribution written in the 0/1 coding."""
    if coding == "01":
        return h, J
    return 2.0 * h - 2.0 * J.sum(1), 4.0 * J


def params_from01(h01: np.ndarray, J01: np.ndarray, coding: str) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`params_to01`."""
    if coding == "01":
        return h01, J01
    return 0.5 * h01 + 0.25 * J01.sum(1), 0.25 * J01


def moments_from01(
    mean01: np.ndarray, second01: np.ndarray, coding: str
) -> tuple[np.ndarray, np.ndarray]:
    """Means and second moments (diagonal = <x_i^2>) in *coding* from 0/1 ones."""
    if coding == "01":
        return mean01, second01
    m = 2.0 * mean01 - 1.0
    s = 4.0 * second01 - 2.0 * mean01[:, None] - 2.0 * mean01[None, :] + 1.0
    np.fill_diagonal(s, 1.0)
    return m, s


def means_to01(mean: np.ndarray, coding: str) -> np.ndarray:
    """Means of the "on" state (0/1 coding) from means in *coding*."""
    return mean if coding == "01" else 0.5 * (mean + 1.0)


def to_coding(x: np.ndarray, source: str, target: str) -> np.ndarray:
    """Recode a binary array between 0/1 and -1/+1 (returns float32)."""
    x = x.astype(np.float32)
    if source == target:
        return x
    if target == "pm1":
        return 2.0 * x - 1.0
    return 0.5 * (x + 1.0)


def off_value(coding: str) -> float:
    return 0.0 if coding == "01" else -1.0


# --------------------------------------------------------------------------- packing
def pack(h: np.ndarray, J: np.ndarray, V: np.ndarray | None) -> np.ndarray:
    iu = np.triu_indices(h.shape[0], 1)
    parts = [h, J[iu]]
    if V is not None:
        parts.append(V[3:])
    return np.concatenate(parts)


def unpack(theta: np.ndarray, n: int, k_potential: bool):
    iu = np.triu_indices(n, 1)
    h = theta[:n].copy()
    J = np.zeros((n, n))
    J[iu] = theta[n : n + len(iu[0])]
    J = J + J.T
    V = None
    if k_potential:
        V = np.zeros(n + 1)
        V[3:] = theta[n + len(iu[0]) :]
    return h, J, V


def stats_vector(mean, second, pk, k_potential: bool) -> np.ndarray:
    iu = np.triu_indices(mean.shape[0], 1)
    parts = [mean, second[iu]]
    if k_potential:
        parts.append(pk[3:])
    return np.concatenate(parts)


# --------------------------------------------------------------------------- data statistics
def energy(x: np.ndarray, h, J, V) -> np.ndarray:
    """``h·x + Σ_{i<j} J_ij x_i x_j + V(K)`` for each row of *x* (any coding)."""
    x = np.asarray(x, dtype=np.float64)
    e = x @ h + 0.5 * np.einsum("ti,ti->t", x @ J, x)
    if V is not None:
        k = (x > 0).sum(1)
        e = e + V[k]
    return e


def data_statistics(x: np.ndarray, coding: str, n_blocks: int = N_BLOCKS) -> dict:
    """Means, second moments, P(K) and their block standard errors.

    *x* is ``(T, N)`` in *coding*. Standard errors: the spread of the
    statistic over *n_blocks* contiguous time blocks divided by
    sqrt(n_blocks) (robust to time correlations), floored at the error of a
    statistic seen once in T samples (so statistics that are never observed
    keep a finite error).
    """
    t, n = x.shape
    n_blocks = int(min(n_blocks, t))
    xf = np.asarray(x, dtype=np.float32)
    k = (xf > 0).sum(1)
    edges = np.linspace(0, t, n_blocks + 1).astype(np.int64)
    b_mean = np.empty((n_blocks, n))
    b_second = np.empty((n_blocks, n, n))
    b_pk = np.empty((n_blocks, n + 1))
    for b in range(n_blocks):
        xb = xf[edges[b] : edges[b + 1]]
        tb = xb.shape[0]
        b_mean[b] = xb.mean(0, dtype=np.float64)
        b_second[b] = (xb.T @ xb).astype(np.float64) / tb
        b_pk[b] = np.bincount(k[edges[b] : edges[b + 1]], minlength=n + 1) / tb
    w = np.diff(edges) / t
    mean = w @ b_mean
    second = np.einsum("b,bij->ij", w, b_second)
    pk = w @ b_pk
    scale = 1.0 if coding == "01" else 2.0
    floor = scale * np.sqrt((1.0 / t) * (1.0 - 1.0 / t) / t)
    ddof = n_blocks - 1 if n_blocks > 1 else 1

    def _se(blocks):
        return np.maximum(blocks.std(0, ddof=1) / np.sqrt(ddof + 1), floor)

    se_second = _se(b_second)
    se_pk = np.maximum(b_pk.std(0, ddof=1) / np.sqrt(n_blocks), 1.0 / t)
    return {
        "mean": mean,
        "second": second,
        "pk": pk,
        "se_mean": _se(b_mean),
        "se_second": se_second,
        "se_pk": se_pk,
        "n_samples": t,
        "n_blocks": n_blocks,
    }


# --------------------------------------------------------------------------- exact
def exact_stats(h, J, V, coding: str):
    """Exact means, second moments, P(K) and log Z in *coding*."""
    h01, J01 = params_to01(h, J, coding)
    model = ExactModel(h01, J01, V)
    m01, s01 = model.moments()
    mean, second = moments_from01(m01, s01, coding)
    n = h.shape[0]
    off = np.full((1, n), off_value(coding))
    log_z = model.log_z + float(energy(off, h, J, V)[0])
    return mean, second, model.count_distribution(), log_z, model


def fit_exact(stats, coding, theta0, k_potential, l2, max_iter, fixed=None):
    """Maximise the exact log-likelihood (L-BFGS-B with parameter bounds).

    The gradient is model minus data moments; the optimiser stops when its
    largest component is below 1e-3 of the smallest data standard error.
    """
    n = stats["mean"].shape[0]
    se = stats_vector(stats["se_mean"], stats["se_second"], stats["se_pk"], k_potential)
    tol_grad = 1e-3 * float(se.min())
    d = stats_vector(stats["mean"], stats["second"], stats["pk"], k_potential)
    n_iter = [0]

    def fun(theta):
        h, J, V = unpack(theta, n, k_potential)
        mean, second, pk, log_z, _ = exact_stats(h, J, V, coding)
        m = stats_vector(mean, second, pk, k_potential)
        free = theta if fixed is None else np.where(fixed, 0.0, theta)
        f = log_z - theta @ d + 0.5 * l2 * free @ free
        return f, m - d + l2 * free

    def cb(_):
        n_iter[0] += 1

    bounds = _bounds(theta0, np.zeros_like(theta0), fixed, n)
    res = minimize(
        fun,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        callback=cb,
        options={"maxiter": max_iter, "ftol": 1e-14, "gtol": tol_grad, "maxcor": 30},
    )
    return res.x, bool(res.success), int(res.nit), str(res.message)


def param_bound(n: int, n_params: int) -> np.ndarray:
    """Largest |parameter| allowed: PARAM_BOUND for h and J, N * PARAM_BOUND for V(K).

    The bound only stops parameters of statistics that are never (or always)
    seen from diverging. V(K) is a function over counts up to N whose
    legitimate range grows with N (it offsets the K^2 growth of the coupling
    energy), so it gets a bound N times wider.
    """
    bound = np.full(n_params, PARAM_BOUND)
    bound[n + n * (n - 1) // 2 :] = PARAM_BOUND * n
    return bound


def _bounds(theta: np.ndarray, offset: np.ndarray, fixed, n: int) -> np.ndarray:
    """L-BFGS-B bounds keeping ``offset + theta`` within :func:`param_bound`; fixed pinned."""
    bound = param_bound(n, len(theta))
    lo = -bound - offset
    hi = bound - offset
    if fixed is not None:
        lo = np.where(fixed, theta, lo)
        hi = np.where(fixed, theta, hi)
    return np.column_stack([lo, hi])


# --------------------------------------------------------------------------- pseudolikelihood
def unique_patterns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of a binary ``(T, N)`` array and their frequencies."""
    bits = np.packbits(x > 0, axis=1)
    view = np.ascontiguousarray(bits).view(np.dtype((np.void, bits.shape[1])))[:, 0]
    _, first, counts = np.unique(view, return_index=True, return_counts=True)
    return x[first], counts / x.shape[0]


def fit_pseudolikelihood(x, coding, theta0, l2, max_iter):
    """Maximise the symmetric pseudo-log-likelihood (sum of per-unit conditionals).

    Returns ``(theta, success, n_iter, message)``; ``V`` is not fitted here.
    """
    xu, w = unique_patterns(x)
    t, n = xu.shape
    iu = np.triu_indices(n, 1)
    n_iter = [0]
    n_par = n + len(iu[0])
    theta0 = theta0[:n_par]
    sparse = coding == "01" and float(np.mean(xu > 0)) < 0.25
    if sparse:
        ptr, idx = to_csr(xu)
        n_chunks = max(1, min(64, t // 2000))
    xu = xu.astype(np.float64)

    def fun(theta):
        h, J, _ = unpack(theta, n, False)
        if sparse:
            f, g_h, gm = pl_objective_01(h, J, ptr, idx, w, n_chunks)
            g = np.concatenate([-g_h, -(gm + gm.T)[iu]])
            return f + 0.5 * l2 * theta @ theta, g + l2 * theta
        field = xu @ J + h
        if coding == "01":
            ll = xu * field - np.logaddexp(0.0, field)
            r = xu - 0.5 * (1.0 + np.tanh(0.5 * field))
        else:
            ll = xu * field - np.logaddexp(field, -field)
            r = xu - np.tanh(field)
        f = -float(w @ ll.sum(1)) + 0.5 * l2 * theta @ theta
        g_h = -(w @ r)
        gm = xu.T @ (w[:, None] * r)
        g_j = -(gm + gm.T)[iu]
        return f, np.concatenate([g_h, g_j]) + l2 * theta

    def cb(_):
        n_iter[0] += 1

    res = minimize(
        fun,
        theta0,
        jac=True,
        method="L-BFGS-B",
        bounds=[(-PARAM_BOUND, PARAM_BOUND)] * n_par,
        callback=cb,
        options={"maxiter": max_iter, "ftol": 1e-12, "gtol": 1e-7},
    )
    return res.x, bool(res.success), int(res.nit), str(res.message)


# --------------------------------------------------------------------------- Monte Carlo
class ChainSet:
    """Persistent Gibbs chains for a 0/1 model (the state lives between calls)."""

    def __init__(self, states01: np.ndarray, rng_states: np.ndarray) -> None:
        self.states = np.ascontiguousarray(states01, dtype=np.int8)
        self.rng = rng_states

    def stats(self, h, J, V, coding, n_samples: int, n_burn: int = 0):
        """Model moments in *coding* from about *n_samples* recorded sweeps."""
        args, sweeps = self._kernel_args(h, J, V, coding, n_samples)
        sums, pairs, khist = gibbs_stats(*args, sweeps, n_burn)
        self.last_chain_sums = (sums, pairs, khist, sweeps)
        total = float(sweeps * self.states.shape[0])
        mean, second = _moments01_to(sums.sum(0), pairs.sum(0), total, coding)
        return mean, second, khist.sum(0) / total, int(total)

    def stats_vectors(self, h, J, V, coding, k_potential: bool, n_samples: int, n_burn: int = 0):
        """Statistics vector ``m`` (P,), per-chain vectors (C, P) and the number of samples."""
        mean, second, pk, n_used = self.stats(h, J, V, coding, n_samples, n_burn)
        m = stats_vector(mean, second, pk, k_potential)
        return m, self.chain_vectors(coding, k_potential), n_used

    def chain_vectors(self, coding: str, k_potential: bool) -> np.ndarray:
        """Statistics vector of each chain ``(C, P)`` from the last :meth:`stats` call."""
        sums, pairs, khist, sweeps = self.last_chain_sums
        out = []
        for c in range(sums.shape[0]):
            mean, second = _moments01_to(sums[c], pairs[c], float(sweeps), coding)
            out.append(stats_vector(mean, second, khist[c] / sweeps, k_potential))
        return np.array(out)

    def samples(self, h, J, V, coding, n_samples: int, n_burn: int = 0) -> np.ndarray:
        """About *n_samples* 0/1 configurations ``(S, N)``, one per sweep of each chain."""
        args, sweeps = self._kernel_args(h, J, V, coding, n_samples)
        return gibbs_samples(*args, sweeps, 1, n_burn).reshape(-1, self.states.shape[1])

    def _kernel_args(self, h, J, V, coding, n_samples: int):
        """Sampler arguments (0/1 parameters, chains) and sweeps per chain for *n_samples*."""
        h01, J01 = params_to01(h, J, coding)
        n_chains, n = self.states.shape
        use_v = V is not None
        args = (
            np.ascontiguousarray(h01, dtype=np.float64),
            np.ascontiguousarray(J01, dtype=np.float64),
            np.ascontiguousarray(V if use_v else np.zeros(n + 1), dtype=np.float64),
            use_v,
            self.states,
            self.rng,
        )
        return args, max(1, int(np.ceil(n_samples / n_chains)))


def high_activity_fraction(h, J, V, coding: str, k_max: int, n_sweeps: int = 50) -> float:
    """Fraction of sweeps above *k_max* active units for chains started with every unit on.

    Gibbs chains started from data patterns cannot reveal a second,
    high-activity mode of a pairwise model (Rostami et al., PLoS Comput Biol
    13:e1005762, 2017): they stay in the low-activity state. Two chains
    started from the all-active state run 50 sweeps of burn-in and
    *n_sweeps* recorded sweeps each; without such a mode they fall to the
    data's range of counts within a few sweeps and the fraction is 0.
    Deterministic (fixed sampler seeds).
    """
    n = len(h)
    if V is not None and np.all(V[k_max + 1 :] <= FORBIDDEN):
        return 0.0  # every count above k_max has probability 0
    chains = ChainSet(np.ones((2, n), np.int8), seed_states(np.random.default_rng(0), 2))
    _, _, pk, _ = chains.stats(h, J, V, coding, 2 * n_sweeps, n_burn=50)
    return float(pk[k_max + 1 :].sum())


def _moments01_to(sums01, pairs01, total: float, coding: str):
    """Means and second moments in *coding* from 0/1 sums and upper-triangle pair counts."""
    m01 = sums01 / total
    p = pairs01 / total
    s01 = p + p.T
    np.fill_diagonal(s01, m01)
    return moments_from01(m01, s01, coding)


def stat_variance(vec: np.ndarray, coding: str, n_units: int) -> np.ndarray:
    """Variance of each sufficient statistic given its mean (Bernoulli / ±1 variables)."""
    var = np.empty_like(vec)
    n_pair = n_units + n_units * (n_units - 1) // 2
    if coding == "01":
        var[:] = vec * (1.0 - vec)
    else:
        var[:n_pair] = 1.0 - vec[:n_pair] ** 2
        var[n_pair:] = vec[n_pair:] * (1.0 - vec[n_pair:])
    return var


def comparison_se(m, d, se, coding: str, n_units: int, n_data: int) -> np.ndarray:
    """Standard error for comparing model statistics *m* with data statistics *d*.

    The data's block standard error *se* is computed at the data's own
    estimate; for a statistic seen a handful of times (two rare units
    active together) it is far smaller than the error the data would have
    if the model were true. The comparison uses the larger of the two: the
    model's Bernoulli variance, carried through the data's ratio of block
    to independent-sample error (like Pearson's chi-square, which divides
    by the expected, not the observed, counts).
    """
    v_d = np.maximum(stat_variance(d, coding, n_units), 0.0)
    v_m = np.maximum(stat_variance(m, coding, n_units), 0.0)
    iid_d = np.sqrt(v_d / n_data)
    ratio = np.where(iid_d > 0, se / np.where(iid_d > 0, iid_d, 1.0), 1.0)
    return np.maximum(se, ratio * np.sqrt(v_m / n_data))


def chain_error(per_chain: np.ndarray, m, coding: str, n_units: int, n_used: int):
    """Monte Carlo standard error of every statistic, and the autocorrelation factor tau.

    Independent chains give independent estimates, so the spread of the
    per-chain statistics measures the Monte Carlo error including the
    chains' autocorrelation. With few chains that spread is noisy for any
    single statistic, so one factor ``tau`` (the median over statistics of
    between-chain variance / independent-sample variance, divided by the
    median of chi-square(C - 1) / (C - 1), and at least 1) multiplies the
    independent-sample variance of every statistic.
    """
    iid = np.maximum(stat_variance(m, coding, n_units), 0.0) / n_used
    return spread_error(per_chain, iid)


def spread_error(per_chain: np.ndarray, iid_var: np.ndarray, at_least_iid: bool = True):
    """Monte Carlo standard error from per-chain estimates and the independent-sample variance.

    ``tau`` is the median over statistics of (between-chain variance of the
    pooled estimate) / *iid_var*, divided by the median of chi-square(C - 1)
    / (C - 1); the error of every statistic is ``sqrt(tau * iid_var)``. With
    *at_least_iid* tau is at least 1 (correlated samples never carry more
    information than independent ones; pass False when *iid_var* is only an
    approximation). One chain: tau = 1. Returns ``(se, tau)``.
    """
    iid = np.asarray(iid_var, dtype=np.float64)
    tau = 1.0
    c = per_chain.shape[0]
    ok = iid > 0
    if c >= 2 and ok.any():
        between = per_chain.var(0, ddof=1) / c
        ratio = float(np.median(between[ok] / iid[ok]))
        tau = ratio * (c - 1) / chi2.median(c - 1)
        if at_least_iid:
            tau = max(1.0, tau)
    return np.sqrt(tau * iid), tau


class FamilyMismatch(NamedTuple):
    """The mismatch of one family of statistics (means, second moments or P(K)).

    ``n`` statistics; ``max_z`` the largest |z|; ``rms`` the rms of z with
    the Monte Carlo share removed (as :attr:`Mismatch.rms`); ``mean_z`` the
    mean of the signed z; ``bias`` = ``mean_z * sqrt(n)``, which is about
    N(0, 1) when the family's misfits are independent errors of either sign
    and grows as sqrt(n) when they share a sign; ``bias_allowance`` is
    ``sqrt(2 log 2F)`` (F families) times the Monte Carlo standard deviation
    of ``bias`` (0 for exact moments).
    """

    name: str
    n: int
    max_z: float
    rms: float
    mean_z: float
    bias: float
    bias_allowance: float

    def failures(self, tol_rms: float) -> list[str]:
        """Why this family fails (empty when it passes): its rms or its bias."""
        out = []
        if self.rms >= tol_rms:
            out.append(f"rms {self.rms:.2f} >= tol_rms={tol_rms}")
        if abs(self.bias) >= BIAS_TOL + self.bias_allowance:
            noise = f" + {self.bias_allowance:.2f} Monte Carlo" if self.bias_allowance else ""
            sign = "high" if self.bias > 0 else "low"
            out.append(
                f"biased {sign}: mean z {self.mean_z:+.2f} over {self.n}, "
                f"bias {self.bias:+.2f} beyond {BIAS_TOL}{noise}"
            )
        return out


class Mismatch(NamedTuple):
    """How far model statistics are from the data's, in comparison standard errors.

    ``max_z`` is the largest |z|; ``rms`` the root mean square of z after
    removing the Monte Carlo noise's share (``mean z^2 - mean eps^2``, with
    eps = Monte Carlo error / comparison error); ``allowance`` the typical
    largest Monte Carlo error, ``sqrt(2 log 2P)`` times the 90th percentile
    of eps over the P statistics (0 for exact moments); ``noise_rms`` the
    rms of eps; ``families`` the same per family of statistics
    (:class:`FamilyMismatch`).
    """

    max_z: float
    rms: float
    allowance: float
    noise_rms: float
    families: tuple = ()

    def converged(self, tol: float, tol_rms: float) -> bool:
        """Largest mismatch below *tol* plus the Monte Carlo allowance, rms below *tol_rms*.

        Each family must also pass on its own: its rms below *tol_rms* and
        its bias within ``BIAS_TOL`` plus its Monte Carlo allowance (a pooled
        rms dominated by thousands of second moments can hide means that are
        all off in one direction).
        """
        if not (self.max_z < tol + self.allowance and self.rms < tol_rms):
            return False
        return not any(f.failures(tol_rms) for f in self.families)

    def failing_families(self, tol_rms: float) -> list[str]:
        """One sentence per failing family: its name and why it fails."""
        return [
            f"{f.name}: " + "; ".join(f.failures(tol_rms))
            for f in self.families
            if f.failures(tol_rms)
        ]


BIAS_TOL = 3.0  # |mean z| * sqrt(n) of a family: 3 sigma for independent misfits of either sign


def stat_families(n: int, k_potential: bool) -> tuple[tuple[str, slice], ...]:
    """Names and slices of the statistics vector's families (means, second moments, P(K))."""
    n_pair = n * (n - 1) // 2
    out = [("means", slice(0, n)), ("second_moments", slice(n, n + n_pair))]
    if k_potential:
        out.append(("count_distribution", slice(n + n_pair, n + n_pair + n - 2)))
    return tuple((name, sl) for name, sl in out if sl.stop > sl.start)


def _family_bias_sd(z_family, eps_family, per_chain_z) -> float:
    """Monte Carlo sd of ``mean(z) * sqrt(n)`` over one family.

    Independent errors give ``rms(eps)``. Errors that share a sign across the
    family (a chain whose overall activity drifts moves every mean together)
    give more; the spread of the family's mean z between independent chains
    measures that (divided by the median of chi-square(C - 1) / (C - 1), as
    in :func:`chain_error`). The larger of the two is used.
    """
    n = len(z_family)
    sd = float(np.sqrt(np.mean(eps_family**2))) if eps_family is not None else 0.0
    if per_chain_z is not None and per_chain_z.shape[0] >= 2:
        c = per_chain_z.shape[0]
        means = per_chain_z.mean(1)
        var = float(means.var(ddof=1)) / c * (c - 1) / chi2.median(c - 1)
        sd = max(sd, float(np.sqrt(var * n)))
    return sd


def mismatch(m, d, se_cmp, mc_se=None, families=None, per_chain=None) -> Mismatch:
    """:class:`Mismatch` of model statistics *m* (Monte Carlo error *mc_se*) with data *d*.

    *families* is a sequence of ``(name, slice)`` (default: one family "all");
    *per_chain* ``(C, P)`` are the statistics of each independent chain, used
    for the Monte Carlo error of each family's bias.
    """
    z = (m - d) / se_cmp
    eps = None if mc_se is None else mc_se / se_cmp
    zc = None if per_chain is None else (per_chain - d) / se_cmp
    if families is None:
        families = (("all", slice(0, len(z))),)
    fam = []
    mult = np.sqrt(2.0 * np.log(2.0 * max(len(families), 1)))
    for name, sl in families:
        zf = z[sl]
        if zf.size == 0:
            continue
        ef = None if eps is None else eps[sl]
        mean_z2 = float(np.mean(zf**2)) - (0.0 if ef is None else float(np.mean(ef**2)))
        bias_sd = 0.0 if ef is None else _family_bias_sd(zf, ef, None if zc is None else zc[:, sl])
        mean_z = float(np.mean(zf))
        fam.append(
            FamilyMismatch(
                name,
                int(zf.size),
                float(np.max(np.abs(zf))),
                float(np.sqrt(max(mean_z2, 0.0))),
                mean_z,
                mean_z * float(np.sqrt(zf.size)),
                float(mult * bias_sd),
            )
        )
    mean_z2 = float(np.mean(z**2))
    if mc_se is None:
        return Mismatch(float(np.max(np.abs(z))), float(np.sqrt(mean_z2)), 0.0, 0.0, tuple(fam))
    mean_e2 = float(np.mean(eps**2))
    allowance = np.sqrt(2.0 * np.log(2.0 * max(len(z), 1))) * float(np.quantile(eps, 0.9))
    return Mismatch(
        float(np.max(np.abs(z))),
        float(np.sqrt(max(mean_z2 - mean_e2, 0.0))),
        float(allowance),
        float(np.sqrt(mean_e2)),
        tuple(fam),
    )


def data_mismatch(m, stats, coding: str, k_potential: bool, mc_se=None, per_chain=None) -> Mismatch:
    """:class:`Mismatch` of model statistics *m* (Monte Carlo error *mc_se*) with the data's."""
    d = stats_vector(stats["mean"], stats["second"], stats["pk"], k_potential)
    se = stats_vector(stats["se_mean"], stats["se_second"], stats["se_pk"], k_potential)
    n = stats["mean"].shape[0]
    se_cmp = comparison_se(m, d, se, coding, n, stats["n_samples"])
    return mismatch(m, d, se_cmp, mc_se, stat_families(n, k_potential), per_chain)


def measure(m, per_chain, stats, coding: str, k_potential: bool, n_used: int) -> Mismatch:
    """:func:`data_mismatch` of Monte Carlo statistics *m* with per-chain values *per_chain*."""
    n = stats["mean"].shape[0]
    mc_se, _ = chain_error(per_chain, m, coding, n, n_used)
    return data_mismatch(m, stats, coding, k_potential, mc_se, per_chain)


class _Judge:
    """A learner's verdict on moments measured at theta, and its record (history, progress).

    *rule* is ``(tol, tol_rms, max_samples, check)``. A call returns the
    :class:`Mismatch` and ``"stop"`` (converged: *check* (exact enumeration)
    agrees, or the sample already had *max_samples*), ``"confirm"`` (met on a
    smaller sample: measure again with *max_samples*) or ``"continue"``.
    """

    def __init__(self, stats, coding, k_potential, rule, bar, progress: bool):
        self.stats, self.coding, self.k_potential = stats, coding, k_potential
        self.tol, self.tol_rms, self.max_samples, self.check = rule
        self.history: list[float] = []
        self.bar = bar if progress else None

    def __call__(self, m, per_chain, n_used: int, theta) -> tuple[Mismatch, str]:
        mis = measure(m, per_chain, self.stats, self.coding, self.k_potential, n_used)
        self.history.append(mis.max_z)
        if self.bar is not None:
            self.bar.set_postfix(residual=f"{mis.max_z:.2f}", rms=f"{mis.rms:.2f}", samples=n_used)
        if not mis.converged(self.tol, self.tol_rms):
            return mis, "continue"
        if self.check is not None:  # exact moments: the final word, no Monte Carlo noise
            final = self.check(theta)
            return (final, "stop") if final.converged(self.tol, self.tol_rms) else (mis, "continue")
        return mis, "stop" if n_used >= 0.99 * self.max_samples else "confirm"


def fit_boltzmann(
    stats,
    coding,
    theta0,
    k_potential,
    l2,
    tol,
    max_iter,
    chains: ChainSet,
    max_samples: int,
    start_samples: int,
    tol_rms: float = 1.0,
    check=None,
    learning_rate: float = 0.5,
    max_field_step: float = 0.5,
    progress: bool = False,
    fixed: np.ndarray | None = None,
):
    """Boltzmann learning with persistent Gibbs chains and data-driven preconditioning.

    Each iteration estimates the model's moments from the chains and takes
    a step in coordinates centred on the data means m (Ferrari, Phys Rev E
    94:023301, 2016): ``dJ_ij = lr (<dx_i dx_j>_data - <dx_i dx_j>_model) / (v_i v_j)``
    with ``dx = x - m``, ``dh_i = lr (m_i - <x_i>_model) / v_i - Σ_j dJ_ij m_j``
    (so that a coupling change does not shift the means), with ``v_i`` the
    data variance of unit i; ``dV(K) = lr (P_data(K) - P_model(K)) / P(K)``.
    Steps are clipped to ±1, and the coupling step is scaled down so that no
    unit's local field moves by more than *max_field_step* in any state. The
    Monte Carlo sample per iteration doubles whenever the largest mismatch
    is within twice the Monte Carlo allowance, up to *max_samples*. Stops
    when the mismatch of means, second moments (and P(K)) meets *tol* and
    *tol_rms* (:class:`Mismatch`), measured with *max_samples* Monte Carlo
    samples, or by *check(theta)* (exact enumeration) when given.
    """
    n = stats["mean"].shape[0]
    iu = np.triu_indices(n, 1)
    n_pair = len(iu[0])
    d = stats_vector(stats["mean"], stats["second"], stats["pk"], k_potential)
    m_d = stats["mean"]
    if coding == "01":
        v = m_d * (1.0 - m_d)
    else:
        v = 1.0 - m_d**2
    v = np.maximum(v, 1.0 / stats["n_samples"])
    bound = param_bound(n, len(theta0))
    typical = np.ones(n)  # worst case |x_j| = 1: bounds the field change in every state
    theta = theta0.copy()
    n_samples = int(min(start_samples, max_samples))
    converged = False
    mis = Mismatch(np.inf, np.inf, 0.0, 0.0)
    bar = progress_bar(range(max_iter), enable=progress, desc="Boltzmann learning")
    judge = _Judge(stats, coding, k_potential, (tol, tol_rms, max_samples, check), bar, progress)
    history = judge.history
    n_done = 0
    burn = 50
    lr = learning_rate
    best = np.inf
    for _ in bar:
        n_done += 1
        h, J, V = unpack(theta, n, k_potential)
        m, per_chain, n_used = chains.stats_vectors(
            h, J, V, coding, k_potential, n_samples, n_burn=burn
        )
        burn = 0
        mis, action = judge(m, per_chain, n_used, theta)
        z = mis.max_z
        if action == "stop":
            converged = True
            break
        if action == "confirm":
            n_samples = int(max_samples)
            continue
        noise = mis.allowance
        if z < 2.0 * noise and n_samples < max_samples:
            n_samples = int(min(2 * n_samples, max_samples))
        elif z > 2.0 * best and lr > 0.05:
            lr *= 0.5
        best = min(best, z)
        # gradient in coordinates centred on the data means: <(x_i - m_i)(x_j - m_j)>
        # under the data minus under the model (m = data means in both)
        g_h = m_d - m[:n]
        g_j = d[n : n + n_pair] - m[n : n + n_pair] - m_d[iu[0]] * g_h[iu[1]]
        g_j = g_j - m_d[iu[1]] * g_h[iu[0]] - l2 * theta[n : n + n_pair]
        g_h = g_h - l2 * theta[:n]
        d_j = np.clip(lr * g_j / (v[iu[0]] * v[iu[1]]), -1.0, 1.0)
        dj_full = np.zeros((n, n))
        dj_full[iu] = d_j
        dj_full = dj_full + dj_full.T
        # trust region: the typical change of each unit's local field stays below max_field_step
        field_change = np.abs(dj_full) @ typical
        f = np.minimum(1.0, max_field_step / np.maximum(field_change, 1e-300))
        d_j = d_j * np.minimum(f[iu[0]], f[iu[1]])
        dj_full = np.zeros((n, n))
        dj_full[iu] = d_j
        dj_full = dj_full + dj_full.T
        d_h = np.clip(lr * g_h / v, -1.0, 1.0) - dj_full @ m_d
        step = [d_h, d_j]
        if k_potential:
            pk_d = d[n + n_pair :]
            pk_m = m[n + n_pair :]
            g_v = pk_d - pk_m - l2 * theta[n + n_pair :]
            var_v = np.maximum(np.maximum(pk_d, pk_m), 1.0 / n_used)
            step.append(np.clip(lr * g_v / var_v, -1.0, 1.0))
        new = np.clip(theta + np.concatenate(step), -bound, bound)
        theta = new if fixed is None else np.where(fixed, theta, new)
    return theta, converged, n_done, mis, np.asarray(history), n_samples


def count_matched_theta(
    mean: np.ndarray, pk: np.ndarray, p_independent: np.ndarray, coding: str, fixed: np.ndarray
) -> np.ndarray:
    """Independent fields plus the count potential that reproduces the data's P(K) exactly.

    With ``V(K) = log P_data(K) / P_ind(K)`` the model ``exp(h·x + V(K))`` of
    independent units with fields h has exactly the data's count
    distribution. The part ``a + b K + c K(K-1)/2`` fixed by V(0), V(1), V(2)
    is moved into log Z, a uniform shift b of the fields and a uniform
    coupling c, which gauges V(0) = V(1) = V(2) = 0 without changing the
    distribution. Counts in *fixed* keep their forbidden value.
    """
    n = mean.shape[0]
    theta = independent_theta(mean, "01", n * (n - 1) // 2 + n - 2)
    seen = pk > 0
    v = np.zeros(n + 1)
    v[seen] = np.log(pk[seen] / np.maximum(p_independent[seen], 1e-300))
    k = np.arange(n + 1)
    a, b = v[0], v[1] - v[0]
    c = v[2] - 2.0 * v[1] + v[0]
    v = v - (a + b * k + c * k * (k - 1) / 2.0)
    h01 = theta[:n] + b
    J01 = np.full((n, n), c)
    np.fill_diagonal(J01, 0.0)
    h, J = params_from01(h01, J01, coding)
    out = pack(h, J, v)
    bound = param_bound(n, len(out))
    out = np.clip(out, -bound, bound)
    out[fixed] = FORBIDDEN
    return out


def independent_theta(mean: np.ndarray, coding: str, n_extra: int) -> np.ndarray:
    """Fields of the independent model (J = 0) matching *mean*; zeros elsewhere."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if coding == "01":
            m = np.clip(mean, 1e-9, 1 - 1e-9)
            h = np.log(m / (1.0 - m))
        else:
            h = np.arctanh(np.clip(mean, -1 + 1e-9, 1 - 1e-9))
    h = np.clip(h, -PARAM_BOUND, PARAM_BOUND)
    return np.concatenate([h, np.zeros(n_extra)])


# --------------------------------------------------------------------------- reweighting
class _ReweightedSample:
    """Importance reweighting of one Monte Carlo sample to nearby parameters.

    For samples x_s of the model theta, the model theta + delta has
    ``log Z(theta + delta) - log Z(theta) = log mean_s exp(delta·f(x_s))``
    and moments ``<f>`` = weighted means with weights ``exp(delta·f(x_s))``
    (Ferrenberg-Swendsen histogram reweighting). Energies and moments are
    computed on the 0/1 active-unit lists; a change written in the ±1 coding
    is translated to 0/1 (a linear map plus a constant that cancels).
    Identical patterns are stored once with their multiplicity (sparse
    neural samples repeat: about 40 % of 4 million retina patterns), so
    weights are per distinct pattern and include log(multiplicity).
    *n_chains* equal chain-major blocks of rows give :attr:`per_chain`, the
    statistics of each chain's share (for the Monte Carlo error).
    """

    def __init__(
        self, samples01: np.ndarray, coding: str, k_potential: bool, n_chains: int = 1
    ) -> None:
        indptr, idx = to_csr(samples01)
        self.n = samples01.shape[1]
        self.coding = coding
        self.k_potential = k_potential
        self.n_samples = samples01.shape[0]
        self.indptr, self.idx, self.k = indptr, idx, np.diff(indptr)
        per = self.n_samples // n_chains
        self.per_chain = np.array(
            [self.moments(_block_weights(self.n_samples, c * per, per)) for c in range(n_chains)]
        )
        hashes = csr_row_hashes(indptr, idx)
        first, counts = csr_group_sorted(indptr, idx, np.argsort(hashes, kind="stable"), hashes)
        k = self.k[first]
        ptr = np.zeros(len(first) + 1, np.int64)
        np.cumsum(k, out=ptr[1:])
        out = np.empty(ptr[-1], idx.dtype)
        csr_take(indptr, idx, first, ptr, out)
        self.indptr, self.idx, self.k = ptr, out, k
        self.count = counts.astype(np.float64)
        self._log_count = np.log(self.count)
        self._e = np.empty(len(first))

    def log_weights(self, delta: np.ndarray) -> np.ndarray:
        """Log weight of each distinct pattern under the change *delta* (incl. multiplicity)."""
        n = self.n
        dh, dJ, dV = unpack(delta, n, self.k_potential)
        dh01, dJ01 = params_to01(dh, dJ, self.coding)
        csr_energies(self.indptr, self.idx, dh01, np.ascontiguousarray(dJ01), self._e)
        log_w = self._e + self._log_count
        if dV is not None:
            log_w += dV[self.k]
        return log_w

    def log_mean_weight(self, log_w: np.ndarray) -> float:
        """``log mean_s exp(delta·f(x_s))`` over all samples, from :meth:`log_weights`."""
        top = log_w.max()
        return float(top + np.log(np.exp(log_w - top).sum() / self.n_samples))

    def ess_fraction(self, log_w: np.ndarray) -> float:
        """Effective sample size ``(Σ_s w_s)^2 / Σ_s w_s^2`` over the number of samples."""
        w = _normalized(log_w)
        return float(1.0 / np.sum(w * w / self.count) / self.n_samples)

    def moments(self, w: np.ndarray) -> np.ndarray:
        """Statistics vector in the model's coding under normalized weights *w*."""
        m01, p01 = csr_moments(self.indptr, self.idx, w, self.n, 8)
        mean, second = _moments01_to(m01, p01, 1.0, self.coding)
        pk = np.bincount(self.k, weights=w, minlength=self.n + 1)
        return stats_vector(mean, second, pk, self.k_potential)


def _block_weights(n: int, start: int, size: int) -> np.ndarray:
    w = np.zeros(n)
    w[start : start + size] = 1.0 / size
    return w


def _normalized(log_w: np.ndarray) -> np.ndarray:
    w = np.exp(log_w - log_w.max())
    return w / w.sum()


def fit_reweighting(
    stats,
    coding,
    theta0,
    k_potential,
    l2,
    tol,
    max_iter,
    chains: ChainSet,
    max_samples: int,
    start_samples: int,
    tol_rms: float = 1.0,
    check=None,
    fixed: np.ndarray | None = None,
    min_ess: float = 0.5,
    inner_iter: int = 30,
    progress: bool = False,
):
    """Maximum likelihood by Monte Carlo histogram reweighting (Broderick et al. 2007).

    Each iteration draws a sample of the current model from persistent Gibbs
    chains and maximises the *reweighted* log-likelihood
    ``delta·d - log mean_s exp(delta·f(x_s))`` (concave, exact for the
    sample; L-BFGS-B, *inner_iter* iterations) over the parameter change
    delta. The step is halved until the effective sample size of the
    weights, ``(Σw)^2 / Σw^2``, is at least *min_ess* of the sample, so the
    new model stays where the sample represents it. Unlike a gradient step,
    the reweighted objective sees how strongly every statistic responds to
    every parameter (including the collective response of P(K) when many
    couplings change together).

    Safeguards: a step after which the measured mismatch more than doubles
    (the model moved into states its sample never visited) is undone, with
    the chains restored, and retried four times shorter from the stored
    sample. The sample doubles (up to *max_samples*; at most
    ``MAX_STORED_SAMPLES`` are kept in memory) when the largest or the rms
    mismatch is within twice its Monte Carlo noise (measured from the spread
    between chains) or the rms has not fallen by 20 % in
    ``STALL_ITERATIONS`` iterations: each step fits the sample's own noise.

    Once the sample is at its largest, steps use Fisher-scaled coordinates
    (see :func:`_reweighted_step`) and the running average of the iterates
    (Polyak-Ruppert; the last ``AVERAGE_WINDOW`` iterates) is checked every
    ``AVERAGE_EVERY`` iterations: it averages away the noise each step fits.
    Convergence (:class:`Mismatch`, *tol* and *tol_rms*) is confirmed with
    *max_samples* Monte Carlo samples, or by *check(theta)* (exact
    enumeration) when given. Entries of *fixed* keep their value in *theta0*.
    """
    n = stats["mean"].shape[0]
    d = stats_vector(stats["mean"], stats["second"], stats["pk"], k_potential)
    free = np.ones(len(theta0), bool) if fixed is None else ~fixed
    theta = theta0.copy()
    n_samples = int(min(start_samples, max_samples, MAX_STORED_SAMPLES))
    converged = False
    mis = Mismatch(np.inf, np.inf, 0.0, 0.0)
    burn = 50
    n_done = 0
    # the last accepted point: parameters, its sample, the chains that drew it, its mismatch
    accepted = None
    max_scale = 1.0
    best_at, best_at_z = 0, np.inf
    bar = progress_bar(range(max_iter), enable=progress, desc="reweighting learning")
    judge = _Judge(stats, coding, k_potential, (tol, tol_rms, max_samples, check), bar, progress)
    history = judge.history
    cap = min(max_samples, MAX_STORED_SAMPLES)
    recent: deque = deque(maxlen=AVERAGE_WINDOW)  # iterates at the largest sample
    since_check = 0
    for _ in bar:
        n_done += 1
        if len(recent) == AVERAGE_WINDOW and since_check >= AVERAGE_EVERY:
            since_check = 0
            # at the largest sample each step fits that sample's noise; the average of the
            # iterates (Polyak-Ruppert) does not, so it is checked every few iterations
            theta_bar = np.mean(recent, axis=0)
            final = _confirm(theta_bar, check, chains, stats, coding, k_potential, max_samples)
            history.append(final.max_z)
            if final.converged(tol, tol_rms):
                theta, mis, converged = theta_bar, final, True
                break
        h, J, V = unpack(theta, n, k_potential)
        saved = (chains.states.copy(), chains.rng.copy())
        if n_samples > MAX_STORED_SAMPLES:
            m, per_chain, n_used = chains.stats_vectors(
                h, J, V, coding, k_potential, n_samples, n_burn=burn
            )
            sample = None
        else:
            x01 = chains.samples(h, J, V, coding, n_samples, n_burn=burn)
            sample = _ReweightedSample(x01, coding, k_potential, chains.states.shape[0])
            del x01
            n_used = sample.n_samples
            per_chain = sample.per_chain
            m = per_chain.mean(0)
        burn = 0
        mis, action = judge(m, per_chain, n_used, theta)
        z = mis.max_z
        if action == "stop":
            converged = True
            break
        if action == "confirm":
            n_samples = int(max_samples)
            continue
        if accepted is not None and z > 2.0 * accepted[3]:
            # the step made the model much worse than the sample predicted (typically a
            # jump into states the sample never visited): go back and take a shorter one
            theta, sample, saved, z_prev, step, scale = accepted
            chains.states[:], chains.rng[:] = saved
            recent.clear()
            max_scale = scale / 4.0
            if max_scale < 1e-3:
                break
            theta_new = theta + max_scale * step
            accepted = (theta, sample, saved, z_prev, step, max_scale)
            theta = theta_new
            continue
        # more samples when the mismatch (largest or rms) is within twice the Monte Carlo
        # noise, or when the rms has stopped falling: each step fits the sample's own noise,
        # so a sample cannot take the fit much below its noise
        stalled = len(history) - best_at > STALL_ITERATIONS
        if mis.rms < 0.8 * best_at_z:
            best_at, best_at_z = len(history), mis.rms
        within_noise = z < 2.0 * mis.allowance or mis.rms < 2.0 * mis.noise_rms
        if (within_noise or stalled) and n_samples < cap:
            n_samples = int(min(2 * n_samples, cap))
            best_at, best_at_z = len(history), mis.rms
        if sample is None:  # a full-size check failed: learn from a stored sample again
            n_samples = cap
            continue
        # at the largest sample the steps are small: Fisher-scaled coordinates let the
        # optimiser reach statistics of every frequency (rare pairs included); earlier, the
        # unscaled problem's slow progress on rare statistics damps the large first steps
        scaled = n_samples >= cap
        variance = np.maximum(stat_variance(m, coding, n), 1.0 / n_used) if scaled else None
        step = _reweighted_step(sample, theta, d, free, l2, n, inner_iter, variance)
        scale = min(1.0, 2.0 * max_scale)
        while scale > 1e-3:
            if sample.ess_fraction(sample.log_weights(scale * step)) >= min_ess:
                break
            scale *= 0.5
        max_scale = scale
        accepted = (theta, sample, saved, z, step, scale)
        theta = theta + scale * step
        if n_samples >= cap:
            recent.append(theta)
            since_check += 1
    return theta, converged, n_done, mis, np.asarray(history), n_samples


def _confirm(theta, check, chains: ChainSet, stats, coding, k_potential, max_samples) -> Mismatch:
    """Mismatch of *theta*: exact (*check*) when given, else *max_samples* Monte Carlo samples."""
    if check is not None:
        return check(theta)
    h, J, V = unpack(theta, stats["mean"].shape[0], k_potential)
    m, per_chain, n_used = chains.stats_vectors(h, J, V, coding, k_potential, max_samples, 20)
    return measure(m, per_chain, stats, coding, k_potential, n_used)


def _reweighted_step(sample, theta, d, free, l2, n, inner_iter, variance=None):
    """Maximiser of the reweighted log-likelihood around *theta* (L-BFGS-B, bounded).

    With *variance* (the variance of each statistic, the diagonal of the
    Fisher information) the optimiser works in coordinates
    ``u = delta * sqrt(variance)``, where statistics of very different
    frequency (a unit's mean, a pair seen a few times) have comparable
    curvature, and no parameter moves by more than ``MAX_PARAM_STEP``.
    """
    theta_free = theta[free]
    root = np.ones(int(free.sum())) if variance is None else np.sqrt(variance[free])

    def objective(u):
        delta_free = u / root
        delta = np.zeros(len(free))
        delta[free] = delta_free
        log_w = sample.log_weights(delta)
        new = theta_free + delta_free
        f = sample.log_mean_weight(log_w) - delta_free @ d[free] + 0.5 * l2 * new @ new
        g = sample.moments(_normalized(log_w))[free] - d[free] + l2 * new
        return f, g / root

    bounds = _bounds(np.zeros(len(free)), theta, None, n)[free]
    if variance is not None:
        bounds = np.clip(bounds, -MAX_PARAM_STEP, MAX_PARAM_STEP) * root[:, None]
    res = minimize(
        objective,
        np.zeros(free.sum()),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": inner_iter, "maxcor": 20},
    )
    step = np.zeros(len(free))
    step[free] = res.x / root
    return step
