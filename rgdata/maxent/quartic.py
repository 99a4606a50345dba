"""Gaussian-plus-quartic (phi^4) models for momentum-space RG flows.

The single-variable model is

    P(phi) = exp(-a phi^2 - g phi^4) / Z(a, g),      g >= 0,

(``a = 1 / (2 s)`` for a Gaussian of variance ``s`` when ``g = 0``; ``a`` may
be negative when ``g > 0``: a double well). It is an exponential family with
sufficient statistics ``(phi^2, phi^4)``, so the maximum-likelihood fit
matches the model's second and fourth moments to the sample's, and the
normalisation integrals are computed by quadrature on a fixed fine grid
(trapezoid rule, exponentially accurate for these smooth, fast-decaying
integrands).

:func:`fit_quartic_flow` estimates the quartic coupling ``g`` of the
coarse-grained variables of momentum-space RG (Bradde & Bialek 2017; Meshulam
et al. 2019) at each kept fraction of eigenmodes, with error bars from a
jackknife over contiguous time blocks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import norm

from .._estimator import Estimator
from .._jackknife import jackknife_covariance, jackknife_error
from .._progress import progress_bar
from .._validation import (
    check_array,
    check_int,
    check_option,
    check_random_state,
    check_real,
)
from .._warnings import once_per_call, warn_user
from .pairwise import MaxEntConvergenceWarning

__all__ = [
    "QuarticModel",
    "fit_quartic_moments",
    "fit_quartic_flow",
    "quartic_moments",
    "quartic_coupling_first_order",
    "fit_quartic_field",
]

# Quadrature grid for unit-variance variables: |x| <= 12 standard deviations.
_X = np.linspace(-12.0, 12.0, 2401)
_X2 = _X**2
_X4 = _X2**2
_H = _X[1] - _X[0]
# kurtosis below this is a near two-point distribution the grid cannot resolve
_MIN_KURTOSIS = 1.05
# up to this many units the jackknife of g_multi recomputes the propagator per time block
# (n_blocks x N x N mode cross products in memory); above it the propagator is held fixed
_MAX_UNITS_PROPAGATOR_JACKKNIFE = 512
# fit_quartic_field is converged when every moment mismatch is within the two-sided normal
# quantile of this family-wise level (Bonferroni over the k + 1 moments)
_FIELD_CONVERGENCE_LEVEL = 0.01


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


def _coarse_block_sums(
    values: np.ndarray, n_modes: np.ndarray, n_blocks: int, progress: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Momentum-space coarse-grained variables, summarised per contiguous time block.

    Returns per-block sums of phi^2 and phi^4 with shape (n_fraction, n_blocks,
    n_unit), the block sizes, the eigenvalues, the eigenvectors (columns) and,
    for at most ``_MAX_UNITS_PROPAGATOR_JACKKNIFE`` units, the per-block sums
    of the mode-amplitude products ``sum_t m_mu m_nu`` (n_blocks, n_unit,
    n_unit), else None.
    """
    n_unit, n_time = values.shape
    edges = np.linspace(0, n_time, n_blocks + 1).astype(int)
    # pass 1: mean, std, correlation matrix (float64 accumulation by block)
    mean = np.zeros(n_unit)
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        mean += values[:, lo:hi].sum(axis=1, dtype=float)
    mean /= n_time
    cov = np.zeros((n_unit, n_unit))
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        xb = values[:, lo:hi].astype(float) - mean[:, None]
        cov += xb @ xb.T
    cov /= n_time
    std = np.sqrt(np.diag(cov))
    corr = cov / np.outer(std, std)
    evals, evecs = np.linalg.eigh(corr)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    # exact variance of each coarse-grained variable when k modes are kept
    var_k = np.cumsum(evecs**2 * evals[None, :], axis=1)  # (unit, k-1)
    s2 = np.zeros((n_modes.size, n_blocks, n_unit))
    s4 = np.zeros_like(s2)
    mm = np.zeros((n_blocks, n_unit, n_unit)) if n_unit <= _MAX_UNITS_PROPAGATOR_JACKKNIFE else None
    for b in progress_bar(range(n_blocks), enable=progress, desc="quartic flow blocks"):
        lo, hi = edges[b], edges[b + 1]
        xb = (values[:, lo:hi].astype(float) - mean[:, None]) / std[:, None]
        modes = evecs.T @ xb  # mode amplitudes
        if mm is not None:
            mm[b] = modes @ modes.T
        for f, k in enumerate(n_modes):
            phi = xb if k == n_unit else evecs[:, :k] @ modes[:k]
            phi = phi / np.sqrt(var_k[:, k - 1])[:, None]
            p2 = phi * phi
            s2[f, b] = p2.sum(axis=1)
            s4[f, b] = (p2 * p2).sum(axis=1)
    return s2, s4, np.diff(edges), evals, evecs, mm


