"""Benchmark momentum-space PCA-RG (rgdata.coarse.momentum).

1. Against a naive baseline in the same process (for every fraction: a full
   eigendecomposition of the correlation matrix, re-projection of the data
   from scratch, fourth moments with numpy) at a size where the baseline is
   affordable; the results must agree.
2. The target size, N = 10,000 units x T = 20,000 samples with a planted
   spectrum, for the fast path only (the naive baseline would need one
   10,000 x 10,000 eigendecomposition per fraction), in float64 and float32,
   with the time of each stage (standardize, covariance + tridiagonal
   reduction, eigenvectors, streaming). ``--full-eigh-baseline`` also times,
   in the same process, the decomposition the previous version used (gemm
   covariance and a dense ``eigh`` of all modes, driver evd) against the
   covariance + reduction + eigenvectors stages.
3. The back-transformation of the top half of the eigenvectors (``Q w`` for the
   Householder reduction): rgdata's compact-WY blocks against LAPACK's
   ``?ormqr`` (what rgdata used before) on the same reduction, same process.

Machines are noisy: compare ratios, not absolute times.

    python benchmarks/bench_momentum.py           # full size
    python benchmarks/bench_momentum.py --quick   # small sizes, seconds
"""

from __future__ import annotations

import argparse
import os
import time
from unittest import mock

import numpy as np
import scipy.linalg
from _timing import best_of

import rgdata
from rgdata.coarse import _momentum_kernels as kernels
from rgdata.coarse import default_fractions, momentum


