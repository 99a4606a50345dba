"""Tree tensor network as a learned hierarchical coarse-graining (greedy, pairwise isometries).

Each input value ``x`` in [0, 1] becomes the unit vector ``[cos(pi x/2), sin(pi x/2)]``.
Level by level, neighbouring nodes ``(2i, 2i+1)`` are merged: the data's
reduced density matrix of the pair, ``rho = (1/n) sum_n (v_a ⊗ v_b)(v_a ⊗ v_b)^T``,
is diagonalised and its top ``bond_dim`` eigenvectors form the isometry
``U`` (``U^T U = 1``) mapping the pair to one coarse node, ``v' = U^T (v_a ⊗ v_b)``.
The retained fraction ``sum kept eigenvalues / trace rho`` is what the
coarse node keeps of the pair's fidelity (Stoudenmire 2018, "Learning relevant
features of data with multi-scale tensor networks", in its local, greedy form:
each pair's density matrix is that of the data, not of the whole trained tree).
The tree shape is a fixed pairing of consecutive features ``(2i, 2i+1)``,
with ``lattice=True`` the 2x2 blocks of an ``L x L`` lattice (Z order), or
with ``tree=`` a PRG result the pairs PRG chose by correlation (node ``c`` at
level ``l`` merges the same units as PRG's cluster ``c``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int
from ._mps_kernels import feature_map
from ._protocol import RGModel
from ._ttn_tree import consecutive_tree, members_of, prg_tree
from .mps import _check_inputs

__all__ = ["TreeTensorNetwork", "aligned_pair_retained", "z_order"]


def _pairs(v: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Product vectors ``v_left ⊗ v_right`` of the merged nodes: ``(n, pairs, d_l * d_r)``."""
    n = v.shape[0]
    return np.einsum("nia,nib->niab", v[:, left], v[:, right]).reshape(n, len(left), -1)


def z_order(L: int) -> np.ndarray:
    """Raster indices ``y * L + x`` of an ``L x L`` lattice listed in Z (Morton) order.

    Examples
    --------
    >>> z_order(4).tolist()
    [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15]
    """
    y, x = np.divmod(np.arange(L * L), L)
    code = np.zeros(L * L, dtype=np.int64)
    for bit in range(max(1, int(L).bit_length())):
        code |= ((x >> bit) & 1) << (2 * bit)
        code |= ((y >> bit) & 1) << (2 * bit + 1)
    return np.argsort(code, kind="stable")


def aligned_pair_retained(X: Any) -> np.ndarray:
    """Retained fraction of the fixed block-spin isometry onto ``span{|00>, |11>}`` per pair.

    The 2-dimensional subspace a two-site block spin keeps (both down, both
    up), evaluated on the level-1 density matrix of consecutive pairs
    ``(2i, 2i+1)``: the baseline the learned top-2 eigenvectors
    (:class:`TreeTensorNetwork` with ``bond_dim=2``) can only match or beat
    (Ky Fan: the top eigenvectors maximise the kept trace).

    Examples
    --------
    >>> aligned_pair_retained(np.array([[0.0, 0.0, 1.0, 0.0]])).round(12).tolist()
    [1.0, 0.0]
    """
    Xf, _ = _check_inputs(X)
    if Xf.shape[1] % 2:
        raise ValueError(f"X must have an even number of features, got {Xf.shape[1]}")
    v = feature_map(Xf)
    pairs = np.einsum("nia,nib->niab", v[:, 0::2], v[:, 1::2])
    kept = pairs[:, :, 0, 0] ** 2 + pairs[:, :, 1, 1] ** 2
    total = (pairs**2).sum(axis=(2, 3))
    return kept.mean(0) / total.mean(0)


