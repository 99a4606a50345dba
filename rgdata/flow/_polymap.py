"""Polynomial flow maps on bare arrays: design matrices, weighted fits, fixed points, Jacobians.

A flow map ``R: R^p -> R^p`` is ``R(x) = phi(x) @ C`` with ``phi(x)`` the
monomials of degree <= 1 (``"linear"``) or <= 2 (``"quadratic"``) and ``C``
of shape ``(n_terms, p)``.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import fsolve

MODELS = ("linear", "quadratic")


def term_pairs(p: int, model: str) -> list[tuple[int, ...]]:
    """Monomials as tuples of parameter indices: () is the constant, (i,) and (i, j)."""
    terms: list[tuple[int, ...]] = [()] + [(i,) for i in range(p)]
    if model == "quadratic":
        terms += list(itertools.combinations_with_replacement(range(p), 2))
    return terms


def term_names(names: list[str], model: str) -> list[str]:
    out = []
    for t in term_pairs(len(names), model):
        out.append("1" if not t else "*".join(names[i] for i in t))
    return out


def design(x: np.ndarray, model: str) -> np.ndarray:
    """Design matrix ``(n, n_terms)`` of the monomials at the rows of ``x`` ``(n, p)``."""
    cols = []
    for t in term_pairs(x.shape[1], model):
        col = np.ones(x.shape[0])
        for i in t:
            col = col * x[:, i]
        cols.append(col)
    return np.column_stack(cols)


def fit_map(x: np.ndarray, y: np.ndarray, sigma_y: np.ndarray | None, model: str) -> np.ndarray:
    """Weighted least squares for each output column: returns ``C`` ``(n_terms, p)``."""
    X = design(x, model)
    C = np.empty((X.shape[1], y.shape[1]))
    for k in range(y.shape[1]):
        w = np.ones(len(y)) if sigma_y is None else 1.0 / sigma_y[:, k]
        C[:, k] = np.linalg.lstsq(X * w[:, None], y[:, k] * w, rcond=None)[0]
    return C


def fit_map_gls(x: np.ndarray, y: np.ndarray, W: np.ndarray, model: str) -> np.ndarray:
    """Generalised least squares: minimise ``r^T W r`` over ``C`` with ``r = vec(y - R(x))``.

    ``r`` is ordered pair-major (pair i, then output k); ``W`` is the inverse
    covariance of ``r``.
    """
    X = design(x, model)
    n, n_terms = X.shape
    p = y.shape[1]
    big = np.zeros((n * p, n_terms * p))
    for k in range(p):
        big[k::p, k * n_terms : (k + 1) * n_terms] = X
    A = big.T @ W @ big
    b = big.T @ W @ y.ravel()
    c = np.linalg.lstsq(A, b, rcond=None)[0]
    return c.reshape(p, n_terms).T


def apply_map(C: np.ndarray, x: np.ndarray, model: str) -> np.ndarray:
    """``R(x)`` for the rows of ``x``."""
    return design(np.atleast_2d(x), model) @ C


def jacobian(C: np.ndarray, x: np.ndarray, model: str) -> np.ndarray:
    """``J[i, k] = d R_i / d x_k`` at the point ``x`` ``(p,)``."""
    p = x.size
    J = np.zeros((p, p))
    for row, t in enumerate(term_pairs(p, model)):
        for k in range(p):
            if len(t) == 1 and t[0] == k:
                J[:, k] += C[row]
            elif len(t) == 2:
                i, j = t
                d = (x[j] if i == k else 0.0) + (x[i] if j == k else 0.0)
                J[:, k] += C[row] * d
    return J


def fixed_points(
    C: np.ndarray,
    model: str,
    lo: np.ndarray,
    hi: np.ndarray,
    starts: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Fixed points ``R(x) = x`` of the map, and whether each is exact (1) or a ghost (0).

    Linear maps: the unique solution of ``(I - B) x = a`` (none if singular).
    One-parameter quadratic maps: the real roots; when they are complex the
    point of closest approach (the vertex of ``R(x) - x``) is returned as a
    ghost of a marginal fixed point. Several parameters, quadratic: Newton
    (fsolve) from a grid of starts in the box ``[lo, hi]`` widened 3x,
    deduplicated (or from *starts* when given, e.g. the nominal fixed points
    when refitting a resample).
    """
    p = C.shape[1]
    if model == "linear":
        a, B = C[0], C[1:]
        M = np.eye(p) - B.T
        if abs(np.linalg.det(M)) < 1e-12 * max(1.0, np.abs(M).max()) ** p:
            return np.empty((0, p)), np.empty(0, dtype=int)
        return np.linalg.solve(M, a)[None, :], np.ones(1, dtype=int)
    if p == 1:
        c0, c1, c2 = C[:, 0]
        if abs(c2) < 1e-14:
            if abs(c1 - 1) < 1e-14:
                return np.empty((0, 1)), np.empty(0, dtype=int)
            return np.array([[c0 / (1 - c1)]]), np.ones(1, dtype=int)
        disc = (c1 - 1) ** 2 - 4 * c2 * c0
        if disc >= 0:
            r = np.sqrt(disc)
            roots = np.sort([(-(c1 - 1) - r) / (2 * c2), (-(c1 - 1) + r) / (2 * c2)])
            return roots[:, None], np.ones(2, dtype=int)
        return np.array([[-(c1 - 1) / (2 * c2)]]), np.zeros(1, dtype=int)
    span = np.maximum(hi - lo, 1e-12)
    box_lo, box_hi = lo - span, hi + span
    if starts is None:
        starts = np.array(
            list(
                itertools.product(
                    *[np.linspace(a, b, 4) for a, b in zip(box_lo, box_hi, strict=True)]
                )
            )
        )
    found: list[np.ndarray] = []
    for s in starts:
        sol, info, ier, _ = fsolve(
            lambda v: apply_map(C, v, model)[0] - v, s, full_output=True, xtol=1e-12
        )
        if ier != 1 or np.any(sol < box_lo - span) or np.any(sol > box_hi + span):
            continue
        if np.max(np.abs(apply_map(C, sol, model)[0] - sol)) > 1e-8 * max(1.0, np.abs(sol).max()):
            continue
        if not any(np.max(np.abs(sol - f) / span) < 1e-6 for f in found):
            found.append(sol)
    if not found:
        return np.empty((0, p)), np.empty(0, dtype=int)
    arr = np.array(found)
    arr = arr[np.lexsort(arr.T[::-1])]
    return arr, np.ones(len(arr), dtype=int)


def sorted_eigenvalues(J: np.ndarray) -> np.ndarray:
    """Eigenvalues sorted by decreasing modulus (then by real part)."""
    ev = np.linalg.eigvals(J)
    return ev[np.lexsort((-ev.real, -np.abs(ev)))]
