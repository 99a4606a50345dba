"""Learned (JAX) inverse-RG upsamplers: shared layers, loss, training loop and base class.

A learned upsampler maps a coarse ``(n, l, l)`` +-1 lattice to fine logits
``(n, 2l, 2l)`` through a small network ``g`` and is made exactly
spin-flip symmetric by antisymmetrising it,

    logit(C) = (g(C) - g(-C)) / 2,

so ``P(fine | -C) = P(-fine | C)`` as for the symmetric-kernel model. Fine
spins are independent Bernoulli draws given ``C``; the loss is the binary
cross-entropy (the mean negative conditional log-likelihood per fine site),
minimised with Adam (:mod:`optax`) over shuffled minibatches. JAX is the ML
extra (``pip install rgdata[ml]``), imported only inside the methods that
need it (:func:`rgdata.models.require_ml`).

Convolutions are periodic (wrap padding), as the lattices are tori.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import xarray as xr

from .. import __version__
from .._progress import progress_bar
from .._validation import check_int, check_real
from ._ml import require_ml
from ._upsampling import CHUNK_SITES, Upsampler

__all__ = ["JaxUpsampler", "periodic_conv", "bce_loss"]


def periodic_conv(x: Any, w: Any, b: Any = None) -> Any:
    """Circular 2D cross-correlation of ``(n, c_in, h, w)`` with ``(c_out, c_in, k, k)``.

    ``out[:, o, i, j] = sum_{c, dy, dx} w[o, c, dy + r, dx + r] x[:, c, i + dy, j + dx]``
    with periodic indices, plus ``b[o]``.
    """
    import jax.numpy as jnp
    from jax import lax

    r = w.shape[-1] // 2
    padded = jnp.pad(x, ((0, 0), (0, 0), (r, r), (r, r)), mode="wrap")
    out = lax.conv_general_dilated(
        padded, w, (1, 1), "VALID", dimension_numbers=("NCHW", "OIHW", "NCHW")
    )
    return out if b is None else out + b[None, :, None, None]


def bce_loss(logit_fn: Any, params: Any, coarse: Any, fine: Any) -> Any:
    """Mean binary cross-entropy per fine site: ``mean(log(1 + exp(-s * logit)))``.

    Parameters
    ----------
    logit_fn : callable
        ``logit_fn(params, coarse) -> (n, 2l, 2l)`` logits.
    params : pytree
        Network parameters.
    coarse, fine : array
        ``(n, l, l)`` and ``(n, 2l, 2l)`` +-1 spins (floats).

    Returns
    -------
    jax.Array
        Scalar loss (nats per site).
    """
    import jax.numpy as jnp

    return jnp.mean(jnp.logaddexp(0.0, -fine * logit_fn(params, coarse)))


@cache
def _jitted_logits(cls: type) -> Any:
    """One compiled logit function per model class (shared by all instances and fits)."""
    import jax

    return jax.jit(cls.logit_fn)


@cache
def _jitted_step(cls: type, learning_rate: float) -> tuple[Any, Any]:
    """The optax optimizer and one compiled Adam step on the BCE per (class, step size)."""
    import jax
    import optax

    optimizer = optax.adam(learning_rate)

    def loss(params, coarse, fine):
        return bce_loss(cls.logit_fn, params, coarse, fine)

    @jax.jit
    def step(params, state, coarse, fine):
        value, grads = jax.value_and_grad(loss)(params, coarse, fine)
        updates, state = optimizer.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value

    return optimizer, step


class JaxUpsampler(Upsampler):
    """Base of the JAX upsamplers: Adam on the BCE; generation and scoring from Upsampler.

    Subclasses define ``_param_dims`` (parameter name -> dim names, for
    :meth:`to_dataset`), ``_init(key)`` (initial parameters) and the
    staticmethod ``_g(params, coarse)`` (the raw network, before
    antisymmetrisation; the architecture follows from the parameter shapes).
    """

    _fitted_attribute = "params_"
    _fit_call = "fit(X)"
    _param_dims: dict[str, tuple[str, ...]] = {}
    _param_descriptions: dict[str, str] = {}

    # ---------------------------------------------------------------- network
    def _init(self, key: Any) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _g(params: dict[str, Any], coarse: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def logit_fn(cls, params: dict[str, Any], coarse: Any) -> Any:
        """Antisymmetrised logits ``(g(C) - g(-C)) / 2`` (a pure JAX function of *params*).

        Parameters
        ----------
        params : dict
            Network parameters (as in ``params_``).
        coarse : array
            ``(n, l, l)`` +-1 spins as floats.

        Returns
        -------
        jax.Array
            ``(n, 2l, 2l)`` logits of ``P(s = +1)``.
        """
        return 0.5 * (cls._g(params, coarse) - cls._g(params, -coarse))

    def _check_hyper(self) -> dict[str, Any]:
        return {
            "hidden": check_int(self.hidden, "hidden", min_value=1),
            "n_epochs": check_int(self.n_epochs, "n_epochs", min_value=1),
            "batch_size": check_int(self.batch_size, "batch_size", min_value=1),
            "learning_rate": check_real(
                self.learning_rate, "learning_rate", min_value=0, strict_min=True
            ),
        }

    # -------------------------------------------------------------------- fit
    def fit(
        self, X: Any, y: None = None, *, coarse: Any = None, progress: bool = False
    ) -> JaxUpsampler:
        """Train the network by Adam on the binary cross-entropy of (coarse, fine) pairs.

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Fine configurations, ``(n, L, L)`` +-1 spins with even L.
        y : None
            Unused (scikit-learn's signature).
        coarse : array-like, optional
            Coarse configurations ``(n, L/2, L/2)``; default the majority-rule
            2x2 blocking of *X* (ties by a coin seeded from ``random_state``).
        progress : bool
            Progress bar over epochs.

        Returns
        -------
        JaxUpsampler
            ``self``.

        Raises
        ------
        ImportError
            Without JAX/optax: ``pip install rgdata[ml]``.
        """
        name = type(self).__name__
        jax = require_ml(f"{name}.fit")
        try:
            import optax  # noqa: F401
        except ImportError as err:
            raise ImportError(
                f"{name}.fit needs optax; install the ML extra with `pip install rgdata[ml]`"
            ) from err
        import jax.numpy as jnp

        self._check_y(y)
        hyper = self._check_hyper()
        self._reset_fit_state()
        rng, seed = self._seeded_rng(self.random_state)
        fine, coarse_arr, attrs = self._pairs(X, coarse, seed)
        c_all = jnp.asarray(coarse_arr, dtype=jnp.float32)
        f_all = jnp.asarray(fine, dtype=jnp.float32)
        params = self._init(jax.random.PRNGKey(seed % 2**31))
        optimizer, step = _jitted_step(type(self), hyper["learning_rate"])
        state = optimizer.init(params)

        n = fine.shape[0]
        batch = min(hyper["batch_size"], n)
        history = []
        for _ in progress_bar(range(hyper["n_epochs"]), enable=progress, desc=f"{name}.fit"):
            order = rng.permutation(n)
            losses = []
            for start in range(0, n - batch + 1, batch):
                idx = order[start : start + batch]
                params, state, value = step(params, state, c_all[idx], f_all[idx])
                losses.append(float(value))
            history.append(float(np.mean(losses)))
        self.params_ = {k: np.asarray(v) for k, v in params.items()}
        self.loss_history_ = np.asarray(history)
        self.seed_ = seed
        self.size_ = int(fine.shape[1])
        self.n_samples_ = int(n)
        self.pairs_ = "majority" if coarse is None else "given"
        self.training_temperature_ = attrs.get("temperature")
        self.log_likelihood_ = float(self.log_prob(fine, coarse=coarse_arr).sum())
        return self

    # ----------------------------------------------------------------- logits
    def _logits(self, coarse: np.ndarray) -> np.ndarray:
        require_ml(f"{type(self).__name__}.sample")
        import jax.numpy as jnp

        logit_fn = _jitted_logits(type(self))
        params = {k: jnp.asarray(v) for k, v in self.params_.items()}
        side = 2 * coarse.shape[-1]
        chunk = max(1, CHUNK_SITES // (4 * side * side))
        out = np.empty((coarse.shape[0], side, side))
        for start in range(0, coarse.shape[0], chunk):
            part = jnp.asarray(coarse[start : start + chunk], dtype=jnp.float32)
            out[start : start + chunk] = np.asarray(logit_fn(params, part), dtype=np.float64)
        return out

    def _sample_attrs(self) -> dict[str, Any]:
        return {"hidden": int(self.hidden)}

    # ----------------------------------------------------------------- export
    def to_dataset(self) -> xr.Dataset:
        """The trained weights, the loss per epoch and the fit settings as a Dataset.

        Returns
        -------
        xarray.Dataset
            One variable per weight array on named dims (``channel``,
            ``ky``, ``kx``, ...), ``loss`` on ``epoch`` (mean BCE per site,
            nats); attrs hold the model, architecture and fit diagnostics.
        """
        self._check_fitted()
        variables = {
            name: xr.Variable(
                self._param_dims[name],
                self.params_[name],
                attrs={"units": "1", "description": self._param_descriptions[name]},
            )
            for name in self._param_dims
        }
        variables["loss"] = xr.Variable(
            "epoch",
            self.loss_history_,
            attrs={"units": "nat per site", "description": "mean training BCE per epoch"},
        )
        attrs = {
            "model": type(self).__name__,
            "antisymmetrised": "logit(C) = (g(C) - g(-C)) / 2, exactly spin-flip symmetric",
            "pairs": self.pairs_,
            "n_samples": self.n_samples_,
            "size": self.size_,
            "seed": self.seed_,
            "log_likelihood": self.log_likelihood_,
            "hidden": int(self.hidden),
            "n_epochs": int(self.n_epochs),
            "batch_size": int(self.batch_size),
            "learning_rate": float(self.learning_rate),
            "optimizer": "optax.adam",
            "version": __version__,
        }
        if self.training_temperature_ is not None:
            attrs["temperature"] = float(self.training_temperature_)
        return xr.Dataset(
            variables, coords={"epoch": np.arange(1, self.loss_history_.size + 1)}, attrs=attrs
        )
