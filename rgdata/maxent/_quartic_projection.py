"""The momentum-space projection shared by the quartic flow and the quartic field fit.

Both fits need the eigenmodes of the units' correlation matrix and the
projection of the z-scored activity on the top ``k`` of them. They are
computed here with the kernels of :func:`rgdata.coarse.momentum` (and of its
level rebuilder, :func:`rgdata.coarse.coarse_activity`): ``standardize``
(centre and divide by the ``ddof=0`` standard deviation, float64) and
``spectrum`` (one tridiagonal reduction of ``z z^T / T``), so the modes, and
hence the coarse-grained variables, are the ones ``momentum`` uses.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from ..coarse._momentum_kernels import spectrum, standardize

__all__ = ["correlation_modes", "check_momentum_result"]


def correlation_modes(values: np.ndarray, n_top: int | None = None):
    """z-scored data, eigenvalues and eigenvectors of the correlation matrix.

    Parameters
    ----------
    values : numpy.ndarray, shape (N, T)
        Activity values (no constant rows).
    n_top : int, optional
        Number of leading modes whose eigenvectors are needed; default all
        ``N`` (the modes beyond the numerical rank, which has no weight in the
        data, are completed by an orthonormal basis of the null space with
        eigenvalue 0).

    Returns
    -------
    z : numpy.ndarray, shape (N, T)
        The z-scored activity (float64).
    eigenvalues : numpy.ndarray
        Descending eigenvalues, ``N`` of them when *n_top* is None, else ``n_top``.
    vectors : numpy.ndarray
        The matching orthonormal eigenvectors as columns.
    """
    z, _ = standardize(values, "correlation", np.float64)
    spec = spectrum(z)
    n_unit, rank = z.shape[0], spec.rank
    want = n_unit if n_top is None else int(n_top)
    vec = np.ascontiguousarray(spec.vectors(min(want, rank), 0))
    lam = spec.eigenvalues[: min(want, rank)]
    if want > rank:  # modes of zero variance: any orthonormal basis of the complement
        extra = scipy.linalg.null_space(vec.T)[:, : want - rank]
        vec = np.concatenate([vec, extra], axis=1)
        lam = np.concatenate([lam, np.zeros(want - rank)])
    return z, np.asarray(lam, dtype=float), vec


#: eigenvalue agreement (relative to the largest) accepted as round-off, per working dtype
_EIG_TOL = {"float64": 1e-9, "float32": 1e-4}


def check_momentum_result(result, eigenvalues: np.ndarray, n_unit: int, n_time: int):
    """Kept counts and fractions of a :func:`rgdata.coarse.momentum` result for this activity.

    The result must keep the largest modes (``direction="remove_low"``; a
    ``"both"`` result is reduced to it) of the correlation matrix of the same
    data: same number of time points and units, eigenvalues equal to
    *eigenvalues* within round-off.

    Returns
    -------
    n_modes : numpy.ndarray of int
    fractions : numpy.ndarray of float
    """
    if "direction" in result.dims:
        result = result.sel(direction="remove_low")
    direction = str(result["direction"].values) if "direction" in result.coords else ""
    if direction and direction != "remove_low":
        raise ValueError(
            f"fractions is a momentum result that keeps the {direction!r} modes; the RG flow "
            "needs direction='remove_low' (the largest-eigenvalue modes kept) or 'both'"
        )
    matrix = str(result.attrs.get("matrix", "correlation"))
    if matrix != "correlation":
        raise ValueError(
            f"fractions is a momentum result of the {matrix!r} matrix; the quartic flow uses the "
            "modes of the correlation matrix: recompute it with matrix='correlation'"
        )
    their_time = result.attrs.get("n_time")
    if their_time != n_time or result.sizes.get("unit") != n_unit:
        raise ValueError(
            "fractions is a momentum result of other data: it has "
            f"{result.sizes.get('unit')} units and n_time={their_time}, the activity "
            f"{n_unit} units and {n_time} time points; accepted: momentum(activity)"
        )
    expected = np.asarray(result["eigenvalues"].values, dtype=float)
    tol = _EIG_TOL.get(str(result.attrs.get("dtype", "float64")), 1e-4)
    scale = float(expected[0]) if expected.size else 1.0
    ours = eigenvalues[: expected.size]
    if ours.size < expected.size or not np.allclose(ours, expected, rtol=tol, atol=tol * scale):
        raise ValueError(
            "fractions is a momentum result of other data: its eigenvalues differ from the "
            f"activity's correlation eigenvalues beyond round-off (tolerance {tol:g} relative "
            "to the largest); accepted: momentum(activity)"
        )
    return (
        np.asarray(result["n_modes"].values, dtype=int),
        np.asarray(result["fraction"].values, dtype=float),
    )
