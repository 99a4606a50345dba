"""Held-out one-step skill kernels of the learned dynamics model (bare numpy arrays).

Every level's variables are standardized, its one-step pairs cut into
contiguous held-out time blocks, and squared errors summed per block, so
that the block bootstrap of :func:`rgdata.diagnostics.learned_dynamic_scaling`
only resamples sums. The shared law's errors are tabulated on a grid of
``z`` (:data:`Z_STEP`), its flow on a grid of :data:`N_GRID` values of ``x``.
"""

from __future__ import annotations

import numpy as np

from ._dynamics_mlp import flow_many

__all__ = [
    "Z_STEP",
    "N_GRID",
    "standardize",
    "pairs",
    "blocks",
    "block_sse",
    "grid_sse",
    "argmin_z",
    "shared_sse",
    "z_objective",
    "z_of",
]

#: step of the z grid (refined by a parabola through the minimum)
Z_STEP = 0.05
#: points of the grid on which the shared flow is tabulated for the z search
N_GRID = 401


def standardize(arrays: list[np.ndarray]) -> tuple[list[np.ndarray], list[int]]:
    """Every row z-scored over the whole series (as dynamic_scaling); constant rows left out.

    (Training-part statistics were tried first: with few relaxation times per
    part they offset the slow levels and biased ``z`` upwards.)
    """
    out, dropped = [], []
    for i, a in enumerate(arrays):
        a = np.asarray(a, dtype=np.float64)
        mean = a.mean(axis=1, keepdims=True)
        sd = a.std(axis=1, keepdims=True)
        keep = sd[:, 0] > 0
        if not np.any(keep):
            raise ValueError(
                f"levels[{i}] has no variable that varies in time; the dynamics model needs one"
            )
        dropped.append(int((~keep).sum()))
        out.append(((a - mean) / np.where(sd > 0, sd, 1.0))[keep])
    return out, dropped


def pairs(
    x: np.ndarray, npairs: int, rng: np.random.Generator, resample: int = 0
) -> tuple[np.ndarray, ...]:
    """*npairs* one-step pairs drawn from *x*.

    ``resample = n > 0``: the pairs come from *n* contiguous time parts drawn
    with replacement (one block-bootstrap replicate of the training time).
    """
    t = np.arange(x.shape[1] - 1)
    if resample:
        parts = np.array_split(t, resample)
        t = np.concatenate([parts[k] for k in rng.integers(0, resample, size=resample)])
    x0, x1 = x[:, t].ravel(), x[:, t + 1].ravel()
    pick = np.sort(rng.choice(x0.size, size=npairs, replace=npairs > x0.size))
    return x0[pick], x1[pick]


def blocks(x: np.ndarray, nblocks: int) -> tuple[np.ndarray, np.ndarray]:
    """Held-out one-step pairs cut into contiguous time blocks: ``(unit, block, step)`` each."""
    length = x.shape[1] // nblocks
    blk = x[:, : nblocks * length].reshape(x.shape[0], nblocks, length)
    return blk[..., :-1], blk[..., 1:]


def block_sse(x0: np.ndarray, x1: np.ndarray, pred: np.ndarray) -> np.ndarray:
    return ((x1 - pred) ** 2).sum(axis=(0, 2))


def grid_sse(params: dict, x0: np.ndarray, x1: np.ndarray, horizons: np.ndarray) -> np.ndarray:
    """``(horizon, block)`` squared errors of ``Phi_T``.

    ``Phi_T`` is computed on :data:`N_GRID` points spanning *x0* and
    linearly interpolated (the interpolation weights computed once; tested
    against :func:`flow_map` on the data).
    """
    grid = np.linspace(x0.min() - 1e-9, x0.max() + 1e-9, N_GRID)
    pos = (x0 - grid[0]) / (grid[1] - grid[0])
    idx = np.clip(pos.astype(np.int64), 0, N_GRID - 2)
    w = pos - idx
    out = np.empty((horizons.size, x0.shape[1]))
    phi = flow_many(params, grid, horizons)
    for i in range(horizons.size):
        out[i] = block_sse(x0, x1, phi[i, idx] * (1 - w) + phi[i, idx + 1] * w)
    return out


def argmin_z(objective: np.ndarray, z_grid: np.ndarray) -> np.ndarray:
    """Grid minimum along the last axis, refined by a parabola; NaN at the grid's ends."""
    obj = np.asarray(objective)
    i = np.argmin(obj, axis=-1)
    inner = (i > 0) & (i < z_grid.size - 1)
    j = np.clip(i, 1, z_grid.size - 2)
    lo, mid, hi = (np.take_along_axis(obj, (j + d)[..., None], -1)[..., 0] for d in (-1, 0, 1))
    curv = lo - 2 * mid + hi
    with np.errstate(divide="ignore", invalid="ignore"):
        shift = np.where(curv > 0, 0.5 * (lo - hi) / curv, 0.0)
    return np.where(inner, z_grid[j] + np.clip(shift, -1, 1) * Z_STEP, np.nan)


def shared_sse(params: dict, held: list, s: np.ndarray, z_grid: np.ndarray) -> np.ndarray:
    """``(level, block, z)`` squared errors of the finest level's drift at ``T = (s_1/s_l)^z``."""
    out = np.empty((len(held), held[0][0].shape[1], z_grid.size))
    for lv, (x0, x1) in enumerate(held):
        horizons = (s[0] / s[lv]) ** z_grid
        out[lv] = grid_sse(params, x0, x1, horizons).T
    return out


def z_objective(sse: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """Summed ``1 - skill`` of levels 2.. along the z grid; *sse* ``(..., level, z)``."""
    return (sse[..., 1:, :] / ss[..., 1:, None]).sum(axis=-2)


def z_of(params: dict, held: list, s: np.ndarray, z_grid: np.ndarray) -> float:
    """``z`` of the shared law with the finest-level drift *params* on the held-out pairs."""
    ss = np.array([(x1**2).sum() for _, x1 in held])
    sse = shared_sse(params, held, s, z_grid).sum(axis=1)
    return float(argmin_z(z_objective(sse, ss), z_grid))
