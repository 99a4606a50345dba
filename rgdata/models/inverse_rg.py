"""The minimal inverse-RG upsampler: one spin-flip-symmetric convolution (3x3, 5x5 or 7x7).

After Rancon, Rancon, Ivek and Balog, "Dreaming up scale invariance via
inverse renormalization group". A coarse 2D lattice of +-1 spins is
upsampled by 2 (each coarse spin copied onto its 2x2 block), convolved with
the circular-padded 3x3 kernel ``[[a, b, a], [b, c, b], [a, b, a]]`` (or
the 5x5 / 7x7 kernel with the symmetries of the square: 6 / 10 weights,
``rgdata.models._symmetric``), and each fine spin is drawn independently as
+1 with probability ``sigmoid(logit)``.

Coding and bias. The convolution acts on the 0/1 coding ``u = (s + 1) / 2``
of the upsampled spins, with the bias fixed at ``-sum(kernel) / 2``::

    logit = sum_k K_k u_k - sum_k K_k / 2 = sum_k K_k (u_k - 1/2) = (1/2) sum_k K_k s_k

so the logit is odd in the coarse spins: flipping every coarse spin flips
the logit's sign and ``P(fine = +1 | -coarse) = P(fine = -1 | coarse)``.
The model is exactly spin-flip symmetric, and the weights enter a logistic
regression without intercept on one feature per kernel orbit (for 3x3: half
the sums of the corner, edge and centre spins of each fine site's 3x3
neighbourhood), whose negative log-likelihood is convex.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import minimize
from scipy.special import expit

from .. import __version__
from .._validation import check_array, check_int, check_real
from .._warnings import warn_user
from . import _symmetric as _sym
from ._protocol import RGModel
from ._upsampling import Upsampler, spins_of

__all__ = ["InverseRGUpsampler", "features", "kernel"]


def features(coarse: np.ndarray, kernel_size: int = 3) -> np.ndarray:
    """The orbit features of every fine site (3x3: halved corner, edge and centre sums).

    Parameters
    ----------
    coarse : numpy.ndarray
        ``(n, l, l)`` +-1 spins.
    kernel_size : {3, 5, 7}
        Side of the symmetric kernel.

    Returns
    -------
    numpy.ndarray
        ``(n, 2l, 2l, P)`` float64: for each fine site, half the sum of the
        nearest-neighbour upsampled spins on each kernel orbit (periodic
        boundaries; for 3x3 the four diagonal, the four nearest and the
        centre spin), so that ``logit = features @ coef``.
    """
    return _sym.features(coarse, kernel_size)


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
    return _sym.symmetric_kernel([a, b, c])


class InverseRGUpsampler(Upsampler):
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
    kernel_size : {3, 5, 7}
        Side of the symmetric kernel: 3 weights ``(a, b, c)`` for 3x3 (the
        minimal model), 6 for 5x5 and 10 for 7x7 (one per orbit of the
        square's symmetries, named ``k<i><j>`` by the offsets ``0 <= i <= j``;
        see :func:`rgdata.models.symmetric_kernel`).

    Attributes
    ----------
    coef_ : numpy.ndarray
        Fitted weights, ``(a, b, c)`` for 3x3.
    param_names_ : list of str
        Their names.
    kernel_ : numpy.ndarray
        The ``k x k`` kernel; ``bias_ = -kernel_.sum() / 2``.
    stderr_ : numpy.ndarray
        Standard errors of ``coef_`` from the inverse Hessian of the negative
        log-likelihood (observed Fisher information), valid when fine spins
        are independent given the coarse lattice, as the model assumes.
    stderr_robust_ : numpy.ndarray
        Sandwich standard errors clustered by configuration: valid when the
        model is misspecified (real lattices, whose fine spins are correlated
        given the coarse lattice).
    covariance_, covariance_robust_ : numpy.ndarray
        The corresponding covariance matrices.
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

    _fitted_attribute = "coef_"
    _fit_call = "fit(X)"

    def __init__(
        self,
        random_state: Any = None,
        max_iter: int = 200,
        tol: float = 1e-9,
        kernel_size: int = 3,
    ) -> None:
        self.random_state = random_state
        self.max_iter = max_iter
        self.tol = tol
        self.kernel_size = kernel_size

    # ----------------------------------------------------------------- numerics
    @staticmethod
    def draw(coarse: Any, coef: Any, random_state: Any = None) -> np.ndarray:
        """Fine spins drawn from the model with parameters *coef* (plain arrays).

        Parameters
        ----------
        coarse : array-like
            ``(n, l, l)`` +-1 spins.
        coef : array-like
            ``(a, b, c)``, or the 6 / 10 weights of a 5x5 / 7x7 kernel.
        random_state : None, int or numpy.random.Generator
            Seeds the Bernoulli draws.

        Returns
        -------
        numpy.ndarray
            ``(n, 2l, 2l)`` int8 +-1 spins.
        """
        coarse, _ = spins_of(coarse, "coarse")
        coef = check_array(coef, "coef", ndim=1)
        if coef.shape[0] not in [_sym.n_params(k) for k in _sym.KERNEL_SIZES]:
            raise ValueError(
                f"coef must hold (a, b, c) or the 6 / 10 weights of a 5x5 / 7x7 kernel, "
                f"got shape {coef.shape}"
            )
        rng = RGModel._seeded_rng(random_state)[0]
        p_up = expit(_sym.logits(coarse, coef))
        return np.where(rng.random(p_up.shape) < p_up, 1, -1).astype(np.int8)

    def _logits(self, coarse: np.ndarray) -> np.ndarray:
        return _sym.logits(coarse, self.coef_)

    def _sample_attrs(self) -> dict[str, Any]:
        pairs = zip(self.param_names_, self.coef_, strict=True)
        attrs: dict[str, Any] = {name: float(v) for name, v in pairs}
        if self.kernel_size_ != 3:
            attrs["kernel_size"] = self.kernel_size_
        return attrs

    # --------------------------------------------------------------------- fit
    def fit(self, X: Any, y: None = None, *, coarse: Any = None) -> InverseRGUpsampler:
        """Fit the kernel weights by maximum likelihood on (coarse, fine) pairs.

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
        self._check_y(y)
        k = _sym.check_kernel_size(self.kernel_size)
        max_iter = check_int(self.max_iter, "max_iter", min_value=1)
        tol = check_real(self.tol, "tol", min_value=0, strict_min=True)
        self._reset_fit_state()
        seed = self._seeded_rng(self.random_state)[1]
        fine, coarse_arr, attrs = self._pairs(X, coarse, seed)
        n_par = _sym.n_params(k)
        n_cfg = fine.shape[0]
        # flat (sites, params) design matrix: matrix-vector products go through BLAS
        phi = _sym.features(coarse_arr, k).reshape(-1, n_par)
        s = fine.reshape(-1).astype(np.float64)
        n_sites = s.size

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            margin = s * (phi @ theta)
            nll = np.logaddexp(0.0, -margin).sum() / n_sites
            weight = -s * expit(-margin)
            return float(nll), (weight @ phi) / n_sites

        result = minimize(
            objective,
            np.zeros(n_par),
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
        hessian = (phi * (p_up * (1 - p_up))[:, None]).T @ phi
        covariance = np.linalg.inv(hessian)
        weight = (-s * expit(-margin)).reshape(n_cfg, 1, -1)
        scores = np.matmul(weight, phi.reshape(n_cfg, -1, n_par))[:, 0]  # per configuration
        meat = scores.T @ scores
        covariance_robust = covariance @ meat @ covariance

        self.coef_ = theta
        self.kernel_ = _sym.symmetric_kernel(theta)
        self.kernel_size_ = k
        self.param_names_ = _sym.param_names(k)
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

    # ------------------------------------------------------------------ export
    def to_dataset(self) -> xr.Dataset:
        """The fitted parameters, their errors and the kernel as a Dataset.

        Returns
        -------
        xarray.Dataset
            ``estimate``, ``stderr``, ``stderr_robust`` on ``param`` (a, b, c
            for 3x3, ``k<i><j>`` otherwise),
            ``covariance`` and ``covariance_robust`` on ``(param, param_j)``,
            ``kernel`` on ``(ky, kx)``; attrs hold the model, coding, bias
            rule, fit diagnostics and training data description.
        """
        self._check_fitted()
        per_spin = "1 (logit per unit spin)"
        r = self.kernel_size_ // 2
        offsets = list(range(-r, r + 1))
        coords = {
            "param": list(self.param_names_),
            "param_j": list(self.param_names_),
            "ky": offsets,
            "kx": offsets,
        }
        data = {
            "estimate": ("param", self.coef_, "maximum-likelihood kernel weights (one per orbit)"),
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
            "kernel": (
                ("ky", "kx"),
                self.kernel_,
                f"{self.kernel_size_}x{self.kernel_size_} kernel with the symmetries of the square",
            ),
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
            "upsampling": f"nearest neighbour x2, circular {self.kernel_size_}x{self.kernel_size_} "
            "convolution",
            "kernel_size": self.kernel_size_,
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
