"""Persistent Gibbs chains of a pairwise model and the search for a high-activity mode."""

from __future__ import annotations

import numpy as np

from ._codings import moments01_to, params_to01, stats_vector
from ._sampler import gibbs_samples, gibbs_stats, seed_states
from ._start import FORBIDDEN


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
        mean, second = moments01_to(sums.sum(0), pairs.sum(0), total, coding)
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
            mean, second = moments01_to(sums[c], pairs[c], float(sweeps), coding)
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
