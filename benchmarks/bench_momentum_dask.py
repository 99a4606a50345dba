"""momentum(solver="randomized") on a dask-backed activity read from HDF5: time, memory, accuracy.

Issue #21, item 5 at scale: N = 20,000 units x T = 5,000 float32 (0.37 GiB) are written
block by block to an HDF5 file (h5py; chunks of 1,024 units x T) in a temporary
directory: units driven by 200 Laplace sources with power-law weights (covariance
eigenvalues ~ k^-1.5 above a noise bulk) plus independent noise, as in
``bench_momentum_scale.py``. The ladder keeps the top 1/64, 1/128 and 1/256 of the
modes. Each run is a fresh child process timed around the ``momentum`` call, with the
peak resident memory of the call measured by :class:`rgdata.coarse._memory.PeakProbe`
(``grown``: above the resident memory before the call; ``peak``: the process's
high-water mark during the call):

1. the dask path on ``dask.array.from_array`` of the HDF5 dataset (chunks of
   ``--chunk`` units x T), dask's synchronous scheduler;
2. the in-memory randomized path on the same data read into memory first (the input is
   then resident before the call: ``grown`` excludes it, ``peak`` includes it), and the
   largest differences between the two results;
3. at ``--exact-units`` (default 4,000) units, the same time points: the exact path in
   memory against the dask path on the first rows of the store (largest relative error of
   the eigenvalues, largest relative residual, largest change of the fourth-moment median).

    PYTHONPATH=. flock /tmp/rgdata-bench.lock python benchmarks/bench_momentum_dask.py --quick
    PYTHONPATH=. flock /tmp/rgdata-bench.lock python benchmarks/bench_momentum_dask.py
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
FRACTIONS = [1.0, 1 / 64, 1 / 128, 1 / 256]
SOURCES = 200

CHILD = """
import json, sys, time, warnings
import dask.array as da, h5py, numpy as np, xarray as xr
import rgdata
from rgdata.coarse import momentum
from rgdata.coarse._memory import PeakProbe, _status_bytes
warnings.simplefilter("ignore")
path, mode, out = sys.argv[1], sys.argv[2], sys.argv[5]
rows, chunk = int(sys.argv[3]), int(sys.argv[4])
fractions = json.loads(sys.argv[6])
f = h5py.File(path, "r")
dset = f["activity"]
coords = {"unit": np.arange(rows)}
if mode == "dask":
    data = da.from_array(dset, chunks=(chunk, -1), lock=True)[:rows]
else:
    data = dset[:rows]
act = xr.DataArray(data, dims=("unit", "time"), coords=coords, attrs={"kind": "continuous"})
kw = {"solver": "randomized", "random_state": 0} if mode in ("dask", "memory") else {}
probe = PeakProbe()
t0 = time.perf_counter()
res = momentum(act, fractions, **kw)
wall = time.perf_counter() - t0
grown, peak = probe.grown(), _status_bytes("VmHWM")
res.to_netcdf(out, engine="h5netcdf")
rep = {"wall": wall, "grown": grown, "peak": peak, "storage": res.attrs["input_storage"]}
print(json.dumps(rep))
"""


def write_store(path: Path, n: int, t: int, seed: int = 0, block: int = 1024) -> None:
    """The planted data, written a block of units at a time (the whole array is never held)."""
    import h5py

    rng = np.random.default_rng(seed)
    sources = rng.laplace(size=(SOURCES, t)).astype(np.float32)
    scale = (np.arange(1, SOURCES + 1) ** -0.75).astype(np.float32)
    with h5py.File(path, "w") as f:
        dset = f.create_dataset("activity", (n, t), dtype=np.float32, chunks=(min(block, n), t))
        for start in range(0, n, block):
            rows = min(block, n - start)
            brng = np.random.default_rng([seed, start])
            w = brng.standard_normal((rows, SOURCES)).astype(np.float32) * scale
            x = w @ sources
            x += brng.standard_normal((rows, t), dtype=np.float32)
            dset[start : start + rows] = x


def run(store: Path, mode: str, rows: int, chunk: int, out: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-c", CHILD, str(store), mode, str(rows), str(chunk), str(out)]
    cmd.append(json.dumps(FRACTIONS))
    proc = subprocess.run(cmd, capture_output=True, env=env, check=False)
    if proc.returncode:
        raise SystemExit(
            f"{mode} run failed (exit {proc.returncode}): {proc.stderr.decode()[-3000:]}"
        )
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])


def compare(a_path: Path, b_path: Path) -> dict:
    """Largest differences of *a* (randomized) from *b* (reference)."""
    import xarray as xr

    a = xr.open_dataset(a_path, engine="h5netcdf").load()
    b = xr.open_dataset(b_path, engine="h5netcdf").load()
    k = a.sizes["mode"]
    lam = b.eigenvalues.values[:k]
    return {
        "lam": float(np.max(np.abs(a.eigenvalues.values - lam) / lam)),
        "res": float(np.max(a.eigen_residual.values / a.eigenvalues.values)),
        "med": float(np.max(np.abs(a.fourth_moment_median.values - b.fourth_moment_median.values))),
        "m4": float(np.nanmax(np.abs(a.fourth_moment.values - b.fourth_moment.values))),
        "k": k,
        "kept": a.n_modes.values.tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--time", type=int, default=5_000)
    parser.add_argument("--chunk", type=int, default=2048, help="units per dask chunk")
    parser.add_argument("--exact-units", type=int, default=4000)
    parser.add_argument("--quick", action="store_true", help="4,000 x 2,000; exact at 2,000")
    args = parser.parse_args()
    if args.quick:
        args.units, args.time, args.exact_units = 4000, 2000, 2000
    n, t = args.units, args.time
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        store = tmp / "planted.h5"
        t0 = time.perf_counter()
        write_store(store, n, t)
        print(f"N x T = {n:,} x {t:,} float32 ({n * t * 4 / 2**30:.2f} GiB), HDF5 store "
              f"written in {time.perf_counter() - t0:.1f} s; fractions {FRACTIONS}")  # fmt: skip
        rows = [("dask", n), ("memory", n), ("dask", args.exact_units), ("exact", args.exact_units)]
        out = {}
        for mode, size in rows:
            path = tmp / f"{mode}-{size}.nc"
            rep = run(store, mode, size, args.chunk, path)
            out[(mode, size)] = path
            grown, peak = rep["grown"] / 2**30, rep["peak"] / 2**30
            print(
                f"{mode:<7s} N = {size:>6,}: {rep['wall']:8.1f} s   grown {grown:6.2f} GiB   "
                f"peak {peak:6.2f} GiB   ({rep['storage'][:60]}...)",
                flush=True,
            )
        same = compare(out[("dask", n)], out[("memory", n)])
        print(
            f"dask vs in-memory randomized at N = {n:,} (top {same['k']} modes, kept "
            f"{same['kept']}): max |dlambda|/lambda {same['lam']:.1e}, max |d m4| "
            f"{same['m4']:.1e}, max |d median m4| {same['med']:.1e}"
        )
        acc = compare(out[("dask", args.exact_units)], out[("exact", args.exact_units)])
        print(
            f"dask vs exact at N = {args.exact_units:,} (top {acc['k']} modes): max "
            f"|dlambda|/lambda {acc['lam']:.1e}, max residual/lambda {acc['res']:.1e}, max "
            f"|d m4| {acc['m4']:.1e}, max |d median m4| {acc['med']:.1e}"
        )


if __name__ == "__main__":
    main()
