"""The Houdayer-Hartmann quality of a data collapse (numpy reference and numba kernel).

Each curve is a scale's points ``(X, Y, dY)`` after rescaling, sorted by
``X``. For every point ``(x_i, y_i, d_i)`` of a curve and every *other*
curve whose ``X`` range contains ``x_i``, the two points of that curve that
bracket ``x_i`` are taken; a weighted straight line (weights ``1/dY^2``)
through all those neighbours is the local master curve, with value ``Y_i``
and variance ``dY_i^2`` at ``x_i``. The quality is

    S = (1 / N) sum_i (y_i - Y_i)^2 / (d_i^2 + dY_i^2),

over the ``N`` points that have neighbours on at least one other curve.
``S ~ 1`` when the curves agree within their errors, ``S >> 1`` for a poor
collapse. The weighted line uses the sums ``K = sum w``, ``Kx = sum w x``,
``Ky``, ``Kxx``, ``Kxy`` and ``Delta = K Kxx - Kx^2``:
``Y = (Kxx Ky - Kx Kxy + x (K Kxy - Kx Ky)) / Delta`` and
``dY^2 = (Kxx - 2 x Kx + x^2 K) / Delta`` (the variance of a weighted
least-squares prediction).

Reference: J. Houdayer and A. K. Hartmann, Phys. Rev. B 70, 014418 (2004),
appendix; written here from that description (the ``fssa`` package that
implements it does not run on numpy 2).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["collapse_quality", "sorted_quality"]


def collapse_quality(
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> tuple[float, int]:
    """Houdayer-Hartmann quality ``S`` and the number of points ``N`` in it.

    Parameters
    ----------
    curves : list of (X, Y, dY)
        One entry per scale, each three 1-D float arrays of one length with
        ``X`` sorted ascending and ``dY > 0``.

    Returns
    -------
    (float, int)
        ``S`` (``inf`` when no point has neighbours on another curve) and
        ``N``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 1, 5)
    >>> same = [(x, x**2, np.full(5, 0.1)), (x + 0.05, (x + 0.05) ** 2, np.full(5, 0.1))]
    >>> s, n = collapse_quality(same)
    >>> n, bool(s < 0.1)
    (8, True)
    """
    total, count = 0.0, 0
    for p, (xp, yp, dp) in enumerate(curves):
        acc = np.zeros((5, xp.size))  # K, Kx, Ky, Kxx, Kxy per point of curve p
        seen = np.zeros(xp.size, dtype=bool)
        for q, (xq, yq, dq) in enumerate(curves):
            if q == p or xq.size < 2:
                continue
            inside = (xp >= xq[0]) & (xp <= xq[-1])
            if not inside.any():
                continue
            j = np.clip(np.searchsorted(xq, xp[inside], side="left"), 1, xq.size - 1)
            for k in (j - 1, j):
                w = 1.0 / dq[k] ** 2
                xk, yk = xq[k], yq[k]
                acc[:, inside] += np.stack([w, w * xk, w * yk, w * xk * xk, w * xk * yk])
            seen |= inside
        if not seen.any():
            continue
        K, Kx, Ky, Kxx, Kxy = acc[:, seen]
        x = xp[seen]
        delta = K * Kxx - Kx * Kx
        ok = delta > 1e-12 * np.maximum(K * Kxx, 1e-300)
        if not ok.any():
            continue
        K, Kx, Ky, Kxx, Kxy, x, delta = (v[ok] for v in (K, Kx, Ky, Kxx, Kxy, x, delta))
        master = (Kxx * Ky - Kx * Kxy + x * (K * Kxy - Kx * Ky)) / delta
        var = (Kxx - 2 * x * Kx + x * x * K) / delta
        y, d = yp[seen][ok], dp[seen][ok]
        total += float(np.sum((y - master) ** 2 / (d * d + np.maximum(var, 0.0))))
        count += int(ok.sum())
    if count == 0:
        return float("inf"), 0
    return total / count, count


@njit(cache=True)
def _quality_kernel(X, Y, D, starts):  # pragma: no cover - compiled
    total = 0.0
    count = 0
    n_curves = starts.size - 1
    for p in range(n_curves):
        for i in range(starts[p], starts[p + 1]):
            x = X[i]
            K = Kx = Ky = Kxx = Kxy = 0.0
            for q in range(n_curves):
                lo, hi = starts[q], starts[q + 1]
                if q == p or hi - lo < 2 or x < X[lo] or x > X[hi - 1]:
                    continue
                j = np.searchsorted(X[lo:hi], x)
                j = min(max(j, 1), hi - lo - 1) + lo
                for k in (j - 1, j):
                    w = 1.0 / (D[k] * D[k])
                    K += w
                    Kx += w * X[k]
                    Ky += w * Y[k]
                    Kxx += w * X[k] * X[k]
                    Kxy += w * X[k] * Y[k]
            if K == 0.0:
                continue
            delta = K * Kxx - Kx * Kx
            if not delta > 1e-12 * K * Kxx:
                continue
            master = (Kxx * Ky - Kx * Kxy + x * (K * Kxy - Kx * Ky)) / delta
            var = max((Kxx - 2 * x * Kx + x * x * K) / delta, 0.0)
            total += (Y[i] - master) ** 2 / (D[i] * D[i] + var)
            count += 1
    return total, count


def sorted_quality(
    X: np.ndarray, Y: np.ndarray, D: np.ndarray, curve: np.ndarray, n_curves: int
) -> tuple[float, int]:
    """:func:`collapse_quality` on flat arrays (compiled; the optimiser's kernel).

    Parameters
    ----------
    X, Y, D : numpy.ndarray
        Rescaled points and their errors (``D > 0``), 1-D float64.
    curve : numpy.ndarray
        Curve index ``0 .. n_curves - 1`` of each point.
    n_curves : int
        Number of curves.

    Returns
    -------
    (float, int)
        ``S`` (``inf`` when no point is compared) and ``N``.
    """
    order = np.lexsort((X, curve))
    starts = np.searchsorted(curve[order], np.arange(n_curves + 1)).astype(np.int64)
    total, count = _quality_kernel(
        np.ascontiguousarray(X[order], dtype=np.float64),
        np.ascontiguousarray(Y[order], dtype=np.float64),
        np.ascontiguousarray(np.abs(D[order]), dtype=np.float64),
        starts,
    )
    if count == 0:
        return float("inf"), 0
    return total / count, int(count)
