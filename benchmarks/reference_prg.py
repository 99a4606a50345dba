"""Straightforward reference for real-space PRG clustering (as published scripts do it).

At every level: the full correlation matrix (``numpy.corrcoef``, float64),
then for each pair a fresh ``argmax`` over the whole masked matrix, the two
winners' rows and columns removed; sum the pairs, renormalize (mean non-zero
value 1), repeat. Cubic in the number of units per level. Used by
``bench_prg.py`` as the baseline and as an independent check of the clusters.
"""

from __future__ import annotations

import numpy as np


def reference_pairs(corr: np.ndarray, decimals: int | None = None) -> np.ndarray:
    """Greedy pairs by repeated full argmax (ties: first in row-major order).

    *decimals* rounds the correlations first (as ``prg`` does, so that exact
    ties of binary data are ordered the same way).
    """
    c = np.array(corr, dtype=np.float64)
    if decimals is not None:
        c = np.round(c, decimals)
    n = c.shape[0]
    c[np.tril_indices(n)] = -np.inf
    pairs = []
    for _ in range(n // 2):
        i, j = np.unravel_index(int(np.argmax(c)), c.shape)
        pairs.append((i, j))
        c[[i, j], :] = -np.inf
        c[:, [i, j]] = -np.inf
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _nonzero_mean_normalize(s: np.ndarray) -> np.ndarray:
    out = np.empty(s.shape, dtype=np.float64)
    for i, row in enumerate(s):
        nz = row[row != 0]
        out[i] = row / (nz.mean() if nz.size else 1.0)
    return out


def reference_prg_clusters(x: np.ndarray, n_levels: int) -> list[np.ndarray]:
    """Cluster membership lists ``[(n_clusters, K) arrays]`` for levels 0..n_levels."""
    y = _nonzero_mean_normalize(np.asarray(x, dtype=np.float64))
    clusters = [np.arange(x.shape[0])[:, None]]
    for _ in range(n_levels):
        pairs = reference_pairs(np.corrcoef(y), decimals=12)
        a, b = pairs[:, 0], pairs[:, 1]
        clusters.append(np.concatenate([clusters[-1][a], clusters[-1][b]], axis=1))
        y = _nonzero_mean_normalize(y[a] + y[b])
    return clusters