def _sum_fourth_power_correlation(evecs_k: np.ndarray, mode_cov: np.ndarray) -> float:
    """``sum_ij G_ij^4`` for the unit-variance field whose mode covariance is *mode_cov*."""
    cov = evecs_k @ mode_cov @ evecs_k.T
    d = np.sqrt(np.diag(cov))
    return float(np.sum((cov / np.outer(d, d)) ** 4))


def _multi_first_order(
    s2: np.ndarray,
    s4: np.ndarray,
    sizes: np.ndarray,
    evals: np.ndarray,
    evecs: np.ndarray,
    mm: np.ndarray | None,
    n_modes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """First-order multivariate ``g`` per fraction, its leave-one-block-out replicates and
    ``sum_ij G_ij^4`` (GLS weights; see :func:`quartic_coupling_first_order`)."""
    n_f, n_blocks, _ = s2.shape
    n_time = int(sizes.sum())
    k4 = s4.sum(axis=1) / n_time / (s2.sum(axis=1) / n_time) ** 2 - 3.0  # (fraction, unit)
    n_loo = (n_time - sizes)[None, :, None]
    loo2 = (s2.sum(axis=1, keepdims=True) - s2) / n_loo
    loo4 = (s4.sum(axis=1, keepdims=True) - s4) / n_loo
    k4_loo = loo4 / loo2**2 - 3.0  # (fraction, block, unit)
    gamma = np.empty(n_f)
    gamma_loo = np.empty((n_f, n_blocks))
    total = None if mm is None else mm.sum(axis=0)
    for f, k in enumerate(n_modes):
        u = evecs[:, :k]
        gamma[f] = _sum_fourth_power_correlation(u, np.diag(evals[:k]))
        for b in range(n_blocks):
            if total is None:  # propagator held at its full-data value
                gamma_loo[f, b] = gamma[f]
            else:
                cov_b = (total[:k, :k] - mm[b, :k, :k]) / (n_time - sizes[b])
                gamma_loo[f, b] = _sum_fourth_power_correlation(u, cov_b)
    g = -k4.sum(axis=1) / (24.0 * gamma)
    g_loo = -k4_loo.sum(axis=2) / (24.0 * gamma_loo)
    return g, g_loo, gamma


_MULTI_MODEL = (
    "P(psi) ~ exp(-psi^T G^+ psi / 2 - g sum_i psi_i^4), psi in the span of the k kept modes, "
    "psi_i the coarse-grained variables rescaled to unit variance, G = D^-1/2 U_k L_k U_k^T "
    "D^-1/2 their correlation matrix (U_k, L_k the kept eigenvectors and eigenvalues)"
)
_MULTI_METHOD = (
    "first order in g: kappa4_i = -24 g sum_j G_ij^4; generalised least squares over units with "
    "the Gaussian covariance 24 G_ij^4 / T of sample fourth cumulants, i.e. "
    "g_multi = -sum_i kappa4_i / (24 sum_ij G_ij^4); valid while the O(g^2) terms are below "
    "the error (relative bias about -40 g for moderately correlated units)"
)


def _g_of_kurtosis(kurt: float) -> tuple[float, float, int]:
    """``(a, g, at_boundary)`` for unit variance; NaN when the quartic fit is undefined."""
    if not np.isfinite(kurt) or kurt < _MIN_KURTOSIS:
        return np.nan, np.nan, 0
    a, g, boundary = _fit_unit_variance(float(kurt))
    return a, g, int(boundary)


def _flow_from_momentum(result: xr.Dataset) -> xr.Dataset:
    """Quartic flow from the per-unit kurtosis of a :func:`rgdata.coarse.momentum` result."""
    if "direction" in result.dims:
        result = result.sel(direction="remove_low")
    direction = str(result["direction"].values) if "direction" in result.coords else ""
    if direction and direction != "remove_low":
        raise ValueError(
            f"the momentum result keeps the {direction!r} modes; the RG flow needs "
            "direction='remove_low' (the largest-eigenvalue modes kept)"
        )
    n_time = result.attrs.get("n_time")
    if not isinstance(n_time, int | np.integer) or n_time < 2:
        raise ValueError("the momentum result has no valid attrs['n_time']; recompute it")
    kurt_unit = result["fourth_moment"].transpose("fraction", "unit").values
    n_f, n_unit = kurt_unit.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        kurt = np.nanmean(kurt_unit, axis=1)  # unit variance: pooled E[phi^4] = mean kurtosis
    a = np.full(n_f, np.nan)
    g = np.full(n_f, np.nan)
    a_err = np.full(n_f, np.nan)
    g_err = np.full(n_f, np.nan)
    boundary = np.zeros(n_f, dtype=int)
    for f in range(n_f):
        a[f], g[f], boundary[f] = _g_of_kurtosis(kurt[f])
        if np.isfinite(g[f]):
            cov = np.linalg.inv(_fisher(a[f], g[f])) / n_time
            a_err[f], g_err[f] = np.sqrt(np.diag(cov))
    g_unit = np.array([[_g_of_kurtosis(k)[1] for k in row] for row in kurt_unit])
    if boundary.any():
        warn_user(
            f"at {int(boundary.sum())} fraction(s) the coarse-grained variables are heavier-tailed "
            "than a Gaussian (kurtosis >= 3); g is held at 0 there (see g_cumulant)",
            UserWarning,
        )
    # sampling error of a kurtosis from T samples: Fisher-based, via the model's moments
    kurt_err = np.full(n_f, np.nan)
    for f in range(n_f):
        if np.isfinite(a[f]):
            m2, m4, m6, m8 = quartic_moments(a[f], g[f], (2, 4, 6, 8))
            grad = np.array([-2 * m4 / m2**3, 1 / m2**2])
            cov = np.array([[m4 - m2**2, m6 - m2 * m4], [m6 - m2 * m4, m8 - m4**2]])
            kurt_err[f] = np.sqrt(grad @ cov @ grad / n_time)
    return xr.Dataset(
        {
            "g": ("fraction", g),
            "g_err": ("fraction", g_err),
            "a": ("fraction", a),
            "a_err": ("fraction", a_err),
            "kurtosis": ("fraction", kurt),
            "kurtosis_err": ("fraction", kurt_err),
            "at_boundary": ("fraction", boundary),
            "g_cumulant": ("fraction", -(kurt - 3.0) / 24.0),
            "g_cumulant_err": ("fraction", kurt_err / 24.0),
            "g_multi": ("fraction", np.full(n_f, np.nan)),
            "g_multi_err": ("fraction", np.full(n_f, np.nan)),
            "n_modes": ("fraction", result["n_modes"].values),
            "g_unit": (("fraction", "unit"), g_unit),
            "kurtosis_unit": (("fraction", "unit"), kurt_unit),
        },
        coords={"fraction": result["fraction"].values, "unit": result["unit"].values},
        attrs={
            "analysis": "quartic_flow",
            "model": "P(phi) ~ exp(-a phi^2 - g phi^4), unit-variance coarse-grained variables",
            "coarse_graining": "momentum-space: per-unit fourth moments (rgdata.coarse.momentum)",
            "error_method": "inverse Fisher information with n_time independent samples (ignores "
            "autocorrelation; units pooled as one sample per time point); pass the Activity "
            "instead for block-jackknife errors",
            "g_multi_model": _MULTI_MODEL,
            "g_multi_method": "not available (NaN): a momentum result has no eigenvectors, "
            "which the propagator needs; pass the Activity instead",
            "n_units": n_unit,
            "n_time": int(n_time),
            "kind": str(result.attrs.get("kind", "")),
            "source": str(result.attrs.get("source", "")),
        },
    )


@once_per_call
def fit_quartic_flow(
    activity: xr.DataArray | xr.Dataset,
    fractions: Any = None,
    *,
    n_blocks: int = 20,
    min_modes: int = 2,
    progress: bool = False,
) -> xr.Dataset:
    """Quartic coupling ``g`` of the momentum-space coarse-grained variables at each fraction.

    For each kept fraction ``f`` of the eigenmodes of the units' correlation
    matrix, the coarse-grained variable of unit ``i`` is the projection of
    the z-scored activity onto the top ``k = round(f N)`` modes,
    ``phi_i = sum_{mu <= k} u_{i mu} (u_mu . x)``, rescaled to unit variance
    (Meshulam et al. 2019). The unit-variance phi^4 model
    ``exp(-a phi^2 - g phi^4)`` is fitted by maximum likelihood to the values
    of all units pooled (``g``, ``a``) and to each unit alone (``g_unit``).

    ``g_multi`` is the coupling of the multivariate model of Bradde & Bialek
    (2017): Gaussian couplings on the kept eigenmodes plus one quartic
    coupling on every site, ``P(psi) ∝ exp(-psi^T G^+ psi / 2 - g sum_i
    psi_i^4)`` for the unit-variance field ``psi`` in the span of the kept
    modes, ``G`` its correlation matrix. It is estimated to first order in
    ``g`` from ``kappa4_i = -24 g sum_j G_ij^4`` by generalised least squares
    over all units (:func:`quartic_coupling_first_order`), so that the
    propagator's coupling of the sites is accounted for, which the pooled
    single-variable fit ignores.

    Parameters
    ----------
    activity : xarray.DataArray or xarray.Dataset
        Activity ``(unit, time)`` (stack trials first). Any kind: binary spikes
        are treated as numbers. A :func:`rgdata.coarse.momentum` result is
        accepted too: ``g`` then comes from its per-unit ``fourth_moment``
        (same estimator; *fractions*, *n_blocks* and *min_modes* are ignored)
        and the errors from the Fisher information with ``n_time``
        independent samples, which is optimistic for correlated data.
    fractions : array-like of float in (0, 1], optional
        Kept fractions of modes; default ``1, 1/2, 1/4, ...`` while at least
        *min_modes* modes are kept (:func:`rgdata.coarse.default_fractions`;
        the RG steps of a factor 2 in mode number).
    n_blocks : int
        Contiguous time blocks for the jackknife error bars.
    min_modes : int
        Smallest number of kept modes in the default fractions.
    progress : bool
        Show a progress bar over time blocks.

    Returns
    -------
    xarray.Dataset
        dims ``fraction`` (decreasing, i.e. in RG order) and ``unit``:
        ``g``, ``g_err``, ``a``, ``a_err`` (pooled fit, block-jackknife
        standard errors), ``kurtosis``, ``kurtosis_err``, ``at_boundary``
        (1 where the pooled data are heavier-tailed than a Gaussian and ``g``
        is held at 0), ``g_cumulant``, ``g_cumulant_err`` (the first-order
        perturbative coupling ``-(kurtosis - 3) / 24`` of unit-variance data,
        which may be negative), ``g_multi``, ``g_multi_err`` (the
        multivariate first-order coupling, signed, block-jackknife errors),
        ``propagator_sum4`` (``sum_ij G_ij^4``), ``g_unit``, ``kurtosis_unit``
        (per unit; NaN where the kurtosis < 1.05, a near two-point
        distribution), ``n_modes`` and ``eigenvalue`` (dim ``mode``);
        ``g_cov``, ``g_cumulant_cov`` and ``g_multi_cov`` (dims ``fraction``,
        ``fraction_b``) are the jackknife covariances between fractions.
        ``attrs["g_multi_model"]`` and ``attrs["g_multi_method"]`` state the
        model and estimator.

    Notes
    -----
    The coarse-grained variables are computed here from the eigenmodes of
    the correlation matrix (rgdata.coarse.momentum returns only their
    moments). Error bars: delete-one-block jackknife over *n_blocks*
    contiguous time blocks, which keeps the temporal and cross-unit
    correlations that make the independent-sample Fisher errors too small.
    The eigenvectors are those of the full data in every replicate; for at
    most 512 units the replicates of ``g_multi`` recompute the propagator
    from the remaining blocks (``attrs["g_multi_propagator_jackknife"] = 1``),
    above that it is held at its full-data value (0).

    The first-order ``g_multi`` is biased by terms of order ``g^2``
    (relative bias about ``-40 g`` for moderately correlated units, ``-36 g``
    for one variable): compare it with its error bar before reading it as
    the coupling of the model when ``|g|`` is above about 0.005.
    """
    from ..activity import check_activity

    if isinstance(activity, xr.Dataset):
        if "fourth_moment" not in activity or "fraction" not in activity.dims:
            raise TypeError(
                "activity must be an Activity DataArray or a rgdata.coarse.momentum result "
                f"(a Dataset with fourth_moment(fraction, unit)); got a Dataset with variables "
                f"{sorted(activity.data_vars)}"
            )
        return _flow_from_momentum(activity)
    activity = check_activity(activity, allow_trials=False, min_time=20)
    values = activity.values
    n_unit, n_time = values.shape
    n_blocks = check_int(n_blocks, "n_blocks", min_value=2, max_value=max(2, n_time // 10))
    min_modes = check_int(min_modes, "min_modes", min_value=1, max_value=n_unit)
    if fractions is None:
        from ..coarse.momentum import default_fractions

        fractions = default_fractions(n_unit, min_modes)
    fractions = check_array(fractions, "fractions", ndim=1).astype(float)
    if fractions.size == 0 or np.any((fractions <= 0) | (fractions > 1)):
        raise ValueError(
            f"fractions must be a non-empty list of numbers in (0, 1], got {fractions}"
        )
    n_modes = np.maximum(1, np.round(fractions * n_unit).astype(int))
    order = np.argsort(-n_modes, kind="stable")
    n_modes, fractions = n_modes[order], fractions[order]
    if np.unique(n_modes).size != n_modes.size:
        raise ValueError(
            f"fractions {fractions} give repeated numbers of modes {n_modes} for "
            f"{n_unit} units; pass distinct fractions"
        )
    s2, s4, sizes, evals, evecs, mm = _coarse_block_sums(values, n_modes, n_blocks, progress)
    g_multi, g_multi_loo, gamma = _multi_first_order(s2, s4, sizes, evals, evecs, mm, n_modes)
    del mm
    n_f = n_modes.size
    # pooled moments over all units, full and leave-one-block-out
    tot2, tot4 = s2.sum(axis=(1, 2)), s4.sum(axis=(1, 2))
    n_all = n_time * n_unit
    kurt = (tot4 / n_all) / (tot2 / n_all) ** 2
    loo2 = tot2[:, None] - s2.sum(axis=2)
    loo4 = tot4[:, None] - s4.sum(axis=2)
    n_loo = (n_time - sizes)[None, :] * n_unit
    kurt_loo = (loo4 / n_loo) / (loo2 / n_loo) ** 2  # (fraction, block)

    a = np.full(n_f, np.nan)
    g = np.full(n_f, np.nan)
    boundary = np.zeros(n_f, dtype=int)
    a_rep = np.full((n_f, n_blocks), np.nan)
    g_rep = np.full((n_f, n_blocks), np.nan)
    for f in range(n_f):
        a[f], g[f], boundary[f] = _g_of_kurtosis(kurt[f])
        for b in range(n_blocks):
            a_rep[f, b], g_rep[f, b], _ = _g_of_kurtosis(kurt_loo[f, b])
    kurt_unit = (s4.sum(axis=1) / n_time) / (s2.sum(axis=1) / n_time) ** 2
    g_unit = np.full((n_f, n_unit), np.nan)
    for f in range(n_f):
        for i in range(n_unit):
            g_unit[f, i] = _g_of_kurtosis(kurt_unit[f, i])[1]
    undefined = np.isnan(g)
    if undefined.any():
        warn_user(
            f"the pooled kurtosis is < {_MIN_KURTOSIS} (a near two-point distribution) at "
            f"fractions {fractions[undefined].round(4).tolist()}: g is undefined (NaN) there",
            UserWarning,
        )
    if boundary.any():
        warn_user(
            f"at fractions {fractions[boundary == 1].round(4).tolist()} the coarse-grained "
            "variables are heavier-tailed than a Gaussian (kurtosis >= 3); the quartic model "
            "with g >= 0 holds g at 0 there (see g_cumulant for the signed perturbative value)",
            UserWarning,
        )
    ds = xr.Dataset(
        {
            "g": ("fraction", g),
            "g_err": ("fraction", jackknife_error(g_rep, axis=-1)),
            "a": ("fraction", a),
            "a_err": ("fraction", jackknife_error(a_rep, axis=-1)),
            "kurtosis": ("fraction", kurt),
            "kurtosis_err": ("fraction", jackknife_error(kurt_loo, axis=-1)),
            "at_boundary": ("fraction", boundary),
            "g_cumulant": ("fraction", -(kurt - 3.0) / 24.0),
            "g_cumulant_err": ("fraction", jackknife_error(kurt_loo, axis=-1) / 24.0),
            "g_cov": (("fraction", "fraction_b"), jackknife_covariance(g_rep, axis=-1)),
            "g_cumulant_cov": (
                ("fraction", "fraction_b"),
                jackknife_covariance(kurt_loo, axis=-1) / 24.0**2,
            ),
            "g_multi": ("fraction", g_multi),
            "g_multi_err": ("fraction", jackknife_error(g_multi_loo, axis=-1)),
            "g_multi_cov": (("fraction", "fraction_b"), jackknife_covariance(g_multi_loo, axis=-1)),
            "propagator_sum4": ("fraction", gamma),
            "n_modes": ("fraction", n_modes),
            "g_unit": (("fraction", "unit"), g_unit),
            "kurtosis_unit": (("fraction", "unit"), kurt_unit),
            "eigenvalue": ("mode", evals),
        },
        coords={
            "fraction": fractions,
            "unit": activity["unit"].values,
            "mode": np.arange(1, n_unit + 1),
        },
        attrs={
            "analysis": "quartic_flow",
            "model": "P(phi) ~ exp(-a phi^2 - g phi^4), unit-variance coarse-grained variables",
            "coarse_graining": "momentum-space: projection on the top-k eigenmodes of the "
            "correlation matrix, computed in rgdata.maxent.quartic",
            "error_method": f"delete-one-block jackknife over {n_blocks} contiguous time blocks",
            "g_multi_model": _MULTI_MODEL,
            "g_multi_method": _MULTI_METHOD,
            "g_multi_propagator_jackknife": int(n_unit <= _MAX_UNITS_PROPAGATOR_JACKKNIFE),
            "n_blocks": n_blocks,
            "n_units": n_unit,
            "n_time": n_time,
            "kind": str(activity.attrs.get("kind", "")),
            "source": str(activity.attrs.get("source", "")),
        },
    )
    return ds


def _field_sweeps(
    a: np.ndarray,
    v: np.ndarray,
    alpha: np.ndarray,
    g: float,
    n_sweeps: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Metropolis sweeps (one update per mode) of independent chains of mode amplitudes *a*
    under ``exp(-sum_mu alpha_mu a_mu^2 - g sum_i (v a)_i^4)``. Returns the final state and
    per-chain means of the sufficient statistics ``a_mu^2`` (chain, k) and ``sum psi^4``
    (chain,), plus their pooled covariance over all recorded states."""
    n_chains, k = a.shape
    psi = a @ v.T
    step = 2.0 / np.sqrt(2.0 * np.maximum(alpha, 1e-12) + 12.0 * g * (v**2).sum(axis=0))
    sum_t = np.zeros((n_chains, k + 1))
    sum_tt = np.zeros((k + 1, k + 1))
    for _ in range(n_sweeps):
        for mu in range(k):
            d = step[mu] * rng.standard_normal(n_chains)
            new = psi + d[:, None] * v[:, mu]
            de = alpha[mu] * ((a[:, mu] + d) ** 2 - a[:, mu] ** 2)
            if g:
                de += g * np.sum(new**4 - psi**4, axis=1)
            ok = np.log(rng.random(n_chains)) < -de
            a[ok, mu] += d[ok]
            psi[ok] = new[ok]
        t = np.concatenate([a**2, np.sum(psi**4, axis=1, keepdims=True)], axis=1)
        sum_t += t
        sum_tt += t.T @ t
    mean_chain = sum_t / n_sweeps
    mean = mean_chain.mean(axis=0)
    cov = sum_tt / (n_sweeps * n_chains) - np.outer(mean, mean)
    return a, mean_chain, cov


def _field_newton_step(
    theta: np.ndarray, model: np.ndarray, target: np.ndarray, cov: np.ndarray
) -> tuple[np.ndarray, int, int]:
    """One Newton step of the moment matching of :func:`fit_quartic_field`.

    ``theta = (alpha_1 .. alpha_k, g)``; *model* and *target* are the model's
    and the data's means of ``(a_mu^2, sum_i psi_i^4)`` and *cov* the model
    covariance of these statistics (the Hessian of the negative
    log-likelihood). The joint step solves ``cov dtheta = model - target``.
    Where it would make ``g`` negative, ``g`` is set to its boundary 0 and
    the alphas are re-solved with ``g`` fixed there: ``cov[:k, :k] dalpha =
    (model - target)[:k] - cov[:k, k] (0 - g)`` (the linearised moments of
    the alphas matched). The step is then halved until the model is
    normalisable (``g > 0``, or ``g == 0`` and every ``alpha > 0``).

    Returns the new ``theta``, 1 when ``g`` is at the boundary 0 (else 0)
    and the number of halvings.
    """
    k = theta.size - 1
    resid = model - target
    new = theta + np.linalg.solve(cov, resid)
    if new[k] < 0:
        dalpha = np.linalg.solve(cov[:k, :k], resid[:k] + cov[:k, k] * theta[k])
        new = np.append(theta[:k] + dalpha, 0.0)
    delta = new - theta
    halvings = 0
    while not (new[k] > 0 or np.all(new[:k] > 0)):
        if halvings == 60:  # theta itself is normalisable, so this is not reached
            raise RuntimeError("no normalisable step found from a normalisable start")
        halvings += 1
        new = theta + 0.5**halvings * delta
    return new, int(new[k] == 0), halvings


def _moment_z(resid: np.ndarray, err: np.ndarray, at_boundary: int) -> tuple[np.ndarray, float]:
    """Moment mismatches in units of their errors and the largest one that counts.

    On the boundary ``g = 0`` the fourth-moment statistic of the model is
    below the data's by construction (that is why ``g`` is held at 0): there
    only a model statistic above the data's (which would ask for ``g > 0``)
    counts.
    """
    z = resid / err
    counted = np.abs(z)
    if at_boundary:
        counted[-1] = max(z[-1], 0.0)
    return z, float(counted.max())


@once_per_call
def fit_quartic_field(
    activity: xr.DataArray,
    n_modes: int,
    *,
    n_chains: int = 1000,
    n_sweeps: int = 200,
    n_iter: int = 8,
    n_blocks: int = 20,
    random_state: Any = None,
) -> dict[str, Any]:
    """Maximum-likelihood fit of the multivariate phi^4 model on the top *n_modes* eigenmodes.

    The model of the unit-variance coarse-grained variables ``psi = V a``
    (``a`` the amplitudes of the kept modes of the z-scored data, ``V =
    D^{-1/2} U_k``) is the exponential family

        P(a) ∝ exp(-sum_mu alpha_mu a_mu^2 - g sum_i psi_i^4),     g >= 0,

    with one quadratic coupling per kept eigenmode and one quartic coupling
    on every site, i.e. the model of :func:`fit_quartic_flow`'s ``g_multi``
    without the expansion in ``g``. The maximum-likelihood fit matches
    ``E[a_mu^2]`` and ``E[sum_i psi_i^4]`` to the data; the model's moments
    come from Metropolis Monte Carlo over the ``k`` mode amplitudes
    (*n_chains* independent chains), and Newton steps (the Hessian is the
    model covariance of the statistics) start from the Gaussian with
    ``g`` at the first-order estimate.

    Parameters
    ----------
    activity : xarray.DataArray
        Activity ``(unit, time)``.
    n_modes : int
        Kept modes ``k`` (1 to 30: the Monte Carlo is over ``k`` amplitudes
        and the Newton system has ``k + 1`` unknowns).
    n_chains, n_sweeps : int
        Monte Carlo chains and sweeps per Newton iteration (the last
        iteration runs 4 times as many sweeps).
    n_iter : int
        Newton iterations. Each solves ``cov dtheta = E_model - E_data`` for
        the couplings ``theta = (alpha, g)`` (``cov`` the model covariance of
        the statistics); where that would make ``g`` negative, ``g`` is held
        at 0 and the alphas are re-solved with it fixed there; the step is
        halved until the model is normalisable (``g > 0``, or every
        ``alpha > 0``).
    n_blocks : int
        Contiguous time blocks for the data's error.
    random_state : None, int or Generator
        Seeds the Monte Carlo.

    Returns
    -------
    dict
        ``g``, ``g_err`` (sampling error of the data: delta method with the
        block covariance of the data's statistics), ``g_mc_err`` (Monte
        Carlo error of the last iteration), ``alpha`` (per mode),
        ``g_first_order`` (:func:`quartic_coupling_first_order` on the same
        variables), ``at_boundary`` (1 when ``g`` is held at 0 because the
        data are heavier-tailed than the model allows), ``n_modes``,
        ``fraction``; ``alpha_err`` and ``alpha_mc_err`` (data and Monte
        Carlo errors of ``alpha``, with ``g`` fixed where it is held at 0);
        ``moment_z`` (the last iteration's ``E_model - E_data`` of the
        ``k + 1`` statistics in units of their Monte Carlo error: that run's
        and the previous run's, whose noise set the parameters),
        ``max_moment_z`` (the largest ``|moment_z|``; on the boundary the
        fourth-moment statistic counts only when the model's exceeds the
        data's), ``moment_z_limit`` (the two-sided normal quantile of a 1 %
        family-wise level over the ``k + 1`` statistics) and ``converged``
        (``max_moment_z <= moment_z_limit`` and the last step not halved).

    Warns
    -----
    MaxEntConvergenceWarning
        When not ``converged``: the couplings are not yet the
        maximum-likelihood values.
    UserWarning
        When ``g`` is held at its boundary 0.
    """
    from ..activity import check_activity

    activity = check_activity(activity, allow_trials=False, min_time=20)
    values = activity.values.astype(float)
    n_unit, n_time = values.shape
    k = check_int(n_modes, "n_modes", min_value=1, max_value=min(30, n_unit))
    n_chains = check_int(n_chains, "n_chains", min_value=10)
    n_sweeps = check_int(n_sweeps, "n_sweeps", min_value=10)
    n_iter = check_int(n_iter, "n_iter", min_value=1)
    n_blocks = check_int(n_blocks, "n_blocks", min_value=2, max_value=max(2, n_time // 10))
    rng = check_random_state(random_state)
    z = values - values.mean(axis=1, keepdims=True)
    z /= z.std(axis=1, keepdims=True)
    evals, evecs = np.linalg.eigh(z @ z.T / n_time)
    order = np.argsort(evals)[::-1][:k]
    lam, u = evals[order], evecs[:, order]
    d = (u**2) @ lam  # variance of each projected unit
    v = u / np.sqrt(d)[:, None]
    amp = u.T @ z  # (k, time)
    psi4 = np.sum((v @ amp) ** 4, axis=0)
    stats = np.concatenate([amp**2, psi4[None, :]], axis=0)  # (k + 1, time)
    target = stats.mean(axis=1)
    edges = np.linspace(0, n_time, n_blocks + 1).astype(int)
    block_means = np.array(
        [stats[:, lo:hi].mean(axis=1) for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    )
    dev = block_means - block_means.mean(axis=0)
    cov_mean = dev.T @ dev / (n_blocks * (n_blocks - 1))  # covariance of the overall mean
    corr = (v * lam) @ v.T
    kappa4 = np.mean((v @ amp) ** 4, axis=1) - 3.0
    g_first = quartic_coupling_first_order(kappa4, corr)
    theta = np.concatenate([1.0 / (2.0 * lam), [max(g_first, 0.0)]])
    a = rng.standard_normal((n_chains, k)) * np.sqrt(lam)
    a, _, _ = _field_sweeps(a, v, theta[:k], theta[k], n_sweeps, rng)  # burn-in
    boundary = 0
    # Monte Carlo variance of the model means of the run that set the current theta
    # (none for the starting point)
    prev_mc_var = np.zeros(k + 1)
    for it in range(n_iter):
        sweeps = 4 * n_sweeps if it == n_iter - 1 else n_sweeps
        a, mean_chain, cov = _field_sweeps(a, v, theta[:k], theta[k], sweeps, rng)
        model = mean_chain.mean(axis=0)
        mc_cov = np.cov(mean_chain.T) / n_chains
        new, boundary, halvings = _field_newton_step(theta, model, target, cov)
        if it == n_iter - 1:
            # mismatch at the last evaluated theta, in units of its Monte Carlo error: this
            # run's and that of the run whose step set theta
            mismatch_err = np.sqrt(np.diag(mc_cov) + prev_mc_var)
            # one-sided for g only where it was and stays at 0
            held = int(boundary and theta[k] == 0)
            moment_z, max_z = _moment_z(model - target, mismatch_err, held)
            inv = np.linalg.inv(cov)
            g_mc_err = float(np.sqrt((inv @ mc_cov @ inv)[k, k]))
            g_err = float(np.sqrt((inv @ cov_mean @ inv)[k, k]))
            if boundary:  # alphas fitted with g fixed at 0
                inv = np.linalg.inv(cov[:k, :k])
                sl = slice(0, k)
                alpha_err = np.sqrt(np.diag(inv @ cov_mean[sl, sl] @ inv))
                alpha_mc_err = np.sqrt(np.diag(inv @ mc_cov[sl, sl] @ inv))
            else:
                alpha_err = np.sqrt(np.diag(inv @ cov_mean @ inv))[:k]
                alpha_mc_err = np.sqrt(np.diag(inv @ mc_cov @ inv))[:k]
            last_halvings = halvings
        prev_mc_var = np.diag(mc_cov)
        theta = new
    z_limit = float(norm.isf(_FIELD_CONVERGENCE_LEVEL / (2 * (k + 1))))
    converged = bool(max_z <= z_limit and last_halvings == 0)
    if boundary:
        warn_user(
            "the coarse-grained variables are heavier-tailed than the multivariate phi^4 model "
            "with g >= 0 allows; g is held at 0",
            UserWarning,
        )
    if not converged:
        what = (
            f"the last moment mismatch is {max_z:.3g} Monte Carlo errors (limit {z_limit:.3g})"
            if last_halvings == 0
            else f"the last Newton step was halved {last_halvings} times to stay normalisable"
        )
        warn_user(
            f"fit_quartic_field did not converge in n_iter={n_iter} iterations: {what}; "
            "g and alpha are not yet the maximum-likelihood values (raise n_iter, n_sweeps "
            "or n_chains)",
            MaxEntConvergenceWarning,
        )
    return {
        "g": float(theta[k]),
        "g_err": g_err,
        "g_mc_err": g_mc_err,
        "alpha": theta[:k].copy(),
        "alpha_err": alpha_err,
        "alpha_mc_err": alpha_mc_err,
        "g_first_order": g_first,
        "at_boundary": boundary,
        "converged": converged,
        "max_moment_z": max_z,
        "moment_z": moment_z,
        "moment_z_limit": z_limit,
        "n_modes": k,
        "fraction": k / n_unit,
    }
