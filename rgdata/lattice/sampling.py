"""Monte Carlo sampling of the 2D and 3D Ising model on periodic lattices.

The model is ``H = -sum_<ij> J_ij s_i s_j - h sum_i s_i`` with one bond from
each site to its +1 neighbour along each axis (so an ``L = 2`` lattice has two
distinct bonds between each neighbouring pair, as in the exact enumeration).
Updates run in numba kernels with counter-based SplitMix64 random numbers
derived from one integer seed: the same ``random_state`` gives the same
configurations, whatever the number of threads.

Public functions: :func:`sample_ising` (one chain, configurations as a
DataArray) and :func:`sample_ising_replicas` (64 independent replicas with
multi-spin coding, see ``_kernels_msc``). The chains live in ``_chains.py``,
the burn-in/spacing schedule (tau_int pilot, output check) in ``_schedule.py``.
"""

from __future__ import annotations

import math
from typing import Any

import numba
import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import (
    check_array,
    check_int,
    check_option,
    check_real,
    describe,
)
from .._warnings import once_per_call, warn_user
from ._chains import (
    CLUSTER_ALGORITHMS,
    WOLFF_CALIBRATION,
    _Chain,
    _check_couplings,
    _check_dim,
    _flip_table,
    _initial_spins,
    _ReplicaChain,
    _seed_from,
    _streams,
)
from ._kernels_energy import energy_magnetisation
from ._kernels_msc import msc_energy_magnetisation, msc_unpack
from ._schedule import (
    BURN_IN_TAUS,
    OUTPUT_SE,
    PILOT_TAUS,
    SPACING_TAUS,
    _output_check,
    _pilot,
    _quiet_tau_warning,
    _schedule,
    _warn_schedule,
    check_schedule,
)

__all__ = ["ALGORITHMS", "sample_ising", "sample_ising_replicas", "ising_energy_magnetization"]

# re-exported for the ensemble runner, benchmarks and tests that reach the chain and schedule
# (the pilot's private limits _PILOT_MAX/_PILOT_WORK are patched in ._schedule itself)
_REEXPORTED = (
    _Chain,
    _ReplicaChain,
    _flip_table,
    _pilot,
    _quiet_tau_warning,
    WOLFF_CALIBRATION,
    PILOT_TAUS,
    OUTPUT_SE,
)

#: Update algorithms accepted by :func:`sample_ising`.
ALGORITHMS = ("wolff", "swendsen_wang", "metropolis", "heat_bath")
_DIMS = {2: ("sample", "y", "x"), 3: ("sample", "z", "y", "x")}


_METROPOLIS_2X2 = (
    "checkerboard Metropolis is not ergodic on the 2 x 2 torus (L=2 in 2D: its deterministic "
    "flips bias the energy by ~7%, also in an independent implementation); use L >= 3, "
    "algorithm='heat_bath' or a cluster algorithm"
)


def _version() -> str:
    from .. import __version__

    return __version__


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
        depend on it. An upper bound: capped at the cores this process may use,
        and each batch of sweeps runs serially whenever the threads were
        measured slower than one thread (busy machine, small lattice); see
        ``attrs`` ``n_threads_used`` and ``thread_speedup``.

    Returns
    -------
    xarray.DataArray
        int8 +-1 spins with dims ``("sample", "y", "x")`` or
        ``("sample", "z", "y", "x")``. ``attrs``: ``model`` (``"ising2d"``,
        ``"ising3d"`` or ``"random_bond"``), ``temperature``, ``J``, ``h``,
        ``algorithm``, ``seed``, ``burn_in`` (sweeps run before the first
        sample, pilot included), ``spacing`` (sweeps, or Wolff
        sweep-equivalents, between samples), ``tau_int`` (integrated
        autocorrelation time in sweeps, max over E and ``|m|``),
        ``tau_int_reliable`` (1 if the pilot was reliable and the output
        check passed), ``tau_int_pilot_reliable``, ``tau_int_samples`` (of the
        returned series, in samples; 0.5 = independent) with
        ``tau_int_samples_se``, ``spacing_adequate`` (1 passed, 0 failed, -1
        fewer than 4 samples),
        ``n_effective``, ``version``; for Metropolis / heat bath with uniform
        couplings ``n_threads`` (requested), ``n_threads_available`` (cores
        this process may use), ``n_threads_used`` (for most sweeps),
        ``thread_speedup`` (time per sweep with one thread over that with
        ``min(n_threads, n_threads_available)`` threads, last measured; NaN
        when not measured) and ``threaded_work_fraction``; for random bonds
        the flattened
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
    the energy, ``|m|`` and m^2 after every sweep, doubling its length until
    Sokal's windowed tau_int (``c = 6``) of each, on the second half of the
    series, is reliable: the half is >= 200 tau and >= 2048 sweeps long (512
    on lattices above 2**16 sites) and the window ``M <= half / 10``; at most
    ``max(4096, 2**28 / L**dim)`` sweeps. Then ``burn_in = max(pilot, 20
    tau)`` and ``spacing = max(1, ceil(2 tau))``. If the cap is reached the
    estimate is a lower bound (``tau_int_pilot_reliable = 0``). Output check:
    tau_int of the returned samples' energy, ``|m|`` and m^2 (in samples) must
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
    burn_in, spacing = check_schedule(burn_in, spacing)
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
        if algorithm in CLUSTER_ALGORITHMS or bonds is not None:
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
    if algorithm not in CLUSTER_ALGORITHMS and bonds is None:
        attrs.update(chain.threads.summary())
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
        as in :func:`sample_ising`, from the replica-averaged E and ``|m|``.
    random_state : None, int or numpy.random.Generator
        Seed (recorded in ``attrs["seed"]``).
    progress : bool
        Show a progress bar over samples.
    initial : {"random", "up", "down"}, optional
        Initial state of every replica (default: independent random states).
    n_threads : int
        Threads (rows of one colour in parallel; even ``L`` only). The result
        does not depend on it. An upper bound, used only where measured faster
        than one thread, as in :func:`sample_ising`.

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
    burn_in, spacing = check_schedule(burn_in, spacing)
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
        **chain.threads.summary(),
    }
    return xr.DataArray(
        out,
        dims=("replica", "sample", "y", "x"),
        coords={"replica": np.arange(n_replicas), "sample": np.arange(n_samples)},
        attrs=attrs,
    )
