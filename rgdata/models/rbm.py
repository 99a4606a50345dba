"""Restricted Boltzmann machine fitted by persistent contrastive divergence (numpy).

The RBM of Mehta & Schwab's variational RG: visible units ``v`` (the data:
spins of a lattice, neurons of a recording) and hidden units ``h`` with
energy ``E(v, h) = -a . v - b . h - v . W h``, units coded 0/1 or +-1. The
gradient of the log-likelihood is the difference between data and model
averages of closed-form statistics (``v E[h | v]``, ``v``, ``E[h | v]``), so
training needs no automatic differentiation and runs in plain numpy; the
model average comes from persistent Gibbs chains (PCD, Tieleman 2008).
Kernels: :mod:`rgdata.models._rbm_kernels`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import __version__
from .._progress import progress_bar
from .._validation import check_int, check_option, check_real, describe
from ..activity import as_configurations
from ._protocol import RGModel
from ._rbm_data import as_rows, as_spins, hidden_output
from ._rbm_kernels import (
    CODINGS,
    MAX_ENUMERATE,
    draw_units,
    free_energy,
    gibbs,
    gradient,
    hidden_mean,
    log_partition,
)

__all__ = ["RBM"]


class RBM(RGModel):
    """Restricted Boltzmann machine (binary units) fitted by persistent contrastive divergence.

    Parameters
    ----------
    n_hidden : int
        Number of hidden units.
    coding : {"pm1", "01"}
        Unit values of both layers: -1/+1 (spins; the model is then spin-flip
        symmetric when the biases vanish) or 0/1 (as scikit-learn's
        ``BernoulliRBM``). Data in the other binary coding are relabelled
        (``u = (s + 1) / 2``).
    l1, l2 : float
        Penalties ``l1 * |W|_1 + l2 / 2 * |W|_2^2`` on the weights (per
        sample, subtracted from the mean log-likelihood); biases are not
        penalised.
    learning_rate : float
        Step size of stochastic gradient ascent; constant for the first half
        of the updates, then decreasing linearly to zero, so the weights
        settle instead of fluctuating at the end.
    n_epochs : int
        Passes over the data.
    batch_size : int
        Samples per update; also the number of persistent chains.
    n_gibbs : int
        Block-Gibbs sweeps of the persistent chains per update.
    random_state : None, int or numpy.random.Generator
        Seeds the initial weights, the batches and every Gibbs draw; the seed
        used is ``seed_``.
    progress : bool
        Show a progress bar over epochs.

    Attributes
    ----------
    weights_ : numpy.ndarray
        ``(n_visible, n_hidden)`` couplings ``W``.
    visible_bias_, hidden_bias_ : numpy.ndarray
        ``a`` and ``b``.
    reconstruction_error_ : numpy.ndarray
        Mean squared difference between the data and their one-step mean
        reconstruction ``E[v | h ~ p(h | v)]`` after each epoch (per unit).
    n_visible_, seed_, coding_ : int, int, str

    Examples
    --------
    >>> import numpy as np
    >>> X = np.repeat(np.array([[1, 1, -1, -1], [-1, -1, 1, 1]]), 50, axis=0)
    >>> rbm = RBM(n_hidden=2, n_epochs=50, batch_size=10, random_state=0).fit(X)
    >>> p_two_patterns = np.exp(rbm.log_prob(X[[0, 50]])).sum()  # of 16 states
    >>> bool(p_two_patterns > 0.9)
    True
    """

    has_log_prob = True
    _fitted_attribute = "weights_"
    _fit_call = "fit(X)"

    def __init__(
        self,
        n_hidden: int = 16,
        coding: str = "pm1",
        l1: float = 0.0,
        l2: float = 0.0,
        learning_rate: float = 0.05,
        n_epochs: int = 20,
        batch_size: int = 100,
        n_gibbs: int = 1,
        random_state: Any = None,
        progress: bool = False,
    ) -> None:
        self.n_hidden = n_hidden
        self.coding = coding
        self.l1 = l1
        self.l2 = l2
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.n_gibbs = n_gibbs
        self.random_state = random_state
        self.progress = progress

    # --------------------------------------------------------------- settings
    def _settings(self) -> dict:
        return {
            "n_hidden": check_int(self.n_hidden, "n_hidden", min_value=1),
            "coding": check_option(self.coding, "coding", CODINGS),
            "l1": check_real(self.l1, "l1", min_value=0),
            "l2": check_real(self.l2, "l2", min_value=0),
            "learning_rate": check_real(
                self.learning_rate, "learning_rate", min_value=0, strict_min=True
            ),
            "n_epochs": check_int(self.n_epochs, "n_epochs", min_value=1),
            "batch_size": check_int(self.batch_size, "batch_size", min_value=1),
            "n_gibbs": check_int(self.n_gibbs, "n_gibbs", min_value=1),
        }

    # -------------------------------------------------------------------- fit
    def fit(self, X: Any, y: None = None) -> RBM:
        """Fit the weights and biases by persistent contrastive divergence.

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Binary data: Configurations ``(sample, y, x)`` (one sample per
            configuration), Activity ``(unit, time)`` (one sample per time
            bin) or ``(n_samples, n_visible)``, coded 0/1 or -1/+1.
        y : None
            Unused.

        Returns
        -------
        RBM
            ``self``.
        """
        if y is not None:
            raise ValueError(f"y must be None (the RBM is unsupervised), got {describe(y)}")
        opts = self._settings()
        self._reset_fit_state()
        coding = opts["coding"]
        data, info = as_rows(X, coding)
        rng, seed = self._seeded_rng(self.random_state)
        n, n_v = data.shape
        n_h = opts["n_hidden"]
        batch = min(opts["batch_size"], n)
        W = rng.normal(0.0, 0.01, size=(n_v, n_h))
        mean = data.mean(axis=0)
        if coding == "01":
            clipped = np.clip(mean, 1e-3, 1 - 1e-3)
            a = np.log(clipped / (1 - clipped))
        else:
            a = np.arctanh(np.clip(mean, -1 + 2e-3, 1 - 2e-3))
        b = np.zeros(n_h)
        chains = data[rng.choice(n, size=batch, replace=n < batch)].copy()
        n_batches = -(-n // batch)
        total = opts["n_epochs"] * n_batches
        lr0 = opts["learning_rate"]
        errors = np.empty(opts["n_epochs"])
        step = 0
        epochs = progress_bar(range(opts["n_epochs"]), enable=self.progress, desc="RBM.fit")
        for epoch in epochs:
            order = rng.permutation(n)
            for k in range(n_batches):
                rows = data[order[k * batch : (k + 1) * batch]]
                chains = gibbs(chains, W, a, b, coding, opts["n_gibbs"], rng)
                gW, ga, gb = gradient(rows, chains, W, a, b, coding)
                if opts["l2"]:
                    gW -= opts["l2"] * W
                if opts["l1"]:
                    gW -= opts["l1"] * np.sign(W)
                lr = lr0 * min(1.0, 2.0 * (1.0 - step / total))
                W += lr * gW
                a += lr * ga
                b += lr * gb
                step += 1
            errors[epoch] = self._reconstruction_error(data, W, a, b, coding, rng)
        self.weights_ = W
        self.visible_bias_ = a
        self.hidden_bias_ = b
        self.reconstruction_error_ = errors
        self.n_visible_ = int(n_v)
        self.n_samples_ = int(n)
        self.seed_ = seed
        self.coding_ = coding
        self.input_ = {k: v for k, v in info.items() if k in ("layout", "shape", "data_coding")}
        self.training_attrs_ = info["attrs"]
        return self

    @staticmethod
    def _reconstruction_error(data, W, a, b, coding, rng) -> float:
        rows = data[: min(len(data), 2000)]
        h = draw_units(rows @ W + b, coding, rng)
        recon = hidden_mean(h @ W.T + a, coding)
        return float(np.mean((rows - recon) ** 2))

    # ------------------------------------------------------------ likelihood
    def _visible(self, X: Any, name: str = "X") -> tuple[np.ndarray, dict]:
        self._check_fitted()
        data, info = as_rows(X, self.coding_, name)
        if data.shape[1] != self.n_visible_:
            raise ValueError(
                f"{name} has {data.shape[1]} visible units per sample, the RBM was fitted "
                f"on {self.n_visible_}"
            )
        return data, info

    @property
    def exact_log_z(self) -> bool:
        """Whether ``log Z`` is computed exactly (``min(n_visible, n_hidden) <= 20``)."""
        self._check_fitted()
        return min(self.weights_.shape) <= MAX_ENUMERATE

    def log_partition(self) -> float:
        """Exact ``log Z`` by enumerating the smaller layer (see :attr:`exact_log_z`).

        Returns
        -------
        float
            ``log Z`` in nats.
        """
        self._check_fitted()
        return log_partition(self.weights_, self.visible_bias_, self.hidden_bias_, self.coding_)

    def free_energy(self, X: Any) -> np.ndarray:
        """Free energy ``F(v)`` of each sample (hidden units summed out exactly).

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Visible configurations, as in :meth:`fit`.

        Returns
        -------
        numpy.ndarray
            ``(n_samples,)``; ``log p(v) = -F(v) - log Z``.
        """
        data, _ = self._visible(X)
        return free_energy(data, self.weights_, self.visible_bias_, self.hidden_bias_, self.coding_)

    def log_prob(self, X: Any, normalized: bool = True) -> np.ndarray:
        """Log-probability ``log p(v)`` (nats) of each sample.

        Exact when :attr:`exact_log_z` (``log Z`` by enumeration); for larger
        models ``normalized=True`` raises ``ValueError`` and
        ``normalized=False`` gives the unnormalised ``-F(v)``.

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Visible configurations.
        normalized : bool
            Subtract the exact ``log Z``.

        Returns
        -------
        numpy.ndarray
            ``(n_samples,)`` log-probabilities.
        """
        neg_f = -self.free_energy(X)
        if not normalized:
            return neg_f
        if not self.exact_log_z:
            raise ValueError(
                f"log_prob needs the exact log Z, which needs n_visible <= {MAX_ENUMERATE} or "
                f"n_hidden <= {MAX_ENUMERATE} (got {self.weights_.shape}); "
                "use log_prob(X, normalized=False) for the unnormalised -F(v), or "
                "rgdata.models.rbm_ais.rbm_log_likelihood (log Z by annealed importance sampling)"
            )
        return neg_f - self.log_partition()

    # ------------------------------------------------------------- transform
    def _grid(self) -> tuple[int, ...] | None:
        shape = self.input_.get("shape")
        n_h = self.weights_.shape[1]
        if shape is None or len(shape) != 2:
            return None
        side = int(round(np.sqrt(n_h)))
        return (side, side) if side * side == n_h else None

    def transform(self, X: Any, mode: str = "mean", random_state: Any = None) -> xr.DataArray:
        """Hidden activity given the visible data: the coarse-grained layer.

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Visible data, as in :meth:`fit`.
        mode : {"mean", "sample"}
            ``E[h | v]`` (floats) or one draw of ``h ~ p(h | v)``.
        random_state : None, int or numpy.random.Generator
            Seeds the draws of ``mode="sample"`` (recorded in ``attrs["seed"]``).

        Returns
        -------
        xarray.DataArray
            For lattice input, ``mode="sample"`` and a square number of
            hidden units: Configurations ``(sample, y, x)`` of side
            ``sqrt(n_hidden)`` (hidden unit ``j`` at ``(j // side, j % side)``;
            use :func:`rgdata.models.rbm_measures.arrange_hidden` to place
            units by receptive field). Otherwise Activity ``(unit, time)``
            with one unit per hidden unit: ``kind="spins"`` (+-1) or
            ``"spikes"`` (0/1) for samples, ``"continuous"`` for means.
        """
        check_option(mode, "mode", ("mean", "sample"))
        data, info = self._visible(X)
        field = data @ self.weights_ + self.hidden_bias_
        attrs: dict[str, Any] = {"source": "RBM hidden layer", "hidden_mode": mode}
        if mode == "mean":
            h = hidden_mean(field, self.coding_)
        else:
            rng, seed = self._seeded_rng(random_state)
            h = draw_units(field, self.coding_, rng)
            attrs["seed"] = seed
        return hidden_output(h, info, self.coding_, mode, self._grid(), **attrs)

    # ----------------------------------------------------------------- sample
    def sample(self, n: int, random_state: Any = None, *, n_steps: int = 200) -> xr.DataArray:
        """Draw visible configurations by block-Gibbs sampling from random starts.

        Parameters
        ----------
        n : int
            Number of independent chains (one draw each).
        random_state : None, int or numpy.random.Generator
            Seeds the chains (recorded in ``attrs["seed"]``).
        n_steps : int
            Gibbs sweeps per chain (burn-in).

        Returns
        -------
        xarray.DataArray
            Configurations ``(sample, y, x)`` (int8 +-1) when fitted on a
            lattice, otherwise ``(sample, unit)`` in the model's coding.
        """
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        n_steps = check_int(n_steps, "n_steps", min_value=1)
        rng, seed = self._seeded_rng(random_state)
        return self._visible_output(self._gibbs_visible(n, rng, n_steps), seed, n_steps=n_steps)

    def _gibbs_visible(self, n: int, rng: np.random.Generator, n_steps: int) -> np.ndarray:
        start = draw_units(np.zeros((n, self.n_visible_)), self.coding_, rng)
        W, a, b = self.weights_, self.visible_bias_, self.hidden_bias_
        return gibbs(start, W, a, b, self.coding_, n_steps, rng)

    def _visible_output(self, v: np.ndarray, seed: int, **extra: Any) -> xr.DataArray:
        attrs = {"model": "RBM", "seed": seed, "coding": self.coding_, **extra}
        n = v.shape[0]
        if self.input_["layout"] == "lattice":
            temperature = self.training_attrs_.get("temperature")
            if temperature is not None:
                attrs["temperature"] = temperature
            spins = as_spins(v, self.coding_).reshape(n, *self.input_["shape"])
            return as_configurations(spins, **attrs)
        return xr.DataArray(
            v.astype(np.int8), dims=("sample", "unit"), coords={"sample": np.arange(n)}, attrs=attrs
        )

    # ----------------------------------------------------------------- export
    def to_dataset(self) -> xr.Dataset:
        """Weights, biases and the training curve as a Dataset.

        Returns
        -------
        xarray.Dataset
            ``weights`` on ``(visible, hidden)``, ``visible_bias`` on
            ``visible``, ``hidden_bias`` on ``hidden``,
            ``reconstruction_error`` on ``epoch``; attrs hold the settings,
            coding, seed and input layout.
        """
        self._check_fitted()
        n_v, n_h = self.weights_.shape

        def var(dims, values, units, description):
            return xr.Variable(
                dims, np.asarray(values, np.float64), {"units": units, "description": description}
            )

        ds = xr.Dataset(
            {
                "weights": var(("visible", "hidden"), self.weights_, "1", "couplings W of -E"),
                "visible_bias": var("visible", self.visible_bias_, "1", "visible bias a"),
                "hidden_bias": var("hidden", self.hidden_bias_, "1", "hidden bias b"),
                "reconstruction_error": var(
                    "epoch",
                    self.reconstruction_error_,
                    "1 (squared unit value)",
                    "mean squared one-step reconstruction error after each epoch",
                ),
            },
            coords={
                "visible": np.arange(n_v),
                "hidden": np.arange(n_h),
                "epoch": np.arange(1, len(self.reconstruction_error_) + 1),
            },
        )
        ds.attrs = {
            "model": "RBM",
            "energy": "E(v, h) = -a.v - b.h - v.W h",
            "coding": self.coding_,
            "data_coding": self.input_["data_coding"],
            "layout": self.input_["layout"],
            "n_samples": self.n_samples_,
            "seed": self.seed_,
            "n_iter": len(self.reconstruction_error_),
            "version": __version__,
            **self._settings(),
        }
        if "shape" in self.input_:
            ds.attrs["lattice_shape"] = list(self.input_["shape"])
        return ds
