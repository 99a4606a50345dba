"""Rebuild the filtered variables of a :func:`rgdata.coarse.momentum` result at one fraction.

The result stores eigenvalues but no eigenvectors, so the modes are
recomputed from the activity with the same kernels (:func:`standardize`,
:func:`spectrum`), always in float64; the eigenvalues must match the
result's (which also checks that the activity is the result's data). The
filtered variables are ``phi = U_K U_K^T z``, ``z`` the centred (covariance)
or z-scored (correlation) activity and ``U_K`` the ``K`` kept modes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_option
from ..activity import check_activity
from ._momentum_kernels import spectrum, standardize
from .levels import check_level_index, check_same_time, level_attrs, unit_positions

__all__ = ["momentum_level"]

#: eigenvalue agreement (relative to the largest) accepted as round-off, per working dtype
_EIG_TOL = {"float64": 1e-9, "float32": 1e-4}


def _level_fractions(result: xr.Dataset) -> np.ndarray:
    # the kept fractions: the schema's scale coordinate ("fraction" in results made before it)
    return result["scale" if "scale" in result.coords else "fraction"].values


def _level_position(result: xr.Dataset, level: Any) -> int:
    fractions = _level_fractions(result)
    if isinstance(level, float | np.floating):
        hit = np.flatnonzero(np.isclose(fractions, float(level), rtol=1e-12, atol=0.0))
        if hit.size != 1:
            raise ValueError(
                f"level={level} is not one of this result's kept fractions; accepted: an int "
                f"position 0..{fractions.size - 1} or one of {fractions.tolist()}"
            )
        return int(hit[0])
    what = f"levels 0..{fractions.size - 1} (kept fractions {fractions.tolist()}) or one of them"
    return check_level_index(level, fractions.size, what)


def _direction(result: xr.Dataset, direction: str | None) -> str:
    stored = result["direction"].values
    if stored.ndim == 0:
        own = str(stored)
        if direction is not None and direction != own:
            raise ValueError(
                f"direction={direction!r} does not match the result, which was computed with "
                f"direction={own!r}; accepted: None or {own!r}"
            )
        return own
    options = [str(d) for d in stored]
    if direction is None:
        raise ValueError(
            f"this momentum result holds the directions {options}: pass direction= one of them"
        )
    return check_option(direction, "direction", options)


def momentum_level(
    result: xr.Dataset, activity: Any, level: Any, direction: str | None
) -> tuple[np.ndarray, dict[str, Any], dict[str, Any], str]:
    """Values, coords, attrs and kind of the momentum-filtered variables at *level*."""
    act = check_activity(activity, allow_trials=False)
    pos_level = _level_position(result, level)
    direction = _direction(result, direction)
    check_same_time(result, act)
    pos = unit_positions(result, act)
    matrix = str(result.attrs["matrix"])
    z, _ = standardize(act.values[pos], matrix, np.float64)
    spec = spectrum(z)
    expected = np.asarray(result["eigenvalues"].values, dtype=np.float64)
    rank = expected.size
    tol = _EIG_TOL.get(str(result.attrs.get("dtype", "float64")), 1e-4)
    lam = spec.eigenvalues
    scale = float(expected[0]) if rank else 1.0
    if lam.size < rank or not np.allclose(lam[:rank], expected, rtol=tol, atol=tol * scale):
        diff = (
            f"largest difference {np.max(np.abs(lam[:rank] - expected)):.3g}"
            if lam.size >= rank
            else f"{lam.size} non-zero modes, the result has {rank}"
        )
        raise ValueError(
            f"activity is not the data the result came from: its {matrix} eigenvalues differ "
            f"from result['eigenvalues'] beyond round-off ({diff}; tolerance {tol:g} relative "
            "to the largest). Accepted: the activity momentum was run on"
        )
    n_modes = int(result["n_modes"].values[pos_level])
    if n_modes >= rank:
        phi = z  # all non-zero modes: the (centred or z-scored) data themselves
    else:
        if direction == "remove_low":
            u = spec.vectors(n_modes, 0)
        elif rank < spec.rank:  # float64 resolves more modes than the (float32) result did
            u = spec.vectors(rank, 0)[:, rank - n_modes :]
        else:  # the n_modes smallest non-zero modes
            u = spec.vectors(0, n_modes)
        phi = u @ (u.T @ z)
    fraction = float(_level_fractions(result)[pos_level])
    attrs = level_attrs(
        act,
        level=pos_level,
        scale=fraction,
        scale_name="fraction",
        fraction=fraction,
        n_modes=n_modes,
        rank=int(rank),
        direction=direction,
        matrix=matrix,
        variables=(
            f"phi = U_K U_K^T z: the {'z-scored' if matrix == 'correlation' else 'centred'} "
            f"activity projected on the K={n_modes} "
            f"{'largest' if direction == 'remove_low' else 'smallest non-zero'} {matrix} modes"
        ),
        source_analysis=str(result.attrs.get("analysis", "")),
    )
    coords = {"unit": act["unit"].values[pos], "time": act["time"].values}
    return np.ascontiguousarray(phi), coords, attrs, "continuous"
