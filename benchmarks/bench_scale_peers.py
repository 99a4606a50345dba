"""Exact PRG against random-renormalization-group on planted trees of 10^4-5 x 10^4 units.

Both sides run as fresh processes on the same planted data
(:func:`rgdata.coarse.planted_tree`: a known tree and a known variance
exponent), one after the other; each child reports its wall time, its peak
resident memory and what it found, and this script compares both with the
planted truth:

* **clusters**: per level, the adjusted Rand index of the found partition
  against the planted one (1: the planted clusters exactly) and, at the
  first step, the fraction of planted pairs found as a cluster;
* **exponent**: alpha~ (variance of the plain cluster sums against the
  cluster size) with rgdata's block CI, against the planted alpha; for
  random-RG, whose clusters have unequal sizes, the least-squares slope of
  log mean variance against log mean cluster size over its steps with at
  least 8 clusters (it reports no error bar).

random-RG is random-renormalization-group 0.1.1 (``RRG``, MIT; random
hyperplane hashing into 64 bits, a faiss nearest-neighbour search, connected
components), run in ``$RGDATA_PEERS_PYTHON`` (see ``bench_peers_prg.py``); a
missing peer is reported and skipped.

    flock /tmp/rgdata-bench.lock python benchmarks/bench_scale_peers.py --sizes 10000
    flock /tmp/rgdata-bench.lock python benchmarks/bench_scale_peers.py --sizes 10000 50000

Sizes are rounded up to whole trees of depth 12 (4,096 units each): 10,000 ->
3 trees (12,288 units), 50,000 -> 13 trees (53,248 units); T = 10,000 float32.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_peers_prg import has_module, peers_python  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEPTH = 12

RGDATA_CHILD = """
import json, resource, sys, time, warnings
import numpy as np
t0 = time.perf_counter()
import rgdata
from rgdata.coarse import prg
from rgdata.diagnostics import fit_exponent
warnings.simplefilter("ignore")
x = np.load(sys.argv[1], mmap_mode="r")
res = prg(rgdata.as_activity(np.asarray(x), kind=sys.argv[3]), int(sys.argv[4]),
          observables=("variance",))
"""
#: the end of an rgdata child: the variance exponent of ``res``, its membership saved to
#: argv[2], and one JSON line of wall time, peak RSS and the fit (shared with bench_scale_lazy)
RGDATA_REPORT = """
fit = fit_exponent(res, "variance")
wall = time.perf_counter() - t0
np.save(sys.argv[2], res["membership"].values)
print(json.dumps({
    "wall": wall,
    "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "alpha": float(fit["exponent"]), "ci_low": float(fit["ci_low"]),
    "ci_high": float(fit["ci_high"]),
    "levels": np.flatnonzero(fit["level_in_fit"].values).tolist(),
    "input_storage": res.attrs["input_storage"],
}))
"""
RGDATA_CHILD += RGDATA_REPORT

RRG_CHILD = """
import contextlib, io, json, resource, sys, time
import numpy as np
t0 = time.perf_counter()
from RRG.renormalization import Renormalization_Flow
x = np.load(sys.argv[1]).astype(np.float64)
with contextlib.redirect_stdout(io.StringIO()):
    flow, tracked = Renormalization_Flow(x, int(sys.argv[4]), 64, "Linear_Kernel", "Dynamics")
wall = time.perf_counter() - t0
labels = np.full((len(tracked), x.shape[0]), -1, dtype=np.int64)
size, var = [1.0], [float(x.var(axis=1).mean())]
for step, clusters in enumerate(tracked):
    for c, units in enumerate(clusters):
        labels[step, units] = c
    size.append(float(np.mean([len(u) for u in clusters])))
    var.append(float(flow[step + 1].var(axis=1).mean()))
