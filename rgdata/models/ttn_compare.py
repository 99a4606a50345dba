"""What each level of a tree tensor network keeps, next to PRG cluster sums and majority blocks.

**Retained variance** (one definition for every coarse-graining): for a node
(a PRG cluster, a block, a tree node) holding ``K`` input units ``x_i`` and
coarse variables ``F`` (the TTN node's ``bond_dim`` features, the cluster sum,
the block spin), the fraction of the units' total variance that the best
linear readout from ``F`` recovers,

``R = sum_i ||P_F x_i||^2 / sum_i ||x_i||^2``

with ``x_i`` and the columns of ``F`` centred over samples and ``P_F`` the
orthogonal projection onto the span of ``F``. It is 1 when the units can be
read back linearly from the coarse variables, ``1/K`` for a sum of ``K``
independent units of equal variance, and at most the top-``m`` eigenvalue
weight of the units' covariance for ``m`` coarse variables (PCA bound).

**Variance scaling of the tree** (:func:`ttn_variance_scaling`): the TTN
analogue of PRG's cluster-sum variance is the variance of the part of the
cluster sum ``S_c`` that a linear readout of node ``c``'s features keeps,
``var(P_F S_c)``. It never exceeds ``var(S_c)``; with bond dimension large
enough to keep every configuration it equals it, so the exponent ``alpha``
of the tree then equals PRG's on the same clusters (independent units:
``alpha = 1``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_random_state, describe
from ._mps_kernels import feature_map
from .mps import _check_inputs
from .ttn import TreeTensorNetwork

__all__ = ["readout_retained", "compare_retained", "ttn_variance_scaling"]


def _basis(F: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the span of the centred columns of ``F`` ``(n, m)``."""
    F = F - F.mean(0)
    w, V = np.linalg.eigh(F.T @ F)  # Gram matrix: m x m, cheaper than an SVD of F
    keep = w > w.max(initial=0.0) * max(F.shape) * 1e-12
    return (F @ V[:, keep]) / np.sqrt(w[keep])


