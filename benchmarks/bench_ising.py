"""Ising sampling benchmarks: kernels against baselines run in the same process.

Run ``python benchmarks/bench_ising.py`` (full) or ``--quick`` (a short run).
Rates are spin updates per nanosecond. Single-thread rates are given from
CPU time (``time.process_time``: robust on a shared, loaded machine) and from
wall time; multi-thread rates from wall time only. The machine load is
printed, since other jobs on the same cores change the absolute figures; the
ratios against the NumPy baseline (same process, same moment) are the
figures to compare.

Sections
--------
1. 2D checkerboard Metropolis at L = 512: vectorised NumPy baseline and the
   numba kernel (1 and 2 threads). The peers mcising and peapods are
   compared in ``bench_peers_mc.py`` (their own venv, whole processes).
2. Multi-spin coding (64 replicas per uint64 word), 1 and 2 threads.
3. At T_c (2D): independent samples per second of Wolff and Swendsen-Wang
   against Metropolis, from tau_int of |m| and E (Sokal windowing).
4. Time per sweep and memory up to L = 4096 (2D) and L = 128 (3D).
"""

from __future__ import annotations

import argparse
import math
import os
import time
import tracemalloc

import numba
import numpy as np

from rgdata.lattice._autocorr import integrated_autocorrelation_time
from rgdata.lattice._kernels_msc import (
    class_probability_bits,
    msc_sweeps_ferro,
    msc_sweeps_ferro_parallel,
)
from rgdata.lattice.sampling import _Chain, _flip_table

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))
KEY = np.uint64(0x1234ABCD)


def numpy_checkerboard(s: np.ndarray, n_sweeps: int, beta: float, rng) -> None:
    """Baseline: vectorised NumPy checkerboard Metropolis (np.roll neighbours)."""
    yy, xx = np.indices(s.shape)
    masks = [((yy + xx) % 2) == c for c in range(2)]
    acc = np.exp(-2.0 * beta * np.arange(-4, 5))  # P(accept) for s * sum(neighbours)
    for _ in range(n_sweeps):
        for m in masks:
            nb = np.roll(s, 1, 0) + np.roll(s, -1, 0) + np.roll(s, 1, 1) + np.roll(s, -1, 1)
            flip = (rng.random(s.shape) < acc[s * nb + 4]) & m
            s[flip] *= -1


