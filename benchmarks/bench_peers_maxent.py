"""Benchmark: rgdata's default pairwise fit against ConIII 3.0.1 on the same planted data.

A planted +-1 pairwise model of 50 units (h ~ N(0, 0.2), J ~ N(0, 0.6/sqrt(N)),
``bench_maxent.planted``) is sampled (16 Gibbs chains, 20 sweeps apart) and saved
to a temporary .npy. Each solver then runs as a whole process on that file
(start-up, imports and JIT compilation included): rgdata's default
``PairwiseMaxEnt(random_state=0).fit`` and ConIII's ``Pseudo`` (and its ``MCH``
without ``--quick``). Printed per solver: whole-process and solve-only time,
the couplings' and fields' RMSE against the planted values and Pearson r, and
how far each solution's moments are from the data's in data standard errors
(the same Monte Carlo check, 800,000 Gibbs samples, for every solution), then
the time ratios rgdata / peer. ConIII needs numpy < 2, so it runs in its own
venv: the python named by ``RGDATA_CONIII_PYTHON``, else ``.venv-coniii`` or
``benchmarks/.venv-coniii`` in the repository; without one its rows are skipped
with a message.

    python benchmarks/bench_peers_maxent.py [--quick] [--samples 40000] [--mch-timeout 900]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_maxent import planted, sample  # noqa: E402

from rgdata.maxent._chains import ChainSet  # noqa: E402
from rgdata.maxent._mismatch import measure  # noqa: E402
from rgdata.maxent._moments import data_statistics  # noqa: E402
from rgdata.maxent._sampler import seed_states  # noqa: E402

HELPER = ROOT / "benchmarks" / "reference_maxent.py"
TARGET_SECONDS = 30.0  # issue 16: the default fit of 50 units x 40,000 samples
N_UNITS = 50

RGDATA_CHILD = """
import sys, time, warnings
t0 = time.perf_counter()
import numpy as np, rgdata
from rgdata.maxent import PairwiseMaxEnt, convert_pairwise_coding
x = np.load(sys.argv[1])
act = rgdata.as_activity(x.T.copy(), kind="spins")
t1 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    m = PairwiseMaxEnt(random_state=0).fit(act)
sec = time.perf_counter() - t1
h, J = convert_pairwise_coding(m.h_, m.J_, m.coding, "pm1")
np.savez(sys.argv[2], h=h, J=J, seconds=sec, converged=m.converged_, n_iter=m.n_iter_)
"""


def peer_python() -> Path | None:
    """ConIII's python: $RGDATA_CONIII_PYTHON, else .venv-coniii in the repository."""
    env = os.environ.get("RGDATA_CONIII_PYTHON")
    if env:
        return Path(env) if Path(env).exists() else None
    for venv in (ROOT / ".venv-coniii", ROOT / "benchmarks" / ".venv-coniii"):
        if (venv / "bin" / "python").exists():
            return venv / "bin" / "python"
    return None


def run_process(cmd: list[str], timeout: float):
    """Run *cmd* with one BLAS thread; (wall seconds, CompletedProcess or None on timeout)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env["PYTHONPATH"] = str(ROOT)
    t0 = time.perf_counter()
    # own process group: on a timeout the peer's worker processes are stopped too
    with subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as popen:
        try:
            out, err = popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(popen.pid, signal.SIGKILL)
            popen.communicate()
            return time.perf_counter() - t0, None
    wall = time.perf_counter() - t0
    return wall, subprocess.CompletedProcess(cmd, popen.returncode, out, err)


def moment_check(h, J, x_pm1: np.ndarray, seed: int = 0):
    """Largest and rms mismatch (data SE, Monte Carlo share removed) of a +-1 model's moments."""
    stats = data_statistics(x_pm1.astype(np.float32), "pm1")
    rng = np.random.default_rng(seed)
    start = (x_pm1[rng.integers(0, len(x_pm1), 8)] > 0).astype(np.int8)
    chains = ChainSet(start, seed_states(rng, 8))
    m, per_chain, n_used = chains.stats_vectors(h, J, None, "pm1", False, 800_000, n_burn=500)
    mis = measure(m, per_chain, stats, "pm1", False, n_used)
    fam = {f.name: f for f in mis.families}
    return (
        f"moments: largest {mis.max_z:.2f} SE (MC allowance {mis.allowance:.2f}), rms "
        f"{mis.rms:.2f}; means rms {fam['means'].rms:.2f} bias {fam['means'].bias:+.1f}; "
        f"second moments rms {fam['second_moments'].rms:.2f} bias "
        f"{fam['second_moments'].bias:+.1f}; within sampling error: "
        f"{'yes' if mis.converged(1.5, 1.0) else 'no'}"
    )


