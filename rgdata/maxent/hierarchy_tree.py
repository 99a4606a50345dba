"""Coarse-graining trees for hierarchical maximum-entropy fits: one linear map per level.

A tree is a list of matrices ``T_2, ..., T_L``: ``T_{j+1}`` (shape
``(n_{j+1}, n_j)``) sends the level-j variables to the level-(j+1) ones,
``Y_{j+1} = T_{j+1} Y_j`` with ``Y_1 = X`` the units. Cluster sums (PRG
clusters, lattice block spins as block sums) are 0/1 matrices with one 1 per
column (a partition), decimation keeps rows of the identity, and a PCA
projection is any full-row-rank matrix. :func:`check_tree` turns any of the
accepted forms into this list; :func:`prg_tree`, :func:`block_tree` and
:func:`decimation_tree` build the common ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, check_int, describe

__all__ = ["CoarseTree", "check_tree", "prg_tree", "block_tree", "decimation_tree"]


@dataclass
class CoarseTree:
    """Validated coarse-graining maps.

    Attributes
    ----------
    maps : list of ndarray
        ``maps[j]`` has shape ``(n_{j+2}, n_{j+1})`` (0-based list: ``maps[0]``
        sends level 1 to level 2).
    units : ndarray of int
        Positions (into the activity's units) of the level-1 variables.
    kind : {"partition", "selection", "linear"}
        Cluster sums, decimation (kept coordinates), or a general linear map.
    source : str
        Where the tree came from.
    """

    maps: list[np.ndarray]
    units: np.ndarray
    kind: str
    source: str
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, np.intp))

    @property
    def sizes(self) -> list[int]:
        """Number of variables at each level."""
        return [self.units.size] + [m.shape[0] for m in self.maps]


def _labels_to_matrix(labels: np.ndarray, name: str) -> np.ndarray:
    n_next = int(labels.max()) + 1
    used = np.bincount(labels, minlength=n_next)
    if np.any(used == 0):
        raise ValueError(
            f"{name} leaves cluster(s) {np.flatnonzero(used == 0)[:5].tolist()} empty; labels "
            f"must be 0 .. m-1 with every label used (a partition of the level's variables)"
        )
    mat = np.zeros((n_next, labels.size))
    mat[labels, np.arange(labels.size)] = 1.0
    return mat


def _kind(mat: np.ndarray) -> str:
    binary = np.all((mat == 0) | (mat == 1))
    if binary and np.all(mat.sum(axis=0) == 1):
        return "partition"
    if binary and np.all(mat.sum(axis=1) == 1) and np.all(mat.sum(axis=0) <= 1):
        return "selection"
    return "linear"


def check_tree(tree: Any, n_units: int) -> CoarseTree:
    """Validate a coarse-graining tree for *n_units* level-1 variables.

    Parameters
    ----------
    tree : CoarseTree, xarray.Dataset or list
        A :class:`CoarseTree`; a result of :func:`rgdata.coarse.prg` (see
        :func:`prg_tree`); a list of 1-D integer label arrays (``tree[j][i]``
        the level-(j+2) cluster of level-(j+1) variable ``i``, every label
        ``0 .. m-1`` used); a list of clusters per level (each a list of
        index arrays that together hold every variable of the level below
        exactly once); or a list of 2-D matrices ``T_{j+1}`` of full row rank
        (PCA projections, decimation).
    n_units : int
        Number of level-1 variables.

    Returns
    -------
    CoarseTree

    Examples
    --------
    >>> t = check_tree([[[0, 1], [2, 3]], [[0, 1]]], 4)
    >>> t.sizes, t.kind
    ([4, 2, 1], 'partition')
    """
    if isinstance(tree, CoarseTree):
        if tree.units.size and (tree.units.max() >= n_units or tree.units.min() < 0):
            raise ValueError(
                f"tree uses unit positions up to {tree.units.max()}, but the data have "
                f"{n_units} units"
            )
        return tree
    if isinstance(tree, xr.Dataset):
        return prg_tree(tree)
    if not isinstance(tree, list | tuple) or len(tree) == 0:
        raise TypeError(
            "tree must be a prg result, a CoarseTree, or a non-empty list (per level) of label "
            f"arrays, cluster lists or matrices; got {describe(tree)}"
        )
    maps = []
    size = n_units
    for j, level in enumerate(tree):
        name = f"tree[{j}]"
        if isinstance(level, list | tuple) and level and not np.isscalar(level[0]):
            clusters = [check_array(c, f"{name}[{k}]", ndim=1) for k, c in enumerate(level)]
            if any(c.dtype.kind not in "iu" for c in clusters):
                raise TypeError(f"{name} clusters must hold integer indices")
            flat = np.concatenate(clusters).astype(np.intp)
            counts = np.bincount(flat[(flat >= 0) & (flat < size)], minlength=size)
            if flat.min() < 0 or flat.max() >= size or np.any(counts != 1):
                missing = np.flatnonzero(counts == 0)[:5].tolist()
                repeated = np.flatnonzero(counts > 1)[:5].tolist()
                raise ValueError(
                    f"{name} does not partition the {size} variables of level {j + 1}: every "
                    f"index 0..{size - 1} must appear in exactly one cluster (missing "
                    f"{missing}, repeated {repeated}, out of range "
                    f"{flat[(flat < 0) | (flat >= size)][:5].tolist()})"
                )
            labels = np.empty(size, np.intp)
            for k, c in enumerate(clusters):
                labels[c] = k
            mat = _labels_to_matrix(labels, name)
        else:
            arr = check_array(level, name, ndim=(1, 2))
            if arr.ndim == 1:
                if arr.dtype.kind not in "iu":
                    raise TypeError(f"{name} labels must be integers, got dtype {arr.dtype}")
                if arr.size != size or (arr.size and arr.min() < 0):
                    raise ValueError(
                        f"{name} must give a cluster label >= 0 to each of the {size} variables "
                        f"of level {j + 1}; got {arr.size} labels (min {arr.min()})"
                    )
                mat = _labels_to_matrix(arr.astype(np.intp), name)
            else:
                mat = arr.astype(float)
                if mat.shape[1] != size or mat.shape[0] >= size:
                    raise ValueError(
                        f"{name} has shape {mat.shape}; a map of level {j + 1} ({size} "
                        f"variables) must have shape (m, {size}) with m < {size}"
                    )
                if np.linalg.matrix_rank(mat) < mat.shape[0]:
                    raise ValueError(f"{name} must have full row rank ({mat.shape[0]})")
        maps.append(mat)
        size = mat.shape[0]
    kinds = {_kind(m) for m in maps}
    kind = kinds.pop() if len(kinds) == 1 else "linear"
    return CoarseTree(maps, np.arange(n_units), kind, "user")


#: with max_level="auto", the largest fraction of units a level may leave out
AUTO_MAX_LEFT_OUT = 0.25


def prg_tree(result: xr.Dataset, max_level: int | str | None = None) -> CoarseTree:
    """The cluster-sum tree of a :func:`rgdata.coarse.prg` result.

    Level ``j+1`` of the hierarchy is PRG level ``j`` (level 1: the units;
    level 2: pairs, ...). Units that PRG left out at the deepest level used
    are dropped (listed in ``dropped``), so the tree partitions the rest.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`rgdata.coarse.prg` (needs ``membership``).
    max_level : int or "auto", optional
        Deepest PRG level to use (default: all). ``"auto"``: the deepest level
        that keeps every unit, or, when that gives fewer than 4 levels of
        the hierarchy, the deepest one that leaves out at most
        ``AUTO_MAX_LEFT_OUT`` (a quarter) of the units.

    Returns
    -------
    CoarseTree
        ``units`` are positions into the result's ``unit`` coord.
    """
    if not isinstance(result, xr.Dataset) or "membership" not in result:
        raise TypeError(f"result must be an rgdata.coarse.prg result, got {describe(result)}")
    memb = np.asarray(result["membership"].values, dtype=np.int64)
    n_prg = memb.shape[0] - 1
    if max_level == "auto":
        left = (memb < 0).mean(axis=1)
        max_level = int(np.flatnonzero(left == 0).max())
        if max_level < 3:
            max_level = int(np.flatnonzero(left <= AUTO_MAX_LEFT_OUT).max())
        max_level = max(max_level, 1)
    elif max_level is None:
        max_level = n_prg
    else:
        max_level = check_int(max_level, "max_level", min_value=1)
    if max_level > n_prg:
        raise ValueError(f"max_level must be <= {n_prg} (the result's deepest level)")
    units = np.flatnonzero(memb[max_level] >= 0)
    dropped = np.flatnonzero(memb[max_level] < 0)
    maps = []
    prev = np.arange(units.size)
    for lev in range(1, max_level + 1):
        _, cur = np.unique(memb[lev, units], return_inverse=True)
        n_prev, n_cur = prev.max() + 1, cur.max() + 1
        mat = np.zeros((n_cur, n_prev))
        mat[cur, prev] = 1.0
        if np.any(mat.sum(axis=0) != 1):
            raise ValueError(f"result's membership is not a merge tree at level {lev}")
        maps.append(mat)
        prev = cur
    return CoarseTree(maps, units, "partition", "prg", dropped)


def block_tree(shape: Any, block: int = 2, n_levels: int | None = None) -> CoarseTree:
    """Block-sum tree of a lattice whose sites are the units in row-major order.

    Parameters
    ----------
    shape : tuple of int
        Lattice shape, e.g. ``(L, L)``; each side divisible by ``block**(n_levels-1)``.
    block : int
        Block side.
    n_levels : int, optional
        Levels including the sites (default: until one block remains).

    Returns
    -------
    CoarseTree

    Examples
    --------
    >>> block_tree((4, 4)).sizes
    [16, 4, 1]
    """
    shape = tuple(check_int(s, "shape", min_value=1) for s in shape)
    block = check_int(block, "block", min_value=2)
    if n_levels is None:
        n_levels = 1
        while all(s % block**n_levels == 0 for s in shape):
            n_levels += 1
    n_levels = check_int(n_levels, "n_levels", min_value=2)
    if any(s % block ** (n_levels - 1) for s in shape):
        raise ValueError(f"shape {shape} is not divisible by block**(n_levels-1)")
    maps = []
    cur = shape
    for _ in range(n_levels - 1):
        idx = np.indices(cur).reshape(len(cur), -1)
        nxt = tuple(s // block for s in cur)
        labels = np.ravel_multi_index(tuple(i // block for i in idx), nxt)
        maps.append(_labels_to_matrix(labels, "block"))
        cur = nxt
    return CoarseTree(maps, np.arange(int(np.prod(shape))), "partition", "block")


def decimation_tree(n_units: int, n_levels: int) -> CoarseTree:
    """Decimation of an open chain: each level keeps the even-indexed variables.

    Parameters
    ----------
    n_units : int
        Chain length.
    n_levels : int
        Levels including the chain (each halves it, rounding up).

    Returns
    -------
    CoarseTree

    Examples
    --------
    >>> decimation_tree(5, 3).sizes
    [5, 3, 2]
    """
    n_units = check_int(n_units, "n_units", min_value=2)
    n_levels = check_int(n_levels, "n_levels", min_value=2)
    maps, size = [], n_units
    for _ in range(n_levels - 1):
        keep = np.arange(0, size, 2)
        if keep.size >= size or keep.size < 1:
            raise ValueError(f"n_levels={n_levels} decimates a chain of {n_units} to nothing")
        maps.append(np.eye(size)[keep])
        size = keep.size
    return CoarseTree(maps, np.arange(n_units), "selection", "decimation")
