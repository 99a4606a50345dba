"""Markov chains of the Ising samplers: one lattice (:class:`_Chain`) or 64 packed replicas.

A chain holds the spins, the couplings, the counter-based RNG key/counter and
the numba update kernel for its algorithm (Wolff, Swendsen-Wang, checkerboard
Metropolis/heat bath with a flip table, or per-bond updates); ``run`` advances
it by sweeps and ``measure`` returns energy per site and ``|m|``. The schedule
(:mod:`._schedule`) and the public samplers (:mod:`.sampling`) only use that
interface. The helpers at the end set a chain up: the dimension, the seed and
the two random streams derived from it, the initial spins and the couplings.
"""

from __future__ import annotations

import math
from numbers import Integral
from typing import Any

import numpy as np
import xarray as xr

from .._threads import ThreadChooser
from .._validation import check_array, check_option, check_random_state
from ._kernels_cluster import (
    packing_bits,
    swendsen_wang_sweeps,
    wolff_clusters,
    wolff_ferro,
    wolff_ferro_field,
)
from ._kernels_energy import energy_magnetisation
from ._kernels_local import (
    sweeps_bonds,
    sweeps_table_2d,
    sweeps_table_2d_parallel,
    sweeps_table_3d,
    sweeps_table_3d_parallel,
)
from ._kernels_msc import (
    class_probability_bits,
    msc_energy_magnetisation,
    msc_sweeps_ferro,
    msc_sweeps_ferro_parallel,
    msc_sweeps_general,
    msc_sweeps_general_parallel,
)

__all__ = [
    "CLUSTER_ALGORITHMS",
    "WOLFF_CALIBRATION",
    "_Chain",
    "_ReplicaChain",
    "_flip_table",
    "_check_dim",
    "_seed_from",
    "_streams",
    "_initial_spins",
    "_check_couplings",
]

#: Algorithms that flip clusters (no flip table).
CLUSTER_ALGORITHMS = ("wolff", "swendsen_wang")
#: Sweep-equivalents per Wolff calibration pass (see ``_Chain.calibrate_wolff``).
WOLFF_CALIBRATION = 5


def _flip_table(algorithm: str, dim: int, beta: float, J: float, h: float) -> np.ndarray:
    """``P(flip) * 2**32`` for each (spin, neighbour sum) with uniform couplings."""
    z = 2 * dim
    table = np.empty(2 * (z + 1), dtype=np.uint64)
    for si_index, si in enumerate((-1, 1)):
        for k, nb in enumerate(range(-z, z + 1, 2)):
            d_e = 2.0 * si * (J * nb + h)
            if algorithm == "metropolis":
                p = 1.0 if d_e <= 0 else math.exp(-beta * d_e)
            else:  # heat bath: probability that the new spin is -si
                x = beta * d_e
                p = 1.0 / (1.0 + math.exp(x)) if x < 700 else 0.0
            table[si_index * (z + 1) + k] = np.uint64(min(round(p * 2**32), 2**32))
    return table


