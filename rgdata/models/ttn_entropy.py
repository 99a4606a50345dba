"""Entropy each merge keeps: TTN nodes, PRG cluster sums and majority blocks on binary data.

For a coarse variable ``C`` that is a function of its children ``(A, B)``
(the two nodes or cluster sums of the level below, or the four sub-blocks of
a majority block), the **merge entropy fraction** is ``H(C) / H(A, B)``: the
share of the children's information the merge keeps (1: invertible, e.g. a
TTN node at full bond dimension; 0.75 for the sum of two independent fair
bits; 0.25 for a majority block of four independent fair spins with coin
ties). It is per merge (conditional on the level below), like the tree's
``retained_``, not cumulative from the units: a cumulative entropy of ``K``
units needs far more than ``2^K`` samples.

Entropies are plug-in estimates with the Miller-Madow correction
``(m - 1) / (2n)`` (``m`` observed states); a node whose children show more
than ``max_states * n`` distinct joint states is left out (NaN), since the
plug-in estimate is then biased low by far more than the correction.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_random_state, check_real
from ._mps_kernels import feature_map
from .mps import _check_inputs
from .ttn import TreeTensorNetwork

__all__ = ["merge_entropy_retained", "plugin_entropy"]


def plugin_entropy(rows: Any) -> tuple[float, int]:
    """Miller-Madow entropy (nats) of the distinct rows of *rows* ``(n, d)``, and their number.

    Examples
    --------
    >>> h, m = plugin_entropy(np.array([[0, 0], [0, 1], [1, 0], [1, 1]] * 1000))
    >>> round(float(h / np.log(2)), 4), m  # 2 bits + Miller-Madow 3 / (2 * 4000) nats
    (2.0005, 4)
    """
    rows = np.asarray(rows)
    rows = rows.reshape(len(rows), -1)
    _, counts = np.unique(np.round(rows, 9), axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum() + (len(counts) - 1) / (2 * len(rows))), len(counts)


def _ratio(coarse: np.ndarray, children: np.ndarray, limit: float) -> float:
    h_children, m = plugin_entropy(children)
    if m > limit or h_children <= 0:
        return np.nan
    return min(plugin_entropy(coarse)[0] / h_children, 1.0)


def _summary(r: list[float]) -> tuple[float, float, float]:
    a = np.asarray(r, dtype=float)
    ok = a[np.isfinite(a)]
    if ok.size == 0:
        return np.nan, np.nan, 0.0
    se = float(ok.std(ddof=1) / np.sqrt(ok.size)) if ok.size > 1 else np.nan
    return float(ok.mean()), se, ok.size / a.size


def merge_entropy_retained(
    X: Any,
    result: xr.Dataset,
    *,
    bond_dim: int = 2,
    lattice_side: int | None = None,
    max_states: float = 0.1,
    random_state: Any = None,
) -> xr.Dataset:
    """Merge entropy fraction per level: TTN on PRG's tree, PRG sums, majority blocks.

    Parameters
    ----------
    X : array-like, shape (n, N)
        Binary data (0/1; spins as ``(s + 1) / 2``), columns in the order of
        *result*'s ``unit`` coord.
    result : xarray.Dataset
        :func:`rgdata.coarse.prg` on the same data.
    bond_dim : int
        Bond dimension of the tree.
    lattice_side : int, optional
        ``X`` is a raster ``L x L`` lattice: adds majority 2x2 blocks (each
        against its four sub-blocks) at the even levels.
    max_states : float
        Largest number of distinct joint children states, as a fraction of
        the samples, for which a node's entropy is estimated.
    random_state : None, int or numpy.random.Generator
        Seeds the majority rule's tie coins.

    Returns
    -------
    xarray.Dataset
        Dims ``(scheme, level)``: ``entropy_retained`` (mean over nodes),
        ``entropy_retained_se`` (over nodes), ``nodes_used`` (fraction of
        nodes with a reliable estimate). Schemes ``ttn_prg_tree``,
        ``prg_sum`` and, with *lattice_side*, ``majority_block``.
    """
    Xf, _ = _check_inputs(X)
    if not np.all((Xf == 0) | (Xf == 1)):
        raise ValueError("X must be binary (0/1) for the plug-in entropies, got other values")
    frac = check_real(max_states, "max_states", min_value=0.0, max_value=1.0)
    n, N = Xf.shape
    limit = frac * n
    rng = check_random_state(random_state)
    ttn = TreeTensorNetwork(bond_dim=bond_dim, tree=result).fit(Xf)
    n_lev = len(ttn.members_)
    schemes = ["ttn_prg_tree", "prg_sum"]
    if lattice_side is not None:
        L = check_int(lattice_side, "lattice_side", min_value=2)
        if L * L != N:
            raise ValueError(f"lattice_side must satisfy L * L = {N} (X's features), got {L}")
        schemes.append("majority_block")
    out = np.full((3, len(schemes), n_lev), np.nan)
    below_f = feature_map(Xf)
    below_s = Xf.copy()
    for lev in range(1, n_lev + 1):
        left, right = ttn._tree_[lev - 1]
        feats = ttn.transform(Xf, lev)
        sums = Xf[:, ttn.members_[lev - 1]].sum(2)
        t_r, s_r = [], []
        for c in range(len(left)):
            pair_f = np.concatenate([below_f[:, left[c]], below_f[:, right[c]]], axis=1)
            t_r.append(_ratio(feats[:, c], pair_f, limit))
            pair_s = np.stack([below_s[:, left[c]], below_s[:, right[c]]], axis=1)
            s_r.append(_ratio(sums[:, c], pair_s, limit))
        out[:, 0, lev - 1] = _summary(t_r)
        out[:, 1, lev - 1] = _summary(s_r)
        if lattice_side is not None and lev % 2 == 0:
            out[:, 2, lev - 1] = _summary(_majority_ratios(Xf, L, lev // 2, limit, rng))
        below_f, below_s = feats, sums
    levels = np.arange(1, n_lev + 1)
    names = ("entropy_retained", "entropy_retained_se", "nodes_used")
    descriptions = (
        "H(coarse) / H(children), mean over nodes (Miller-Madow plug-in)",
        "standard error over nodes (ignores their correlation)",
        "fraction of nodes with <= max_states * n children states",
    )
    return xr.Dataset(
        {
            name: (("scheme", "level"), out[i], {"units": "1", "description": d})
            for i, (name, d) in enumerate(zip(names, descriptions, strict=True))
        },
        coords={"scheme": schemes, "level": levels, "scale": ("level", 2.0**levels)},
        attrs={"bond_dim": int(bond_dim), "max_states": frac, "n_samples": n},
    )


def _majority_ratios(
    X: np.ndarray, L: int, steps: int, limit: float, rng: np.random.Generator
) -> list[float]:
    """H(block) / H(its four sub-blocks) for the majority blocks after *steps* 2x2 steps."""
    from ..lattice import block_spin_levels

    n = len(X)
    cfg = xr.DataArray((2 * X - 1).reshape(n, L, L).astype(np.int8), dims=("sample", "y", "x"))
    levels = block_spin_levels(cfg, 2, "majority", levels=steps, random_state=rng)
    fine = np.asarray(levels[steps - 1].values)
    coarse = np.asarray(levels[steps].values)
    nb = coarse.shape[1]
    ratios = []
    for y in range(nb):
        for x in range(nb):
            children = fine[:, 2 * y : 2 * y + 2, 2 * x : 2 * x + 2].reshape(n, 4)
            ratios.append(_ratio(coarse[:, y, x], children, limit))
    return ratios
