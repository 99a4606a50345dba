"""Statistics under :func:`rgdata.lattice.mcrg.mcrg`: jackknife block length and the RG matrix.

:func:`_input_tau` gives the integrated autocorrelation time of the input
configurations (from the sampler's attrs, or measured), which sets the
jackknife block length; :func:`_block_stats` accumulates per-block sums and
cross products of the coupling operators at consecutive levels; and
:func:`_eigen_table` solves the chain-rule equations for the linearised RG
matrix truncated to ``k = 1 .. n_operators`` operators and returns its sorted
eigenvalues (the formulas are in the docstring of :mod:`rgdata.lattice.mcrg`).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

from ._autocorr import tau_int_estimate

__all__ = ["JACKKNIFE_BLOCK_TAUS", "_input_tau", "_block_stats", "_eigen_table"]


#: Jackknife blocks must be at least this many tau_int (in samples) long.
JACKKNIFE_BLOCK_TAUS = 5


def _input_tau(config: xr.DataArray) -> tuple[float, str]:
    """tau_int of the configurations in units of samples, and where it came from.

    ``attrs["tau_int_samples"]`` (measured by the sampler on the returned
    series) if finite, else ``attrs["tau_int"] / attrs["spacing"]``, else
    Sokal's windowed estimate on the nearest-neighbour energy series.
    """
    attrs = config.attrs
    tau = float(attrs.get("tau_int_samples", math.nan))
    if np.isfinite(tau) and tau > 0:
        return max(tau, 0.5), "attrs tau_int_samples"
    if "tau_int" in attrs and "spacing" in attrs and float(attrs["spacing"]) > 0:
        tau = float(attrs["tau_int"]) / float(attrs["spacing"])
        if np.isfinite(tau) and tau > 0:
            return max(tau, 0.5), "attrs tau_int / spacing"
    spins = config.values.astype(np.int32)
    energy = sum(
        (spins * np.roll(spins, -1, axis=a)).sum(axis=tuple(range(1, spins.ndim)))
        for a in range(1, spins.ndim)
    )
    return max(tau_int_estimate(energy).tau, 0.5), "estimated from the energy series"


def _block_stats(vals: list[np.ndarray], n_blocks: int):
    """Per-block sums needed for the connected correlations.

    Returns arrays over blocks: counts, sums of each level's values, and the
    cross products S^(n) S^(n-1)^T and S^(n) S^(n)^T for n >= 1.
    """
    n = vals[0].shape[0]
    edges = np.linspace(0, n, n_blocks + 1).astype(int)
    cnt = np.diff(edges).astype(float)
    sums = [np.add.reduceat(v, edges[:-1], axis=0) for v in vals]
    cross, auto = [], []
    for lev in range(1, len(vals)):
        a, b = vals[lev], vals[lev - 1]
        # einsum without BLAS: tiny matrices, and no thread oversubscription
        bounds = list(zip(edges[:-1], edges[1:], strict=True))
        cross.append(np.stack([np.einsum("ij,ik->jk", a[s:e], b[s:e]) for s, e in bounds]))
        auto.append(np.stack([np.einsum("ij,ik->jk", a[s:e], a[s:e]) for s, e in bounds]))
    return cnt, sums, cross, auto


def _eigen_table(cnt, sums, cross, auto, centre: bool, n_ops: int, max_k: list[int]):
    """Sorted eigenvalues (level, k, mode) from pooled sufficient statistics.

    Only the first ``max_k[level]`` operators are used at a level (the others
    wrap around the small blocked lattice); ill-conditioned systems give NaN.
    """
    n = cnt
    n_levels = len(cross)
    out = np.full((n_levels, n_ops, n_ops), np.nan)
    cond = np.full((n_levels, n_ops), np.nan)
    for lev in range(n_levels):
        mean_a = sums[lev + 1] / n
        mean_b = sums[lev] / n
        A = cross[lev] / n
        B = auto[lev] / n
        if centre:
            A = A - np.outer(mean_a, mean_b)
            B = B - np.outer(mean_a, mean_a)
        for k in range(1, max_k[lev] + 1):
            Bk, Ak = B[:k, :k], A[:k, :k]
            c = np.linalg.cond(Bk)
            if not np.isfinite(c) or c > 1e12:
                continue
            T = np.linalg.solve(Bk, Ak)
            ev = np.linalg.eigvals(T)
            ev = ev[np.argsort(-ev.real)]
            out[lev, k - 1, :k] = ev.real
            cond[lev, k - 1] = c
    return out, cond
