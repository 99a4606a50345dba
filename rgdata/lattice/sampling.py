"""Monte Carlo sampling of the 2D and 3D Ising model on periodic lattices.

The model is ``H = -sum_<ij> J_ij s_i s_j - h sum_i s_i`` with one bond from
each site to its +1 neighbour along each axis (so an ``L = 2`` lattice has two
distinct bonds between each neighbouring pair, as in the exact enumeration).
Updates run in numba kernels with counter-based SplitMix64 random numbers
derived from one integer seed: the same ``random_state`` gives the same
configurations, whatever the number of threads.

Public functions: :func:`sample_ising` (one chain, configurations as a
DataArray) and :func:`sample_ising_replicas` (64 independent replicas with
multi-spin coding, see ``_kernels_msc``).
"""

from __future__ import annotations

import contextlib
import math
import threading
from numbers import Integral
from typing import Any

import numba
import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import (
    check_array,
    check_int,
    check_option,
    check_random_state,
    check_real,
    describe,
)
from .._warnings import once_per_call, warn_user
from ._autocorr import tau_int_estimate
from ._kernels_cluster import (
    energy_magnetisation,
    swendsen_wang_sweeps,
    wolff_clusters,
    wolff_ferro,
)
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
    msc_unpack,
)

__all__ = ["ALGORITHMS", "sample_ising", "sample_ising_replicas", "ising_energy_magnetization"]

#: Update algorithms accepted by :func:`sample_ising`.
ALGORITHMS = ("wolff", "swendsen_wang", "metropolis", "heat_bath")
_CLUSTER = ("wolff", "swendsen_wang")
_DIMS = {2: ("sample", "y", "x"), 3: ("sample", "z", "y", "x")}

#: Automatic burn-in and spacing, in units of the integrated autocorrelation time.
BURN_IN_TAUS = 20
SPACING_TAUS = 2
#: A pilot's tau_int is accepted when the measured series (its second half) is
#: at least this many tau_int and ``_PILOT_MIN_SERIES`` points long (fewer, down
#: to 512, on lattices above ``_PILOT_WORK / 4096`` sites), with the window
#: ``M <= series / 10``. Shorter series miss rare slow events (domain walls below
#: T_c) and underestimated tau(|m|) by 30-45% at T = 2.0 with 512 points.
PILOT_TAUS = 200
_PILOT_MIN_SERIES = 2048
#: Output check: the returned samples fail it when their tau_int (in samples)
#: exceeds ``1 + OUTPUT_SE * se``.
OUTPUT_SE = 2.0
#: Sweep-equivalents per Wolff calibration pass (see ``_Chain.calibrate_wolff``).
WOLFF_CALIBRATION = 5
_PILOT_MAX = 4096
#: Small lattices may extend the pilot up to this many site updates in total.
_PILOT_WORK = 2**28


_METROPOLIS_2X2 = (
    "checkerboard Metropolis is not ergodic on the 2 x 2 torus (L=2 in 2D: its deterministic "
    "flips bias the energy by ~7%, also in an independent implementation); use L >= 3, "
    "algorithm='heat_bath' or a cluster algorithm"
)


def _version() -> str:
    from .. import __version__

    return __version__


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


