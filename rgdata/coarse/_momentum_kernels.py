"""Plain-array numerics under :func:`rgdata.coarse.momentum` (no xarray here).

* :func:`standardize` centres (and for the correlation matrix, z-scores) each row.
* :func:`eigenmodes` diagonalizes the unit-unit covariance once (or the
  time-time Gram matrix when there are fewer samples than units).
* :func:`filtered_moments` streams over time chunks and, for a ladder of
  kept-mode counts, accumulates the second and fourth moments of every
  filtered variable and a pooled histogram of the normalized variables. The
  projections for successive kept counts are built incrementally: the
  projection on the first ``K2`` modes is the projection on the first ``K1``
  plus the contribution of modes ``K1..K2``, so each mode is projected once.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
from numba import njit, prange

__all__ = ["standardize", "eigenmodes", "filtered_moments", "accumulate_chunk"]


def standardize(x: np.ndarray, matrix: str, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """Centre each row of *x* (and divide by its standard deviation for ``"correlation"``).

    Returns ``(z, scale)`` where ``scale`` is the per-row standard deviation
    (``ddof=0``) of the input.
    """
    z = np.array(x, dtype=dtype, copy=True)
    z -= z.mean(axis=1, keepdims=True, dtype=np.float64).astype(dtype)
    scale = np.sqrt(np.mean(np.square(z, dtype=np.float64), axis=1))
    if matrix == "correlation":
        z /= scale[:, None].astype(dtype)
    return z, scale


def eigenmodes(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Eigen-decomposition of ``C = z z^T / T`` restricted to its non-zero modes.

    Parameters
    ----------
    z : ndarray, shape (N, T)
        Centred data.

    Returns
    -------
    eigenvalues : ndarray, shape (r,)
        Descending non-zero eigenvalues (``r`` is the numerical rank).
    vectors : ndarray, shape (N, r)
        Orthonormal eigenvectors, column ``k`` for ``eigenvalues[k]``.
    method : str
        ``"eigh_covariance"`` (``N <= T``: one N x N eigh) or ``"eigh_gram"``
        (``T < N``: the T x T Gram matrix ``z^T z / T`` has the same non-zero
        eigenvalues, and ``u = z v / sqrt(T lambda)`` gives the unit-space
        eigenvectors at a cost of T^3 instead of N^3).
    """
    n, t = z.shape
    eps = np.finfo(z.dtype).eps
    if n <= t:
        # summed over time chunks: OpenBLAS is slow on one very long inner dimension
        c = np.zeros((n, n), dtype=z.dtype)
        step = max(2048, 2**22 // n)
        for start in range(0, t, step):
            zc = z[:, start : start + step]
            c += zc @ zc.T
        c /= t
        # one LAPACK syevd; overwrite_a saves a copy of the N x N matrix
        lam, vec = scipy.linalg.eigh(c, overwrite_a=True, check_finite=False, driver="evd")
        method = "eigh_covariance"
    else:
        g = z.T @ z
        g /= t
        lam, v = scipy.linalg.eigh(g, overwrite_a=True, check_finite=False, driver="evd")
        method = "eigh_gram"
    lam = lam[::-1]
    # at most min(N, T - 1) modes are non-zero (the data are centred); beyond that,
    # exactly collinear units give zero modes that eigh returns at the round-off level,
    # a few eps * lambda_max (a size-dependent factor here would drop genuine small
    # modes in float32, where eps * lambda_max can exceed them for thousands of units)
    tol = max(lam[0], 0.0) * eps * 20
    keep = lam > tol
    keep[min(n, t - 1) :] = False
    lam = lam[keep].astype(np.float64)
    if method == "eigh_covariance":
        vec = np.ascontiguousarray(vec[:, ::-1][:, keep])
    else:
        v = v[:, ::-1][:, keep]
        vec = z @ v
        vec /= np.sqrt(t * lam).astype(z.dtype)[None, :]
        # one re-orthonormalization pass removes the round-off of the division
        vec, r = np.linalg.qr(vec)
        vec *= np.sign(np.diag(r))[None, :]
    return lam, vec, method


@njit(cache=True, parallel=True)
def accumulate_chunk(phi, inv_sd, lo, width, m2, m4, hist):  # pragma: no cover - numba
    """Add one time chunk of filtered variables to the moment sums and histograms.

    ``phi`` is (N, Tc); ``inv_sd`` (N,) is 1/sd of each variable (0 skips the
    variable from the histogram); ``m2``, ``m4`` (N,) and ``hist``
    (N, n_bins + 1) are float64 accumulators, the last histogram column
    counting values outside the range. Rows are processed in parallel.
    """
    n, t = phi.shape
    n_bins = hist.shape[1] - 1
    inv_width = 1.0 / width
    for i in prange(n):
        s2 = 0.0
        s4 = 0.0
        w = inv_sd[i] * inv_width
        shift = -lo * inv_width
        row = hist[i]
        for j in range(t):
            v = np.float64(phi[i, j])
            v2 = v * v
            s2 += v2
            s4 += v2 * v2
            if w > 0.0:
                b = v * w + shift
                if b >= 0.0 and b < n_bins:
                    row[np.int64(b)] += 1.0
                else:
                    row[n_bins] += 1.0
        m2[i] += s2
        m4[i] += s4


def filtered_moments(
    z: np.ndarray,
    vectors: np.ndarray,
    variances: np.ndarray,
    n_kept: np.ndarray,
    edges: np.ndarray,
    *,
    chunk_size: int,
    progress_bar=None,
) -> dict[str, np.ndarray]:
    """Moments and pooled histogram of the data filtered to the first ``K`` modes.

    Parameters
    ----------
    z : ndarray, shape (N, T)
        Centred (or z-scored) data.
    vectors : ndarray, shape (N, r)
        Orthonormal modes, in the order they are *kept* (the first ``K``
        columns span the kept subspace at level ``K``).
    variances : ndarray, shape (L, N)
        Expected variance of each filtered variable at each level (used to
        normalize the histogram before the data are seen); zero marks a
        variable with no weight on the kept modes.
    n_kept : ndarray of int, shape (L,)
        Number of kept modes at each level, strictly increasing. ``K == r``
        uses ``z`` itself (the projection on all non-zero modes is exact).
    edges : ndarray, shape (n_bins + 1,)
        Uniform histogram edges for the normalized variables.
    chunk_size : int
        Time points per chunk (bounds the memory to a few N x chunk arrays).

    Returns
    -------
    dict
        ``m2``, ``m4`` (L, N): time averages of ``phi**2`` and ``phi**4``;
        ``hist`` (L, n_bins): counts; ``outside`` (L,): counts out of range.
    """
    n, t = z.shape
    r = vectors.shape[1]
    n_levels = len(n_kept)
    n_bins = len(edges) - 1
    lo = float(edges[0])
    width = float(edges[1] - edges[0])
    m2 = np.zeros((n_levels, n))
    m4 = np.zeros((n_levels, n))
    hist = np.zeros((n_levels, n, n_bins + 1))
    safe = np.where(variances > 0, variances, 1.0)
    inv_sd = np.where(variances > 0, 1.0 / np.sqrt(safe), 0.0)
    k_proj = int(max([k for k in n_kept if k < r], default=0))
    u_proj = np.ascontiguousarray(vectors[:, :k_proj])
    for start in range(0, t, chunk_size):
        zc = np.ascontiguousarray(z[:, start : start + chunk_size])
        y = u_proj.T @ zc if k_proj else None
        phi = None
        prev = 0
        for level, k in enumerate(n_kept):
            k = int(k)
            if k >= r:
                cur = zc
            else:
                if phi is None:
                    phi = vectors[:, :k] @ y[:k]
                elif k > prev:
                    phi += vectors[:, prev:k] @ y[prev:k]
                prev = k
                cur = phi
            accumulate_chunk(cur, inv_sd[level], lo, width, m2[level], m4[level], hist[level])
            if progress_bar is not None:
                progress_bar.update(1)
    per_unit = hist[:, :, :n_bins]
    return {
        "m2": m2 / t,
        "m4": m4 / t,
        "hist": per_unit.sum(axis=1),
        "outside": hist[:, :, n_bins].sum(axis=1),
    }
