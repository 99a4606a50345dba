"""Tree shapes for :class:`~rgdata.models.ttn.TreeTensorNetwork`: which nodes merge at each level.

A tree is a list, one entry per level, of ``(left, right)`` index arrays into
the nodes of the level below (level 0: the input features), plus the input
features each node holds (``members``, ``(n_nodes, 2**level)`` per level, in
the order the pairs were merged). Three shapes: consecutive pairs
``(2i, 2i+1)``, the same on an ``L x L`` lattice put in Z (Morton) order
(every two levels a 2x2 block), and the pairs a PRG result chose by
correlation (its ``membership``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import describe

Tree = list[tuple[np.ndarray, np.ndarray]]


def members_of(tree: Tree, n_features: int, order: np.ndarray | None = None) -> list[np.ndarray]:
    """Input features of every node per level (level 1 first), ``(n_nodes, 2**level)``."""
    nodes = (np.arange(n_features) if order is None else np.asarray(order))[:, None]
    out = []
    for left, right in tree:
        nodes = np.concatenate([nodes[left], nodes[right]], axis=1)
        out.append(nodes)
    return out


def consecutive_tree(n_features: int, n_levels: int) -> Tree:
    """Pairs ``(2i, 2i+1)`` at every level of a ``2**k``-feature input."""
    tree = []
    nodes = n_features
    for _ in range(n_levels):
        idx = np.arange(0, nodes - 1, 2)
        tree.append((idx, idx + 1))
        nodes //= 2
    return tree


def prg_tree(result: Any, n_features: int, n_levels: int | None) -> Tree:
    """The merge tree of a PRG result: node ``c`` at level ``l`` is PRG's cluster ``c``.

    Raises
    ------
    TypeError
        *result* is not an xarray.Dataset.
    ValueError
        It has no ``membership (level, unit)``, another number of units than
        the data's features, more levels requested than it has, or a level
        whose clusters are not two whole clusters of the level below.
    """
    if not isinstance(result, xr.Dataset):
        raise TypeError(
            f"tree must be 'pairs', 'lattice' or a Dataset from rgdata.coarse.prg, "
            f"got {describe(result)}"
        )
    if "membership" not in result.variables:
        raise ValueError(
            "tree Dataset lacks 'membership (level, unit)'; pass the result of rgdata.coarse.prg"
        )
    mem = result["membership"].transpose("level", "unit").values.astype(np.int64)
    if mem.shape[1] != n_features:
        raise ValueError(
            f"tree (a PRG result) has {mem.shape[1]} units but X has {n_features} features "
            "per sample; pass X with the columns in the order of the result's unit coord"
        )
    available = mem.shape[0] - 1
    levels = available if n_levels is None else n_levels
    if levels > available:
        raise ValueError(f"n_levels must be <= {available} (the PRG result's levels), got {levels}")
    if not np.array_equal(mem[0], np.arange(n_features)):
        raise ValueError("tree (a PRG result) must have membership level 0 = 0..n_units-1")
    tree = []
    for lev in range(1, levels + 1):
        n_clusters = int(mem[lev].max()) + 1
        left = np.empty(n_clusters, np.int64)
        right = np.empty(n_clusters, np.int64)
        for c in range(n_clusters):
            units = mem[lev] == c
            children = np.unique(mem[lev - 1][units])
            whole = (
                len(children) == 2
                and children[0] >= 0
                and np.array_equal(units, np.isin(mem[lev - 1], children))
            )
            if not whole:
                raise ValueError(
                    f"tree (a PRG result): cluster {c} at level {lev} is not two whole "
                    f"clusters of level {lev - 1} (children {children.tolist()})"
                )
            left[c], right[c] = children
        tree.append((left, right))
    return tree
