"""MS3D and dynamics across levels: our kernels against plain baselines, timed side by side.

Rows (ratio = ours / baseline, same inputs, same run):

* ``ms3d residual``: block residuals by the projection identity
  ``||x||^2 - b^d sum m_B^2`` against upsampling every block mean to the
  fine grid (``np.repeat``) and summing the squared difference; the two
  results are checked equal.
* ``tree residual``: cluster means along a PRG tree by one one-hot matrix
  product against ``np.add.at`` (the first implementation).
* ``autocorrelation``: pooled autocorrelation up to ``max_lag`` from FFTs of
  stretches of ``7 max_lag`` against one FFT of the whole series (what
  dynamic_scaling uses: the stretches were measured slower).
* ``multiscale section``: the report section (PRG, ms3d_tree with 10
  refitted-PRG null draws, prg_dynamics with 10 null draws and 200
  bootstrap replicates) against one PRG run on the same data.

Usage: python benchmarks/bench_multiscale.py [--quick]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
from _timing import best_of, ratio_line

import rgdata
from rgdata.diagnostics import _ms3d_kernels as mk
from rgdata.diagnostics._dynamics_kernels import block_autocov, pooled_rho
from rgdata.diagnostics.ms3d import _tree_residuals


def upsample_residuals(x: np.ndarray, scales: list[int]) -> np.ndarray:
    """Baseline: bring each block mean back to the fine grid and sum the squared difference."""
    x = x - x.mean(axis=(1, 2), keepdims=True)
    n, ly, lx = x.shape
    out = np.empty((n, len(scales)))
    for j, b in enumerate(scales):
        means = x.reshape(n, ly // b, b, lx // b, b).mean(axis=(2, 4))
        up = np.repeat(np.repeat(means, b, axis=1), b, axis=2)
        out[:, j] = ((x - up) ** 2).sum(axis=(1, 2))
    return out


def add_at_residuals(z: np.ndarray, member: np.ndarray) -> np.ndarray:
    """Baseline: cluster sums by np.add.at."""
    zc = z - z.mean(axis=0, keepdims=True)
    total = np.square(zc).sum(axis=0)
    out = np.empty((z.shape[1], member.shape[0]))
    for j, m in enumerate(member):
        sums = np.zeros((int(m.max()) + 1, z.shape[1]))
        np.add.at(sums, m, zc)
        counts = np.bincount(m).astype(float)
        nz = counts > 0
        out[:, j] = total - (np.square(sums[nz]) / counts[nz, None]).sum(axis=0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a few seconds)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    quick = args.quick
    rng = np.random.default_rng(0)
    repeat = 2 if quick else 3

    side, n = (64, 50) if quick else (256, 100)
    fields = mk.gaussian_field((side, side), 2.5, n, random_state=0)
    scales = mk.default_scales((side, side))
    ours = mk.block_residuals(fields, scales)[0]
    base = upsample_residuals(fields, scales)
    np.testing.assert_allclose(ours, base, rtol=1e-8)
    ratio_line(
        "ms3d residual",
        best_of(lambda: mk.block_residuals(fields, scales), repeat),
        best_of(lambda: upsample_residuals(fields, scales), repeat),
        f"{n} fields {side}x{side}, b = {scales}",
    )

    units, n_time = (64, 5000) if quick else (160, 20000)
    act = rgdata.as_activity(rng.normal(size=(units, n_time)), kind="continuous")
    res = rgdata.coarse.prg(act, random_state=0)
    member = res["membership"].values[1:-1]
    z = act.values
    np.testing.assert_allclose(
        _tree_residuals(z, member)[0], add_at_residuals(z, member), rtol=1e-8, atol=1e-8
    )
    ratio_line(
        "tree residual",
        best_of(lambda: _tree_residuals(z, member), repeat),
        best_of(lambda: add_at_residuals(z, member), repeat),
        f"{units} units x {n_time} time points, {member.shape[0]} levels",
    )

    max_lag = 256
    series = rng.normal(size=(32, 50000 if quick else 200000)).cumsum(axis=1) * 0.01
    n_t = series.shape[1]
    n_blocks = n_t // (7 * max_lag)
    length = n_t // n_blocks
    ratio_line(
        "autocorrelation",
        best_of(lambda: pooled_rho(block_autocov(series, n_blocks, max_lag), length), repeat),
        best_of(lambda: pooled_rho(block_autocov(series, 1, max_lag), n_t), repeat),
        f"32 series x {n_t} steps, max_lag {max_lag}: {n_blocks} stretches vs 1",
    )

    from rgdata.report import Report
    from rgdata.report.sections import REGISTRY

    data = rgdata.datasets.load_stocks()
    if quick:
        data = data.isel(time=slice(0, 500))
    section = REGISTRY["multiscale"]
    ratio_line(
        "multiscale section",
        best_of(lambda: section.run(Report("b"), data, random_state=0), 1),
        best_of(lambda: rgdata.coarse.prg(data, random_state=0), repeat),
        f"stocks {data.sizes['unit']} units x {data.sizes['time']} days; baseline one prg run",
    )


if __name__ == "__main__":
    main()