def timed(fn, *args) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one call."""
    c0, w0 = time.process_time(), time.perf_counter()
    fn(*args)
    return time.process_time() - c0, time.perf_counter() - w0


def rate(updates: float, seconds: float) -> float:
    return updates / seconds / 1e9


def with_threads(n: int, fn, *args):
    previous = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        return timed(fn, *args)
    finally:
        numba.set_num_threads(previous)


def bench_metropolis(L: int, sweeps: int) -> float:
    print(f"\n== 1. 2D checkerboard Metropolis, L = {L}, T = T_c, {sweeps} sweeps")
    beta = 1.0 / TC
    n_upd = sweeps * L * L
    s = np.where(np.random.default_rng(0).random((L, L)) < 0.5, -1, 1).astype(np.int8)
    cpu_np, wall_np = timed(
        numpy_checkerboard, s, max(1, sweeps // 10), beta, np.random.default_rng(1)
    )
    r_np = rate(max(1, sweeps // 10) * L * L, cpu_np)
    print(f"numpy checkerboard (baseline) : {r_np:7.3f} upd/ns (CPU)")
    from rgdata.lattice._kernels_local import sweeps_table_2d, sweeps_table_2d_parallel

    table = _flip_table("metropolis", 2, beta, 1.0, 0.0)
    sweeps_table_2d(s, 1, table, KEY, np.uint64(0))  # compile / load cache
    sweeps_table_2d_parallel(s, 1, table, KEY, np.uint64(0))
    cpu, wall = timed(sweeps_table_2d, s, sweeps, table, KEY, np.uint64(0))
    r1 = rate(n_upd, cpu)
    print(
        f"numba table kernel, 1 thread  : {r1:7.3f} upd/ns (CPU), {rate(n_upd, wall):.3f} (wall)"
        f"   ratio vs numpy {r1 / r_np:6.1f}x   (target >= 0.2 upd/ns)"
    )
    _, wall2 = with_threads(2, sweeps_table_2d_parallel, s, sweeps, table, KEY, np.uint64(0))
    print(
        f"numba table kernel, 2 threads : {rate(n_upd, wall2):7.3f} upd/ns (wall)"
        f"   speed-up vs 1 thread (wall) {wall / wall2:4.2f}x"
    )
    return r_np


def bench_msc(L: int, sweeps: int, r_np: float) -> None:
    print(f"\n== 2. Multi-spin coding, 64 replicas, L = {L}, T = T_c, {sweeps} sweeps")
    kind, bits = class_probability_bits(1.0 / TC, 1.0, 0.0)
    b0, b1 = np.ascontiguousarray(bits[0]), np.ascontiguousarray(bits[2])
    w = np.random.default_rng(0).integers(0, 2**64, size=(L, L), dtype=np.uint64)
    msc_sweeps_ferro(w, 1, b0, b1, KEY, np.uint64(0))
    msc_sweeps_ferro_parallel(w, 1, b0, b1, KEY, np.uint64(0))
    n_upd = 64 * sweeps * L * L
    cpu, wall = timed(msc_sweeps_ferro, w, sweeps, b0, b1, KEY, np.uint64(0))
    r1 = rate(n_upd, cpu)
    print(
        f"msc, 1 thread  : {r1:7.3f} upd/ns (CPU), {rate(n_upd, wall):.3f} (wall)"
        f"   ratio vs numpy {r1 / r_np:6.1f}x   (target >= 2 upd/ns)"
    )
    _, wall2 = with_threads(2, msc_sweeps_ferro_parallel, w, sweeps, b0, b1, KEY, np.uint64(0))
    print(
        f"msc, 2 threads : {rate(n_upd, wall2):7.3f} upd/ns (wall)"
        f"   speed-up vs 1 thread (wall) {wall / wall2:4.2f}x"
    )


def measure_tau(algorithm: str, L: int, n_sweeps: int) -> tuple[float, float, bool]:
    """(seconds per sweep, tau_int in sweeps over |m| and E, reliable)."""
    rng = np.random.default_rng(2)
    spins = np.where(rng.random((L, L)) < 0.5, -1, 1).astype(np.int8)
    chain = _Chain(spins, algorithm, 1.0 / TC, 1.0, 0.0, None, KEY, 1)
    if algorithm == "wolff":
        chain.calibrate_wolff()
    chain.run(max(10, n_sweeps // 10))  # burn-in
    e = np.empty(n_sweeps)
    m = np.empty(n_sweeps)
    run_time = 0.0
    for k in range(n_sweeps):
        c0 = time.process_time()
        chain.run(1)
        run_time += time.process_time() - c0
        e[k], m[k] = chain.measure()
    taus = [integrated_autocorrelation_time(x) for x in (e, m)]
    tau = max(t[0] for t in taus)
    return run_time / n_sweeps, tau, all(t[2] for t in taus)


def bench_tc(L: int, sweeps: dict) -> None:
    print(f"\n== 3. At T_c, L = {L}: independent samples per second (1 / (2 tau t_sweep))")
    out = {}
    for algorithm in ("metropolis", "wolff", "swendsen_wang"):
        t_sweep, tau, ok = measure_tau(algorithm, L, sweeps[algorithm])
        ips = 1.0 / (2.0 * tau * t_sweep)
        out[algorithm] = ips
        flag = "" if ok else "  (tau not reliable: run shorter than 50 tau, a lower bound)"
        print(
            f"{algorithm:14s}: {t_sweep * 1e3:8.3f} ms/sweep, tau_int = {tau:8.1f} sweeps, "
            f"{ips:9.1f} independent samples/s{flag}"
        )
    for algorithm in ("wolff", "swendsen_wang"):
        print(f"{algorithm} / metropolis independent samples per second: "
              f"{out[algorithm] / out['metropolis']:.1f}x")  # fmt: skip


def bench_sizes(sizes_2d, sizes_3d) -> None:
    print("\n== 4. Time per sweep and peak memory near T_c (tracemalloc: numpy allocations)")
    print("   (Wolff: time per sweep-equivalent = N spins flipped, after calibration)")
    for dim, sizes in ((2, sizes_2d), (3, sizes_3d)):
        temp = TC if dim == 2 else 4.5115
        for L in sizes:
            for algorithm in ("metropolis", "wolff"):
                rng = np.random.default_rng(3)
                spins = np.where(rng.random((L,) * dim) < 0.5, -1, 1).astype(np.int8)
                tracemalloc.start()
                chain = _Chain(spins, algorithm, 1.0 / temp, 1.0, 0.0, None, KEY, 1)
                if algorithm == "wolff":
                    chain.calibrate_wolff(1)
                chain.run(1)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                peak += spins.nbytes  # the lattice itself, allocated before tracing
                n = 3 if L**dim <= 2**22 else 1
                flipped0 = chain.n_flipped
                cpu, _ = timed(chain.run, n)
                updates = n * L**dim if algorithm != "wolff" else chain.n_flipped - flipped0
                r = rate(updates, cpu)
                print(
                    f"{dim}D L={L:5d} {algorithm:10s}: {L**dim / r / 1e6:10.2f} ms/sweep (CPU), "
                    f"{r:6.3f} {'upd' if algorithm != 'wolff' else 'flips'}/ns, "
                    f"peak {peak / 2**20:8.1f} MiB ({peak / L**dim:4.1f} B/site)"
                )


def bench_ensemble(L: int, n_samples: int) -> None:
    print(f"\n== 5. Independent chains on two cores: run_ensemble, 4 points, L = {L}")
    from rgdata.lattice.ensemble import run_ensemble

    grid = dict(L=L, T=[2.2, 2.3], seeds=[0, 1], n_samples=n_samples, algorithm="metropolis",
                burn_in=50, spacing=10)  # fmt: skip
    run_ensemble(**{**grid, "n_samples": 2})  # warm-up
    w0 = time.perf_counter()
    serial = run_ensemble(**grid)
    t_serial = time.perf_counter() - w0
    w0 = time.perf_counter()
    threaded = run_ensemble(**grid, scheduler="dask", n_workers=2)
    t_dask = time.perf_counter() - w0
    same = bool(np.array_equal(serial.energy.values, threaded.energy.values))
    print(f"serial {t_serial:.2f} s, dask 2 threads {t_dask:.2f} s: speed-up "
          f"{t_serial / t_dask:.2f}x (wall); identical results: {same}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short run (small sizes)")
    args = parser.parse_args()
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"numba threads available: {numba.config.NUMBA_NUM_THREADS}; "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(default)')}")  # fmt: skip
    if args.quick:
        r_np = bench_metropolis(256, 20)
        bench_msc(64, 20, r_np)
        bench_tc(32, {"metropolis": 4000, "wolff": 1000, "swendsen_wang": 1000})
        bench_sizes([64, 256], [16])
        bench_ensemble(32, 50)
    else:
        r_np = bench_metropolis(512, 100)
        bench_msc(256, 200, r_np)
        bench_tc(128, {"metropolis": 100000, "wolff": 3000, "swendsen_wang": 3000})
        bench_sizes([256, 1024, 4096], [32, 64, 128])
        bench_ensemble(128, 200)


if __name__ == "__main__":
    main()