np.save(sys.argv[2], labels)
print(json.dumps({
    "wall": wall,
    "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "size": size, "var": var, "n_clusters": [len(c) for c in tracked],
}))
"""


def run(python: str, code: str, args: list[str]) -> dict:
    """Run *code* in a fresh *python*; return the JSON it printed last."""
    env = dict(os.environ)
    if python == sys.executable:
        env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run(
        [python, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, env=env
    )
    if out.returncode != 0:
        raise RuntimeError(f"child failed ({python}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def agreement(found: np.ndarray, planted: np.ndarray) -> float:
    """Adjusted Rand index of two partitions of the units (-1: left out, ignored)."""
    from sklearn.metrics import adjusted_rand_score  # noqa: PLC0415

    ok = (found >= 0) & (planted >= 0)
    return float(adjusted_rand_score(planted[ok], found[ok]))


def pairs_found(found: np.ndarray, planted: np.ndarray) -> float:
    """Fraction of planted pairs that are exactly one found cluster."""
    hit = 0
    for c in range(planted.max() + 1):
        units = np.flatnonzero(planted == c)
        f = found[units]
        if f[0] >= 0 and f[0] == f[1] and np.sum(found == f[0]) == 2:
            hit += 1
    return hit / (planted.max() + 1)


def slope(size: list[float], var: list[float], n_clusters: list[int], n_units: int) -> float:
    """Least-squares slope of log var against log size over steps with >= 8 clusters."""
    counts = [n_units, *n_clusters]
    keep = [i for i, c in enumerate(counts) if c >= 8]
    return float(np.polyfit(np.log(np.take(size, keep)), np.log(np.take(var, keep)), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--time", type=int, default=10_000, help="time points")
    parser.add_argument("--kind", default="continuous", choices=("continuous", "spikes"))
    parser.add_argument("--alpha", type=float, default=1.4)
    parser.add_argument(
        "--quick", action="store_true", help="one planted tree (4,096 units) x 2,000 (make bench)"
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.time = [2**DEPTH], 2_000
    from rgdata.coarse import planted_tree  # noqa: PLC0415

    peer = peers_python()
    have_rrg = has_module(peer, "RRG.renormalization")
    print(f"random-renormalization-group: {'found' if have_rrg else 'missing, skipped'}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            n_trees = -(-n // 2**DEPTH)  # at least n units
            t0 = time.perf_counter()
            act, truth = planted_tree(
                DEPTH, args.time, n_trees=n_trees, alpha=args.alpha, kind=args.kind,
                rate=0.2, autocorrelation=0.5, random_state=n,
            )  # fmt: skip
            data = Path(tmp) / f"x{n}.npy"
            np.save(data, act.values)
            n_units = act.sizes["unit"]
            del act
            print(
                f"\nN = {n_units} ({n_trees} planted trees of 4,096), T = {args.time}, "
                f"{args.kind}, planted alpha {args.alpha} (generated in "
                f"{time.perf_counter() - t0:.1f} s)",
                flush=True,
            )
            planted = truth["membership"].values
            levels = DEPTH  # the levels inside the planted trees
            ours = run(sys.executable, RGDATA_CHILD, [str(data), f"{tmp}/m.npy", args.kind,
                                                      str(levels)])  # fmt: skip
            mem = np.load(f"{tmp}/m.npy")
            ari = [agreement(mem[lv], planted[lv]) for lv in range(1, levels + 1)]
            fitted = truth.isel(level=ours["levels"])  # the truth over the fitted levels
            want = float(
                np.polyfit(np.log(fitted["cluster_size"]), np.log(fitted["variance"]), 1)[0]
            )
            print(
                f"  rgdata exact: {ours['wall']:.1f} s, peak RSS {ours['peak_rss'] / 2**30:.2f} "
                f"GiB; planted pairs found {pairs_found(mem[1], planted[1]):.4f}; ARI per "
                f"level min {min(ari):.4f}; alpha {ours['alpha']:.4f} "
                f"[{ours['ci_low']:.4f}, {ours['ci_high']:.4f}] (planted {want:.4f})",
                flush=True,
            )
            if not have_rrg:
                continue
            theirs = run(peer, RRG_CHILD, [str(data), f"{tmp}/r.npy", args.kind, str(levels)])
            lab = np.load(f"{tmp}/r.npy")
            steps = lab.shape[0]
            ari_r = [agreement(lab[s], planted[min(s + 1, DEPTH)]) for s in range(steps)]
            ari_x = agreement(lab[0], mem[1])
            print(
                f"  random-RG:    {theirs['wall']:.1f} s, peak RSS "
                f"{theirs['peak_rss'] / 2**30:.2f} GiB; planted pairs found "
                f"{pairs_found(lab[0], planted[1]):.4f}; ARI vs planted level s+1 "
                f"{', '.join(f'{a:.3f}' for a in ari_r[:4])}...; vs exact step 1 {ari_x:.3f}; "
                f"mean cluster sizes {', '.join(f'{s:.1f}' for s in theirs['size'][1:5])}...; "
                f"alpha (no CI) "
                f"{slope(theirs['size'], theirs['var'], theirs['n_clusters'], n_units):.4f}",
                flush=True,
            )
            print(f"  time ratio rgdata/random-RG {ours['wall'] / theirs['wall']:.2f}")


if __name__ == "__main__":
    main()
