"""Codings and parameter vectors of pairwise maximum-entropy models (bare numpy).

A model in coding ``c`` ("01": x in {0, 1}; "pm1": x in {-1, +1}) has
``log P(x) = h·x + Σ_{i<j} J_ij x_i x_j + V(K) - log Z`` with ``K`` the
number of units in the "on" state (1 or +1). The parameter vector is
``theta = [h (N), J upper triangle (N(N-1)/2), V(3..N)]``; the count potential
is gauge-fixed by ``V(0) = V(1) = V(2) = 0`` (a constant, a term linear in K
and one in K(K-1)/2 are already a uniform shift of log Z, of h and of J).
Statistics vectors (:func:`stats_vector`) follow the same layout. Samplers
and the enumerator work in 0/1; :func:`params_to01` and
:func:`moments_from01` translate.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_option

CODINGS = ("01", "pm1")


def params_to01(h: np.ndarray, J: np.ndarray, coding: str) -> tuple[np.ndarray, np.ndarray]:
    """Fields and couplings of the same distribution written in the 0/1 coding."""
    if coding == "01":
        return h, J
    return 2.0 * h - 2.0 * J.sum(1), 4.0 * J


def params_from01(h01: np.ndarray, J01: np.ndarray, coding: str) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`params_to01`."""
    if coding == "01":
        return h01, J01
    return 0.5 * h01 + 0.25 * J01.sum(1), 0.25 * J01


def moments_from01(
    mean01: np.ndarray, second01: np.ndarray, coding: str
) -> tuple[np.ndarray, np.ndarray]:
    """Means and second moments (diagonal = <x_i^2>) in *coding* from 0/1 ones."""
    if coding == "01":
        return mean01, second01
    m = 2.0 * mean01 - 1.0
    s = 4.0 * second01 - 2.0 * mean01[:, None] - 2.0 * mean01[None, :] + 1.0
    np.fill_diagonal(s, 1.0)
    return m, s


def means_to01(mean: np.ndarray, coding: str) -> np.ndarray:
    """Means of the "on" state (0/1 coding) from means in *coding*."""
    return mean if coding == "01" else 0.5 * (mean + 1.0)


def to_coding(x: np.ndarray, source: str, target: str) -> np.ndarray:
    """Recode a binary array between 0/1 and -1/+1 (returns float32)."""
    x = x.astype(np.float32)
    if source == target:
        return x
    if target == "pm1":
        return 2.0 * x - 1.0
    return 0.5 * (x + 1.0)


def off_value(coding: str) -> float:
    """The value of the "off" state in *coding* (0 or -1)."""
    return 0.0 if coding == "01" else -1.0


def pack(h: np.ndarray, J: np.ndarray, V: np.ndarray | None) -> np.ndarray:
    iu = np.triu_indices(h.shape[0], 1)
    parts = [h, J[iu]]
    if V is not None:
        parts.append(V[3:])
    return np.concatenate(parts)


def unpack(theta: np.ndarray, n: int, k_potential: bool):
    iu = np.triu_indices(n, 1)
    h = theta[:n].copy()
    J = np.zeros((n, n))
    J[iu] = theta[n : n + len(iu[0])]
    J = J + J.T
    V = None
    if k_potential:
        V = np.zeros(n + 1)
        V[3:] = theta[n + len(iu[0]) :]
    return h, J, V


def stats_vector(mean, second, pk, k_potential: bool) -> np.ndarray:
    iu = np.triu_indices(mean.shape[0], 1)
    parts = [mean, second[iu]]
    if k_potential:
        parts.append(pk[3:])
    return np.concatenate(parts)


def moments01_to(sums01, pairs01, total: float, coding: str):
    """Means and second moments in *coding* from 0/1 sums and upper-triangle pair counts."""
    m01 = sums01 / total
    p = pairs01 / total
    s01 = p + p.T
    np.fill_diagonal(s01, m01)
    return moments_from01(m01, s01, coding)


def convert_pairwise_coding(
    h: Any, J: Any, source: str, target: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rewrite fields and couplings of a pairwise model in another coding.

    The two parametrisations describe exactly the same distribution over
    patterns (x01 = (xpm1 + 1) / 2): ``J01 = 4 Jpm1`` and
    ``h01 = 2 hpm1 - 2 Σ_j Jpm1_ij``. A count potential V(K) is the same in
    both codings.

    Parameters
    ----------
    h : (N,) array-like
    J : (N, N) array-like, symmetric with zero diagonal
    source, target : {"01", "pm1"}

    Returns
    -------
    h, J : numpy arrays in the *target* coding.

    Examples
    --------
    >>> h, J = convert_pairwise_coding([0.0, 0.0], [[0, 1.0], [1.0, 0]], "pm1", "01")
    >>> float(J[0, 1]), float(h[0])
    (4.0, -2.0)
    """
    check_option(source, "source", CODINGS)
    check_option(target, "target", CODINGS)
    h = np.asarray(h, dtype=np.float64)
    J = np.asarray(J, dtype=np.float64)
    if h.ndim != 1 or J.shape != (h.size, h.size):
        raise ValueError(
            f"h must be (N,) and J (N, N); got h of shape {h.shape} and J of shape {J.shape}"
        )
    if not np.allclose(J, J.T) or np.any(np.diag(J) != 0):
        raise ValueError("J must be symmetric with a zero diagonal")
    h01, J01 = params_to01(h, J, source)
    return params_from01(h01, J01, target)
