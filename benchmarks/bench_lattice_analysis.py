"""Benchmark of the lattice analysis layer: block spins, coupling operators, MCRG,
observables with error bars and exact results.

Each vectorised routine is timed against a plain baseline run in the same
process (ratios are what to compare across machines), plus absolute times.

Run: ``python benchmarks/bench_lattice_analysis.py [--quick]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import rgdata
from rgdata.lattice import block_spins, coupling_operators, exact, ising_observables, mcrg
from rgdata.lattice.blocking import block_array


def _time(fn, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _naive_majority(spins, b):
    n, L, _ = spins.shape
    out = np.empty((n, L // b, L // b), dtype=np.int8)
    for i in range(L // b):
        for j in range(L // b):
            s = spins[:, b * i : b * i + b, b * j : b * j + b].sum(axis=(1, 2))
            out[:, i, j] = np.where(s > 0, 1, -1)  # ties ignored: a lower bound on the cost
    return out


def _naive_nn_plaquette(spins):
    n, L, _ = spins.shape
    nn = np.zeros(n)
    plaq = np.zeros(n)
    for y in range(L):
        for x in range(L):
            s = spins[:, y, x].astype(np.int64)
            r = spins[:, y, (x + 1) % L]
            d = spins[:, (y + 1) % L, x]
            dr = spins[:, (y + 1) % L, (x + 1) % L]
            nn += s * r + s * d
            plaq += s * r * d * dr
    return np.stack([nn, plaq], axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    L, n = (32, 200) if args.quick else (64, 2000)
    spins = rng.choice(np.array([-1, 1], np.int8), size=(n, L, L))
    cfg = rgdata.as_configurations(spins, temperature=exact.TC_2D)
    print(f"lattice L={L}, {n} samples")

    gen = np.random.default_rng(0)
    t_kernel = _time(lambda: block_array(spins, 2, rng=gen))
    t_fast = _time(lambda: block_spins(cfg, 2, random_state=0))
    t_check = _time(lambda: rgdata.check_configurations(cfg))
    t_base = _time(lambda: _naive_majority(spins, 2), repeat=1)
    print(
        f"block_array kernel (2x2 majority): {t_kernel * 1e3:7.1f} ms   naive loop "
        f"{t_base * 1e3:7.1f} ms   speed-up x{t_base / t_kernel:.1f}"
    )
    print(
        f"block_spins (public, validates input): {t_fast * 1e3:7.1f} ms, of which "
        f"check_configurations {t_check * 1e3:.1f} ms"
    )

    t_fast = _time(lambda: coupling_operators(cfg, ["nn", "plaquette"]))
    t_base = _time(lambda: _naive_nn_plaquette(spins), repeat=1)
    print(
        f"coupling_operators (nn, plaq): {t_fast * 1e3:6.1f} ms   naive loop {t_base * 1e3:8.1f} ms"
        f"   speed-up x{t_base / t_fast:.1f}"
    )

    t = _time(lambda: coupling_operators(cfg), repeat=1)
    print(
        f"coupling_operators (7 even):   {t * 1e3:6.1f} ms  "
        f"({t / (n * L * L) * 1e9:.1f} ns per site-sample)"
    )

    t = _time(lambda: mcrg(cfg, random_state=0), repeat=1)
    print(f"mcrg (7 even + 4 odd operators, all levels): {t:6.2f} s")

    obs_cfg = rgdata.as_configurations(spins[: max(n, 1000)], temperature=3.0)
    t = _time(lambda: ising_observables(obs_cfg), repeat=1)
    print(f"ising_observables ({obs_cfg.shape[0]} samples): {t * 1e3:6.1f} ms")

    temps = np.linspace(1.5, 3.5, 200)
    t_k = _time(lambda: exact.kaufman(temps, 256))
    t_o = _time(lambda: exact.onsager(temps), repeat=1)
    print(f"kaufman L=256, 200 T: {t_k * 1e3:6.1f} ms   onsager 200 T (quad): {t_o * 1e3:6.1f} ms")
    t_b = _time(lambda: exact.enumerate_ising(4, temps), repeat=1)
    t_k4 = _time(lambda: exact.kaufman(temps, 4))
    print(
        f"enumerate_ising L=4 (65536 states): {t_b * 1e3:6.1f} ms   kaufman L=4: "
        f"{t_k4 * 1e3:6.2f} ms   ratio x{t_b / t_k4:.0f}"
    )


if __name__ == "__main__":
    main()
