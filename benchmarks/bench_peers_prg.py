"""Benchmark rgdata's PRG and momentum RG against the peers themselves, whole process.

Each comparison runs both sides as fresh Python processes on the same input
file (imports, loading, computing and fitting included), in interleaved A/B
pairs (the order alternates), and prints the medians and the ratio
rgdata/peer of the medians. Machines are noisy: the ratios, measured in the
same run, are the result; the absolute seconds are not.

Peers (never imported by rgdata or its tests; see ``../shared/peers/README.md``):

* prg_toolbox (Damiaom/prg_toolbox, MIT, vendored in ``../shared/peers``):
  ``CGVariables`` (greedy Pearson pairing) and its observables;
* random-renormalization-group 0.1.1 (``RRG``, MIT): approximate pairing by
  random hashing and a faiss nearest-neighbour search;
* a plain numpy script for momentum-space RG (standardize, covariance,
  ``numpy.linalg.eigh``, projections onto the top modes), run by rgdata's own
  interpreter.

The peers run in another interpreter: ``$RGDATA_PEERS_PYTHON``, else
``.venv-peers/bin/python`` in the repository (``make bench-peers`` creates it).
A peer that cannot be found or imported is reported and skipped; the script
never fails for a missing peer.

Workloads: the retina (160 x 283,041 binary, all levels) with alpha~/beta~ only
and with the full pipeline; planted binary spikes N = 1024, 2048, 4096 x
T = 20,000 (full pipeline) against prg_toolbox and (alpha~/beta~ only) against
random-RG; momentum at N = 2000 x T = 20,000.

    python benchmarks/bench_peers_prg.py           # every workload, 3 pairs each
    python benchmarks/bench_peers_prg.py --quick   # small sizes, 1 pair each
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
PEER_ENV = "RGDATA_PEERS_PYTHON"

#: observables of rgdata and prg_toolbox for "alpha~/beta~ only" and for the full pipeline
RGDATA_CHILD = """
import sys, warnings
import numpy as np
import rgdata
from rgdata.coarse import prg
from rgdata.diagnostics import fit_exponent
warnings.simplefilter("ignore")
x = np.load(sys.argv[1])
mode, n_levels = sys.argv[2], int(sys.argv[3])
obs = ("variance", "silence") if mode == "ab" else "all"
res = prg(rgdata.as_activity(x, kind="spikes"), n_levels, observables=obs)
for q in ("variance", "silence_free_energy"):
    float(fit_exponent(res, q)["exponent"])
"""

PRG_TOOLBOX_CHILD = """
import sys, types, warnings
warnings.simplefilter("ignore")
try:
    import pooch  # noqa: F401  (only prg_toolbox.datasets, the example-data download, uses it)
except ImportError:
    sys.modules["pooch"] = types.ModuleType("pooch")
import numpy as np
import prg_toolbox as pt
x = np.load(sys.argv[1])
mode, n_levels = sys.argv[2], int(sys.argv[3])
cg = pt.CGVariables(x, cluster_method="pearson", rg_steps=n_levels, verbose="silent")
if mode == "ab":
    observables = [pt.mean_variance, pt.log_silence_probability]
else:  # the toolbox's default pipeline (AnalysisParams().observables)
    observables = pt.config.AnalysisParams().observables
for obs in observables:
    obs(cg)
"""

RRG_CHILD = """
import io, sys, contextlib
import numpy as np
from RRG.renormalization import Renormalization_Flow
x = np.load(sys.argv[1]).astype(np.float64)
n_levels = int(sys.argv[3])
with contextlib.redirect_stdout(io.StringIO()):  # it prints a line per step
    Renormalization_Flow(x, n_levels, 64, "Linear_Kernel", "Dynamics")
"""

RGDATA_MOMENTUM_CHILD = """
import sys, warnings
import numpy as np
import rgdata
from rgdata.coarse import momentum
warnings.simplefilter("ignore")
x = np.load(sys.argv[1])
momentum(rgdata.as_activity(x, kind="calcium"))
"""

NUMPY_MOMENTUM_CHILD = """
import sys
import numpy as np
x = np.load(sys.argv[1])
z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
lam, u = np.linalg.eigh(z @ z.T / z.shape[1])
u = u[:, ::-1]
for f in (1 / 2, 1 / 4, 1 / 8, 1 / 16, 1 / 32, 1 / 64, 1 / 128):
    uk = u[:, : max(1, round(f * u.shape[0]))]
    phi = uk @ (uk.T @ z)
    (phi**4).mean(1) / (phi**2).mean(1) ** 2