def planted(n: int, t: int, seed: int = 0) -> np.ndarray:
    """n units driven by n // 20 latent factors with power-law variances, plus noise."""
    rng = np.random.default_rng(seed)
    m = max(2, n // 20)
    loadings = rng.standard_normal((n, m)) * (np.arange(1, m + 1) ** -0.5)[None, :]
    factors = rng.standard_normal((m, t))
    return loadings @ factors + rng.standard_normal((n, t))


def naive(x: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """Fourth moments per fraction, re-projecting from scratch each time."""
    z = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    out = []
    for f in fractions:
        lam, u = np.linalg.eigh(z @ z.T / z.shape[1])
        k = max(1, round(f * len(lam)))
        uk = u[:, ::-1][:, :k]
        phi = uk @ (uk.T @ z)
        out.append(np.mean(phi**4, 1) / np.mean(phi**2, 1) ** 2)
    return np.asarray(out)


def timed(func):
    """Wall time and value; the CPU time of the process is printed as well (on a shared,
    oversubscribed machine the wall time can be several times the CPU time)."""
    t0, c0 = time.perf_counter(), time.process_time()
    value = func()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"    (wall {wall:.2f} s, process CPU {cpu:.2f} s)")
    return wall, value


class StageTimer:
    """Wall time spent in each stage of one momentum() call (wrapping the kernels)."""

    def __init__(self):
        self.times = {}

    def wrap(self, name, func):
        def timed_func(*args, **kwargs):
            t0 = time.perf_counter()
            out = func(*args, **kwargs)
            self.times[name] = self.times.get(name, 0.0) + time.perf_counter() - t0
            return out

        return timed_func

    def run(self, func):
        m = "rgdata.coarse.momentum"
        with (
            mock.patch(f"{m}.standardize", self.wrap("standardize", kernels.standardize)),
            mock.patch(f"{m}.spectrum", self.wrap("covariance+tridiagonal", kernels.spectrum)),
            mock.patch.object(
                kernels.Spectrum,
                "vectors",
                self.wrap("eigenvectors", kernels.Spectrum.vectors),
            ),
            mock.patch(f"{m}.filtered_moments", self.wrap("streaming", kernels.filtered_moments)),
        ):
            return func()

    def line(self) -> str:
        return ", ".join(f"{k} {v:.1f} s" for k, v in self.times.items())


def full_eigh(act, dtype: str) -> float:
    """Wall time of the previous decomposition: gemm covariance in chunks + dense eigh (evd)."""
    z, _ = kernels.standardize(act.values, "correlation", np.dtype(dtype).type)
    t0 = time.perf_counter()
    n, t = z.shape
    c = np.zeros((n, n), dtype=z.dtype)
    step = max(2048, 2**22 // n)
    for start in range(0, t, step):
        zc = z[:, start : start + step]
        c += zc @ zc.T
    c /= t
    scipy.linalg.eigh(c, overwrite_a=True, check_finite=False, driver="evd")
    return time.perf_counter() - t0


def ormqr_back_transform(spec, w: np.ndarray) -> np.ndarray:
    """The previous back-transformation: LAPACK ?ormqr on rows 1..n-1 (lower ?sytrd)."""
    size = w.shape[0]
    ormqr = scipy.linalg.get_lapack_funcs("ormqr", (w,))
    refl = spec._reduced[1:, : size - 1]
    tau = spec._tau[: size - 1]
    rows = np.asfortranarray(w[1:])
    _, work, info = ormqr("L", "N", refl, tau, rows, -1)
    rows, _, info = ormqr("L", "N", refl, tau, rows, int(work[0]), overwrite_c=1)
    if info != 0:
        raise RuntimeError(f"ormqr failed (info={info})")
    out = np.empty_like(w, order="F")
    out[0], out[1:] = w[0], rows
    return out


def back_transform_ratio(act, dtype: str, repeat: int) -> None:
    """Blocked compact-WY back-transformation of the top half against ?ormqr
    (best of *repeat* calls each, after a warm-up call)."""
    z, _ = kernels.standardize(act.values, "correlation", np.dtype(dtype).type)
    spec = kernels.spectrum(z)
    n = z.shape[0]
    size = spec._diag.size
    w = spec._tridiagonal_vectors([(size - n // 2, size)])
    w = np.asfortranarray(w[:, ::-1], dtype=z.dtype)
    out = {}  # the timed calls keep their results for the comparison

    def ours():
        out["ours"] = spec._back_transform(w)

    def base():
        out["base"] = ormqr_back_transform(spec, w)

    t_ours, t_base = best_of(ours, repeat), best_of(base, repeat)
    diff = float(np.max(np.abs(out["ours"] - out["base"])))
    print(
        f"    back-transformation of {w.shape[1]} vectors, N={n}, {dtype}: compact-WY "
        f"{t_ours:.2f} s, ?ormqr {t_base:.2f} s, ratio {t_ours / t_base:.3f} "
        f"(max |diff| {diff:.1e})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--skip-baseline", action="store_true", help="only the target size")
    parser.add_argument("--dtypes", default="float64,float32", help="dtypes at the target size")
    parser.add_argument(
        "--full-eigh-baseline",
        action="store_true",
        help="also time the previous full-eigh decomposition at the target size",
    )
    parser.add_argument(
        "--back-transform-baseline",
        action="store_true",
        help="also time the back-transformation against ?ormqr at the target size",
    )
    args = parser.parse_args()
    base_n, base_t = (500, 1000) if args.quick else (2000, 4000)
    big_n, big_t = (2000, 4000) if args.quick else (10_000, 20_000)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"OPENBLAS_NUM_THREADS={threads}, cpus={os.cpu_count()}")

    # warm the numba cache
    momentum(rgdata.as_activity(planted(20, 200)), direction="remove_low")

    if not args.skip_baseline:
        x = planted(base_n, base_t)
        act = rgdata.as_activity(x)
        fr = default_fractions(base_n)
        t_ours, ours = timed(lambda: momentum(act, fr, direction="remove_low"))
        t_base, base = timed(lambda: naive(x, fr))
        diff = float(np.max(np.abs(ours["fourth_moment"].values - base)))
        print(
            f"N={base_n} T={base_t}, {len(fr)} fractions: rgdata {t_ours:8.2f} s  "
            f"naive {t_base:8.2f} s  ratio {t_ours / t_base:6.3f}  (max |diff| {diff:.1e})"
        )
        back_transform_ratio(act, "float64", repeat=5)

    act = rgdata.as_activity(planted(big_n, big_t, seed=1))
    fr = default_fractions(big_n)
    for dtype in args.dtypes.split(","):
        stages = StageTimer()
        t_big, res = timed(
            lambda d=dtype, st=stages: st.run(
                lambda: momentum(act, fr, direction="remove_low", dtype=d)
            )
        )
        print(
            f"N={big_n} T={big_t}, {len(fr)} fractions, {dtype}: {t_big:8.2f} s "
            f"(median fourth moment at f={fr[-1]:.2g}: "
            f"{float(res.fourth_moment_median[-1]):.3f}, Gaussian 3; rank {res.attrs['rank']})"
        )
        print(f"    stages: {stages.line()}")
        del res
        if args.full_eigh_baseline:
            ours = stages.times["covariance+tridiagonal"] + stages.times["eigenvectors"]
            base = full_eigh(act, dtype)
            print(
                f"    decomposition: ours {ours:.1f} s, full eigh (gemm + evd) {base:.1f} s, "
                f"ratio {ours / base:.3f}"
            )
        if args.back_transform_baseline:
            back_transform_ratio(act, dtype, repeat=1)


if __name__ == "__main__":
    main()
