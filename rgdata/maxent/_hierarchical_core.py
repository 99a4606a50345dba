"""Shared checks and fibre arithmetic of the hierarchical maximum-entropy solvers.

Validation of coarse-graining maps and level weights, the log-sum-exp over
the fibres of a map, entropies, and the push-forward of a distribution to
every level; used by :mod:`rgdata.maxent.hierarchical` and its closed forms.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_array, describe

__all__ = ["_check_maps", "_check_weights", "_fibre_logsumexp", "_entropy", "_pushforward"]


def _check_maps(maps: Any, n_states: int) -> list[np.ndarray]:
    """Validate coarse-graining maps: integer arrays, level j -> level j+1 states."""
    if isinstance(maps, np.ndarray) and maps.ndim == 1:
        maps = [maps]
    if not isinstance(maps, list | tuple) or len(maps) == 0:
        raise TypeError(
            "maps must be a non-empty list of 1-D integer arrays (map j sends the states of "
            f"level j to states of level j+1), got {describe(maps)}"
        )
    out = []
    size = n_states
    for j, m in enumerate(maps):
        arr = check_array(m, f"maps[{j}]", ndim=1)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"maps[{j}] must hold integers (state labels), got dtype {arr.dtype}")
        if arr.size != size:
            raise ValueError(
                f"maps[{j}] has {arr.size} entries but level {j + 1} has {size} states; "
                "map j needs one target state per state of level j"
            )
        if arr.size and arr.min() < 0:
            raise ValueError(f"maps[{j}] holds negative state labels ({arr.min()})")
        size = int(arr.max()) + 1
        out.append(arr.astype(np.intp))
    return out


def _check_weights(weights: Any, n_levels: int) -> np.ndarray:
    w = check_array(weights, "weights", ndim=1).astype(float)
    if w.size != n_levels:
        raise ValueError(
            f"weights has {w.size} entries; {n_levels} are needed (one per level, len(maps) + 1)"
        )
    if np.any(w < 0) or w[0] <= 0:
        raise ValueError(
            f"weights must be >= 0 with weights[0] > 0 (so every cumulative weight W_j > 0), "
            f"got {w.tolist()}"
        )
    return w


def _fibre_logsumexp(v: np.ndarray, m: np.ndarray, n_next: int) -> np.ndarray:
    """``log sum_{i: m[i] = k} exp(v[i])`` for each target state k (-inf on empty fibres)."""
    top = np.full(n_next, -np.inf)
    np.maximum.at(top, m, v)
    safe = np.where(np.isfinite(top), top, 0.0)
    s = np.bincount(m, weights=np.exp(v - safe[m]), minlength=n_next)
    with np.errstate(divide="ignore"):
        out = safe + np.log(s)
    out[~np.isfinite(top)] = -np.inf
    return out


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def _pushforward(p: np.ndarray, maps: list[np.ndarray]) -> list[np.ndarray]:
    """Marginal distributions of every level from the level-1 distribution."""
    out = [p]
    for m in maps:
        out.append(np.bincount(m, weights=out[-1], minlength=int(m.max()) + 1))
    return out
