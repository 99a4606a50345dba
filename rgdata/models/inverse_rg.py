"""The minimal inverse-RG upsampler: one spin-flip-symmetric 3x3 convolution.

After Rancon, Rancon, Ivek and Balog, "Dreaming up scale invariance via
inverse renormalization group". A coarse 2D lattice of +-1 spins is
upsampled by 2 (each coarse spin copied onto its 2x2 block), convolved with
the circular-padded 3x3 kernel ``[[a, b, a], [b, c, b], [a, b, a]]``, and
each fine spin is drawn independently as +1 with probability
``sigmoid(logit)``.

Coding and bias. The convolution acts on the 0/1 coding ``u = (s + 1) / 2``
of the upsampled spins, with the bias fixed at ``-sum(kernel) / 2``::

    logit = sum_k K_k u_k - sum_k K_k / 2 = sum_k K_k (u_k - 1/2) = (1/2) sum_k K_k s_k

so the logit is odd in the coarse spins: flipping every coarse spin flips
the logit's sign and ``P(fine = +1 | -coarse) = P(fine = -1 | coarse)``.
The model is exactly spin-flip symmetric, and (a, b, c) enter a logistic
regression without intercept on three features (half the sums of the
corner, edge and centre spins of each fine site's 3x3 neighbourhood), whose
negative log-likelihood is convex.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import minimize
from scipy.special import expit

from .. import __version__
from .._validation import check_array, check_int, check_real, describe
from .._warnings import warn_user
from ..activity import as_configurations
from ._protocol import RGModel

__all__ = ["InverseRGUpsampler"]

PARAMS = ("a", "b", "c")


def _spins(data: Any, name: str) -> tuple[np.ndarray, dict]:
    """``(n, L, L)`` int8 +-1 spins and the attrs of *data* (2D, square lattices only)."""
    if isinstance(data, xr.DataArray):
        if data.dims != ("sample", "y", "x"):
            raise ValueError(
                f"{name} must have dims ('sample', 'y', 'x') (2D lattices), got {data.dims}"
            )
        attrs = dict(data.attrs)
        values = data.values
    else:
        attrs = {}
        values = data
    arr = check_array(values, name, ndim=3)
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one configuration, got shape {arr.shape}")
    if arr.shape[1] != arr.shape[2]:
        raise ValueError(
            f"{name} must be square lattices (L_y == L_x), got shape {arr.shape}; "
            "accepted: (n_sample, L, L)"
        )
    bad = (arr != 1) & (arr != -1)
    if bad.any():
        found = np.unique(arr[bad])[:6]
        raise ValueError(
            f"{name} must hold only -1 and +1 spins, found values {found.tolist()}; "
            "convert 0/1 data with 2 * x - 1"
        )
    return arr.astype(np.int8, copy=False), attrs


def _check_even(side: int, name: str) -> None:
    if side % 2:
        raise ValueError(
            f"{name} has odd side L={side}; accepted: even L (fine lattices are 2x their coarse)"
        )


def features(coarse: np.ndarray) -> np.ndarray:
    """The three features of every fine site: halved corner, edge and centre sums.

    Parameters
    ----------
    coarse : numpy.ndarray
        ``(n, l, l)`` +-1 spins.

    Returns
    -------
    numpy.ndarray
        ``(n, 2l, 2l, 3)`` float64: for each fine site, half the sum of the
        four diagonal, the four nearest and the centre spin of the
        nearest-neighbour upsampled lattice (periodic boundaries), so that
        ``logit = features @ (a, b, c)``.
    """
    up = 0.5 * np.repeat(np.repeat(coarse, 2, axis=1), 2, axis=2).astype(np.float64)
    out = np.empty((*up.shape, 3))
    vertical = np.roll(up, 1, axis=1) + np.roll(up, -1, axis=1)
    out[..., 0] = np.roll(vertical, 1, axis=2) + np.roll(vertical, -1, axis=2)
    out[..., 1] = vertical + np.roll(up, 1, axis=2) + np.roll(up, -1, axis=2)
    out[..., 2] = up
    return out


def kernel(a: float, b: float, c: float) -> np.ndarray:
    """The 3x3 spin-flip-symmetric kernel ``[[a, b, a], [b, c, b], [a, b, a]]``.

    Parameters
    ----------
    a, b, c : float
        Corner, edge and centre weights.

    Returns
    -------
    numpy.ndarray
        ``(3, 3)`` float64 kernel.

    Examples
    --------
    >>> float(kernel(0.5, 0.25, 1.0).sum())
    4.0
    """
    return np.array([[a, b, a], [b, c, b], [a, b, a]], dtype=np.float64)


class InverseRGUpsampler(RGModel):
    """Minimal inverse-RG upsampler (one symmetric 3x3 convolution, Bernoulli spins).

    Learns ``P(fine | coarse)`` for 2x blocking of 2D Ising-like lattices:
    ``P(s_i = +1 | coarse) = sigmoid(sum_k K_k u_k - sum(K) / 2)``, where
    ``u`` is the 0/1 coding of the nearest-neighbour upsampled coarse lattice,
    ``K = [[a, b, a], [b, c, b], [a, b, a]]`` acts with periodic padding, and
    fine spins are independent given the coarse lattice. The bias
    ``-sum(K) / 2`` makes the logit ``(K * s) / 2`` odd in the coarse spins, so
    the model is exactly spin-flip symmetric (see the module docstring).

    Parameters
    ----------
    random_state : None, int or numpy.random.Generator
        Seeds the tie-breaking coins of the majority-rule blocking that builds
        training pairs (and the default coarse lattices of :meth:`log_prob`).
        The seed used is stored in ``seed_``.
    max_iter : int
        Iteration limit of L-BFGS.
    tol : float
        Gradient tolerance of L-BFGS on the mean negative log-likelihood per site.

    Attributes
    ----------
    coef_ : numpy.ndarray
        Fitted ``(a, b, c)``.
    kernel_ : numpy.ndarray
        The 3x3 kernel; ``bias_ = -kernel_.sum() / 2``.
    stderr_ : numpy.ndarray
        Standard errors of ``coef_`` from the inverse Hessian of the negative
        log-likelihood (observed Fisher information), valid when fine spins
        are independent given the coarse lattice, as the model assumes.
    stderr_robust_ : numpy.ndarray
        Sandwich standard errors clustered by configuration: valid when the
        model is misspecified (real lattices, whose fine spins are correlated
        given the coarse lattice).
    covariance_, covariance_robust_ : numpy.ndarray
        The corresponding 3x3 covariance matrices.
    log_likelihood_ : float
        Total conditional log-likelihood of the training pairs.
    n_iter_ : int
        L-BFGS iterations.
    converged_ : bool
        Whether L-BFGS reached *tol*.
    n_samples_ : int
        Number of training pairs (configurations).
    size_ : int
        Fine linear size L of the training configurations.
    seed_ : int
        Seed of the tie-breaking coins.
    pairs_ : str
        ``"majority"`` (blocked from the data) or ``"given"`` (``coarse=``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> coarse = rng.choice(np.array([-1, 1], np.int8), size=(40, 8, 8))
    >>> fine = InverseRGUpsampler.draw(coarse, (0.55, 0.63, 1.4), random_state=1)
    >>> model = InverseRGUpsampler(random_state=0).fit(fine, coarse=coarse)
    >>> bool(np.all(np.abs(model.coef_ - (0.55, 0.63, 1.4)) < 4 * model.stderr_))
    True
    >>> model.sample(3, random_state=0, size=16, seed_size=4).shape
    (3, 16, 16)
    """

    has_log_prob = True
    _fitted_attribute = "coef_"
    _fit_call = "fit(X)"

    def __init__(self, random_state: Any = None, max_iter: int = 200, tol: float = 1e-9) -> None:
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol

    # ----------------------------------------------------------------- numerics
    @staticmethod
    def draw(coarse: Any, coef: Any, random_state: Any = None) -> np.ndarray:
        """Fine spins drawn from the model with parameters *coef* (plain arrays).

        Parameters
        ----------
        coarse : array-like
            ``(n, l, l)`` +-1 spins.
        coef : array-like
            ``(a, b, c)``.
        random_state : None, int or numpy.random.Generator
            Seeds the Bernoulli draws.

        Returns
        -------
        numpy.ndarray
            ``(n, 2l, 2l)`` int8 +-1 spins.
        """
        coarse, _ = _spins(coarse, "coarse")
        coef = check_array(coef, "coef", ndim=1)
        if coef.shape != (3,):
            raise ValueError(f"coef must hold (a, b, c), got shape {coef.shape}")
        rng = RGModel._seeded_rng(random_state)[0]
        p_up = expit(features(coarse) @ coef)
        return np.where(rng.random(p_up.shape) < p_up, 1, -1).astype(np.int8)

    def _pairs(self, fine: Any, coarse: Any, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
        from ..lattice import block_spins

        fine_arr, attrs = _spins(fine, "X")
        _check_even(fine_arr.shape[1], "X")
        if coarse is None:
            blocked = block_spins(
                as_configurations(fine_arr), b=2, rule="majority", random_state=seed
            )
            coarse_arr = blocked.values
        else:
            coarse_arr, _ = _spins(coarse, "coarse")
            expected = (fine_arr.shape[0], fine_arr.shape[1] // 2, fine_arr.shape[2] // 2)
            if coarse_arr.shape != expected:
                raise ValueError(
                    f"coarse must have shape {expected} (half the side of X, "
                    f"shape {fine_arr.shape}), got {coarse_arr.shape}"
                )
        return fine_arr, coarse_arr, attrs

    # --------------------------------------------------------------------- fit
    def fit(self, X: Any, y: None = None, *, coarse: Any = None) -> InverseRGUpsampler:
        """Fit (a, b, c) by maximum likelihood on (coarse, fine) pairs.

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Fine configurations, ``(n, L, L)`` +-1 spins with even L.
        y : None
            Unused (scikit-learn's signature); pass explicit pairs as *coarse*.
        coarse : array-like, optional
            The coarse configuration of each fine one, ``(n, L/2, L/2)``. By
            default the majority-rule 2x2 blocking of *X*
            (:func:`rgdata.lattice.block_spins`, ties by a coin seeded from
            ``random_state``).

        Returns
        -------
        InverseRGUpsampler
            ``self``.
        """
        if y is not None:
            raise ValueError(
                f"y must be None, got {describe(y)}; pass the coarse configurations as coarse="
            )
        max_iter = check_int(self.max_iter, "max_iter", min_value=1)
        tol = check_real(self.tol, "tol", min_value=0, strict_min=True)
        self._reset_fit_state()
        seed = self._seeded_rng(self.random_state)[1]
        fine, coarse_arr, attrs = self._pairs(X, coarse, seed)
        phi = features(coarse_arr).reshape(fine.shape[0], -1, 3)
        s = fine.reshape(fine.shape[0], -1).astype(np.float64)
        n_sites = s.size

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            margin = s * (phi @ theta)
            nll = np.logaddexp(0.0, -margin).sum() / n_sites
            weight = -s * expit(-margin)
            grad = np.einsum("ks,ksp->p", weight, phi) / n_sites
            return float(nll), grad

        result = minimize(
            objective,
            np.zeros(3),
            jac=True,
            method="L-BFGS-B",
            options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0},
        )
        theta = np.asarray(result.x, dtype=np.float64)
        converged = bool(result.success)
        if not converged:
            warn_user(
                f"InverseRGUpsampler.fit: L-BFGS stopped after {result.nit} iterations "
                f"without reaching tol={tol} ({result.message}); raise max_iter or tol "
                "(recorded as converged=0 in to_dataset())"
            )
        margin = s * (phi @ theta)
        p_up = expit(phi @ theta)
        hessian = np.einsum("ks,ksp,ksq->pq", p_up * (1 - p_up), phi, phi)
        covariance = np.linalg.inv(hessian)
        scores = np.einsum("ks,ksp->kp", -s * expit(-margin), phi)
        meat = scores.T @ scores
        covariance_robust = covariance @ meat @ covariance

        self.coef_ = theta
        self.kernel_ = kernel(*theta)
        self.bias_ = float(-self.kernel_.sum() / 2)
        self.covariance_ = covariance
        self.covariance_robust_ = covariance_robust
        self.stderr_ = np.sqrt(np.diag(covariance))
        self.stderr_robust_ = np.sqrt(np.diag(covariance_robust))
        self.log_likelihood_ = float(-np.logaddexp(0.0, -margin).sum())
        self.n_iter_ = int(result.nit)
        self.converged_ = converged
        self.n_samples_ = int(fine.shape[0])
        self.size_ = int(fine.shape[1])
        self.seed_ = seed
        self.pairs_ = "majority" if coarse is None else "given"
        self.training_temperature_ = attrs.get("temperature")
        return self

    # ---------------------------------------------------------------- generate
    def _configurations(self, spins: np.ndarray, **attrs: Any) -> xr.DataArray:
        a, b, c = (float(v) for v in self.coef_)
        return as_configurations(
            spins,
            model=type(self).__name__,
            a=a,
            b=b,
            c=c,
            temperature=self.training_temperature_,
            version=__version__,
            **attrs,
        )

    def upsample(self, coarse: Any, random_state: Any = None) -> xr.DataArray:
        """One inverse-RG step: draw fine configurations (side x2) given coarse ones.

        Parameters
        ----------
        coarse : xarray.DataArray or array-like
            ``(n, l, l)`` +-1 spins.
        random_state : None, int or numpy.random.Generator
            Seeds the Bernoulli draws (the seed used is in ``attrs["seed"]``).

        Returns
        -------
        xarray.DataArray
            Configurations ``(sample, y, x)`` of side ``2 l``, int8 +-1, attrs
            ``model``, ``a``, ``b``, ``c``, ``seed``, ``temperature`` (of the
            training data, when it had one).
        """
        self._check_fitted()
        coarse_arr, _ = _spins(coarse, "coarse")
        rng, seed = self._seeded_rng(random_state)
        fine = self.draw(coarse_arr, self.coef_, rng)
        return self._configurations(fine, seed=seed, n_upsamplings=1)

    def sample(
        self,
        n: int,
        random_state: Any = None,
        *,
        size: int | None = None,
        seed_size: int = 4,
    ) -> xr.DataArray:
        """Generate configurations by upsampling random +-1 seeds repeatedly.

        Parameters
        ----------
        n : int
            Number of configurations.
        random_state : None, int or numpy.random.Generator
            Seeds the seed lattices and every Bernoulli draw (recorded in
            ``attrs["seed"]``).
        size : int, optional
            Linear size L of the result, ``seed_size * 2**k`` with ``k >= 1``;
            defaults to the training size ``size_``.
        seed_size : int
            Side of the i.i.d. fair +-1 seed lattices.

        Returns
        -------
        xarray.DataArray
            Configurations ``(sample, y, x)``, int8 +-1, attrs as in
            :meth:`upsample` plus ``seed_size`` and ``n_upsamplings``; the
            ``temperature`` attr is that of the training data, so
            :func:`rgdata.lattice.ising_observables` compares the generated
            ensemble with the one it imitates.
        """
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        seed_size = check_int(seed_size, "seed_size", min_value=1)
        size = self.size_ if size is None else check_int(size, "size", min_value=2)
        ratio = size // seed_size
        if size % seed_size or ratio < 2 or ratio & (ratio - 1):
            raise ValueError(
                f"size must be seed_size * 2**k with k >= 1; got size={size}, seed_size={seed_size}"
            )
        rng, seed = self._seeded_rng(random_state)
        spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n, seed_size, seed_size))
        steps = 0
        while spins.shape[1] < size:
            spins = self.draw(spins, self.coef_, rng)
            steps += 1
        return self._configurations(spins, seed=seed, seed_size=seed_size, n_upsamplings=steps)

    def log_prob(self, X: Any, coarse: Any = None) -> np.ndarray:
        """Exact conditional log-likelihood ``log p(fine | coarse)`` of each configuration.

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Fine configurations, ``(n, L, L)`` +-1 spins with even L.
        coarse : array-like, optional
            Their coarse configurations ``(n, L/2, L/2)``; by default the
            majority-rule blocking of *X* with ties broken by coins seeded
            from ``seed_`` (the fit's), so repeated calls agree.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` log-likelihoods in nats (sums over the ``L**2`` fine sites).
        """
        self._check_fitted()
        fine, coarse_arr, _ = self._pairs(X, coarse, self.seed_)
        logits = features(coarse_arr) @ self.coef_
        return -np.logaddexp(0.0, -fine * logits).sum(axis=(1, 2))

    # ------------------------------------------------------------------ export
    def to_dataset(self) -> xr.Dataset:
        """The fitted parameters, their errors and the kernel as a Dataset.

        Returns
        -------
        xarray.Dataset
            ``estimate``, ``stderr``, ``stderr_robust`` on ``param`` (a, b, c),
            ``covariance`` and ``covariance_robust`` on ``(param, param_j)``,
            ``kernel`` on ``(ky, kx)``; attrs hold the model, coding, bias
            rule, fit diagnostics and training data description.
        """
        self._check_fitted()
        per_spin = "1 (logit per unit spin)"
        coords = {
            "param": list(PARAMS),
            "param_j": list(PARAMS),
            "ky": [-1, 0, 1],
            "kx": [-1, 0, 1],
        }
        data = {
            "estimate": ("param", self.coef_, "maximum-likelihood kernel weights (a, b, c)"),
            "stderr": ("param", self.stderr_, "standard error from the inverse Hessian"),
            "stderr_robust": (
                "param",
                self.stderr_robust_,
                "sandwich standard error clustered by configuration",
            ),
            "covariance": (("param", "param_j"), self.covariance_, "inverse-Hessian covariance"),
            "covariance_robust": (
                ("param", "param_j"),
                self.covariance_robust_,
                "sandwich covariance clustered by configuration",
            ),
            "kernel": (("ky", "kx"), self.kernel_, "3x3 kernel [[a,b,a],[b,c,b],[a,b,a]]"),
        }
        variables = {
            name: xr.Variable(
                dims,
                np.asarray(values, dtype=np.float64),
                attrs={"units": "1" if name.startswith("cov") else per_spin, "description": d},
            )
            for name, (dims, values, d) in data.items()
        }
        attrs = {
            "model": type(self).__name__,
            "coding": "0/1 (u = (s + 1) / 2) input, +-1 output",
            "bias": float(self.bias_),
            "bias_rule": "-sum(kernel) / 2 (logit = kernel * s / 2, spin-flip symmetric)",
            "upsampling": "nearest neighbour x2, circular 3x3 convolution",
            "pairs": self.pairs_,
            "n_samples": self.n_samples_,
            "size": self.size_,
            "seed": self.seed_,
            "log_likelihood": self.log_likelihood_,
            "n_iter": self.n_iter_,
            "converged": int(self.converged_),
            "max_iter": int(self.max_iter),
            "tol": float(self.tol),
            "version": __version__,
        }
        if self.training_temperature_ is not None:
            attrs["temperature"] = float(self.training_temperature_)
        return xr.Dataset(variables, coords=coords, attrs=attrs)
