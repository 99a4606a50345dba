"""The single-variable Gaussian-plus-quartic (phi^4) model.

The model is

    P(phi) = exp(-a phi^2 - g phi^4) / Z(a, g),      g >= 0,

(``a = 1 / (2 s)`` for a Gaussian of variance ``s`` when ``g = 0``; ``a`` may
be negative when ``g > 0``: a double well). It is an exponential family with
sufficient statistics ``(phi^2, phi^4)``, so the maximum-likelihood fit
matches the model's second and fourth moments to the sample's, and the
normalisation integrals are computed by quadrature on a fixed fine grid
(trapezoid rule, exponentially accurate for these smooth, fast-decaying
integrands).

The flow of ``g`` along momentum-space RG is :mod:`rgdata.maxent.quartic_flow`;
the non-perturbative multivariate fit is :mod:`rgdata.maxent.quartic_field`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._estimator import Estimator
from .._validation import (
    check_array,
    check_int,
    check_option,
    check_random_state,
    check_real,
)
from .._warnings import warn_user

__all__ = [
    "QuarticModel",
    "fit_quartic_moments",
    "quartic_moments",
    "quartic_coupling_first_order",
]

# Quadrature grid for unit-variance variables: |x| <= 12 standard deviations.
_X = np.linspace(-12.0, 12.0, 2401)
_X2 = _X**2
_X4 = _X2**2
_H = _X[1] - _X[0]
# kurtosis below this is a near two-point distribution the grid cannot resolve
_MIN_KURTOSIS = 1.05


def _log_weights(a: float, g: float) -> tuple[np.ndarray, float]:
    """Normalised log-density of the unit-scale model on the grid and log Z."""
    e = -(a * _X2 + g * _X4)
    top = e.max()
    w = np.exp(e - top)
    log_z = top + np.log(w.sum() * _H)
    return w / w.sum(), log_z


def quartic_moments(a: float, g: float, orders: tuple[int, ...] = (2, 4)) -> np.ndarray:
    """Moments ``E[phi^k]`` of the quartic model ``exp(-a phi^2 - g phi^4)``.

    Parameters
    ----------
    a, g : float
        Quadratic and quartic couplings (``g >= 0``; ``a > 0`` when ``g == 0``).
    orders : tuple of int
        Moment orders.

    Returns
    -------
    numpy.ndarray
        One moment per order (odd moments are 0 by symmetry).
    """
    a = check_real(a, "a")
    g = check_real(g, "g", min_value=0.0)
    if g == 0 and a <= 0:
        raise ValueError(f"a must be > 0 when g == 0 (a Gaussian), got a={a}")
    # rescale to a grid on which the density is resolved: phi = c x
    c = _scale_guess(a, g)
    w, _ = _log_weights(a * c**2, g * c**4)
    return np.array([c**k * np.sum(w * _X**k) for k in orders])


def _scale_guess(a: float, g: float) -> float:
    """A length scale of the density (about its standard deviation)."""
    if g == 0:
        return float(np.sqrt(1.0 / (2.0 * a)))
    if a >= 0:
        gauss = np.sqrt(1.0 / (2.0 * a)) if a > 0 else np.inf
        quart = g ** (-0.25)
        return float(min(gauss, quart * 0.6))
    return float(np.sqrt(-a / (2.0 * g)) + g ** (-0.25) * 0.3)


def _fit_unit_variance(kurtosis: float, tol: float = 1e-11) -> tuple[float, float, bool]:
    """Maximum-likelihood ``(a, g)`` for a unit-variance variable with this kurtosis.

    Returns ``(a, g, at_boundary)``; ``at_boundary`` is true when the data's
    kurtosis is >= 3 (heavier tails than a Gaussian), where the constrained
    maximum sits on ``g = 0`` (the model with ``g >= 0`` cannot have heavy tails).
    """
    if kurtosis >= 3.0:
        return 0.5, 0.0, True
    target = np.array([1.0, kurtosis])
    theta = np.array([0.5, 0.0])  # Gaussian start

    def nll(t: np.ndarray) -> float:
        _, log_z = _log_weights(t[0], t[1])
        return float(t[0] * target[0] + t[1] * target[1] + log_z)

    current = nll(theta)
    for _ in range(200):
        w, _ = _log_weights(theta[0], theta[1])
        m2 = np.sum(w * _X2)
        m4 = np.sum(w * _X4)
        m6 = np.sum(w * _X2 * _X4)
        m8 = np.sum(w * _X4 * _X4)
        grad = target - np.array([m2, m4])
        hess = np.array([[m4 - m2 * m2, m6 - m2 * m4], [m6 - m2 * m4, m8 - m4 * m4]])
        step = -np.linalg.solve(hess, grad)
        scale = 1.0
        if theta[1] + step[1] < 0:
            scale = 0.99 * theta[1] / -step[1] if theta[1] > 0 else 0.0
            if scale == 0.0:  # on the boundary and pushed out: move along a only
                step = np.array([-grad[0] / hess[0, 0], 0.0])
                scale = 1.0
        while scale > 1e-12:
            trial = theta + scale * step
            value = nll(trial)
            if value <= current + 1e-15:
                break
            scale *= 0.5
        theta, current = trial, value
        if np.max(np.abs(grad)) < tol * max(1.0, kurtosis):
            break
    return float(theta[0]), float(theta[1]), False


def _fisher(a: float, g: float) -> np.ndarray:
    """Per-sample Fisher information of ``(a, g)``: the covariance of ``(phi^2, phi^4)``."""
    c = _scale_guess(a, g)
    w, _ = _log_weights(a * c**2, g * c**4)
    x2 = c**2 * _X2
    x4 = x2**2
    m2, m4 = np.sum(w * x2), np.sum(w * x4)
    m6, m8 = np.sum(w * x2 * x4), np.sum(w * x4 * x4)
    return np.array([[m4 - m2 * m2, m6 - m2 * m4], [m6 - m2 * m4, m8 - m4 * m4]])


def fit_quartic_moments(
    second_moment: float, fourth_moment: float, *, warn: bool = True
) -> dict[str, float]:
    """Maximum-likelihood quartic couplings from the sample moments ``E[x^2]``, ``E[x^4]``.

    The model is an exponential family with sufficient statistics
    ``(x^2, x^4)``, so the MLE depends on the data only through these two
    moments (the data are taken as centred and symmetric about 0).

    Parameters
    ----------
    second_moment, fourth_moment : float
        Sample means of ``x^2`` and ``x^4``.
    warn : bool
        Warn when the fit sits on the boundary ``g = 0`` (heavy-tailed data).

    Returns
    -------
    dict
        ``a``, ``g``, ``kurtosis`` (the data's ``E[x^4] / E[x^2]^2``) and
        ``at_boundary`` (1 when ``g`` was held at 0, else 0).
    """
    m2 = check_real(second_moment, "second_moment", min_value=0.0, strict_min=True)
    m4 = check_real(fourth_moment, "fourth_moment", min_value=0.0, strict_min=True)
    kurt = m4 / m2**2
    if kurt < 1.0 - 1e-9:
        raise ValueError(
            f"fourth_moment / second_moment**2 = {kurt:.4g} < 1 is impossible for real data "
            "(Cauchy-Schwarz); check the moments"
        )
    if kurt < _MIN_KURTOSIS:
        raise ValueError(
            f"kurtosis {kurt:.4g} < {_MIN_KURTOSIS}: the data are close to a two-point "
            "distribution (e.g. binary) whose quartic fit has g -> infinity; "
            "the quartic model is not meaningful here"
        )
    a1, g1, boundary = _fit_unit_variance(kurt)
    if boundary and warn:
        warn_user(
            f"kurtosis {kurt:.4g} >= 3 (heavier tails than a Gaussian): the quartic model "
            "with g >= 0 cannot fit it; g is held at its boundary 0",
            UserWarning,
        )
    return {"a": a1 / m2, "g": g1 / m2**2, "kurtosis": kurt, "at_boundary": int(boundary)}


def quartic_coupling_first_order(kappa4: Any, propagator: Any, *, weights: str = "gls") -> float:
    """First-order estimate of ``g`` in the multivariate phi^4 model from fourth cumulants.

    For ``P(phi) ∝ exp(-phi^T G^+ phi / 2 - g sum_i phi_i^4)`` (``G`` the
    Gaussian propagator, possibly of rank ``k < N``: then ``phi`` lives in
    its range), first-order perturbation theory in ``g`` gives the connected
    fourth cumulant of every site,

        kappa4_i = <phi_i^4> - 3 <phi_i^2>^2 = -24 g sum_j G_ij^4 + O(g^2)

    (the 4! ways of joining the four legs of ``phi_i^4`` to the vertex
    ``phi_j^4``, each worth ``G_ij^4``). This returns the least-squares ``g``
    of that linear relation over the sites.

    Parameters
    ----------
    kappa4 : array-like, shape (N,)
        Fourth cumulants of the sites (sample estimates; N >= 1).
    propagator : array-like, shape (N, N)
        Symmetric ``G`` (the sites' covariance at ``g = 0``; to first order the
        observed covariance).
    weights : {"gls", "ols"}
        ``"gls"``: generalised least squares with the covariance of sample
        fourth cumulants under the Gaussian model, ``Cov(kappa4_i, kappa4_j) =
        24 G_ij^4 / T``; since the design ``s_i = sum_j G_ij^4`` is that matrix
        times the vector of ones, the estimate is
        ``-sum_i kappa4_i / (24 sum_ij G_ij^4)`` (no inversion). ``"ols"``:
        ordinary least squares, ``-sum_i s_i kappa4_i / (24 sum_i s_i^2)``.
        Both reduce to ``-mean(kappa4) / 24`` for independent unit-variance
        sites (``G = I``).

    Returns
    -------
    float
        ``g`` (signed: negative for heavier tails than a Gaussian).

    Examples
    --------
    >>> import numpy as np
    >>> quartic_coupling_first_order([-0.24, -0.24], np.eye(2))
    0.01
    """
    check_option(weights, "weights", ("gls", "ols"))
    k4 = check_array(kappa4, "kappa4", ndim=1).astype(float)
    if k4.size == 0:
        raise ValueError("kappa4 must hold the cumulant of at least one site, got an empty array")
    prop = check_array(propagator, "propagator", ndim=2).astype(float)
    if prop.shape != (k4.size, k4.size):
        raise ValueError(
            f"propagator must be ({k4.size}, {k4.size}) to match kappa4, got {prop.shape}"
        )
    if not np.allclose(prop, prop.T, rtol=1e-8, atol=1e-12 * np.abs(prop).max()):
        raise ValueError("propagator must be symmetric")
    if np.any(np.diag(prop) <= 0):
        raise ValueError("propagator must have a positive diagonal (site variances)")
    gamma = prop**4
    if weights == "gls":
        return float(-k4.sum() / (24.0 * gamma.sum()))
    s = gamma.sum(axis=1)
    return float(-(s @ k4) / (24.0 * (s @ s)))


class QuarticModel(Estimator):
    """Single-variable phi^4 model ``P(x) ∝ exp(-a x^2 - g x^4)`` fitted by maximum likelihood.

    Parameters
    ----------
    center : bool
        Subtract the sample mean before fitting (the model is symmetric about 0).

    Attributes
    ----------
    a_, g_ : float
        Fitted quadratic and quartic couplings.
    a_err_, g_err_ : float
        Standard errors from the inverse Fisher information (independent
        samples assumed; for time-correlated data use block errors, as
        :func:`fit_quartic_flow` does). ``g_err_`` is computed at the fit even
        when ``g_`` sits on the boundary 0.
    kurtosis_ : float
        Sample kurtosis ``E[x^4] / E[x^2]^2``; the fitted model has the same
        second and fourth moments unless ``at_boundary_``.
    at_boundary_ : bool
        ``g_`` was held at 0 because the data are heavier-tailed than a Gaussian.
    n_samples_ : int

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=10_000)
    >>> m = QuarticModel().fit(x)
    >>> abs(m.g_) < 4 * m.g_err_
    True
    """

    _fitted_attribute = "g_"
    _fit_call = "fit(x)"

    def __init__(self, center: bool = True) -> None:
        self.center = center

    def fit(self, x: Any) -> QuarticModel:
        """Fit to a 1-D sample.

        Parameters
        ----------
        x : array-like, shape (n_samples,)

        Returns
        -------
        QuarticModel
            self (a previous fit's state is discarded first).
        """
        self._reset_fit_state()
        arr = check_array(x, "x", ndim=1).astype(float)
        if arr.size < 10:
            raise ValueError(f"x has {arr.size} samples; at least 10 are needed")
        if self.center:
            arr = arr - arr.mean()
        m2 = float(np.mean(arr**2))
        if m2 == 0:
            raise ValueError("x is constant; the quartic model needs a variance > 0")
        fit = fit_quartic_moments(m2, float(np.mean(arr**4)))
        self.a_, self.g_ = fit["a"], fit["g"]
        self.kurtosis_ = fit["kurtosis"]
        self.at_boundary_ = bool(fit["at_boundary"])
        self.n_samples_ = int(arr.size)
        cov = np.linalg.inv(_fisher(self.a_, self.g_)) / arr.size
        self.a_err_, self.g_err_ = (float(v) for v in np.sqrt(np.diag(cov)))
        return self

    def moments(self, orders: tuple[int, ...] = (2, 4)) -> np.ndarray:
        """Model moments ``E[x^k]`` for the given orders."""
        self._check_fitted()
        return quartic_moments(self.a_, self.g_, orders)

    def pdf(self, x: Any) -> np.ndarray:
        """Normalised model density at *x*."""
        self._check_fitted()
        c = _scale_guess(self.a_, self.g_)
        _, log_z = _log_weights(self.a_ * c**2, self.g_ * c**4)
        x = np.asarray(x, dtype=float)
        return np.exp(-(self.a_ * x**2 + self.g_ * x**4) - log_z) / c

    def sample(self, n_samples: int, random_state: Any = None) -> np.ndarray:
        """Draw samples by inverse-CDF sampling on the quadrature grid (linear interpolation)."""
        self._check_fitted()
        n = check_int(n_samples, "n_samples", min_value=1)
        rng = check_random_state(random_state)
        c = _scale_guess(self.a_, self.g_)
        w, _ = _log_weights(self.a_ * c**2, self.g_ * c**4)
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]))])
        cdf /= cdf[-1]
        return c * np.interp(rng.random(n), cdf, _X)

    def to_dataset(self) -> xr.Dataset:
        """The fitted couplings with their errors as a Dataset (round-trips through netCDF).

        Returns
        -------
        xarray.Dataset
            Scalar variables ``a``, ``g`` (with ``units`` and ``description``
            attrs), ``a_err``, ``g_err``, ``kurtosis``, ``at_boundary``,
            ``n_samples``; attrs name the model and ``center``.
        """
        self._check_fitted()
        units = "1 / (units of x)^2"
        variables = {
            "a": (self.a_, units, "quadratic coupling of P(x) ~ exp(-a x^2 - g x^4)"),
            "g": (self.g_, "1 / (units of x)^4", "quartic coupling"),
            "a_err": (self.a_err_, units, "standard error of a (inverse Fisher information)"),
            "g_err": (self.g_err_, "1 / (units of x)^4", "standard error of g"),
            "kurtosis": (self.kurtosis_, "dimensionless", "sample E[x^4] / E[x^2]^2"),
            "at_boundary": (int(self.at_boundary_), "", "g held at 0 (heavier tails)"),
            "n_samples": (self.n_samples_, "", "samples fitted"),
        }
        return xr.Dataset(
            {
                name: ((), value, {"units": unit, "description": text})
                for name, (value, unit, text) in variables.items()
            },
            attrs={"model": "QuarticModel", "center": int(bool(self.center))},
        )


def _g_of_kurtosis(kurt: float) -> tuple[float, float, int]:
    """``(a, g, at_boundary)`` for unit variance; NaN when the quartic fit is undefined."""
    if not np.isfinite(kurt) or kurt < _MIN_KURTOSIS:
        return np.nan, np.nan, 0
    a, g, boundary = _fit_unit_variance(float(kurt))
    return a, g, int(boundary)
