"""Scaling collapse: the exponents with which curves y(x; L) fall onto one curve.

:func:`scaling_collapse` takes points ``(x, y, dy)`` of curves indexed by a
scale ``L`` (lattice size, cluster size, block size) and finds the
parameters that make the rescaled curves collapse, by minimising the
Houdayer-Hartmann quality ``S`` (the reduced chi^2 of each point against the
local master curve of the other scales, see
:func:`~rgdata.diagnostics._collapse_quality.collapse_quality`) with
scipy's Nelder-Mead. The default rescaling is the finite-size-scaling form

    X = (x - x_c) L^b,    Y = y L^(-a),    dY = dy L^(-a),

(``b = 1/nu``; ``a = gamma/nu`` for a susceptibility, 0 for a Binder
cumulant); any other rescaling is a user function ``transform(x, y, dy,
scale, params) -> (X, Y, dY)``.

Confidence intervals come from a parametric bootstrap over the data points'
errors: each replica redraws every ``y`` as ``y + dy * N(0, 1)``, the
minimisation is repeated from the best fit, and the interval is the central
percentile range of the replicas. When the collapse is worse than the errors
allow (``S > 1``) the redraws use the errors times ``sqrt(S)`` (the Birge
ratio, as fits scale their errors by ``sqrt(chi2/dof)``). Coverage on planted data is measured in
``tests/slow/test_collapse_coverage.py`` (see ``docs/similarity.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._progress import progress_bar
from .._validation import check_array, check_int, check_random_state, check_real, describe
from .._warnings import warn_user
from ._collapse_quality import sorted_quality

__all__ = ["scaling_collapse", "POWER_PARAMETERS"]

#: parameters of the default rescaling, in order
POWER_PARAMETERS = ("x_c", "b", "a")
_MIN_SCALES = 3


def _as_points(x: Any, y: Any, dy: Any, scale: Any) -> tuple[np.ndarray, ...]:
    """Flatten the input to four 1-D arrays of one length (long format)."""
    ya = check_array(y, "y", ndim=(1, 2), finite=False).astype(float)
    sa = check_array(scale, "scale", ndim=1).astype(float)
    xa = check_array(x, "x", ndim=(1, 2), finite=False).astype(float)
    da = check_array(dy, "dy", ndim=(1, 2), finite=False).astype(float)
    if ya.ndim == 2:
        if sa.size != ya.shape[0]:
            raise ValueError(
                f"scale has {sa.size} values but y has {ya.shape[0]} rows (curves); "
                "accepted: one scale per row of a 2-D y, or one per point of a 1-D y"
            )
        if xa.ndim == 1 and xa.size == ya.shape[1]:
            xa = np.broadcast_to(xa, ya.shape)
        if da.ndim == 0 or da.size == 1:
            da = np.full(ya.shape, float(da.ravel()[0]))
        sa = np.broadcast_to(sa[:, None], ya.shape)
    for name, arr in (("x", xa), ("dy", da), ("scale", sa)):
        if arr.shape != ya.shape:
            raise ValueError(
                f"{name} has shape {arr.shape} but y has shape {ya.shape}; accepted: equal "
                "shapes, or for a 2-D y a 1-D x over its columns and one scale per row"
            )
    return xa.ravel(), ya.ravel(), da.ravel(), sa.ravel()


def _power_transform(x, y, dy, scale, params):
    x_c, b, a = params
    f = scale ** (-a)
    return (x - x_c) * scale**b, y * f, dy * f


class _Objective:
    """Quality as a function of the free parameters (fixed ones filled in)."""

    def __init__(self, transform, x, y, dy, scale, curve, full, free):
        self.transform, self.x, self.y, self.dy, self.scale = transform, x, y, dy, scale
        self.curve, self.full, self.free = curve, np.asarray(full, float), free
        self.n_curves = int(curve.max()) + 1

    def params(self, theta: np.ndarray) -> np.ndarray:
        p = self.full.copy()
        p[self.free] = theta
        return p

    def evaluate(self, theta: np.ndarray, y: np.ndarray | None = None) -> tuple[float, int]:
        y = self.y if y is None else y
        with np.errstate(all="ignore"):
            X, Y, dY = (
                np.asarray(v, float)
                for v in self.transform(self.x, y, self.dy, self.scale, self.params(theta))
            )
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(Y)) and np.all(dY != 0)):
            return float("inf"), 0
        return sorted_quality(X, Y, dY, self.curve, self.n_curves)

    def __call__(self, theta: np.ndarray, y: np.ndarray | None = None) -> float:
        return self.evaluate(theta, y)[0]


def _minimise(obj: _Objective, start: np.ndarray, step: np.ndarray, y=None) -> np.ndarray:
    simplex = np.vstack(
        [start] + [start + np.eye(start.size)[i] * step[i] for i in range(start.size)]
    )
    from scipy import optimize  # here: scipy.optimize loads scipy.stats

    res = optimize.minimize(
        obj,
        start,
        args=(y,),
        method="Nelder-Mead",
        options={
            "initial_simplex": simplex,
            "xatol": 1e-6 * np.max(np.abs(step)),
            "fatol": 1e-9,
            "maxiter": 400 * start.size,
        },
    )
    return np.asarray(res.x, float)


def scaling_collapse(
    x: Any,
    y: Any,
    dy: Any,
    scale: Any,
    *,
    initial: dict[str, float] | Sequence[float] | None = None,
    fixed: Sequence[str] = (),
    transform: Callable[..., tuple[Any, Any, Any]] | None = None,
    parameter_names: Sequence[str] | None = None,
    step: dict[str, float] | Sequence[float] | None = None,
    n_boot: int = 200,
    ci: float = 0.95,
    random_state: Any = 0,
    progress: bool = False,
) -> xr.Dataset:
    """Find the exponents that collapse curves ``y(x; L)`` onto one curve.

    Parameters
    ----------
    x, y, dy : array-like
        The points and the standard errors of ``y`` (all ``> 0``). Either
        1-D arrays of one length with *scale* giving each point's scale
        (long format), or 2-D ``(n_scales, n_x)`` arrays (``x`` may be 1-D
        over the columns) with one *scale* per row. Points with a NaN in
        ``x``, ``y`` or ``dy`` are left out (warned, counted in
        ``n_dropped``).
    scale : array-like
        The scale ``L`` of each curve or point (positive); at least three
        distinct scales.
    initial : dict or sequence of float, optional
        Starting parameters. For the default rescaling the names are
        ``x_c``, ``b``, ``a`` (defaults 0, 1, 0); a user *transform* needs
        them all.
    fixed : sequence of str
        Parameters held at their *initial* value (e.g. ``("a",)`` for a
        Binder cumulant, ``("x_c", "a")`` when only ``b`` is sought).
    transform : callable, optional
        ``transform(x, y, dy, scale, params) -> (X, Y, dY)`` on 1-D arrays,
        ``params`` a float array in the order of *parameter_names*. Default:
        ``X = (x - x_c) L^b``, ``Y = y L^-a``, ``dY = dy L^-a``.
    parameter_names : sequence of str, optional
        Names of the parameters of *transform* (required with it).
    step : dict or sequence of float, optional
        Initial simplex step of each free parameter (default ``0.1 *
        max(|initial|, 1)``; give a step on the scale of the expected
        uncertainty for ``x_c`` when ``x`` is far from 1).
    n_boot : int
        Bootstrap replicas for the interval (0: no interval, NaN bounds).
    ci : float
        Confidence level of the percentile interval.
    random_state : None, int or numpy.random.Generator
        Seeds the bootstrap.
    progress : bool
        Progress bar over the replicas.

    Returns
    -------
    xarray.Dataset
        On dim ``parameter``: ``value``, ``ci_low``, ``ci_high``,
        ``boot_sd`` (sd of the replicas), ``fixed`` (bool); scalars
        ``quality`` (S at the optimum), ``quality_initial``, ``n_points``
        (points used), ``n_terms`` (points compared in S), ``n_scales``,
        ``n_dropped``, ``n_boot``, ``n_boot_failed``, ``ci_level``,
        ``ci_scale`` (``max(1, sqrt(quality))``: the bootstrap redraws the
        points with their errors times this factor, so a collapse worse than
        the error bars allow gets a proportionally wider interval);
        ``boot_value (boot, parameter)``; the collapsed points
        ``x_scaled``, ``y_scaled``, ``dy_scaled``, ``point_scale`` on dim
        ``point``. attrs ``method``, ``ci_method``, ``transform``.

    Raises
    ------
    ValueError
        Fewer than three scales, a curve with fewer than two points,
        ``dy <= 0``, or curves whose rescaled ranges do not overlap at the
        initial parameters.

    Examples
    --------
    >>> import numpy as np
    >>> L = np.array([8.0, 16.0, 32.0])
    >>> x = np.linspace(-0.2, 0.2, 41)
    >>> y = L[:, None] ** 0.5 * np.tanh(x[None, :] * L[:, None] ** 0.7)
    >>> res = scaling_collapse(x, y, 0.01 * np.ones_like(y), L, initial={"b": 0.6, "a": 0.4},
    ...                        fixed=("x_c",), n_boot=0)
    >>> [round(float(v), 2) for v in res["value"].sel(parameter=["b", "a"])]
    [0.7, 0.5]
    """
    xs, ys, ds, ss = _as_points(x, y, dy, scale)
    bad = ~(np.isfinite(xs) & np.isfinite(ys) & np.isfinite(ds))
    n_dropped = int(bad.sum())
    if n_dropped:
        warn_user(
            f"scaling_collapse: {n_dropped} point(s) with NaN/inf in x, y or dy left out "
            "(n_dropped)"
        )
        xs, ys, ds, ss = xs[~bad], ys[~bad], ds[~bad], ss[~bad]
    if np.any(ds <= 0):
        raise ValueError(
            f"dy must be > 0 for every point (the quality divides by it), got "
            f"{int(np.sum(ds <= 0))} value(s) <= 0 (smallest {ds.min():g})"
        )
    if np.any(ss <= 0):
        raise ValueError(f"scale must be > 0, got smallest {ss.min():g}")
    levels = np.unique(ss)
    if levels.size < _MIN_SCALES:
        raise ValueError(
            f"scale has {levels.size} distinct value(s) {levels.tolist()}; a collapse needs "
            f"at least {_MIN_SCALES} scales (curves)"
        )
    curve = np.searchsorted(levels, ss)
    counts = np.bincount(curve, minlength=levels.size)
    short = [float(v) for v, c in zip(levels, counts, strict=True) if c < 2]
    if short:
        raise ValueError(f"the curves at scale {short} have fewer than 2 points; need at least 2")

    if transform is None:
        names = list(POWER_PARAMETERS)
        defaults = {"x_c": 0.0, "b": 1.0, "a": 0.0}
        transform_name = "power: X = (x - x_c) L^b, Y = y L^-a, dY = dy L^-a"
        fn = _power_transform
    else:
        if not callable(transform):
            raise TypeError(f"transform must be callable, got {describe(transform)}")
        if parameter_names is None or isinstance(parameter_names, str) or not parameter_names:
            raise ValueError(
                "parameter_names must name the transform's parameters (a non-empty sequence of "
                f"str), got {parameter_names!r}"
            )
        names = [str(n) for n in parameter_names]
        defaults = {}
        transform_name = getattr(transform, "__name__", "user transform")
        fn = transform
    start = _resolve(initial, names, defaults, "initial")
    fixed = tuple(fixed) if not isinstance(fixed, str) else (fixed,)
    unknown = [f for f in fixed if f not in names]
    if unknown:
        raise ValueError(f"fixed names unknown parameters {unknown}; accepted: {names}")
    free = np.array([n not in fixed for n in names])
    if not free.any():
        raise ValueError(f"every parameter is fixed ({names}); leave at least one free")
    default_step = {n: 0.1 * max(abs(start[i]), 1.0) for i, n in enumerate(names)}
    steps = _resolve(step, names, default_step, "step")[free]
    n_boot = check_int(n_boot, "n_boot", min_value=0)
    ci = check_real(ci, "ci", min_value=0.0, max_value=1.0, strict_min=True)
    if ci >= 1:
        raise ValueError(f"ci must be < 1, got {ci}")
    rng = check_random_state(random_state)

    obj = _Objective(fn, xs, ys, ds, ss, curve, start, free)
    q0, n0 = obj.evaluate(start[free])
    if n0 == 0:
        raise ValueError(
            "the rescaled curves do not overlap at the initial parameters "
            f"{dict(zip(names, start.tolist(), strict=True))}: no point of one scale lies within "
            "the x range of another; give initial values closer to the collapse or data "
            "over overlapping ranges"
        )
    best = _minimise(obj, start[free], steps)
    quality, n_terms = obj.evaluate(best)
    if n_terms < 0.5 * n0:
        warn_user(
            f"scaling_collapse: the optimum compares {n_terms} points, fewer than half of the "
            f"{n0} at the start; the curves may have been pushed apart rather than collapsed"
        )
    # a collapse worse than the errors allow (S > 1): redraw with the errors scaled by
    # sqrt(S), as a fit's errors are scaled by sqrt(chi2/dof) (the Birge ratio)
    inflate = max(1.0, float(np.sqrt(quality))) if np.isfinite(quality) else 1.0
    boots = np.full((n_boot, len(names)), np.nan)
    for r in progress_bar(range(n_boot), enable=progress, desc="collapse bootstrap"):
        y_r = ys + inflate * ds * rng.standard_normal(ys.size)
        theta = _minimise(obj, best, steps, y_r)
        if np.isfinite(obj(theta, y_r)):
            boots[r] = obj.params(theta)
    n_failed = int(np.sum(~np.isfinite(boots[:, 0]))) if n_boot else 0
    value = obj.params(best)
    lo = np.full(len(names), np.nan)
    hi = np.full(len(names), np.nan)
    sd = np.full(len(names), np.nan)
    good = boots[np.all(np.isfinite(boots), axis=1)]
    if good.shape[0] >= 10:
        tail = 50 * (1 - ci)
        lo, hi = np.percentile(good, [tail, 100 - tail], axis=0)
        sd = good.std(axis=0, ddof=1)
        lo[~free] = hi[~free] = value[~free]
        sd[~free] = 0.0
    elif n_boot:
        warn_user(
            f"scaling_collapse: only {good.shape[0]} of {n_boot} bootstrap replicas converged; "
            "no interval (NaN bounds)"
        )
    X, Y, dY = (np.asarray(v, float) for v in fn(xs, ys, ds, ss, value))
    return xr.Dataset(
        {
            "value": ("parameter", value),
            "ci_low": ("parameter", np.asarray(lo, float)),
            "ci_high": ("parameter", np.asarray(hi, float)),
            "boot_sd": ("parameter", np.asarray(sd, float)),
            "fixed": ("parameter", ~free),
            "boot_value": (("boot", "parameter"), boots),
            "quality": quality,
            "quality_initial": q0,
            "n_points": int(xs.size),
            "n_terms": int(n_terms),
            "n_scales": int(levels.size),
            "n_dropped": n_dropped,
            "n_boot": n_boot,
            "n_boot_failed": n_failed,
            "ci_level": ci,
            "ci_scale": inflate,
            "x_scaled": ("point", X),
            "y_scaled": ("point", Y),
            "dy_scaled": ("point", np.abs(dY)),
            "point_scale": ("point", ss),
        },
        coords={"parameter": names},
        attrs={
            "analysis": "scaling_collapse",
            "transform": transform_name,
            "method": "minimum of the Houdayer-Hartmann quality S (reduced chi^2 of each point "
            "against a weighted linear fit of its neighbours on the other scales) by "
            "Nelder-Mead",
            "ci_method": f"parametric bootstrap over the points' errors ({n_boot} replicas, "
            "y + c dy N(0,1) with c = max(1, sqrt(quality)), re-minimised from the best fit), "
            "percentile interval",
        },
    )


def _resolve(value: Any, names: list[str], defaults: dict[str, float], label: str) -> np.ndarray:
    if value is None:
        value = {}
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"{label} names unknown parameters {unknown}; accepted: {names}")
        merged = {**defaults, **value}
        missing = [n for n in names if n not in merged]
        if missing:
            raise ValueError(
                f"{label} lacks values for {missing}; a user transform needs all of {names}"
            )
        return np.array([check_real(merged[n], f"{label}[{n!r}]") for n in names])
    arr = check_array(value, label, ndim=1).astype(float)
    if arr.size != len(names):
        raise ValueError(f"{label} has {arr.size} values; expected {len(names)} for {names}")
    return arr