def _with_threads(n_threads: int, kernel, *args):
    """Call a numba kernel with *n_threads* threads, restoring the previous count."""
    if n_threads <= 1:
        return kernel(*args)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        return kernel(*args)
    finally:
        numba.set_num_threads(previous)


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
        self.n_threads = n_threads
        shape = spins.shape
        self.shape3 = (1, *shape) if self.dim == 2 else shape
        n = spins.size
        if bonds is None:
            self.bonds_flat = np.array([[0.0 if self.dim == 2 else J], [J], [J]])
            self.table = (
                _flip_table(algorithm, self.dim, beta, J, h) if algorithm not in _CLUSTER else None
            )
        else:
            full = np.zeros((3, *self.shape3))
            full[3 - self.dim :] = bonds.reshape(self.dim, *self.shape3)
            self.bonds_full = full
            self.bonds_flat = full.reshape(3, n)
            self.table = None
        # uniform J > 0: fast Wolff kernel (flipped spins mark the cluster)
        self.ferro = bonds is None and J > 0
        if algorithm == "wolff" and self.ferro:
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
            return wolff_ferro(
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
        if self.algorithm in _CLUSTER:
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
                kernel = sweeps_table_2d_parallel if self.n_threads > 1 else sweeps_table_2d
            else:
                kernel = sweeps_table_3d_parallel if self.n_threads > 1 else sweeps_table_3d
            counter = _with_threads(
                self.n_threads, kernel, s, n_sweeps, self.table, self.key, self.counter
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


def _tau_of(series: list[np.ndarray], min_length: int) -> tuple[float, float, bool]:
    """Largest integrated autocorrelation time over several series, its error, reliability.

    Returns ``(tau, se, reliable)``: ``tau`` and ``se`` of the slowest series
    (largest tau), ``reliable`` only if every series passes
    :func:`~rgdata.lattice._autocorr.tau_int_estimate`'s test.
    """
    estimates = [tau_int_estimate(x, min_taus=PILOT_TAUS, min_length=min_length) for x in series]
    slowest = max(estimates, key=lambda est: est.tau)
    return slowest.tau, slowest.se, all(est.reliable for est in estimates)


def _slow_series(energy: np.ndarray, absm: np.ndarray) -> list[np.ndarray]:
    """The series whose tau_int sets the schedule: energy, |m| and m^2.

    |m| and m^2 (not the signed m, which decorrelates by global flips) are the
    slow modes near T_c on finite lattices.
    """
    return [energy, absm, absm**2]


def _pilot(chain) -> tuple[float, bool, int]:
    """Run the chain, doubling the pilot until tau_int is reliably measured (or the cap).

    *chain* has ``run(n_sweeps)`` and ``measure() -> (energy, |m|)``. The
    observables are measured after every sweep; tau is estimated on the second
    half of the series (the first half is burn-in), on energy, |m| and m^2,
    and accepted when that half is at least ``PILOT_TAUS`` tau and
    ``_PILOT_MIN_SERIES`` sweeps long (down to 512 on lattices above
    ``_PILOT_WORK / 4096`` sites) with Sokal's window ``M <= half / 10``.
    Returns ``(tau, reliable, sweeps_run)``.
    """
    energy, mag = [], []
    min_series = int(np.clip(_PILOT_WORK // (2 * chain.n_sites), 512, _PILOT_MIN_SERIES))
    target = 2 * min_series
    cap = max(_PILOT_MAX, _PILOT_WORK // chain.n_sites)
    while True:
        while len(energy) < target:
            chain.run(1)
            e, m = chain.measure()
            energy.append(e)
            mag.append(m)
        half = target // 2
        series = _slow_series(np.asarray(energy[half:]), np.asarray(mag[half:]))
        tau, _, reliable = _tau_of(series, min_series)
        if reliable or target >= cap:
            return tau, reliable, target
        target *= 2


def _output_check(energy: np.ndarray, absm: np.ndarray) -> tuple[float, float, int]:
    """tau_int of the returned samples (in samples), its error, and whether spacing suffices.

    Returns ``(tau, se, adequate)`` with ``adequate`` 1 when ``tau <= 1 +
    OUTPUT_SE * se`` and every series with ``tau > 1`` has its window
    ``M <= n / 10`` (from 32 samples on), 0 otherwise, -1 (and NaN) for fewer
    than 4 samples.
    """
    if energy.size < 4:
        return math.nan, math.nan, -1
    estimates = [tau_int_estimate(x) for x in _slow_series(energy, absm)]
    slowest = max(estimates, key=lambda est: est.tau)
    n = energy.size
    # a correlated series (tau > 1) whose window is not well inside it (M > n / 10, or
    # no window at all) is correlated beyond what its error estimate can bound
    inside = all(est.tau <= 1.0 or est.window <= n / 10 for est in estimates) or n < 32
    adequate = inside and slowest.tau <= 1.0 + OUTPUT_SE * slowest.se
    return slowest.tau, slowest.se, int(adequate)


#: Thread-local switch: the ensemble runner silences the per-run tau warning (it
#: collects the ``tau_int_reliable`` flags and warns once, in the calling thread).
_QUIET = threading.local()


@contextlib.contextmanager
def _quiet_tau_warning():
    previous = getattr(_QUIET, "on", False)
    _QUIET.on = True
    try:
        yield
    finally:
        _QUIET.on = previous


def _schedule(chain, burn_in: int | None, spacing: int | None):
    """Burn the chain in and choose the spacing (the automatic rule when either is None).

    Returns ``(tau_pilot, reliable, spacing, pilot_sweeps)``; ``tau_pilot`` is
    NaN (and ``pilot_sweeps`` 0) without a pilot.
    """
    tau_pilot, reliable, pilot_sweeps = math.nan, True, 0
    if burn_in is not None:
        chain.run(burn_in)
    if burn_in is None or spacing is None:
        tau_pilot, reliable, pilot_sweeps = _pilot(chain)
        if burn_in is None:
            chain.run(max(0, math.ceil(BURN_IN_TAUS * tau_pilot) - pilot_sweeps))
        if spacing is None:
            spacing = max(1, math.ceil(SPACING_TAUS * tau_pilot))
    return tau_pilot, reliable, spacing, pilot_sweeps


def _warn_schedule(
    where: str,
    tau_pilot: float,
    pilot_ok: bool,
    pilot_sweeps: int,
    tau_samples: float,
    tau_samples_se: float,
    adequate: int,
    spacing: int,
) -> None:
    """One warning per call for an unreliable pilot and/or a failed output check.

    ``warn_user`` names the user's line. Silent inside :func:`_quiet_tau_warning`
    (the ensemble runner collects the flags and warns once).
    """
    if getattr(_QUIET, "on", False) or (pilot_ok and adequate != 0):
        return
    parts = []
    if not pilot_ok:
        parts.append(
            f"the integrated autocorrelation time ({tau_pilot:.1f} sweeps) could not be "
            f"measured reliably within a {pilot_sweeps}-sweep pilot (needs a series of "
            f">= {PILOT_TAUS} tau); burn-in and spacing derived from it may be too short"
        )
    if adequate == 0:
        parts.append(
            f"the returned samples are correlated: tau_int of their energy/|m|/m^2 is "
            f"{tau_samples:.2f} +- {tau_samples_se:.2f} samples (> 1 + {OUTPUT_SE:g} se) "
            f"at spacing {spacing}"
        )
    warn_user(
        f"{where}: {'; '.join(parts)} (attrs tau_int_reliable=0, spacing_adequate="
        f"{adequate}). Use a cluster algorithm near T_c or a longer spacing"
    )


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


@once_per_call
def sample_ising(
    L: int,
    T: float,
    n_samples: int,
    *,
    dim: int = 2,
    J: float = 1.0,
    h: float = 0.0,
    couplings: Any = None,
    algorithm: str = "wolff",
    burn_in: int | None = None,
    spacing: int | None = None,
    random_state: Any = None,
    progress: bool = False,
    initial: Any = None,
    n_threads: int = 1,
) -> xr.DataArray:
    """Sample equilibrium configurations of the Ising model on a periodic lattice.

    Parameters
    ----------
    L : int
        Linear size (at least 2); the lattice has ``L**dim`` sites.
    T : float
        Temperature (``k_B = 1``), finite and positive.
    n_samples : int
        Number of configurations returned.
    dim : {2, 3}
        Lattice dimension.
    J : float
        Uniform coupling (``J > 0`` ferromagnetic). Ignored when *couplings* is given.
    h : float
        Uniform field. Cluster algorithms build clusters from the couplings and
        handle the field by a Metropolis acceptance of each Wolff cluster flip
        (``min(1, exp(-2 beta h s0 |C|))``) or by a ghost spin (Swendsen-Wang);
        both lose efficiency when ``h |C|`` is large.
    couplings : array-like, optional
        Per-bond couplings of shape ``(dim, L, ..., L)``: ``couplings[a, ...]``
        couples each site to its +1 neighbour along axis ``a`` (axis order of the
        result: ``(z,) y, x``). Random-bond and +-J spin glasses use this.
    algorithm : {"wolff", "swendsen_wang", "metropolis", "heat_bath"}
        Update. Metropolis and heat bath sweep the lattice in checkerboard
        order; Wolff flips single clusters, one *sweep-equivalent* being a run
        of clusters whose sizes add up to at least ``L**dim``; Swendsen-Wang
        flips all clusters once per sweep.
    burn_in : int, optional
        Sweeps before the first sample. Default: ``max(pilot, 20 * tau_int)``.
    spacing : int, optional
        Sweeps between samples. Default: ``max(1, ceil(2 * tau_int))``.
    random_state : None, int or numpy.random.Generator
        Seed. An int is used as the seed; a Generator gives one drawn from it.
        The seed used is stored in ``attrs["seed"]``.
    progress : bool
        Show a progress bar over samples.
    initial : {"random", "up", "down"}, array or DataArray, optional
        Initial state (default random). A Configurations DataArray continues
        from its last sample.
    n_threads : int
        Threads for Metropolis / heat bath with uniform couplings (checkerboard
        rows or planes in parallel; needs even ``L``). The result does not
        depend on it.

    Returns
    -------
    xarray.DataArray
        int8 +-1 spins with dims ``("sample", "y", "x")`` or
        ``("sample", "z", "y", "x")``. ``attrs``: ``model`` (``"ising2d"``,
        ``"ising3d"`` or ``"random_bond"``), ``temperature``, ``J``, ``h``,
        ``algorithm``, ``seed``, ``burn_in`` (sweeps run before the first
        sample, pilot included), ``spacing`` (sweeps, or Wolff
        sweep-equivalents, between samples), ``tau_int`` (integrated
        autocorrelation time in sweeps, max over E and |m|),
        ``tau_int_reliable`` (1 if the pilot was reliable and the output
        check passed), ``tau_int_pilot_reliable``, ``tau_int_samples`` (of the
        returned series, in samples; 0.5 = independent) with
        ``tau_int_samples_se``, ``spacing_adequate`` (1 passed, 0 failed, -1
        fewer than 4 samples),
        ``n_effective``, ``version`` and, for random bonds, the flattened
        ``couplings`` with ``couplings_shape``.

    Raises
    ------
    ValueError
        Non-positive or non-finite ``T``, ``L < 2``, unknown ``algorithm`` or
        ``dim``, couplings of the wrong shape, odd ``L`` with ``n_threads > 1``,
        Metropolis on the 2D ``2 x 2`` torus (not ergodic in checkerboard order).

    Notes
    -----
    Automatic burn-in and spacing (when either is None): a pilot run measures
    the energy, |m| and m^2 after every sweep, doubling its length until
    Sokal's windowed tau_int (``c = 6``) of each, on the second half of the
    series, is reliable: the half is >= 200 tau and >= 2048 sweeps long (512
    on lattices above 2**16 sites) and the window ``M <= half / 10``; at most
    ``max(4096, 2**28 / L**dim)`` sweeps. Then ``burn_in = max(pilot, 20
    tau)`` and ``spacing = max(1, ceil(2 tau))``. If the cap is reached the
    estimate is a lower bound (``tau_int_pilot_reliable = 0``). Output check:
    tau_int of the returned samples' energy, |m| and m^2 (in samples) must
    not exceed ``1 + 2 se`` (``spacing_adequate``). ``tau_int_reliable = 1``
    needs both; a failure of either gives one warning.

    Examples
    --------
    >>> cfg = sample_ising(16, 2.5, 100, algorithm="wolff", random_state=0)
    >>> cfg.dims
    ('sample', 'y', 'x')
    """
    dim = _check_dim(dim)
    L = check_int(L, "L", min_value=2)
    T = check_real(T, "T", min_value=0.0, strict_min=True)
    n_samples = check_int(n_samples, "n_samples", min_value=1)
    J = check_real(J, "J")
    h = check_real(h, "h")
    check_option(algorithm, "algorithm", ALGORITHMS)
    n_threads = check_int(n_threads, "n_threads", min_value=1)
    if burn_in is not None:
        burn_in = check_int(burn_in, "burn_in", min_value=0)
    if spacing is not None:
        spacing = check_int(spacing, "spacing", min_value=1)
    bonds = None if couplings is None else _check_couplings(couplings, dim, L)
    if algorithm == "metropolis" and dim == 2 and L == 2:
        raise ValueError(_METROPOLIS_2X2)
    if algorithm == "metropolis" and bonds is None and J == 0.0 and h == 0.0:
        warn_user(
            "sample_ising: with J = 0 and h = 0 every Metropolis move has dE = 0 and is "
            "accepted, so the spins flip deterministically each sweep (not a sample of "
            "independent spins); use algorithm='heat_bath'"
        )
    if n_threads > 1:
        if algorithm in _CLUSTER or bonds is not None:
            raise ValueError(
                f"n_threads={n_threads} is only supported for 'metropolis' and 'heat_bath' "
                "with uniform couplings; use n_threads=1"
            )
        if L % 2:
            raise ValueError(f"n_threads > 1 needs an even L (checkerboard), got L={L}")
        if n_threads > numba.config.NUMBA_NUM_THREADS:
            raise ValueError(
                f"n_threads={n_threads} exceeds the {numba.config.NUMBA_NUM_THREADS} "
                "threads numba can use"
            )
    if not isinstance(progress, bool | np.bool_):
        raise TypeError(f"progress must be a bool, got {describe(progress)}")

    seed = _seed_from(random_state)
    key, init_rng = _streams(seed)
    shape = (L,) * dim
    spins = _initial_spins(initial, shape, init_rng)
    beta = 1.0 / T
    chain = _Chain(spins, algorithm, beta, J, h, bonds, key, n_threads)
    if algorithm == "wolff":
        chain.calibrate_wolff()

    tau_pilot, pilot_ok, spacing, pilot_sweeps = _schedule(chain, burn_in, spacing)
    burn_in_done = chain.n_sweeps

    out = np.empty((n_samples, *shape), dtype=np.int8)
    for k in progress_bar(range(n_samples), enable=progress, desc="sample_ising"):
        if k:
            chain.run(spacing)
        out[k] = chain.spins

    energy, mag = chain.observables(out)
    tau_samples, tau_samples_se, adequate = _output_check(energy, mag)
    reliable = pilot_ok and adequate != 0
    _warn_schedule(
        f"sample_ising at L={L}, T={T}, algorithm={algorithm!r}",
        tau_pilot, pilot_ok, pilot_sweeps, tau_samples, tau_samples_se, adequate, spacing,
    )  # fmt: skip
    tau_int = tau_pilot if not math.isnan(tau_pilot) else tau_samples * spacing
    attrs: dict[str, Any] = {
        "kind": "spins",
        "model": "random_bond" if bonds is not None else f"ising{dim}d",
        "temperature": T,
        "J": math.nan if bonds is not None else J,
        "h": h,
        "algorithm": algorithm,
        "seed": seed,
        "burn_in": int(burn_in_done),
        "spacing": int(spacing),
        "spacing_unit": "wolff sweep-equivalents" if algorithm == "wolff" else "sweeps",
        "tau_int": float(tau_int),
        "tau_int_source": "pilot" if not math.isnan(tau_pilot) else "samples_times_spacing",
        "tau_int_reliable": int(reliable),
        "tau_int_pilot_reliable": int(pilot_ok),
        "tau_int_samples": float(tau_samples),
        "tau_int_samples_se": float(tau_samples_se),
        "spacing_adequate": int(adequate),
        "n_effective": float(n_samples / (2 * tau_samples)) if n_samples >= 4 else math.nan,
        "burn_in_rule": f"burn_in=max(pilot,{BURN_IN_TAUS}*tau_int), "
        f"spacing=max(1,ceil({SPACING_TAUS}*tau_int))",
        "rng": "splitmix64-counter",
        "version": _version(),
    }
    if algorithm == "wolff":
        attrs["clusters_per_sweep"] = int(chain.clusters_per_sweep)
        if chain.n_clusters:
            attrs["mean_cluster_size"] = chain.n_flipped / chain.n_clusters
    if algorithm == "swendsen_wang" and chain.n_sweeps:
        attrs["clusters_per_sweep"] = chain.n_clusters / chain.n_sweeps
    if bonds is not None:
        attrs["couplings"] = bonds.ravel()
        attrs["couplings_shape"] = np.asarray(bonds.shape, dtype=np.int64)
        attrs["couplings_mean"] = float(bonds.mean())
    return xr.DataArray(out, dims=_DIMS[dim], coords={"sample": np.arange(n_samples)}, attrs=attrs)


def ising_energy_magnetization(
    configurations: xr.DataArray | np.ndarray,
    *,
    J: float | None = None,
    h: float | None = None,
    couplings: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Energy per site and magnetisation per site of each configuration.

    Parameters
    ----------
    configurations : xarray.DataArray or ndarray
        Spins ``(sample, y, x)`` or ``(sample, z, y, x)``.
    J, h : float, optional
        Uniform coupling and field (same convention as :func:`sample_ising`).
        Default: the ``J`` / ``h`` attrs of a DataArray made by
        :func:`sample_ising`, else 1 and 0.
    couplings : array-like, optional
        Per-bond couplings ``(dim, *lattice_shape)``; overrides *J*. Default:
        the ``couplings`` attr of a random-bond result.

    Returns
    -------
    energy, magnetization : ndarray
        ``H / N`` and ``sum(s) / N`` per sample (signed magnetisation).
    """
    attrs = configurations.attrs if isinstance(configurations, xr.DataArray) else {}
    arr = configurations.values if isinstance(configurations, xr.DataArray) else configurations
    arr = check_array(arr, "configurations", ndim=(3, 4))
    dim = arr.ndim - 1
    shape3 = (1, *arr.shape[1:]) if dim == 2 else arr.shape[1:]
    if couplings is None and J is None and "couplings" in attrs:
        couplings = np.asarray(attrs["couplings"]).reshape(attrs["couplings_shape"])
    if J is None:
        J = attrs.get("J", 1.0)
        J = 1.0 if not np.isfinite(J) else J
    if h is None:
        h = attrs.get("h", 0.0)
    J = check_real(J, "J")
    h = check_real(h, "h")
    if couplings is None:
        bonds = np.array([[0.0 if dim == 2 else J], [J], [J]])
    else:
        c = check_array(couplings, "couplings", dtype=float)
        if c.shape != (dim, *arr.shape[1:]):
            raise ValueError(
                f"couplings has shape {c.shape}; expected {(dim, *arr.shape[1:])} "
                "for these configurations"
            )
        bonds = np.zeros((3, int(np.prod(shape3))))
        bonds[3 - dim :] = c.reshape(dim, -1)
    flat = np.ascontiguousarray(arr.reshape(arr.shape[0], -1), dtype=np.int8)
    energy, mag = energy_magnetisation(flat, *shape3, bonds, h)
    n = flat.shape[1]
    return energy / n, mag / n


class _ReplicaChain:
    """64 replicas of a 2D lattice packed in uint64 words (multi-spin coding)."""

    def __init__(self, words, beta, J, h, key, n_threads, n_replicas):
        self.words = words
        self.J, self.h = J, h
        self.key = key
        self.counter = np.uint64(0)
        self.n_threads = n_threads
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
            kernel = msc_sweeps_ferro_parallel if self.n_threads > 1 else msc_sweeps_ferro
        else:
            kernel = msc_sweeps_general_parallel if self.n_threads > 1 else msc_sweeps_general
        counter = _with_threads(
            self.n_threads, kernel, self.words, n_sweeps, *self.args, self.key, self.counter
        )
        self.counter = np.uint64(counter)
        self.n_sweeps += n_sweeps

    def measure(self) -> tuple[float, float]:
        """Replica-averaged energy per site and |m|."""
        e, m = msc_energy_magnetisation(self.words, self.n_replicas, self.J, self.h)
        return float(e.mean()), float(np.abs(m).mean())


@once_per_call
def sample_ising_replicas(
    L: int,
    T: float,
    n_samples: int,
    *,
    n_replicas: int = 64,
    J: float = 1.0,
    h: float = 0.0,
    burn_in: int | None = None,
    spacing: int | None = None,
    random_state: Any = None,
    progress: bool = False,
    initial: str | None = None,
    n_threads: int = 1,
) -> xr.DataArray:
    """Sample up to 64 independent replicas of the 2D Ising model with multi-spin coding.

    The replicas are stored as the 64 bits of one uint64 word per site and
    updated together by checkerboard Metropolis with bitwise logic; each
    replica compares its own random bits with the acceptance probability, so
    the replicas are statistically independent chains (same model, different
    randomness). This is the fast way to get many independent samples of a
    small or moderate 2D lattice (overlaps, sample-to-sample statistics).

    Parameters
    ----------
    L : int
        Linear size (at least 2).
    T : float
        Temperature, finite and positive.
    n_samples : int
        Samples per replica.
    n_replicas : int
        Replicas returned (1 to 64; 64 are always simulated, at no extra cost).
    J, h : float
        Uniform coupling and field (any sign; ``J > 0, h = 0`` uses the
        fastest kernel).
    burn_in, spacing : int, optional
        Sweeps before the first sample and between samples; automatic rule
        as in :func:`sample_ising`, from the replica-averaged E and |m|.
    random_state : None, int or numpy.random.Generator
        Seed (recorded in ``attrs["seed"]``).
    progress : bool
        Show a progress bar over samples.
    initial : {"random", "up", "down"}, optional
        Initial state of every replica (default: independent random states).
    n_threads : int
        Threads (rows of one colour in parallel; even ``L`` only). The result
        does not depend on it.

    Returns
    -------
    xarray.DataArray
        int8 +-1 spins with dims ``("replica", "sample", "y", "x")``;
        ``cfg.isel(replica=r)`` is a Configurations array. ``attrs`` as in
        :func:`sample_ising` (``algorithm = "metropolis_msc"``,
        ``model = "ising2d"``).
    """
    L = check_int(L, "L", min_value=2)
    T = check_real(T, "T", min_value=0.0, strict_min=True)
    n_samples = check_int(n_samples, "n_samples", min_value=1)
    n_replicas = check_int(n_replicas, "n_replicas", min_value=1, max_value=64)
    J = check_real(J, "J")
    h = check_real(h, "h")
    n_threads = check_int(n_threads, "n_threads", min_value=1)
    if burn_in is not None:
        burn_in = check_int(burn_in, "burn_in", min_value=0)
    if spacing is not None:
        spacing = check_int(spacing, "spacing", min_value=1)
    if initial is not None:
        check_option(initial, "initial", ("random", "up", "down"))
    if L == 2:
        raise ValueError(_METROPOLIS_2X2)
    if J == 0.0 and h == 0.0:
        raise ValueError(
            "sample_ising_replicas: with J = 0 and h = 0 every Metropolis move is accepted "
            "and the spins flip deterministically; use sample_ising(..., algorithm='heat_bath')"
        )
    if n_threads > 1 and L % 2:
        raise ValueError(f"n_threads > 1 needs an even L (checkerboard), got L={L}")
    if n_threads > numba.config.NUMBA_NUM_THREADS:
        raise ValueError(
            f"n_threads={n_threads} exceeds the {numba.config.NUMBA_NUM_THREADS} "
            "threads numba can use"
        )
    seed = _seed_from(random_state)
    key, init_rng = _streams(seed)
    if initial in (None, "random"):
        words = init_rng.integers(0, 2**64, size=(L, L), dtype=np.uint64, endpoint=False)
    else:
        words = np.full((L, L), 2**64 - 1 if initial == "up" else 0, dtype=np.uint64)
    chain = _ReplicaChain(words, 1.0 / T, J, h, key, n_threads, n_replicas)
    tau_pilot, pilot_ok, spacing, pilot_sweeps = _schedule(chain, burn_in, spacing)
    burn_in_done = chain.n_sweeps
    out = np.empty((n_replicas, n_samples, L, L), dtype=np.int8)
    energy = np.empty((n_replicas, n_samples))
    mag = np.empty((n_replicas, n_samples))
    for k in progress_bar(range(n_samples), enable=progress, desc="sample_ising_replicas"):
        if k:
            chain.run(spacing)
        msc_unpack(chain.words, n_replicas, out[:, k])
        energy[:, k], mag[:, k] = msc_energy_magnetisation(chain.words, n_replicas, J, h)
    # replica averages: independent chains with a common tau, a less noisy series
    tau_samples, tau_samples_se, adequate = _output_check(
        energy.mean(axis=0), np.abs(mag).mean(axis=0)
    )
    reliable = pilot_ok and adequate != 0
    _warn_schedule(
        f"sample_ising_replicas at L={L}, T={T}",
        tau_pilot, pilot_ok, pilot_sweeps, tau_samples, tau_samples_se, adequate, spacing,
    )  # fmt: skip
    tau_int = tau_pilot if not math.isnan(tau_pilot) else tau_samples * spacing
    attrs: dict[str, Any] = {
        "kind": "spins",
        "model": "ising2d",
        "temperature": T,
        "J": J,
        "h": h,
        "algorithm": "metropolis_msc",
        "seed": seed,
        "n_replicas": n_replicas,
        "burn_in": int(burn_in_done),
        "spacing": int(spacing),
        "spacing_unit": "sweeps",
        "tau_int": float(tau_int),
        "tau_int_source": "pilot" if not math.isnan(tau_pilot) else "samples_times_spacing",
        "tau_int_reliable": int(reliable),
        "tau_int_pilot_reliable": int(pilot_ok),
        "tau_int_samples": float(tau_samples),
        "tau_int_samples_se": float(tau_samples_se),
        "spacing_adequate": int(adequate),
        "burn_in_rule": f"burn_in=max(pilot,{BURN_IN_TAUS}*tau_int), "
        f"spacing=max(1,ceil({SPACING_TAUS}*tau_int))",
        "rng": "splitmix64-counter, per-replica bits",
        "version": _version(),
    }
    return xr.DataArray(
        out,
        dims=("replica", "sample", "y", "x"),
        coords={"replica": np.arange(n_replicas), "sample": np.arange(n_samples)},
        attrs=attrs,
    )