class _Chain:
    """One Markov chain: spins, couplings, RNG key/counter and the update kernel."""

    def __init__(self, spins, algorithm, beta, J, h, bonds, key, n_threads):
        self.spins = spins  # (L,)*dim int8, C-contiguous, updated in place
        self.dim = spins.ndim
        self.algorithm = algorithm
        self.beta = beta
        self.h = h
        self.key = key
        self.counter = np.uint64(0)
        self.threads = ThreadChooser(n_threads)
        shape = spins.shape
        self.shape3 = (1, *shape) if self.dim == 2 else shape
        n = spins.size
        if bonds is None:
            self.bonds_flat = np.array([[0.0 if self.dim == 2 else J], [J], [J]])
            self.table = (
                _flip_table(algorithm, self.dim, beta, J, h)
                if algorithm not in CLUSTER_ALGORITHMS
                else None
            )
        else:
            full = np.zeros((3, *self.shape3))
            full[3 - self.dim :] = bonds.reshape(self.dim, *self.shape3)
            self.bonds_full = full
            self.bonds_flat = full.reshape(3, n)
            self.table = None
        # uniform J > 0: fast Wolff kernel (flipped spins mark the cluster)
        self.ferro = bonds is None and J > 0
        if algorithm == "wolff" and self.ferro and h == 0.0:
            # the stack holds packed coordinates (see packing_bits)
            bits = packing_bits(*self.shape3)
            self.work = (np.empty(n, np.int32 if sum(bits) <= 31 else np.int64),)
            self.packing = bits[:2]
        elif algorithm == "wolff" and self.ferro:
            self.work = (np.empty(n, np.int32),)
        elif algorithm == "wolff":
            self.work = (np.empty(n, np.int32), np.empty(n, np.int32))
        elif algorithm == "swendsen_wang":
            self.work = (np.empty(n + 1, np.int32), np.empty(n + 1, np.int8))  # + ghost
        self.n_sites = n
        self.n_sweeps = 0
        self.n_clusters = 0
        self.n_flipped = 0
        self.clusters_per_sweep = 1

    def calibrate_wolff(self, n_sweeps: int = WOLFF_CALIBRATION) -> None:
        """Fix the number of Wolff clusters per sweep-equivalent from a burn-in run.

        Runs passes of *n_sweeps* sweep-equivalents, each flipping clusters
        until their sizes add up to ``n_sweeps * N``, until the mean cluster
        size of two consecutive passes agrees within 20% (at most 6 passes:
        the first passes relax from the initial state, where clusters can be
        much smaller or larger than in equilibrium). Then
        ``clusters_per_sweep = max(1, round(N / mean cluster size))`` of the
        last pass. The size-dependent stopping rule is only used here, during
        burn-in; all passes count as burn-in sweeps.
        """
        n = self.spins.size
        previous = None
        for _ in range(6):
            counter, nc, nf = self._wolff(1, n_sweeps * n)
            self.counter = np.uint64(counter)
            self.n_sweeps += n_sweeps
            mean = nf / nc
            if previous is not None and abs(mean - previous) <= 0.2 * previous:
                break
            previous = mean
        self.clusters_per_sweep = max(1, round(n / mean))

    def _wolff(self, n_clusters: int, min_flipped: int):
        flat = self.spins.reshape(-1)
        if self.ferro:
            p_add = -math.expm1(-2.0 * self.beta * self.bonds_flat[1, 0])
            if self.h == 0.0:
                return wolff_ferro(
                    flat, *self.shape3, p_add, n_clusters, min_flipped, self.key, self.counter,
                    *self.work, *self.packing,
                )  # fmt: skip
            return wolff_ferro_field(
                flat, *self.shape3, p_add, self.h, self.beta, n_clusters, min_flipped, self.key,
                self.counter, *self.work,
            )  # fmt: skip
        return wolff_clusters(
            flat, *self.shape3, self.bonds_flat, self.h, self.beta, n_clusters, min_flipped,
            self.key, self.counter, *self.work,
        )  # fmt: skip

    def run(self, n_sweeps: int) -> None:
        if n_sweeps <= 0:
            return
        s = self.spins
        if self.algorithm in CLUSTER_ALGORITHMS:
            flat = s.reshape(-1)
            lz, ly, lx = self.shape3
            if self.algorithm == "wolff":
                counter, nc, nf = self._wolff(n_sweeps * self.clusters_per_sweep, 0)
                self.n_flipped += nf
            else:
                counter, nc = swendsen_wang_sweeps(
                    flat, lz, ly, lx, self.bonds_flat, self.h, self.beta, n_sweeps, self.key,
                    self.counter, *self.work,
                )  # fmt: skip
            self.n_clusters += nc
        elif self.table is None:
            s3 = s.reshape(self.shape3)
            counter = sweeps_bonds(
                s3, n_sweeps, self.bonds_full, self.h, self.beta,
                self.algorithm == "heat_bath", self.key, self.counter,
            )  # fmt: skip
        else:
            if self.dim == 2:
                kernels = (sweeps_table_2d, sweeps_table_2d_parallel)
            else:
                kernels = (sweeps_table_3d, sweeps_table_3d_parallel)
            counter = self.threads.run(
                n_sweeps * self.n_sites, *kernels, s, n_sweeps, self.table, self.key, self.counter
            )
        # numba hands uint64 back as a Python int, which it would type as int64
        # (and mixed int64/uint64 arithmetic as float64) on the next call
        self.counter = np.uint64(counter)
        self.n_sweeps += n_sweeps

    def measure(self) -> tuple[float, float]:
        """Energy per site and |m| of the current state."""
        e, m = self.observables(self.spins[None])
        return float(e[0]), float(m[0])

    def observables(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Energy per site and |m| of samples shaped ``(n, *lattice)``."""
        flat = samples.reshape(samples.shape[0], -1)
        energy, mag = energy_magnetisation(flat, *self.shape3, self.bonds_flat, self.h)
        n = flat.shape[1]
        return energy / n, np.abs(mag) / n


class _ReplicaChain:
    """64 replicas of a 2D lattice packed in uint64 words (multi-spin coding)."""

    def __init__(self, words, beta, J, h, key, n_threads, n_replicas):
        self.words = words
        self.J, self.h = J, h
        self.key = key
        self.counter = np.uint64(0)
        self.threads = ThreadChooser(n_threads)
        self.n_replicas = n_replicas
        self.n_sites = words.size
        self.n_sweeps = 0
        kind, bits = class_probability_bits(beta, J, h)
        self.ferro = J > 0 and h == 0.0
        if self.ferro:
            # classes 2k + up: k = 0 -> 0/1, k = 1 -> 2/3 (same probability for both spins)
            self.args = (np.ascontiguousarray(bits[0]), np.ascontiguousarray(bits[2]))
        else:
            self.args = (kind, bits)

    def run(self, n_sweeps: int) -> None:
        if n_sweeps <= 0:
            return
        if self.ferro:
            kernels = (msc_sweeps_ferro, msc_sweeps_ferro_parallel)
        else:
            kernels = (msc_sweeps_general, msc_sweeps_general_parallel)
        counter = self.threads.run(
            n_sweeps * self.n_sites, *kernels, self.words, n_sweeps, *self.args, self.key,
            self.counter,
        )  # fmt: skip
        self.counter = np.uint64(counter)
        self.n_sweeps += n_sweeps

    def measure(self) -> tuple[float, float]:
        """Replica-averaged energy per site and |m|."""
        e, m = msc_energy_magnetisation(self.words, self.n_replicas, self.J, self.h)
        return float(e.mean()), float(np.abs(m).mean())


def _check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, Integral) or int(dim) not in (2, 3):
        raise ValueError(f"unknown dim {dim!r}; accepted: 2, 3")
    return int(dim)


def _seed_from(random_state: Any) -> int:
    """The integer seed a run uses: *random_state* itself if an int, else drawn from it."""
    rng = check_random_state(random_state)
    if isinstance(random_state, Integral) and not isinstance(random_state, bool):
        return int(random_state)
    return int(rng.integers(0, 2**62))


def _streams(seed: int) -> tuple[np.uint64, np.random.Generator]:
    """Kernel key and a generator for the initial state, both derived from *seed*."""
    key = np.random.SeedSequence(seed, spawn_key=(0,)).generate_state(1, np.uint64)[0]
    init_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    return np.uint64(key), init_rng


def _initial_spins(initial: Any, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if initial is None or (isinstance(initial, str) and initial == "random"):
        return np.where(rng.random(shape) < 0.5, -1, 1).astype(np.int8)
    if isinstance(initial, str):
        check_option(initial, "initial", ("random", "up", "down"))
        return np.full(shape, 1 if initial == "up" else -1, dtype=np.int8)
    if isinstance(initial, xr.DataArray):
        initial = initial.values
        if initial.ndim == len(shape) + 1:  # a Configurations array: continue from its last sample
            initial = initial[-1]
    arr = check_array(initial, "initial")
    if arr.shape != shape:
        raise ValueError(
            f"initial has shape {arr.shape}; expected the lattice shape {shape}, "
            "or one of 'random', 'up', 'down'"
        )
    if not np.all((arr == 1) | (arr == -1)):
        raise ValueError("initial must hold only -1 and +1 spins")
    return np.ascontiguousarray(arr, dtype=np.int8)


def _check_couplings(couplings: Any, dim: int, L: int) -> np.ndarray:
    arr = check_array(couplings, "couplings", dtype=float)
    expected = (dim, *([L] * dim))
    if arr.shape != expected:
        raise ValueError(
            f"couplings has shape {arr.shape}; expected (dim, *lattice_shape) = {expected}: "
            "couplings[a, ...] is the bond from each site to its +1 neighbour along axis a"
        )
    return np.ascontiguousarray(arr)
