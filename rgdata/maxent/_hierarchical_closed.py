"""Closed-form hierarchical maximum-entropy solutions (quadratic, log and chain losses).

The three closed forms of the recursion in :mod:`rgdata.maxent.hierarchical`
(see its docstring for the derivation): Gaussian hierarchies for quadratic
losses under decimation (:func:`quadratic_hierarchy`, :func:`level_block`),
escort distributions for log losses (:func:`log_loss_hierarchy`), and the
decimated nearest-neighbour Ising chain (:func:`decimation_couplings`,
:func:`chain_decimation_maps`, :func:`chain_energy`). All are re-exported by
:mod:`rgdata.maxent.hierarchical`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, check_int, check_option, check_real, describe
from .._warnings import warn_user
from ._hierarchical_core import _check_maps, _check_weights, _fibre_logsumexp, _pushforward

__all__ = [
    "quadratic_hierarchy",
    "level_block",
    "log_loss_hierarchy",
    "decimation_couplings",
    "chain_decimation_maps",
    "chain_energy",
]


# ----------------------------------------------------------------------------- quadratic losses


def quadratic_hierarchy(A: Any, keeps: Any, weights: Any, beta: float = 1.0) -> xr.Dataset:
    """Closed-form Gaussian solution for a quadratic loss ``f(x) = x^T A x / 2``.

    Level ``j+1`` keeps a subset of the coordinates of level ``j``
    (decimation/marginalisation), so differential entropies obey the chain
    rule and the recursion stays Gaussian.

    Parameters
    ----------
    A : array-like, shape (n, n)
        Symmetric positive-definite loss matrix.
    keeps : list of 1-D int arrays
        ``keeps[j]`` indexes (into the coordinates of level j+1, 0-based list)
        the coordinates kept at the next level.
    weights : array-like, shape (len(keeps) + 1,)
        Entropy weights.
    beta : float
        Loss weight (> 0).

    Returns
    -------
    xarray.Dataset
        Matrices indexed by the original coordinates (dims ``row``, ``col``),
        NaN outside each level's coordinates: ``coupling(level, row, col)``
        ``K_j`` (``g_j = y^T K_j y / 2``; ``K_{j+1}`` is the Schur complement
        of ``K_j``), ``precision`` ``Theta_j = K_j / W_j`` (so
        ``Theta_{j+1} = (W_j / W_{j+1}) Schur(Theta_j)``), ``kept(level, row)``
        (1 for the level's coordinates), ``covariance(row, col)`` of the
        optimal Gaussian ``P(x)``, ``weight`` and ``cumulative_weight``. Use
        :func:`level_block` for one level's compact matrix.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> ds = quadratic_hierarchy(A, [np.array([0])], weights=[1.0, 1.0])
    >>> level_block(ds, "precision", 2).round(4)           # (W_1/W_2) Schur(A / W_1)
    array([[0.875]])
    """
    A = check_array(A, "A", ndim=2).astype(float)
    n = A.shape[0]
    if A.shape != (n, n) or not np.allclose(A, A.T):
        raise ValueError(f"A must be a symmetric square matrix, got shape {A.shape}")
    if np.linalg.eigvalsh(A).min() <= 0:
        raise ValueError("A must be positive definite (the Gaussian must be normalisable)")
    if not isinstance(keeps, list | tuple):
        raise TypeError(f"keeps must be a list of index arrays, got {describe(keeps)}")
    w = _check_weights(weights, len(keeps) + 1)
    beta = check_real(beta, "beta", min_value=0.0, strict_min=True)
    cum = np.cumsum(w)
    coords = [np.arange(n)]
    K = [beta * A]
    for j, keep in enumerate(keeps):
        keep = check_array(keep, f"keeps[{j}]", ndim=1).astype(np.intp)
        size = coords[-1].size
        if keep.size == 0 or np.unique(keep).size != keep.size or keep.min() < 0:
            raise ValueError(f"keeps[{j}] must be distinct non-negative indices, got {keep}")
        if keep.max() >= size:
            raise ValueError(f"keeps[{j}] indexes {keep.max()} but level {j + 1} has {size}")
        drop = np.setdiff1d(np.arange(size), keep)
        Kj = K[-1]
        schur = Kj[np.ix_(keep, keep)]
        if drop.size:
            schur = schur - Kj[np.ix_(keep, drop)] @ np.linalg.solve(
                Kj[np.ix_(drop, drop)], Kj[np.ix_(drop, keep)]
            )
        K.append(schur)
        coords.append(coords[-1][keep])
    # precision of P(x): -log P = g_1/W_1 - sum_{j>=2} g_j (1/W_{j-1} - 1/W_j)
    M = K[0] / cum[0]
    for j in range(1, len(K)):
        idx = coords[j]
        M[np.ix_(idx, idx)] -= K[j] * (1.0 / cum[j - 1] - 1.0 / cum[j])
    cov = np.linalg.inv(M)
    n_lev = len(K)
    coupling = np.full((n_lev, n, n), np.nan)
    kept = np.zeros((n_lev, n), dtype=int)
    for j, (Kj, idx) in enumerate(zip(K, coords, strict=True)):
        coupling[j][np.ix_(idx, idx)] = Kj
        kept[j, idx] = 1
    return xr.Dataset(
        {
            "coupling": (("level", "row", "col"), coupling),
            "precision": (("level", "row", "col"), coupling / cum[:, None, None]),
            "kept": (("level", "row"), kept),
            "covariance": (("row", "col"), cov),
            "weight": ("level", w),
            "cumulative_weight": ("level", cum),
        },
        coords={"level": np.arange(1, n_lev + 1), "row": np.arange(n), "col": np.arange(n)},
        attrs={
            "analysis": "quadratic_hierarchy",
            "beta": beta,
            "method": "closed form: K_{j+1} = Schur complement of K_j; Theta_j = K_j / W_j",
        },
    )


def level_block(result: xr.Dataset, name: str, level: int) -> np.ndarray:
    """The compact matrix of one level from a :func:`quadratic_hierarchy` result.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`quadratic_hierarchy`.
    name : {"coupling", "precision", "covariance"}
        ``"covariance"`` gives the marginal covariance of the level.
    level : int
        1-based level.

    Returns
    -------
    numpy.ndarray
        Rows and columns are the level's coordinates in increasing original index.
    """
    check_option(name, "name", ("coupling", "precision", "covariance"))
    if not isinstance(result, xr.Dataset) or "kept" not in result:
        raise TypeError(f"result must come from quadratic_hierarchy, got {describe(result)}")
    level = check_int(level, "level", min_value=1, max_value=result.sizes["level"])
    idx = np.flatnonzero(result["kept"].values[level - 1])
    mat = result[name].values if name == "covariance" else result[name].values[level - 1]
    return mat[np.ix_(idx, idx)]


# ----------------------------------------------------------------------------- log losses


def log_loss_hierarchy(
    q: Any, maps: Any, weights: Any, beta: float = 1.0, *, rtol: float = 1e-9
) -> xr.Dataset:
    """Closed form for log losses ``f = -log q``: escort conditionals with exponent ``beta / W_j``.

    ``P(y_j | y_{j+1}) ∝ q(y_j | y_{j+1})^{alpha_j}`` and
    ``P(y_L) ∝ q(y_L)^{alpha_L}`` with ``alpha_j = beta / W_j``. This is the
    exact optimum when the conditional Renyi entropy
    ``H_{alpha_j}(Y_j | Y_{j+1} = y)`` is the same for every ``y`` at each
    level; otherwise a warning says so (use :func:`hierarchical_maxent` for the
    exact answer) and ``renyi_spread`` records the largest difference.

    Parameters
    ----------
    q : array-like, shape (n_states,)
        Reference distribution on level-1 states (positive; normalised here).
    maps, weights, beta
        As in :func:`hierarchical_maxent`.
    rtol : float
        Relative tolerance on the Renyi-entropy spread.

    Returns
    -------
    xarray.Dataset
        ``exponent``, ``cumulative_weight``, ``renyi_spread`` (dim ``level``)
        and ``probability`` (dim ``state``); attrs ``exact`` (1 or 0), ``beta``.
    """
    q = check_array(q, "q", ndim=1).astype(float)
    if np.any(q <= 0):
        raise ValueError("q must be strictly positive (a log loss -log q must be finite)")
    q = q / q.sum()
    maps = _check_maps(maps, q.size)
    w = _check_weights(weights, len(maps) + 1)
    beta = check_real(beta, "beta", min_value=0.0, strict_min=True)
    cum = np.cumsum(w)
    alpha = beta / cum
    levels = _pushforward(q, maps)
    spread = np.zeros(len(levels))
    log_p_levels: list[np.ndarray] = []
    top = alpha[-1] * np.log(levels[-1])
    log_p_levels.append(top - np.log(np.sum(np.exp(top - top.max()))) - top.max())
    for j in range(len(maps) - 1, -1, -1):
        m = maps[j]
        cond = levels[j] / levels[j + 1][m]
        lse = _fibre_logsumexp(alpha[j] * np.log(cond), m, levels[j + 1].size)
        log_cond = alpha[j] * np.log(cond) - lse[m]
        if abs(alpha[j] - 1) > 1e-12:
            renyi = lse / (1 - alpha[j])
        else:  # Shannon limit
            renyi = -np.bincount(m, weights=cond * np.log(cond), minlength=lse.size)
        spread[j] = float(renyi.max() - renyi.min())
        log_p_levels.insert(0, log_p_levels[0][m] + log_cond)
    exact = bool(np.all(spread <= rtol * np.maximum(1.0, np.abs(np.log(q.size)))))
    if not exact:
        warn_user(
            "the conditional Renyi entropies differ between fibres (largest spread "
            f"{spread.max():.3g} nats): the escort closed form is not the exact optimum here; "
            "use hierarchical_maxent(-log q, ...) for the exact solution",
            UserWarning,
        )
    return xr.Dataset(
        {
            "exponent": ("level", alpha),
            "cumulative_weight": ("level", cum),
            "renyi_spread": ("level", spread),
            "probability": ("state", np.exp(log_p_levels[0])),
        },
        coords={"level": np.arange(1, len(levels) + 1), "state": np.arange(q.size)},
        attrs={"analysis": "log_loss_hierarchy", "beta": beta, "exact": int(exact)},
    )


# ----------------------------------------------------------------------------- Ising chain


def decimation_couplings(beta: float, weights: Any) -> np.ndarray:
    """Couplings ``K_j`` of the nearest-neighbour chain under decimation by 2.

    For the loss ``f = -sum_i s_i s_{i+1}`` (spins ``+-1``, open chain),
    ``P(y_j | y_{j+1}) ∝ exp(K_j sum_i s_i s_{i+1})`` with ``K_1 = beta / W_1``
    and ``K_{j+1} = (W_j / W_{j+1}) artanh(tanh(K_j)^2)``.

    Parameters
    ----------
    beta : float
        Loss weight (> 0).
    weights : array-like, shape (n_levels,)
        Entropy weights.

    Returns
    -------
    numpy.ndarray, shape (n_levels,)
    """
    beta = check_real(beta, "beta", min_value=0.0, strict_min=True)
    w = check_array(weights, "weights", ndim=1).astype(float)
    w = _check_weights(w, w.size)
    cum = np.cumsum(w)
    K = [beta / cum[0]]
    for j in range(1, w.size):
        K.append(cum[j - 1] / cum[j] * np.arctanh(np.tanh(K[-1]) ** 2))
    return np.array(K)


def chain_decimation_maps(n_levels: int) -> tuple[list[np.ndarray], list[int]]:
    """Decimation maps for an open chain of ``2^(n_levels - 1) + 1`` spins.

    States are integers whose bit ``i`` is spin ``i`` (bit 1 = spin +1);
    each step keeps the even-indexed spins (both ends stay), so the chain
    halves: ``2^m + 1 -> 2^(m-1) + 1 -> ... -> 2``.

    Parameters
    ----------
    n_levels : int
        Number of levels (2 to 5; level 1 has ``2^(n_levels-1)+1`` spins).

    Returns
    -------
    maps : list of ndarray
        Maps for :class:`HierarchicalMaxEnt`.
    sizes : list of int
        Number of spins at each level.
    """
    n_levels = check_int(n_levels, "n_levels", min_value=2, max_value=5)
    sizes = [2 ** (n_levels - 1 - j) + 1 for j in range(n_levels - 1)] + [2]
    maps = []
    for n in sizes[:-1]:
        states = np.arange(2**n)
        out = np.zeros_like(states)
        for new, old in enumerate(range(0, n, 2)):
            out |= ((states >> old) & 1) << new
        maps.append(out)
    return maps, sizes


def chain_energy(n_spins: int) -> np.ndarray:
    """``sum_i s_i s_{i+1}`` of every state of an open chain (bit i = spin i).

    Parameters
    ----------
    n_spins : int

    Returns
    -------
    numpy.ndarray, shape (2**n_spins,)
    """
    n_spins = check_int(n_spins, "n_spins", min_value=2, max_value=20)
    states = np.arange(2**n_spins)
    spins = 2 * ((states[:, None] >> np.arange(n_spins)) & 1) - 1
    return np.sum(spins[:, 1:] * spins[:, :-1], axis=1).astype(float)