def readout_retained(X: Any, members: Any, features: Any) -> np.ndarray:
    """Retained variance of each node: fraction of its units' variance a linear readout keeps.

    Parameters
    ----------
    X : array-like, shape (n, N)
        The input units (samples in rows).
    members : array-like of int, shape (n_nodes, K)
        Columns of *X* each node holds.
    features : array-like, shape (n, n_nodes, m)
        The node's coarse variables per sample (``m = 1`` for a sum or a block spin).

    Returns
    -------
    ndarray, shape (n_nodes,)
        ``sum_i ||P_F x_i||^2 / sum_i ||x_i||^2`` (NaN where the units are constant).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 2, (20000, 4)).astype(float)
    >>> sums = X.reshape(-1, 1, 4).sum(2)[:, :, None]  # one cluster of 4 independent units
    >>> round(float(readout_retained(X, [[0, 1, 2, 3]], sums)[0]), 2)  # 1/K
    0.25
    >>> float(readout_retained(X, [[0, 1, 2, 3]], X[:, None, :])[0])  # the units themselves
    1.0
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-d (samples, units), got shape {X.shape}")
    members = np.asarray(members)
    features = np.asarray(features, dtype=float)
    if members.ndim != 2 or not np.issubdtype(members.dtype, np.integer):
        raise ValueError(f"members must be a 2-d integer array, got {describe(members)}")
    if members.size and (members.min() < 0 or members.max() >= X.shape[1]):
        raise ValueError(
            f"members must index the {X.shape[1]} columns of X (0 to {X.shape[1] - 1}), "
            f"got values from {members.min()} to {members.max()}"
        )
    if features.ndim != 3 or features.shape[:2] != (len(X), len(members)):
        raise ValueError(
            f"features must have shape (n, n_nodes, m) = ({len(X)}, {len(members)}, m), "
            f"got {features.shape}"
        )
    out = np.full(len(members), np.nan)
    for j, cols in enumerate(members):
        Y = X[:, cols] - X[:, cols].mean(0)
        total = float(np.sum(Y * Y))
        if total > 0:
            Q = _basis(features[:, j])
            out[j] = min(float(np.sum((Q.T @ Y) ** 2)) / total, 1.0)
    return out


def _mean_se(r: np.ndarray) -> tuple[float, float]:
    r = r[np.isfinite(r)]
    if r.size == 0:
        return np.nan, np.nan
    return float(r.mean()), float(r.std(ddof=1) / np.sqrt(r.size)) if r.size > 1 else np.nan


def _majority(X: np.ndarray, L: int, level: int, rng: np.random.Generator) -> tuple:
    """Majority-rule block spins of 2^(level/2)-sided blocks and the sites each holds."""
    from ..lattice import block_spins

    n = len(X)
    cfg = xr.DataArray((2 * X - 1).reshape(n, L, L).astype(np.int8), dims=("sample", "y", "x"))
    steps = level // 2
    blocks = block_spins(cfg, 2, "majority", levels=steps, random_state=rng).values
    b = 2**steps
    nb = L // b
    by, bx = np.divmod(np.arange(nb * nb), nb)
    dy, dx = np.divmod(np.arange(b * b), b)
    members = (by[:, None] * b + dy[None, :]) * L + bx[:, None] * b + dx[None, :]
    return members, blocks.reshape(n, nb * nb, 1).astype(float)


def compare_retained(
    X: Any,
    result: xr.Dataset,
    *,
    bond_dim: int = 2,
    lattice_side: int | None = None,
    random_state: Any = None,
) -> xr.Dataset:
    """Retained variance per level: TTN on PRG's tree, PRG cluster sums, majority blocks.

    Parameters
    ----------
    X : array-like, shape (n, N)
        Values in [0, 1] (spins as ``(s + 1) / 2``), columns in the order of
        *result*'s ``unit`` coord.
    result : xarray.Dataset
        :func:`rgdata.coarse.prg` on the same data (its clusters and tree).
    bond_dim : int
        Bond dimension of the trees.
    lattice_side : int, optional
        ``X`` is a raster ``L x L`` lattice (``L`` a power of 2): adds the TTN
        on the 2x2-block tree (``lattice=True``) and majority-rule blocks of
        ``2^(l/2)`` sides at the even levels ``l``.
    random_state : None, int or numpy.random.Generator
        Seeds the majority rule's tie-breaking coins.

    Returns
    -------
    xarray.Dataset
        Dims ``(scheme, level)``: ``retained_variance`` (mean over nodes,
        :func:`readout_retained`), ``retained_variance_se`` (standard error
        over nodes, which ignores their correlation), ``ttn_fidelity`` (the
        tree's own kept eigenvalue weight per level, NaN for the others).
        Schemes ``ttn_prg_tree``, ``prg_sum`` and, with *lattice_side*,
        ``ttn_block_tree``, ``majority_block``. Coord ``scale`` = ``2**level``.
    """
    Xf, _ = _check_inputs(X)
    rng = check_random_state(random_state)
    ttn = TreeTensorNetwork(bond_dim=bond_dim, tree=result).fit(Xf)
    n_lev = len(ttn.members_)
    schemes = ["ttn_prg_tree", "prg_sum"]
    if lattice_side is not None:
        L = check_int(lattice_side, "lattice_side", min_value=2)
        if L * L != Xf.shape[1]:
            raise ValueError(
                f"lattice_side must satisfy L * L = {Xf.shape[1]} (X's features), got {L}"
            )
        if not np.all((Xf == 0) | (Xf == 1)):
            raise ValueError(
                "lattice_side needs binary X (spins as (s + 1) / 2) for the majority blocks, "
                "got other values"
            )
        block_ttn = TreeTensorNetwork(bond_dim=bond_dim, lattice=True, n_levels=n_lev).fit(Xf)
        schemes += ["ttn_block_tree", "majority_block"]
    ret = np.full((len(schemes), n_lev), np.nan)
    se = np.full_like(ret, np.nan)
    fid = np.full_like(ret, np.nan)
    for lev in range(1, n_lev + 1):
        mem = ttn.members_[lev - 1]
        rows = {
            "ttn_prg_tree": (mem, ttn.transform(Xf, lev)),
            "prg_sum": (mem, Xf[:, mem].sum(2)[:, :, None]),
        }
        fid[0, lev - 1] = ttn.retained_[lev - 1].mean()
        if lattice_side is not None:
            rows["ttn_block_tree"] = (block_ttn.members_[lev - 1], block_ttn.transform(Xf, lev))
            fid[2, lev - 1] = block_ttn.retained_[lev - 1].mean()
            if lev % 2 == 0:
                rows["majority_block"] = _majority(Xf, L, lev, rng)
        for i, m in enumerate(schemes):
            if m in rows:
                ret[i, lev - 1], se[i, lev - 1] = _mean_se(readout_retained(Xf, *rows[m]))
    levels = np.arange(1, n_lev + 1)
    return xr.Dataset(
        {
            "retained_variance": (
                ("scheme", "level"),
                ret,
                {
                    "units": "1",
                    "description": "fraction of the units' variance a linear "
                    "readout of the coarse variables keeps, mean over nodes",
                },
            ),
            "retained_variance_se": (
                ("scheme", "level"),
                se,
                {
                    "units": "1",
                    "description": "standard error over nodes (ignores their correlation)",
                },
            ),
            "ttn_fidelity": (
                ("scheme", "level"),
                fid,
                {"units": "1", "description": "the tree's kept eigenvalue weight (retained_)"},
            ),
        },
        coords={"scheme": schemes, "level": levels, "scale": ("level", 2.0**levels)},
        attrs={"bond_dim": int(bond_dim), "scale_name": "cluster_size", "n_samples": len(Xf)},
    )


def ttn_variance_scaling(ttn: TreeTensorNetwork, X: Any, result: xr.Dataset) -> xr.Dataset:
    """Cluster-sum variance per level kept by the tree, in PRG's result format.

    Parameters
    ----------
    ttn : TreeTensorNetwork
        Fitted with ``tree=result``.
    X : array-like, shape (n, N)
        The data it was fitted on; rows are *result*'s time points. The
        variances use the result's measured samples (its blocks; with
        ``holdout=True`` the second half), like PRG's.
    result : xarray.Dataset
        The PRG result (its time blocks and ``tau_int`` are reused).

    Returns
    -------
    xarray.Dataset
        Dim ``scheme`` = ``ttn`` (``var(P_F S_c)``, mean over nodes) and
        ``prg_sum`` (``var(S_c)`` of the same clusters from *X*), with
        ``variance (level)``, ``variance_blocks (level, block)``,
        ``cluster_size``, ``n_clusters``, ``tau_int`` and the block coords, so
        that ``rgdata.diagnostics.fit_exponent(ds.sel(scheme="ttn"),
        "variance")`` fits the tree's ``alpha`` like PRG's.
    """
    if not isinstance(ttn, TreeTensorNetwork) or ttn.tree is None:
        raise TypeError(
            f"ttn must be a TreeTensorNetwork fitted with tree= (a PRG result), got {describe(ttn)}"
        )
    ttn._check_fitted()
    Xf, _ = _check_inputs(X)
    n, N = Xf.shape
    if "block_start" not in result.coords:
        raise ValueError("result lacks the block_start coord; pass a result of rgdata.coarse.prg")
    starts = result["block_start"].values.astype(int)
    stops = result["block_stop"].values.astype(int)
    if stops.max() > n:
        raise ValueError(
            f"X has {n} samples but the result's blocks reach sample {stops.max()}; "
            "pass the data the PRG result was computed on (samples in rows)"
        )
    n_lev = len(ttn.members_)
    var = np.full((2, n_lev + 1), np.nan)
    var_b = np.full((2, n_lev + 1, len(starts)), np.nan)
    n_cl = np.zeros(n_lev + 1, int)
    lo, hi = int(starts.min()), int(stops.max())  # the measured samples (holdout: 2nd half)
    for lev in range(n_lev + 1):
        if lev == 0:
            mem = np.arange(N)[:, None]
            F = feature_map(Xf)
        else:
            mem = ttn.members_[lev - 1]
            F = ttn.transform(Xf, lev)
        F = F[lo:hi]
        S = Xf[lo:hi][:, mem].sum(2)
        S = S - S.mean(0)
        kept = np.empty_like(S)
        for j in range(S.shape[1]):
            Q = _basis(F[:, j])
            kept[:, j] = Q @ (Q.T @ S[:, j])
        n_cl[lev] = S.shape[1]
        for i, Z in enumerate((kept, S)):
            var[i, lev] = Z.var(0).mean()
            # PRG's block variance: mean squared deviation from the whole-range mean
            var_b[i, lev] = [
                (Z[a - lo : b - lo] ** 2).mean() for a, b in zip(starts, stops, strict=True)
            ]
    levels = np.arange(n_lev + 1)
    sizes = 2**levels
    data = {
        "variance": (
            ("scheme", "level"),
            var,
            {
                "description": "mean over clusters of the "
                "variance of the cluster sum (ttn: of its linear readout from the node)"
            },
        ),
        "variance_blocks": (("scheme", "level", "block"), var_b),
        "cluster_size": ("level", sizes),
        "n_clusters": ("level", n_cl),
    }
    for name in ("tau_int", "tau_int_lower_bound"):
        if name in result.variables:
            data[name] = ("level", result[name].values[: n_lev + 1])
    return xr.Dataset(
        data,
        coords={
            "scheme": ["ttn", "prg_sum"],
            "level": levels,
            "scale": ("level", sizes.astype(float)),
            "block_start": ("block", starts),
            "block_stop": ("block", stops),
        },
        attrs={
            "bond_dim": int(ttn.bond_dim),
            "scale_name": "cluster_size",
            "tau_int_source": "the PRG result's (its coarse variables, not the tree's)",
        },
    )
