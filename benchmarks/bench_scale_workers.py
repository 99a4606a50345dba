"""Scaling of the exact dask pairing (``pair_units``) with workers and block size.

One pairing step of planted spikes (:func:`rgdata.coarse.planted_tree`,
4,096-unit trees) as a ``dask.array`` with row chunks of one block, run:

* serially (dask's synchronous scheduler, no client, BLAS threads as numpy
  starts them: every core): the baseline;
* on a ``distributed.LocalCluster`` with 1 and 2 worker processes of one
  thread each (the BLAS inside each worker pinned to one thread), for
  block sizes 512, 1024 and 2048.

Every run must return the same pairs (checked; the script fails otherwise).
It prints wall times and the ratios against the serial run measured in the
same process, plus the speed-up of 2 workers over 1 at each block size.
Worker start-up is not timed (the cluster is started first).

    flock /tmp/rgdata-bench.lock python benchmarks/bench_scale_workers.py            # N = 16,384
    flock /tmp/rgdata-bench.lock python benchmarks/bench_scale_workers.py --quick    # N = 4,096
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 4,096 x T = 2,000")
    parser.add_argument("--time", type=int, default=None, help="time points")
    args = parser.parse_args()
    import dask.array as da  # noqa: PLC0415
    import distributed  # noqa: PLC0415

    from rgdata.coarse import planted_tree  # noqa: PLC0415
    from rgdata.coarse.distributed import pair_units  # noqa: PLC0415

    n_trees = 1 if args.quick else 4
    n_time = args.time or (2000 if args.quick else 5000)
    act, _ = planted_tree(12, n_time, n_trees=n_trees, kind="spikes", rate=0.2, random_state=0)
    x = act.values
    n = x.shape[0]
    print(f"pair_units on {n} planted spike units x {n_time} bins, k = 32", flush=True)
    results = {}

    # da.from_array embeds the array in the graph (a zarr or HDF5 source would not): the
    # "Sending large graph" warning is about this benchmark's input, not the pairing
    warnings.filterwarnings("ignore", message="Sending large graph")

    def timed(label: str, block: int, client) -> float:
        arr = da.from_array(x, chunks=(block, -1))
        t0 = time.perf_counter()
        pairs = pair_units(arr, k=32, block_size=block, client=client)
        wall = time.perf_counter() - t0
        results[label] = pairs
        return wall

    base = timed("serial", 1024, None)
    print(f"{'serial, block 1024':<34s} {base:8.2f} s  (baseline)", flush=True)
    for workers in (1, 2):
        with (
            distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"},
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            for block in (512, 1024, 2048):
                wall = timed(f"{workers}-{block}", block, client)
                results[(workers, block)] = wall
                print(
                    f"{workers} worker(s), block {block:<5d}            {wall:8.2f} s  "
                    f"ratio to serial {wall / base:5.2f}",
                    flush=True,
                )
    for key, pairs in results.items():
        if isinstance(key, str) and not np.array_equal(pairs, results["serial"]):
            raise SystemExit(f"pairs of run {key} differ from the serial run")
    for block in (512, 1024, 2048):
        print(
            f"block {block}: 2 workers vs 1: speed-up "
            f"{results[(1, block)] / results[(2, block)]:.2f}x",
            flush=True,
        )
    print("every run gave the serial run's pairs")


if __name__ == "__main__":
    main()
