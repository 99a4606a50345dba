"""Benchmark momentum(solver="randomized") against the exact path (issue #21, item 5).

Both solvers run in the same process on the same data: units driven by 200 Laplace
sources with power-law weights (covariance eigenvalues ~ k^-1.5 above a noise bulk)
plus independent noise. The ladder keeps the top 1/64, 1/128 and 1/256 of the modes,
the part that needs only the top modes. Each line prints the wall time, its ratio to
the exact path, the peak traced memory (tracemalloc: numpy buffers), and the
accuracy: the largest relative error of the computed eigenvalues against the exact
ones, the largest relative residual ||C u - lambda u|| / lambda, and the largest change
of the fourth-moment median over the levels. Machines are noisy: compare ratios.

    PYTHONPATH=. flock /tmp/rgdata-bench.lock python benchmarks/bench_momentum_scale.py --quick
    PYTHONPATH=. flock /tmp/rgdata-bench.lock python benchmarks/bench_momentum_scale.py
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _timing import timed_peak

import rgdata
from rgdata.coarse import momentum

FRACTIONS = [1.0, 1 / 64, 1 / 128, 1 / 256]


def _data(n: int, t: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = 200
    weights = rng.standard_normal((n, k)).astype(np.float32)
    weights *= (np.arange(1, k + 1) ** -0.75).astype(np.float32)
    sources = rng.laplace(size=(k, t)).astype(np.float32)
    x = weights @ sources
    x += rng.standard_normal((n, t), dtype=np.float32)
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [(1000, 4000), (2000, 4000)] if args.quick else [(2000, 10_000), (8000, 10_000)]
    for n, t in sizes:
        act = rgdata.as_activity(_data(n, t))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # outside_fraction on heavy tails
            # one working precision for both (with "auto" the exact path tries float32 and
            # redoes float64 when float32 misses the smallest modes; randomized stays float32)
            exact, t_ex, m_ex = timed_peak(
                lambda act=act: momentum(act, FRACTIONS, dtype="float64")
            )
            rand, t_r, m_r = timed_peak(
                lambda act=act: momentum(
                    act, FRACTIONS, dtype="float64", solver="randomized", random_state=0
                )
            )
        k = rand.sizes["mode"]
        lam = exact.eigenvalues.values[:k]
        lam_err = np.max(np.abs(rand.eigenvalues.values - lam) / lam)
        rel_res = np.max(rand.eigen_residual.values / rand.eigenvalues.values)
        d_med = np.max(np.abs(rand.fourth_moment_median.values - exact.fourth_moment_median.values))
        print(f"N = {n}, T = {t}, dtype {exact.attrs['dtype']}, top {k} modes, ", end="")
        print(f"kept counts {rand.n_modes.values.tolist()}")
        print(f"{'exact':<12s} {t_ex:8.2f} s  ratio 1.00   peak {m_ex / 2**20:8.1f} MiB")
        print(
            f"{'randomized':<12s} {t_r:8.2f} s  ratio {t_r / t_ex:5.2f}   peak "
            f"{m_r / 2**20:8.1f} MiB ({m_r / m_ex:.2f} x)   max |dlambda|/lambda {lam_err:.1e}"
            f"  max residual/lambda {rel_res:.1e}  max |d median m4| {d_med:.1e}"
        )


if __name__ == "__main__":
    main()
