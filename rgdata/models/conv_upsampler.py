"""Two-layer inverse-RG upsampler: nearest-neighbour x2, conv, ReLU, conv (JAX).

The learned generalisation of the minimal model (Rancon, Rancon, Ivek and
Balog): the coarse lattice is upsampled by copying each spin onto its 2x2
block, then ``g = conv_2(relu(conv_1(up(C)) + b_1))`` with ``hidden``
channels and periodic ``k x k`` kernels, antisymmetrised to
``logit = (g(C) - g(-C)) / 2`` (exactly spin-flip symmetric; the output
bias cancels and is left out). See :mod:`rgdata.models._jax_upsampler` for
the training loop; JAX is the ML extra (``pip install rgdata[ml]``).
"""

from __future__ import annotations

from typing import Any

from .._validation import check_int
from ._jax_upsampler import JaxUpsampler, periodic_conv

__all__ = ["ConvUpsampler"]


class ConvUpsampler(JaxUpsampler):
    """Inverse-RG upsampler with a conv-ReLU-conv network on the upsampled lattice (JAX).

    Parameters
    ----------
    hidden : int
        Channels of the hidden layer.
    kernel_size : int
        Odd side of both periodic kernels.
    n_epochs : int
        Passes over the training pairs.
    batch_size : int
        Pairs per Adam step (the last incomplete batch of an epoch is skipped).
    learning_rate : float
        Adam's step size.
    random_state : None, int or numpy.random.Generator
        Seeds the initial weights, the minibatch order and the tie-breaking
        coins of the majority blocking (``seed_``).

    Attributes
    ----------
    params_ : dict of numpy.ndarray
        ``w1`` ``(hidden, k, k)``, ``b1`` ``(hidden,)``, ``w2`` ``(hidden, k, k)``.
    loss_history_ : numpy.ndarray
        Mean training BCE per epoch (nats per site).
    log_likelihood_ : float
        Conditional log-likelihood of the training pairs after training.
    seed_, size_, n_samples_, pairs_ : as in :class:`InverseRGUpsampler`.

    Examples
    --------
    >>> import numpy as np
    >>> from rgdata.models import InverseRGUpsampler
    >>> rng = np.random.default_rng(0)
    >>> coarse = rng.choice(np.array([-1, 1], np.int8), size=(16, 4, 4))
    >>> fine = InverseRGUpsampler.draw(coarse, (0.55, 0.63, 1.4), random_state=1)
    >>> model = ConvUpsampler(hidden=2, n_epochs=2, random_state=0).fit(fine, coarse=coarse)
    >>> model.sample(2, random_state=0, size=16, seed_size=2).shape
    (2, 16, 16)
    """

    _param_dims = {"w1": ("channel", "ky", "kx"), "b1": ("channel",), "w2": ("channel", "ky", "kx")}
    _param_descriptions = {
        "w1": "first periodic conv kernel, upsampled spins -> hidden channels",
        "b1": "bias of the hidden channels (before the ReLU)",
        "w2": "second periodic conv kernel, hidden channels -> logit",
    }

    def __init__(
        self,
        hidden: int = 4,
        kernel_size: int = 3,
        n_epochs: int = 20,
        batch_size: int = 32,
        learning_rate: float = 1e-2,
        random_state: Any = None,
    ) -> None:
        self.hidden = hidden
        self.kernel_size = kernel_size
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _check_hyper(self) -> dict[str, Any]:
        k = check_int(self.kernel_size, "kernel_size", min_value=1)
        if k % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {k}")
        return super()._check_hyper()

    def _init(self, key: Any) -> dict[str, Any]:
        import jax
        import jax.numpy as jnp

        h, k = int(self.hidden), int(self.kernel_size)
        k1, k2 = jax.random.split(key)
        return {
            "w1": jax.random.normal(k1, (h, k, k)) * jnp.sqrt(2.0 / (k * k)),
            "b1": jnp.zeros(h),
            "w2": jax.random.normal(k2, (h, k, k)) * jnp.sqrt(1.0 / (h * k * k)),
        }

    @staticmethod
    def _g(params: dict[str, Any], coarse: Any) -> Any:
        import jax.numpy as jnp

        up = jnp.repeat(jnp.repeat(coarse, 2, axis=-2), 2, axis=-1)[:, None]
        hidden = jnp.maximum(periodic_conv(up, params["w1"][:, None], params["b1"]), 0.0)
        return periodic_conv(hidden, params["w2"][None])[:, 0]

    def _sample_attrs(self) -> dict[str, Any]:
        return {"hidden": int(self.hidden), "kernel_size": int(self.kernel_size)}
