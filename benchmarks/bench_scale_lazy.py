"""Exact PRG of planted trees read lazily from an HDF5 store: wall time and peak memory.

Issue #21's target: N = 50,000 units x T = 10,000 float32, all levels exact,
peak memory under 6 GiB. The planted data (:func:`rgdata.coarse.planted_tree`,
trees of depth 12 = 4,096 units, AR(1) time with lag-1 correlation 0.5,
alpha = 1.4) are written tree by tree to an HDF5 file (h5py; chunks of 1,024
units x T) in a temporary directory, so the whole array is never held; a
fresh child process then runs ``prg`` on ``dask.array.from_array`` of that
dataset (the lazy path: nothing N x T is loaded) and reports its wall time
and peak resident memory (``getrusage``). The parent checks every planted
cluster at every level (the found partition equals the planted one) and
whether alpha's 95% CI covers 1.4, as ``bench_scale_peers.py`` does, and
kills the child if its resident memory passes ``--abort-gib`` (default 18).

    flock /tmp/rgdata-bench.lock python benchmarks/bench_scale_lazy.py --quick
    flock /tmp/rgdata-bench.lock python benchmarks/bench_scale_lazy.py --trees 13
    flock /tmp/rgdata-bench.lock python benchmarks/bench_scale_lazy.py --trees 13 \
        --pairing approximate

``--pairing approximate`` (issue #21, item 4) runs ``prg(..., pairing="approximate",
random_state=0)`` on the same store (the input stays lazy: NN-descent searches a
random projection of the rows) and also reports the measured pairing quality per
level and the peak resident memory of the ``prg`` call (``_memory.PeakProbe``,
which is not inherited from the parent as ``getrusage`` is).

prg runs with ``max_memory=6 GiB`` (``--max-memory-gib``): the run must fit the
target, and the lazy dense/sparse switch keeps every dense level within a
quarter of it (the first run at 53,248 units, which let a level go dense up to
a quarter of the memory available and kept the level-1 sums through the level
pass, peaked at 8.1 GiB).

(``--trees 13``: 53,248 units.) Units are shuffled within each tree and the
trees lie one after the other in the store.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_scale_peers import RGDATA_REPORT  # noqa: E402  (the child's shared ending)

DEPTH = 12
ALPHA = 1.4

CHILD = """
import json, resource, sys, time, warnings
t0 = time.perf_counter()
import dask.array as da, h5py, numpy as np, xarray as xr
from rgdata.coarse import prg
from rgdata.coarse._memory import PeakProbe
from rgdata.diagnostics import fit_exponent
warnings.simplefilter("ignore")
probe = PeakProbe()
f = h5py.File(sys.argv[1], "r")
dset = f["activity"]
lazy = xr.DataArray(da.from_array(dset, chunks=(int(sys.argv[4]), -1), lock=True),
                    dims=("unit", "time"), coords={"unit": np.arange(dset.shape[0])},
                    attrs={"kind": sys.argv[3]})
max_memory = float(sys.argv[5]) * 2**30 if float(sys.argv[5]) > 0 else None
res = prg(lazy, int(sys.argv[6]), observables=("variance",), max_memory=max_memory,
          pairing=sys.argv[7], random_state=0)
"""
#: printed after RGDATA_REPORT (the last line): the probe's peak and the measured quality
EXTRA = """
quality = {
    name: [None if np.isnan(v) else float(v) for v in res[name].values]
    for name in ("pairing_identical_fraction", "pairing_correlation_loss")
    if name in res
}
print(json.dumps({"peak_hwm": probe.start + probe.grown(), "grown": probe.grown(),
                  "estimate_gib": res.attrs.get("peak_memory_estimate_gib"), **quality}))