def score(h, J, h_fit, J_fit) -> str:
    iu = np.triu_indices(len(h), 1)
    r = float(np.corrcoef(J[iu], J_fit[iu])[0, 1])
    rmse_j = float(np.sqrt(np.mean((J[iu] - J_fit[iu]) ** 2)))
    rmse_h = float(np.sqrt(np.mean((h - h_fit) ** 2)))
    return f"RMSE(J) {rmse_j:.4f}, RMSE(h) {rmse_h:.4f}, r(J) {r:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 samples, no MCH")
    parser.add_argument("--samples", type=int, default=None, help="default 40,000")
    parser.add_argument("--mch-timeout", type=float, default=900.0)
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args()
    t = args.samples or (10_000 if args.quick else 40_000)
    h, J = planted(N_UNITS, seed=N_UNITS)
    x = sample(h, J, t, seed=1000 + N_UNITS)
    print(f"== planted +-1 model, N = {N_UNITS}, T = {t}: whole-process runs, 1 BLAS thread")
    rows: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "x.npy"
        np.save(src, x)
        jobs = [("rgdata PairwiseMaxEnt()", [sys.executable, "-c", RGDATA_CHILD], args.timeout)]
        peer = peer_python()
        if peer is None:
            print(
                "ConIII: no peer python (set RGDATA_CONIII_PYTHON or create .venv-coniii with "
                "coniii==3.0.1 and numpy<2): its rows are skipped"
            )
        else:
            jobs.append(("ConIII Pseudo", [str(peer), str(HELPER)], args.timeout))
            if not args.quick:
                jobs.append(("ConIII MCH", [str(peer), str(HELPER)], args.mch_timeout))
        for name, cmd, timeout in jobs:
            dst = Path(tmp) / "out.npz"
            dst.unlink(missing_ok=True)
            tail = [str(src), str(dst)]
            if name.startswith("ConIII"):
                tail.append(name.split()[1].lower())
                if name.endswith("MCH"):
                    tail += ["mch_sample_size=20000", "mch_maxiter=40"]
            wall, proc = run_process(cmd + tail, timeout)
            if proc is None:
                print(f"{name:26s} did not finish within {timeout:.0f} s (stopped)")
                rows[name] = float("nan")
                continue
            if proc.returncode != 0:
                err = (proc.stderr.strip().splitlines() or ["?"])[-1][:120]
                print(f"{name:26s} failed: {err}")
                continue
            out = np.load(dst)
            rows[name] = wall
            extra = ""
            if "converged" in out:
                extra = f", converged={bool(out['converged'])} in {int(out['n_iter'])} iterations"
            print(
                f"{name:26s} whole process {wall:7.1f} s, solve {float(out['seconds']):7.1f} s; "
                f"{score(h, J, out['h'], out['J'])}{extra}"
            )
            print(f"{'':26s} {moment_check(out['h'], out['J'], x)}")
    ours = rows.get("rgdata PairwiseMaxEnt()")
    if ours is not None:
        print(
            f"ratio rgdata default fit / {TARGET_SECONDS:.0f} s target: {ours / TARGET_SECONDS:.2f}"
        )
        for name, sec in rows.items():
            if name.startswith("ConIII") and np.isfinite(sec):
                print(f"ratio rgdata default fit / {name}: {ours / sec:.3f} ({sec / ours:.1f}x)")


if __name__ == "__main__":
    main()
