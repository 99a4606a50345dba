"""Plain numpy kernels of the MPS classifier: feature map, contraction, two-site update, SVD split.

Conventions: an MPS of ``N`` sites is a list of tensors ``A[j]`` of shape
``(D_left, 2, D_right)`` (``D_left = 1`` at site 0, ``D_right = 1`` at the
last site); one site, ``label_site``, carries a fourth index, the label:
``(D_left, 2, D_right, n_labels)``. The decision function of an input
``x`` is ``f_l(x) = sum_s W[s, l] prod_j phi(x_j)[s_j]`` with the local
feature map ``phi(x) = [cos(pi x / 2), sin(pi x / 2)]``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "feature_map",
    "contract",
    "dense_weights",
    "split_bond",
    "merge_bond",
]


def feature_map(X: np.ndarray) -> np.ndarray:
    """``(n, N)`` values in [0, 1] -> ``(n, N, 2)`` local features ``[cos, sin](pi x / 2)``.

    Examples
    --------
    >>> feature_map(np.array([[0.0, 1.0]])).round(12).tolist()
    [[[1.0, 0.0], [0.0, 1.0]]]
    """
    angle = 0.5 * np.pi * np.asarray(X, dtype=np.float64)
    return np.stack([np.cos(angle), np.sin(angle)], axis=-1)


def contract(tensors: list[np.ndarray], label_site: int, phi: np.ndarray) -> np.ndarray:
    """Decision function ``(n, n_labels)`` of the MPS on features *phi* ``(n, N, 2)``."""
    n = phi.shape[0]
    env = np.ones((n, 1))
    for j, A in enumerate(tensors):
        if j < label_site:
            env = np.einsum("na,ns,asb->nb", env, phi[:, j], A, optimize=True)
        elif j == label_site:
            env = np.einsum("na,ns,asbl->nbl", env, phi[:, j], A, optimize=True)
        else:
            env = np.einsum("nal,ns,asb->nbl", env, phi[:, j], A, optimize=True)
    return env[:, 0, :]


def dense_weights(tensors: list[np.ndarray], label_site: int) -> np.ndarray:
    """The full weight tensor ``W`` of shape ``(2,) * N + (n_labels,)`` (small ``N`` only)."""
    out = np.ones((1, 1))  # (physical configurations so far, bond)
    label = None
    for j, A in enumerate(tensors):
        if j == label_site:
            # (c, a) x (a, s, b, l) -> (c, s, b, l)
            out = np.einsum("ca,asbl->csbl", out, A)
            label = A.shape[3]
            c, s, b, _ = out.shape
            out = out.reshape(c * s, b, label)
        elif label is None:
            c = out.shape[0]
            out = np.einsum("ca,asb->csb", out, A).reshape(c * 2, -1)
        else:
            c = out.shape[0]
            out = np.einsum("cal,asb->csbl", out, A).reshape(c * 2, -1, label)
    N = len(tensors)
    return out[:, 0, :].reshape((2,) * N + (label,))


def merge_bond(left: np.ndarray, right: np.ndarray, label_on_left: bool) -> np.ndarray:
    """Contract the tensors of sites ``j``, ``j + 1`` into ``B (D_l, 2, 2, D_r, n_labels)``."""
    if label_on_left:
        return np.einsum("asbl,btc->astcl", left, right)
    return np.einsum("asb,btcl->astcl", left, right)


def split_bond(
    B: np.ndarray, chi: int, cutoff: float, move_right: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """SVD-split ``B (D_l, 2, 2, D_r, L)``, keeping at most *chi* singular values.

    Singular values are dropped from the smallest up while the dropped
    relative weight ``sum s_dropped^2 / sum s^2`` stays <= *cutoff* (and
    always beyond *chi*). The label goes to the right tensor when
    *move_right*, else to the left one; the singular values are absorbed on
    the same side as the label.

    Returns
    -------
    left, right : ndarray
        ``(D_l, 2, k[, L])`` and ``(k, 2, D_r[, L])``.
    s : ndarray
        All singular values (descending), before truncation.
    truncation_error : float
        Relative discarded weight ``sum_{i >= k} s_i^2 / sum_i s_i^2``.
    """
    Dl, _, _, Dr, L = B.shape
    if move_right:
        M = B.reshape(Dl * 2, 2 * Dr * L)
    else:
        M = B.transpose(0, 1, 4, 2, 3).reshape(Dl * 2 * L, 2 * Dr)
    U, s, Vh = np.linalg.svd(M, full_matrices=False)
    w = s**2
    total = float(w.sum())
    if total <= 0.0:
        k = 1
    else:
        # tail[i] = relative weight of s[i:], keep the smallest k with tail[k] <= cutoff
        tail = np.concatenate([np.cumsum(w[::-1])[::-1], [0.0]]) / total
        k = int(np.argmax(tail <= cutoff))
        k = max(1, min(chi, k))
    err = float(w[k:].sum() / total) if total > 0 else 0.0
    U, sk, Vh = U[:, :k], s[:k], Vh[:k]
    if move_right:
        left = U.reshape(Dl, 2, k)
        right = (sk[:, None] * Vh).reshape(k, 2, Dr, L)
    else:
        left = (U * sk[None, :]).reshape(Dl, 2, L, k).transpose(0, 1, 3, 2)
        right = Vh.reshape(k, 2, Dr)
    return left, right, s, err
