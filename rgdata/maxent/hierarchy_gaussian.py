"""Gaussian hierarchical maximum entropy for any linear coarse-graining map, in closed form.

For a quadratic loss ``g_1(x) = x^T K_1 x / 2`` and linear maps
``Y_{j+1} = T_{j+1} Y_j`` (block or cluster sums, decimation, PCA
projections) the RG recursion of :mod:`rgdata.maxent.hierarchical` stays
Gaussian. Integrating ``exp(-g_j / W_j)`` over the fibre ``{T y = z}``
gives a Gaussian in ``z`` of covariance ``W_j T K_j^{-1} T^T``, so

    K_{j+1} = (T_{j+1} K_j^{-1} T_{j+1}^T)^{-1},
    Theta_{j+1} = K_{j+1} / W_{j+1} = (W_j / W_{j+1}) (T Theta_j^{-1} T^T)^{-1}

(``Theta_j`` the precision of the level-j Boltzmann weight; for a
coordinate subset this is the Schur complement of
:func:`rgdata.maxent.quadratic_hierarchy`). The optimal ``P(x)`` has
precision ``K_1 / W_1 - sum_{j>=2} (1/W_{j-1} - 1/W_j) S_j^T K_j S_j`` with
``S_j = T_j ... T_2``: :func:`gaussian_hierarchy`.

**Fit to a covariance.** When the constraints are all second moments of
``X`` (``E x x^T = C``), every level's entropy is at most that of the
Gaussian with covariance ``S_j C S_j^T``, and that one Gaussian attains all
bounds at once, so the constrained optimum is ``N(0, C)`` whatever the
weights; only the multipliers depend on them. Matching the conditionals
``P(y_j | y_{j+1})`` (restrictions of ``K_j / W_j`` and of ``Sigma_j^{-1}``
to each fibre agree up to a function of ``T y``) and the top marginal gives
them top-down (:func:`gaussian_couplings`):

    K_L = W_L Sigma_L^{-1},
    K_j = W_j Sigma_j^{-1} + T_{j+1}^T (K_{j+1} - W_j Sigma_{j+1}^{-1}) T_{j+1},

with ``Sigma_j = S_j C S_j^T``. With ``w = (1, 0, ..., 0)`` this is
``K_1 = C^{-1}``, ordinary maximum entropy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import sparse
from scipy.linalg import lapack

from .._validation import check_array
from ._hierarchical_core import _check_weights

__all__ = ["gaussian_hierarchy", "gaussian_couplings", "gaussian_entropies"]


def as_operator(t: np.ndarray) -> Any:
    """A map as a sparse matrix when mostly zeros (cluster sums, decimation), else dense.

    A cluster-sum map of 1,000 units has 1,000 non-zeros in 500,000 entries:
    sparse products cost ``nnz x n`` instead of ``n^3``.
    """
    return sparse.csr_array(t) if np.count_nonzero(t) < 0.25 * t.size else t


def _check_maps(maps: Any, n: int) -> list[Any]:
    if isinstance(maps, np.ndarray):
        maps = [maps]
    out, size = [], n
    for j, t in enumerate(maps):
        t = check_array(t, f"maps[{j}]", ndim=2).astype(float)
        if t.shape[1] != size:
            raise ValueError(f"maps[{j}] has shape {t.shape}; level {j + 1} has {size} variables")
        out.append(as_operator(t))
        size = t.shape[0]
    return out


def _cumulative(maps: list[Any]) -> list[Any]:
    """``S_j`` for every level (``S_1`` the identity), sparse where the maps are."""
    n = maps[0].shape[1] if maps else 0
    s: list[Any] = [sparse.eye_array(n, format="csr")]
    for t in maps:
        s.append(t @ s[-1])
    return s


def _spd_inverse(a: np.ndarray, name: str) -> np.ndarray:
    """Inverse of a symmetric positive-definite matrix (LAPACK potrf + potri, about n^3 flops)."""
    c, info = lapack.dpotrf(a, lower=1, clean=0)
    if info != 0:
        raise ValueError(f"{name} is not positive definite")
    inv, info = lapack.dpotri(c, lower=1)
    if info != 0:
        raise ValueError(f"{name} is singular")
    low = np.tril(inv)
    return low + np.tril(inv, -1).T


def gaussian_hierarchy(K1: Any, maps: Any, weights: Any) -> dict[str, Any]:
    """Optimal Gaussian of the multilevel objective for ``g_1 = x^T K_1 x / 2``.

    Parameters
    ----------
    K1 : array-like, shape (n, n)
        Symmetric positive-definite loss matrix (``beta A`` of the module docstring).
    maps : list of 2-D arrays
        ``T_{j+1}``, shape ``(n_{j+1}, n_j)``, full row rank.
    weights : array-like, shape (len(maps) + 1,)
        Entropy weights ``w_j`` (``w_1 > 0``, others ``>= 0``).

    Returns
    -------
    dict
        ``couplings`` (list of ``K_j``), ``precisions`` (``K_j / W_j``),
        ``covariance`` (of ``X``), ``level_covariances`` (``S_j Sigma S_j^T``),
        ``cumulative_weights``.

    Examples
    --------
    One coarse level (the sum of two variables), independent unit loss,
    ``w = (1, 1)``: the sum's precision is halved by the weights ratio.

    >>> import numpy as np
    >>> out = gaussian_hierarchy(np.eye(2), [np.ones((1, 2))], [1.0, 1.0])
    >>> out["precisions"][1].round(6)
    array([[0.25]])
    """
    K1 = check_array(K1, "K1", ndim=2).astype(float)
    n = K1.shape[0]
    if K1.shape != (n, n) or not np.allclose(K1, K1.T):
        raise ValueError(f"K1 must be a symmetric square matrix, got shape {K1.shape}")
    maps = _check_maps(maps, n)
    w = _check_weights(weights, len(maps) + 1)
    cum = np.cumsum(w)
    s = _cumulative(maps)
    K1_inv = _spd_inverse(K1, "K1")
    K = [K1]
    for sj in s[1:]:
        K.append(_spd_inverse(sj @ K1_inv @ sj.T, "the level covariance S K1^-1 S^T"))
    M = K1 / cum[0]
    for j in range(1, len(K)):
        M = M - (1.0 / cum[j - 1] - 1.0 / cum[j]) * s[j].T @ K[j] @ s[j]
    cov = _spd_inverse(M, "the precision of P(x)")
    return {
        "couplings": K,
        "precisions": [k / c for k, c in zip(K, cum, strict=True)],
        "covariance": cov,
        "level_covariances": [sj @ cov @ sj.T for sj in s],
        "cumulative_weights": cum,
    }


def gaussian_couplings(covariance: Any, maps: Any, weights: Any) -> list[np.ndarray]:
    """Multipliers ``K_j`` whose optimal Gaussian has the given covariance (closed form).

    Parameters
    ----------
    covariance : array-like, shape (n, n)
        Positive-definite covariance ``C`` of the level-1 variables (the constraints).
    maps, weights
        As in :func:`gaussian_hierarchy`.

    Returns
    -------
    list of ndarray
        ``K_1, ..., K_L``; ``K_1`` holds the multipliers of the second
        moments (``beta`` of ``x_i^2 / 2`` on the diagonal, of ``x_i x_j`` off it).

    Examples
    --------
    >>> import numpy as np
    >>> C = np.array([[1.0, 0.3], [0.3, 1.0]])
    >>> K = gaussian_couplings(C, [np.ones((1, 2))], [1.0, 0.0])
    >>> bool(np.allclose(K[0], np.linalg.inv(C)))
    True
    """
    C = check_array(covariance, "covariance", ndim=2).astype(float)
    n = C.shape[0]
    if C.shape != (n, n) or not np.allclose(C, C.T):
        raise ValueError(f"covariance must be a symmetric square matrix, got shape {C.shape}")
    maps = _check_maps(maps, n)
    w = _check_weights(weights, len(maps) + 1)
    cum = np.cumsum(w)
    s = _cumulative(maps)
    prec = [_spd_inverse(sj @ C @ sj.T, f"the level-{j + 1} covariance") for j, sj in enumerate(s)]
    K = [cum[-1] * prec[-1]]
    for j in range(len(maps) - 1, -1, -1):
        t = maps[j]
        K.insert(0, cum[j] * prec[j] + t.T @ (K[0] - cum[j] * prec[j + 1]) @ t)
    return K


def gaussian_entropies(covariance: Any, maps: Any) -> np.ndarray:
    """Differential entropy (nats) of every level ``S_j X`` of a Gaussian ``X``.

    Parameters
    ----------
    covariance : array-like, shape (n, n)
    maps : list of 2-D arrays

    Returns
    -------
    numpy.ndarray, shape (len(maps) + 1,)

    Examples
    --------
    >>> import numpy as np
    >>> gaussian_entropies(np.eye(1), []).round(4)                 # 0.5 log(2 pi e)
    array([1.4189])
    """
    C = check_array(covariance, "covariance", ndim=2).astype(float)
    maps = _check_maps(maps, C.shape[0])
    out = []
    for sj in _cumulative(maps) if maps else [np.eye(C.shape[0])]:
        cj = sj @ C @ sj.T
        out.append(0.5 * (cj.shape[0] * np.log(2 * np.pi * np.e) + np.linalg.slogdet(cj)[1]))
    return np.array(out)