"""


def write_store(path: Path, n_trees: int, depth: int, n_time: int, kind: str, seed: int):
    """Planted trees written one at a time; returns the planted membership (level, unit)."""
    import h5py

    from rgdata.coarse import planted_tree

    leaves = 2**depth
    n = n_trees * leaves
    seeds = np.random.SeedSequence(seed).spawn(n_trees)
    member = np.empty((depth + 1, n), dtype=np.int64)
    dtype = np.float32 if kind == "continuous" else np.int8
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("activity", (n, n_time), dtype=dtype, chunks=(1024, n_time))
        for tree in range(n_trees):
            act, truth = planted_tree(
                depth, n_time, alpha=ALPHA, kind=kind, autocorrelation=0.5,
                random_state=np.random.default_rng(seeds[tree]),
            )  # fmt: skip
            rows = slice(tree * leaves, (tree + 1) * leaves)
            dset[rows] = act.values
            per_tree = leaves >> np.arange(depth + 1)
            member[:, rows] = truth["membership"].values + (tree * per_tree)[:, None]
            del act
    return member


def same_partition(found: np.ndarray, planted: np.ndarray) -> float:
    """Share of planted clusters that are exactly a found cluster."""
    ok = found >= 0
    pairs = {}
    for p, f in zip(planted[ok], found[ok], strict=True):
        pairs.setdefault(int(p), set()).add(int(f))
    sizes_f = np.bincount(found[ok])
    sizes_p = np.bincount(planted[ok])
    good = sum(
        1 for p, fs in pairs.items() if len(fs) == 1 and sizes_f[next(iter(fs))] == sizes_p[p]
    )
    return good / max(len(pairs), 1)


def watch(proc: subprocess.Popen, abort_bytes: float) -> float:
    """Poll the child's resident memory; kill it above *abort_bytes*. Returns the largest seen."""
    top = 0.0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    top = max(top, int(line.split()[1]) * 1024)
        except OSError:
            pass
        if top > abort_bytes:
            proc.kill()
            raise SystemExit(f"aborted: child resident memory {top / 2**30:.1f} GiB")
        time.sleep(0.5)
    return top


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", type=int, default=13, help="trees of 2**depth units")
    parser.add_argument("--depth", type=int, default=DEPTH)
    parser.add_argument("--time", type=int, default=10_000, help="time points T")
    parser.add_argument("--kind", default="continuous", choices=("continuous", "spikes"))
    parser.add_argument("--chunk", type=int, default=1024, help="units per dask chunk")
    parser.add_argument("--abort-gib", type=float, default=18.0)
    parser.add_argument(
        "--max-memory-gib",
        type=float,
        default=6.0,
        help="prg's max_memory (the target; 0: none, the memory available)",
    )
    parser.add_argument("--quick", action="store_true", help="2 trees of depth 10 x 4,000")
    parser.add_argument("--pairing", default="correlation", choices=("correlation", "approximate"))
    args = parser.parse_args()
    if args.quick:
        args.trees, args.depth, args.time = 2, 10, 4000
    with tempfile.TemporaryDirectory() as tmp:
        store, out = Path(tmp) / "planted.h5", Path(tmp) / "membership.npy"
        t0 = time.perf_counter()
        planted = write_store(store, args.trees, args.depth, args.time, args.kind, 0)
        t_write = time.perf_counter() - t0
        env = dict(os.environ, PYTHONPATH=str(REPO))
        n_levels = str(args.depth)  # the planted levels (a tree of 2**depth units)
        cmd = [
            sys.executable,
            "-c",
            CHILD + RGDATA_REPORT + EXTRA,
            str(store),
            str(out),
            args.kind,
            str(args.chunk),
        ]
        cmd += [str(args.max_memory_gib), n_levels, args.pairing]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        watch(proc, args.abort_gib * 2**30)
        stdout, stderr = proc.communicate()
        if proc.returncode:
            raise SystemExit(stderr.decode()[-3000:])
        lines = stdout.decode().strip().splitlines()
        print(lines[-2], lines[-1], sep="\n", flush=True)
        rep = {**json.loads(lines[-2]), **json.loads(lines[-1])}
        found = np.load(out)
    n_levels = found.shape[0]
    recovered = [same_partition(found[lv], planted[lv]) for lv in range(n_levels)]
    covers = rep["ci_low"] <= ALPHA <= rep["ci_high"]
    print(
        f"N x T = {planted.shape[1]:,} x {args.time:,} {args.kind} (chunks of {args.chunk}, "
        f"max_memory {args.max_memory_gib} GiB, pairing={args.pairing!r})"
    )
    print(f"store written in {t_write:.1f} s")
    peak = rep["peak_rss"] / 2**30
    hwm = rep["peak_hwm"] / 2**30
    print(
        f"prg (lazy, fresh process): {rep['wall']:.1f} s, peak RSS {peak:.2f} GiB "
        f"(getrusage), {hwm:.2f} GiB (PeakProbe), of which {rep['grown'] / 2**30:.2f} GiB "
        "above the RSS after the imports; "
        f"prg's estimate {rep['estimate_gib']} GiB"
    )
    for name in ("pairing_identical_fraction", "pairing_correlation_loss"):
        if name in rep:
            print(f"{name} per level (checked pairs): {rep[name]}")
    print(f"planted clusters recovered per level: {[round(r, 4) for r in recovered]}")
    print(
        f"alpha~ {rep['alpha']:.4f} [{rep['ci_low']:.4f}, {rep['ci_high']:.4f}] "
        f"(truth {ALPHA}: {'covered' if covers else 'NOT covered'})"
    )
    print(f"input_storage: {rep['input_storage']}")


if __name__ == "__main__":
    main()
