"""numba Gibbs (heat-bath) sampler for 0/1 pairwise models with an optional count potential.

Each chain owns a xorshift64* random state (seeded from a numpy Generator by
the caller), so results do not depend on how numba schedules the chains on
threads. Local fields are kept up to date incrementally: a flip of unit k
costs O(N), a non-flip costs O(1), which makes sparse (neural) models cheap.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_MULT = np.uint64(2685821657736338717)
_S12 = np.uint64(12)
_S25 = np.uint64(25)
_S27 = np.uint64(27)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def _uniform(state: np.ndarray, c: int) -> float:
    x = state[c]
    x ^= x >> _S12
    x ^= x << _S25
    x ^= x >> _S27
    state[c] = x
    return float((x * _MULT) >> _S11) * _INV53


@njit(cache=True, inline="always")
def _sweep(s, field, K, h, J, V, use_v, rng, c):
    n = s.shape[0]
    for i in range(n):
        si = s[i]
        km = K - si
        lo = field[i]
        if use_v:
            lo += V[km + 1] - V[km]
        p1 = 1.0 / (1.0 + np.exp(-lo))
        new = 1 if _uniform(rng, c) < p1 else 0
        if new != si:
            s[i] = new
            d = 1.0 if new == 1 else -1.0
            K += new - si
            for j in range(n):
                field[j] += d * J[j, i]
    return K


@njit(cache=True, inline="always")
def _init_field(s, h, J):
    n = s.shape[0]
    field = h.copy()
    K = 0
    for i in range(n):
        if s[i]:
            K += 1
            for j in range(n):
                field[j] += J[j, i]
    return field, K


@njit(cache=True, inline="always")
def record_sweep(s, active, sums_c, pairs_c):  # pragma: no cover - compiled
    """Add the 0/1 configuration *s* to one chain's sums of ``s_i`` and ``s_i s_j`` (i < j).

    *active* is scratch space of length ``N`` (the indices of the 1s).
    """
    na = 0
    for i in range(s.shape[0]):
        if s[i]:
            active[na] = i
            na += 1
            sums_c[i] += 1.0
    for a in range(na):
        ia = active[a]
        for b in range(a + 1, na):
            pairs_c[ia, active[b]] += 1.0


@njit(cache=True, parallel=True)
def gibbs_stats(h, J, V, use_v, states, rng, n_sweeps, n_burn):
    """Run every chain and accumulate counts of s_i, s_i s_j (i<j) and K.

    Returns ``(sums (C, N), pairs (C, N, N) upper triangle, khist (C, N+1))``,
    one recorded configuration per sweep after *n_burn* sweeps. *states* is
    updated in place (persistent chains).
    """
    n_chains, n = states.shape
    sums = np.zeros((n_chains, n))
    pairs = np.zeros((n_chains, n, n))
    khist = np.zeros((n_chains, n + 1))
    for c in prange(n_chains):
        s = states[c]
        field, K = _init_field(s, h, J)
        active = np.empty(n, np.int64)
        for sweep in range(n_burn + n_sweeps):
            K = _sweep(s, field, K, h, J, V, use_v, rng, c)
            if sweep >= n_burn:
                record_sweep(s, active, sums[c], pairs[c])
                khist[c, K] += 1.0
    return sums, pairs, khist


@njit(cache=True, parallel=True)
def gibbs_samples(h, J, V, use_v, states, rng, n_per_chain, thin, n_burn):
    """Record *n_per_chain* configurations per chain, *thin* sweeps apart.

    Returns an int8 array ``(C, n_per_chain, N)``; *states* is updated in place.
    """
    n_chains, n = states.shape
    out = np.empty((n_chains, n_per_chain, n), np.int8)
    for c in prange(n_chains):
        s = states[c]
        field, K = _init_field(s, h, J)
        for _ in range(n_burn):
            K = _sweep(s, field, K, h, J, V, use_v, rng, c)
        for r in range(n_per_chain):
            for _ in range(thin):
                K = _sweep(s, field, K, h, J, V, use_v, rng, c)
            for i in range(n):
                out[c, r, i] = s[i]
    return out


def seed_states(rng: np.random.Generator, n_chains: int) -> np.ndarray:
    """Non-zero uint64 xorshift states drawn from *rng*."""
    return rng.integers(1, 2**63 - 1, size=n_chains, dtype=np.uint64)