"""


def peers_python() -> str | None:
    """The interpreter that has the peers: $RGDATA_PEERS_PYTHON, else .venv-peers."""
    env = os.environ.get(PEER_ENV)
    if env:
        return env
    local = REPO / ".venv-peers" / "bin" / "python"
    return str(local) if local.exists() else None


def has_module(python: str | None, module: str, stub_pooch: bool = False) -> bool:
    """Whether *python* can import *module* (prg_toolbox: with pooch stubbed if absent)."""
    if python is None:
        return False
    pre = (
        "import sys, types\ntry:\n    import pooch\nexcept ImportError:\n"
        "    sys.modules['pooch'] = types.ModuleType('pooch')\n"
        if stub_pooch
        else ""
    )
    code = pre + f"import {module}"
    ok = subprocess.run([python, "-c", code], capture_output=True, timeout=120)
    return ok.returncode == 0


def run_child(python: str, code: str, args: list[str]) -> float:
    """Wall time of one whole process running *code* with *args*."""
    env = dict(os.environ)
    if python == sys.executable:
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    t0 = time.perf_counter()
    out = subprocess.run(
        [python, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, env=env
    )
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({python}):\n{out.stderr[-2000:]}")
    return wall


#: substrings of the workload names to run (--only); empty: all
ONLY: list[str] = []


def compare(name: str, ours: tuple, peer: tuple, pairs: int, target: float | None) -> float:
    """Interleaved A/B pairs of whole processes; print medians and the ratio ours/peer."""
    if ONLY and not any(word in name for word in ONLY):
        return float("nan")
    ta, tb = [], []
    for i in range(pairs):
        if i % 2 == 0:
            ta.append(run_child(*ours))
            tb.append(run_child(*peer))
        else:
            tb.append(run_child(*peer))
            ta.append(run_child(*ours))
    a, b = statistics.median(ta), statistics.median(tb)
    goal = (
        ""
        if target is None
        else f"  target <= {target:g}: {'met' if a / b <= target else 'NOT met'}"
    )
    print(f"{name:<44s} rgdata {a:7.2f} s  peer {b:7.2f} s  ratio {a / b:5.2f}{goal}", flush=True)
    return a / b


def binary_spikes(n: int, t: int, seed: int) -> np.ndarray:
    """Binary spikes driven by 50 shared Gaussian inputs (correlations with structure)."""
    rng = np.random.default_rng(seed)
    drive = rng.normal(size=(50, t)).astype(np.float32)
    group = rng.integers(0, 50, n)
    p = 0.05 * np.exp(0.5 * drive[group] - 0.125)
    return (rng.random((n, t), dtype=np.float32) < p).astype(np.int8)


def planted_continuous(n: int, t: int, seed: int) -> np.ndarray:
    """n units driven by n // 20 latent factors with power-law variances, plus noise."""
    rng = np.random.default_rng(seed)
    m = max(2, n // 20)
    loadings = rng.standard_normal((n, m)) * (np.arange(1, m + 1) ** -0.5)[None, :]
    return loadings @ rng.standard_normal((m, t)) + rng.standard_normal((n, t))


def retina_array() -> np.ndarray | None:
    """The retina stacked over trials (160 x 283,041 int8), None if the data are absent."""
    sys.path.insert(0, str(REPO))
    import rgdata

    try:
        act = rgdata.stack_trials(rgdata.datasets.load_retina())
    except FileNotFoundError as err:
        print(f"retina: skipped ({err})")
        return None
    return np.ascontiguousarray(act.values.astype(np.int8))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one pair each")
    parser.add_argument("--pairs", type=int, default=None, help="A/B pairs per workload")
    parser.add_argument(
        "--only", action="append", default=[], help="run the workloads whose name contains this"
    )
    args = parser.parse_args()
    ONLY.extend(args.only)
    pairs = args.pairs or (1 if args.quick else 3)
    me = sys.executable
    peer = peers_python()
    have_toolbox = has_module(peer, "prg_toolbox", stub_pooch=True)
    have_rrg = has_module(peer, "RRG.renormalization")
    print(f"rgdata: {me}\npeers: {peer or f'none (set ${PEER_ENV} or run make bench-peers)'}")
    print(f"  prg_toolbox: {'found' if have_toolbox else 'missing, skipped'}")
    print(f"  random-renormalization-group: {'found' if have_rrg else 'missing, skipped'}")
    print(f"{pairs} interleaved pair(s) per workload, medians of whole-process wall times\n")
    with tempfile.TemporaryDirectory() as tmp:

        def saved(name: str, x: np.ndarray) -> str:
            path = os.path.join(tmp, name + ".npy")
            np.save(path, x)
            return path

        if have_toolbox:
            x = retina_array()
            if x is not None:
                if args.quick:
                    x = np.ascontiguousarray(x[:, :40_000])
                f = saved("retina", x)
                lv = str(int(np.log2(x.shape[0])) - 1)
                what = "retina" + (" (first 40,000 samples)" if args.quick else "")
                compare(
                    f"PRG {what}, alpha~/beta~ only vs prg_toolbox",
                    (me, RGDATA_CHILD, [f, "ab", lv]),
                    (peer, PRG_TOOLBOX_CHILD, [f, "ab", lv]),
                    pairs,
                    0.5,
                )
                compare(
                    f"PRG {what}, full pipeline vs prg_toolbox",
                    (me, RGDATA_CHILD, [f, "full", lv]),
                    (peer, PRG_TOOLBOX_CHILD, [f, "full", lv]),
                    pairs,
                    1.0,
                )
        t = 5_000 if args.quick else 20_000
        sizes = (256, 512) if args.quick else (1024, 2048, 4096)
        targets = {1024: 0.5, 4096: 0.3}
        for n in sizes:
            f = saved(f"spikes{n}", binary_spikes(n, t, seed=n))
            lv = str(int(np.log2(n)) - 1)
            if have_toolbox:
                compare(
                    f"PRG N = {n}, T = {t}, full pipeline vs prg_toolbox",
                    (me, RGDATA_CHILD, [f, "full", lv]),
                    (peer, PRG_TOOLBOX_CHILD, [f, "full", lv]),
                    pairs,
                    targets.get(n),
                )
            if have_rrg:
                compare(
                    f"PRG N = {n}, T = {t}, alpha~/beta~ vs random-RG",
                    (me, RGDATA_CHILD, [f, "ab", lv]),
                    (peer, RRG_CHILD, [f, "ab", lv]),
                    pairs,
                    1.0 if n >= 2048 else None,
                )
        n = 500 if args.quick else 2000
        f = saved("momentum", planted_continuous(n, 5_000 if args.quick else 20_000, seed=1))
        compare(
            f"momentum N = {n} vs a numpy eigh script",
            (me, RGDATA_MOMENTUM_CHILD, [f]),
            (me, NUMPY_MOMENTUM_CHILD, [f]),
            pairs,
            1.0,
        )


if __name__ == "__main__":
    main()
