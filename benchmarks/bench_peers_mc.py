"""Ising Monte Carlo against the peers mcising and peapods, same run, whole processes.

Run ``python benchmarks/bench_peers_mc.py`` (L = 128 and 512, 3 pairs) or
``--quick`` (L = 64 and 128, 1 pair, for ``make bench``). Every measurement
is a fresh process (rgdata under this interpreter, each peer under the peer
interpreter), run in interleaved pairs (rgdata first, then the peer first);
the script prints medians and their ratios rgdata / peer (> 1: rgdata faster).

The peers live in a benchmark venv of their own: the interpreter named by the
environment variable ``RGDATA_PEERS_PYTHON``, else ``.venv-peers/bin/python``
in the repository root. A missing interpreter or package is reported and its
comparison skipped (exit status 0).

Workloads, one thread, T = T_c of the 2D square lattice, J = 1, h = 0:

* Metropolis: spin-update attempts per ns over timed sweeps after 100 warm-up
  sweeps. rgdata: checkerboard sweeps; mcising: sequential scan; peapods:
  sequential scan, which also records its observables every sweep.
* Wolff: independent samples per second = (measurements per second) /
  (2 tau_int), tau_int the larger of E and |m| (Sokal windowing, c = 6, the
  same estimator for every series, computed here), the time covering updates
  and measurements. rgdata and mcising measure E and m after every
  sweep-equivalent (k clusters, k = N / mean cluster size from the warm-up,
  the same k for both); peapods has no cluster-only mode: each of its steps
  is one Metropolis sweep plus one Wolff cluster, measured after every step.
  The chains start ordered and are burnt in for 200 sweep-equivalents.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TC = 2.0 / math.log(1.0 + math.sqrt(2.0))
ROOT = Path(__file__).resolve().parent.parent
PEERS = ("mcising", "peapods")


# ---------------------------------------------------------------- workers (fresh processes)


def _rgdata_metropolis(L: int, sweeps: int, seed: int) -> dict:
    import numpy as np

    from rgdata.lattice._chains import _Chain

    chain = _Chain(
        np.ones((L, L), np.int8), "metropolis", 1 / TC, 1.0, 0.0, None, np.uint64(seed), 1
    )
    chain.run(100)
    start = time.perf_counter()
    chain.run(sweeps)
    return {"seconds": time.perf_counter() - start, "updates": sweeps * L * L}


def _mcising_metropolis(L: int, sweeps: int, seed: int) -> dict:
    from mcising._core import IsingSimulation

    sim = IsingSimulation(L, 1.0, 0.0, 0.0, 0.0, seed, "metropolis", "square")
    sim.sweep(100, temperature=TC)
    start = time.perf_counter()
    _, attempted, _ = sim.sweep(sweeps, temperature=TC)
    return {"seconds": time.perf_counter() - start, "updates": attempted}


def _peapods_model(L: int, seed: int):
    import numpy as np
    from peapods import Ising

    model = Ising((L, L), temperatures=np.array([TC]), couplings="ferro")
    model._sim.reset(seed=seed)
    return model


def _peapods_metropolis(L: int, sweeps: int, seed: int) -> dict:
    model = _peapods_model(L, seed)
    model.sample(n_sweeps=100, sweep_mode="metropolis", warmup_ratio=0.0)
    start = time.perf_counter()
    model.sample(n_sweeps=sweeps, sweep_mode="metropolis", warmup_ratio=0.0)
    return {"seconds": time.perf_counter() - start, "updates": sweeps * L * L}


def _rgdata_wolff(L: int, n: int, k: int, seed: int) -> dict:
    import numpy as np

    from rgdata.lattice._chains import _Chain

    chain = _Chain(np.ones((L, L), np.int8), "wolff", 1 / TC, 1.0, 0.0, None, np.uint64(seed), 1)
    chain.clusters_per_sweep = k
    chain.run(200)
    energy, mag = np.empty(n), np.empty(n)
    flipped = chain.n_flipped
    start = time.perf_counter()
    for t in range(n):
        chain.run(1)
        energy[t], mag[t] = chain.measure()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "energy": energy.tolist(), "absm": mag.tolist(),
            "flips": chain.n_flipped - flipped}  # fmt: skip


def _mcising_wolff(L: int, n: int, k: int, seed: int) -> dict:
    import numpy as np
    from mcising._core import IsingSimulation

    sim = IsingSimulation(L, 1.0, 0.0, 0.0, 0.0, seed, "wolff", "square")
    sim.set_spins(np.ones((L, L), np.int8))
    sim.sweep(200 * k, temperature=TC)
    start = time.perf_counter()
    out = sim.production_sweeps(n, k, temperature=TC, store_configs=False)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "energy": list(map(float, out["energies"])),
            "absm": [abs(float(m)) for m in out["magnetizations"]]}  # fmt: skip


def _peapods_wolff(L: int, n: int, k: int, seed: int) -> dict:
    model = _peapods_model(L, seed)
    kw = dict(sweep_mode="metropolis", warmup_ratio=0.0, cluster_update_interval=1,
              cluster_mode="wolff")  # fmt: skip
    model.sample(n_sweeps=200, **kw)
    energy, absm = [], []
    start = time.perf_counter()
    for _ in range(n):
        model.sample(n_sweeps=1, **kw)
        energy.append(-float(model.energies_avg[0]))
        absm.append(abs(float(model.mags[0])))
    return {"seconds": time.perf_counter() - start, "energy": energy, "absm": absm}


def _mean_cluster(L: int) -> dict:
    """Mean Wolff cluster size at T_c after an ordered start (rgdata's warm-up)."""
    import numpy as np

    from rgdata.lattice._chains import _Chain

    chain = _Chain(np.ones((L, L), np.int8), "wolff", 1 / TC, 1.0, 0.0, None, np.uint64(2), 1)
    chain.calibrate_wolff()
    chain.run(50)
    nc, nf = chain.n_clusters, chain.n_flipped
    chain.run(100)
    return {"mean": (chain.n_flipped - nf) / (chain.n_clusters - nc)}


WORKERS = {
    "rgdata:metropolis": _rgdata_metropolis,
    "mcising:metropolis": _mcising_metropolis,
    "peapods:metropolis": _peapods_metropolis,
    "rgdata:wolff": _rgdata_wolff,
    "mcising:wolff": _mcising_wolff,
    "peapods:wolff": _peapods_wolff,
    "rgdata:mean_cluster": _mean_cluster,
}


# ---------------------------------------------------------------- driver


def peer_python() -> Path | None:
    """The peers' interpreter: $RGDATA_PEERS_PYTHON, else .venv-peers/bin/python, else None."""
    env = os.environ.get("RGDATA_PEERS_PYTHON")
    path = Path(env) if env else ROOT / ".venv-peers" / "bin" / "python"
    return path if path.is_file() else None


def has_package(python: Path, name: str) -> bool:
    probe = subprocess.run([str(python), "-c", f"import {name}"], capture_output=True)
    return probe.returncode == 0


def call(python: Path | str, worker: str, *args: int) -> dict:
    """Run one worker in a fresh process; its result plus the whole-process wall time."""
    start = time.perf_counter()
    proc = subprocess.run(
        [str(python), __file__, "--worker", worker, *map(str, args)],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"{worker} {args} failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = time.perf_counter() - start
    return out


def tau_int(x) -> float:
    from rgdata.lattice._autocorr import integrated_autocorrelation_time

    return integrated_autocorrelation_time(x)[0]


def independent_per_second(out: dict) -> tuple[float, float]:
    tau = max(tau_int(out["energy"]), tau_int(out["absm"]))
    return len(out["energy"]) / out["seconds"] / (2 * tau), tau


def run_pairs(names, python, worker, args, pairs):
    """Interleaved pairs: rgdata first in even pairs, the peers first in odd ones."""
    results = {name: [] for name in names}
    for p in range(pairs):
        order = names if p % 2 == 0 else names[::-1]
        for name in order:
            # a new seed per pair: each pair's tau_int comes from its own chains
            results[name].append(call(python[name], f"{name}:{worker}", *args, p + 1))
    return results


def bench_metropolis(L, sweeps, peers, python, pairs):
    names = ["rgdata", *peers]
    res = run_pairs(names, python, "metropolis", (L, sweeps), pairs)
    rate = {n: statistics.median(r["updates"] / r["seconds"] / 1e9 for r in res[n]) for n in names}
    line = f"Metropolis L={L:4d}: rgdata {rate['rgdata']:.3f} upd/ns"
    for peer in peers:
        line += f" | {peer} {rate[peer]:.3f} upd/ns, ratio {rate['rgdata'] / rate[peer]:.2f}"
    print(line)


def bench_wolff(L, n, peers, python, pairs):
    k = max(1, round(L * L / call(sys.executable, "rgdata:mean_cluster", L)["mean"]))
    names = ["rgdata", *peers]
    res = run_pairs(names, python, "wolff", (L, n, k), pairs)
    print(
        f"Wolff L={L} (k = {k} clusters per measurement for rgdata and mcising, {n} measurements):"
    )
    ips = {}
    for name in names:
        pairs_ips = [independent_per_second(r) for r in res[name]]
        ips[name] = statistics.median(v for v, _ in pairs_ips)
        taus = ", ".join(f"{t:.2f}" for _, t in pairs_ips)
        extra = ""
        if name == "rgdata":
            flips = statistics.median(r["flips"] / r["seconds"] / 1e9 for r in res[name])
            extra = f", {flips:.3f} spin flips/ns incl. measurements"
        print(f"  {name:8s}: {ips[name]:8.1f} independent samples/s (tau_int per measurement: "
              f"{taus}; E = {statistics.fmean(res[name][0]['energy']):.4f}){extra}")  # fmt: skip
    for peer in peers:
        print(f"  ratio rgdata / {peer}: {ips['rgdata'] / ips[peer]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 64 and 128, one pair")
    parser.add_argument("--pairs", type=int, default=None, help="interleaved pairs (default 3)")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))  # this checkout's rgdata, also when run as a script
    if args.worker:
        name, *numbers = args.worker
        print(json.dumps(WORKERS[name](*map(int, numbers))))
        return
    python = peer_python()
    if python is None:
        print("peers skipped: no interpreter at $RGDATA_PEERS_PYTHON or .venv-peers/bin/python "
              "(`make bench-peers` creates .venv-peers with mcising and peapods)")  # fmt: skip
        return
    peers = []
    for peer in PEERS:
        if has_package(python, peer):
            peers.append(peer)
        else:
            print(f"{peer} skipped: not importable by {python}")
    if not peers:
        return
    pairs = args.pairs or (1 if args.quick else 3)
    interpreters = {"rgdata": sys.executable, **{peer: python for peer in peers}}
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; "
          f"{pairs} interleaved pair(s); peers from {python}")  # fmt: skip
    if args.quick:
        plan = [(64, 400, 400), (128, 200, 300)]
    else:
        plan = [(128, 2000, 3000), (512, 200, 1000)]
    for L, sweeps, _ in plan:
        bench_metropolis(L, sweeps, peers, interpreters, pairs)
    for L, _, n in plan:
        bench_wolff(L, n, peers, interpreters, pairs)


if __name__ == "__main__":
    main()