class TreeTensorNetwork(RGModel):
    """Greedy tree tensor network: per level, pairwise isometries from reduced density matrices.

    Parameters
    ----------
    bond_dim : int
        Dimension kept per coarse node (>= 1; 4 keeps everything at the first level).
    n_levels : int or None
        Number of pairings (default: as many as halve the number of nodes to
        1, or all the levels of a PRG *tree*).
    lattice : bool
        Features are a raster-ordered ``L x L`` lattice (``L`` a power of 2):
        they are put in Z (Morton) order first, so that the pairs alternate
        horizontal and vertical and every two levels form 2x2 blocks, the
        tree of block spins.
    tree : xarray.Dataset or None
        A result of :func:`rgdata.coarse.prg` on the same units: the tree
        merges the clusters PRG merged (its ``membership``), so the level-``l``
        node ``c`` holds exactly PRG's level-``l`` cluster ``c``. ``X``'s
        columns must follow the result's ``unit`` coord; any number of
        features (units PRG left out of a level are left out here too).

    Attributes
    ----------
    isometries_ : list of ndarray
        Per level, ``(n_nodes, d_a * d_b, k)`` isometries.
    retained_ : list of ndarray
        Per level, the retained fraction of each pair.
    eigenvalues_ : list of ndarray
        Per level, all eigenvalues of each pair's density matrix (descending).
    members_ : list of ndarray
        Per level, ``(n_nodes, 2**level)``: the input features (columns of
        ``X``) each node holds.

    Examples
    --------
    >>> X = np.random.default_rng(0).uniform(size=(100, 8))
    >>> full = TreeTensorNetwork(bond_dim=4, n_levels=1).fit(X)  # 2 x 2 = 4: nothing dropped
    >>> round(float(full.retained_[0].mean()), 9)
    1.0
    >>> cut = TreeTensorNetwork(bond_dim=2).fit(X)
    >>> len(cut.retained_), bool(cut.retained_[0].mean() < 1)
    (3, True)
    """

    _fitted_attribute = "isometries_"
    _fit_call = "fit(X)"
    has_log_prob = False

    def __init__(
        self,
        bond_dim: int = 2,
        *,
        n_levels: int | None = None,
        lattice: bool = False,
        tree: xr.Dataset | None = None,
    ) -> None:
        self.bond_dim = bond_dim
        self.n_levels = n_levels
        self.lattice = lattice
        self.tree = tree

    def _order(self, N: int) -> np.ndarray:
        """Feature order: identity, or Z order of a raster ``L x L`` lattice."""
        if not self.lattice:
            return np.arange(N)
        L = int(round(np.sqrt(N)))
        if L * L != N or L & (L - 1):
            raise ValueError(
                f"lattice=True needs L x L features with L a power of 2, got {N} features"
            )
        return z_order(L)

    def fit(self, X: Any, y: Any = None) -> TreeTensorNetwork:
        """Learn the isometries level by level from *X* ``(n, N)`` in [0, 1].

        ``N = 2^k`` unless *tree* is a PRG result on ``N`` units.
        """
        self._reset_fit_state()
        k = check_int(self.bond_dim, "bond_dim", min_value=1)
        Xf, _ = _check_inputs(X)
        n, N = Xf.shape
        self._order_, self._tree_ = self._shape(N)
        v = feature_map(Xf[:, self._order_])  # (n, nodes, d)
        isos, kept, eigs = [], [], []
        for left, right in self._tree_:
            pairs = _pairs(v, left, right)
            per_node = pairs.transpose(1, 0, 2)  # (nodes, n, d): batched BLAS products
            rho = np.matmul(per_node.transpose(0, 2, 1), per_node) / n
            w, U = np.linalg.eigh(rho)
            w, U = w[:, ::-1], U[:, :, ::-1]
            keep = min(k, w.shape[1])
            U = U[:, :, :keep]
            total = w.sum(1)
            kept.append(w[:, :keep].sum(1) / total)
            eigs.append(w)
            isos.append(U)
            v = np.matmul(per_node, U).transpose(1, 0, 2)
        self.isometries_ = isos
        self.retained_ = kept
        self.eigenvalues_ = eigs
        self.members_ = members_of(self._tree_, N, self._order_)
        self.n_features_in_ = N
        self.seed_ = 0
        return self

    def _shape(self, N: int) -> tuple[np.ndarray, list]:
        """Feature order and merge tree for ``N`` features."""
        if self.tree is not None:
            if self.lattice:
                raise ValueError("pass either lattice=True or tree= (a PRG result), not both")
            levels = (
                None if self.n_levels is None else check_int(self.n_levels, "n_levels", min_value=1)
            )
            return np.arange(N), prg_tree(self.tree, N, levels)
        depth = int(np.log2(N))
        if 2**depth != N:
            raise ValueError(f"X must have a power of 2 of features per sample, got {N}")
        levels = (
            depth
            if self.n_levels is None
            else check_int(self.n_levels, "n_levels", min_value=1, max_value=depth)
        )
        return self._order(N), consecutive_tree(N, levels)

    def transform(self, X: Any, level: int) -> np.ndarray:
        """Features of *X* at *level* (1 = after the first pairing): ``(n, nodes, k)``."""
        self._check_fitted()
        level = check_int(level, "level", min_value=0, max_value=len(self.isometries_))
        Xf, _ = _check_inputs(X)
        if Xf.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {Xf.shape[1]} features per sample, "
                f"the tree was fitted on {self.n_features_in_}"
            )
        v = feature_map(Xf[:, self._order_])
        for U, (left, right) in zip(self.isometries_[:level], self._tree_, strict=False):
            v = np.matmul(_pairs(v, left, right).transpose(1, 0, 2), U).transpose(1, 0, 2)
        return v

    def to_activity(self, X: Any, level: int) -> xr.DataArray:
        """Level *level*'s features as an Activity: units ``node.component``, time = sample.

        So rgdata's analyses (``rgdata.prg``, the scaling fits) run on a
        level of the tree like on any recording.
        """
        from ..activity import as_activity

        v = self.transform(X, level)
        n, nodes, k = v.shape
        units = [f"{i}.{c}" for i in range(nodes) for c in range(k)]
        return as_activity(
            v.reshape(n, nodes * k).T,
            kind="continuous",
            unit=units,
            source="TreeTensorNetwork",
            allow_constant=True,
            ttn_level=int(level),
        )

    def sample(self, n: int, random_state: Any = None) -> xr.DataArray:
        """Not a generative model: the tree keeps no probabilities of its own.

        Raises
        ------
        NotImplementedError
            Always.
        """
        raise NotImplementedError("TreeTensorNetwork is a coarse-graining, it does not sample")

    def to_dataset(self) -> xr.Dataset:
        """Retained fraction per level and node, and the mean per level."""
        self._check_fitted()
        n_lev = len(self.retained_)
        width = max(len(r) for r in self.retained_)
        ret = np.full((n_lev, width), np.nan)
        for i, r in enumerate(self.retained_):
            ret[i, : len(r)] = r
        return xr.Dataset(
            {
                "retained": (
                    ("level", "node"),
                    ret,
                    {
                        "units": "1",
                        "description": "kept eigenvalue weight of each pair (NaN: no node)",
                    },
                ),
                "retained_mean": (
                    ("level",),
                    np.nanmean(ret, axis=1),
                    {
                        "units": "1",
                        "description": "mean retained fraction over the pairs of a level",
                    },
                ),
            },
            coords={"level": np.arange(1, n_lev + 1)},
            attrs={
                "model": "TreeTensorNetwork",
                "bond_dim": int(self.bond_dim),
                "tree": "prg" if self.tree is not None else "lattice" if self.lattice else "pairs",
            },
        )
