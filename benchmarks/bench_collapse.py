"""Benchmark the scaling collapse and the similarity exponents against grid searches.

1. Quality kernel: the compiled Houdayer-Hartmann kernel (what the optimiser
   calls) against the numpy reference of the same function, per call; both
   must agree to 1e-10.
2. Collapse fit: :func:`rgdata.diagnostics.scaling_collapse` (Nelder-Mead,
   no bootstrap) on planted curves L^a f((x - x_c) L^b) against a grid
   search of the numpy quality over (x_c, b, a) on the same ranges, same
   process; both errors from the planted values are printed.
3. Bootstrap interval: scaling_collapse with n_boot replicas, as a ratio to
   one fit (the cost of the interval).
4. Similarity exponents: variable projection on the mean-field magnetisation
   (u = 1; alpha = 1/3, beta = -2/3) against a grid search of beta with the
   same projection, same process.

Machines are noisy: compare ratios, not absolute times.

    python benchmarks/bench_collapse.py           # full sizes
    python benchmarks/bench_collapse.py --quick   # small sizes, seconds
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np
from _timing import best_of, ratio_line

from rgdata.diagnostics import scaling_collapse, similarity_exponents
from rgdata.diagnostics._collapse_quality import collapse_quality, sorted_quality

TRUE = (2.269, 1.0, 1.75)


def planted(n_x: int, sizes: np.ndarray, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = np.linspace(2.2, 2.34, n_x)
    u = (x[None, :] - TRUE[0]) * sizes[:, None] ** TRUE[1]
    truth = sizes[:, None] ** TRUE[2] * (np.exp(-(u**2) / 4) + 0.3 / (1 + np.exp(-u)))
    dy = 0.02 * truth
    return x, truth + dy * rng.standard_normal(truth.shape), dy


def numpy_quality(x, y, dy, sizes, p):
    x_c, b, a = p
    curves = []
    for i, L in enumerate(sizes):
        f = L ** (-a)
        curves.append(((x - x_c) * L**b, y[i] * f, dy[i] * f))
    return collapse_quality(curves)[0]


def grid_search(x, y, dy, sizes, n_grid):
    # ranges that do not put a grid point on the planted values
    axes = [np.linspace(2.2515, 2.2915, n_grid), np.linspace(0.83, 1.23, n_grid)]
    axes.append(np.linspace(1.61, 1.91, n_grid))
    best, arg = np.inf, None
    for p in itertools.product(*axes):
        q = numpy_quality(x, y, dy, sizes, p)
        if q < best:
            best, arg = q, p
    return np.array(arg)


def mean_field(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    r, j = rng.uniform(-1, 1, n), 10 ** rng.uniform(-4, -1, n)
    z = np.array([np.roots([1.0, 0.0, ri, -ji]) for ri, ji in zip(r, j, strict=True)])
    z = np.where(np.abs(z.imag) < 1e-9, z.real, -np.inf).max(axis=1)
    return r, j, z


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, seconds")
    args = parser.parse_args()
    quick = args.quick
    sizes = np.array([8.0, 16.0, 32.0, 64.0]) if quick else 2.0 ** np.arange(3, 9)
    n_x = 30 if quick else 60
    n_grid = 9 if quick else 21
    n_boot = 50 if quick else 200
    x, y, dy = planted(n_x, sizes)
    print(f"planted curves: {sizes.size} sizes x {n_x} points; grid {n_grid}^3; n_boot {n_boot}")

    # 1. kernel
    curve = np.repeat(np.arange(sizes.size), n_x)
    X = ((x[None, :] - TRUE[0]) * sizes[:, None] ** TRUE[1]).ravel()
    f = sizes[:, None] ** -TRUE[2]
    Y, D = (y * f).ravel(), (dy * f).ravel()
    ref = numpy_quality(x, y, dy, sizes, TRUE)
    got = sorted_quality(X, Y, D, curve, sizes.size)[0]
    assert abs(got - ref) < 1e-10 * max(1.0, ref), (got, ref)
    t_k = best_of(lambda: sorted_quality(X, Y, D, curve, sizes.size), 20)
    t_np = best_of(lambda: numpy_quality(x, y, dy, sizes, TRUE), 5)
    ratio_line("quality kernel (numba vs numpy)", t_k, t_np, f"S = {ref:.3f} both")

    # 2. collapse fit against a grid search
    kw = dict(initial={"x_c": 2.26, "b": 0.9, "a": 1.7}, step={"x_c": 0.01}, n_boot=0)
    t0 = time.perf_counter()
    res = scaling_collapse(x, y, dy, sizes, **kw)
    t_fit = time.perf_counter() - t0
    t_fit = min(t_fit, best_of(lambda: scaling_collapse(x, y, dy, sizes, **kw), 3))
    t0 = time.perf_counter()
    grid = grid_search(x, y, dy, sizes, n_grid)
    t_grid = time.perf_counter() - t0
    err_fit = np.abs(res["value"].values - TRUE)
    err_grid = np.abs(grid - TRUE)
    ratio_line(
        "collapse fit vs grid search",
        t_fit,
        t_grid,
        f"|error| fit {np.array2string(err_fit, precision=4)}, "
        f"grid {np.array2string(err_grid, precision=4)}",
    )

    # 3. the bootstrap interval
    t0 = time.perf_counter()
    boot = scaling_collapse(x, y, dy, sizes, **{**kw, "n_boot": n_boot})
    t_boot = time.perf_counter() - t0
    width = (boot["ci_high"] - boot["ci_low"]).values
    ratio_line(
        f"collapse + {n_boot} bootstrap vs one fit",
        t_boot,
        t_fit,
        f"95% widths {np.array2string(width, precision=4)}",
    )

    # 4. similarity exponents
    n = 300 if quick else 1000
    r, j, z = mean_field(n)
    t0 = time.perf_counter()
    fit = similarity_exponents({"r": r, "j": j}, z, lead="r")
    t_vp = time.perf_counter() - t0
    betas = np.linspace(-1.0, -0.4, 61 if quick else 601)
    t0 = time.perf_counter()
    costs = [_projected_cost(r, j, z, b) for b in betas]
    t_grid = time.perf_counter() - t0
    ratio_line(
        "similarity VarPro vs beta grid",
        t_vp,
        t_grid,
        f"beta {float(fit['value'].sel(exponent='beta:j')):.4f} vs grid "
        f"{betas[int(np.argmin(costs))]:.4f} (exact -2/3), alpha "
        f"{float(fit['value'].sel(exponent='alpha:j')):.4f} (exact 1/3)",
    )


def _projected_cost(r, j, z, beta):
    """The projected residual of similarity_exponents at a fixed beta (same model)."""
    from rgdata.diagnostics.similarity_exponents import _Model

    n_knots = int(min(24, max(4, z.size // 10)))
    logs = np.log(j)[:, None]
    model = _Model(logs, logs, r, np.log(z), np.ones_like(z), n_knots, 3)
    return float(np.sum(model.residual(np.array([beta])) ** 2))


if __name__ == "__main__":
    main()
