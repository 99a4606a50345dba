"""CNN upsampler with a learned transposed convolution, after Bachtis et al. (JAX).

Bachtis, Aarts, Di Renzo and Lucini (PRL 128, 081603, 2022; and "Generating
configurations of increasing lattice size with machine learning and the
inverse renormalization group") invert the RG with a learned transposed
convolution instead of a fixed nearest-neighbour copy. Here:

1. a stride-2 transposed convolution maps the coarse lattice to ``hidden``
   fine channels. It is written in its sub-pixel form (Shi et al. 2016): a
   periodic 3x3 convolution of the coarse lattice with ``4 * hidden``
   outputs, one per channel and position ``(sy, sx)`` inside the 2x2 block,
   rearranged onto the fine lattice (``fine[2i + sy, 2j + sx]``). This is
   exactly a transposed convolution with a 6x6 kernel and stride 2, with
   periodic boundaries;
2. ReLU, then a periodic 3x3 convolution of the hidden channels to one logit;
3. antisymmetrised, ``logit = (g(C) - g(-C)) / 2``, so the model is exactly
   spin-flip symmetric, and fine spins are Bernoulli draws.

Training (BCE, Adam) is :class:`rgdata.models._jax_upsampler.JaxUpsampler`'s;
JAX is the ML extra (``pip install rgdata[ml]``).
"""

from __future__ import annotations

from typing import Any

from ._jax_upsampler import JaxUpsampler, periodic_conv

__all__ = ["TransposedConvUpsampler"]


class TransposedConvUpsampler(JaxUpsampler):
    """Inverse-RG upsampler with a learned stride-2 transposed convolution (JAX).

    Parameters
    ----------
    hidden : int
        Fine channels produced by the transposed convolution.
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
        ``wt`` ``(hidden, 2, 2, 3, 3)`` (channel, sub-position ``sy``, ``sx``,
        coarse offset ``ky``, ``kx``), ``bt`` ``(hidden,)``, ``w2``
        ``(hidden, 3, 3)``.
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
    >>> model = TransposedConvUpsampler(hidden=2, n_epochs=2, random_state=0)
    >>> model.fit(fine, coarse=coarse).sample(2, random_state=0, size=16, seed_size=2).shape
    (2, 16, 16)
    """

    _param_dims = {
        "wt": ("channel", "sy", "sx", "ky", "kx"),
        "bt": ("channel",),
        "w2": ("channel", "ky", "kx"),
    }
    _param_descriptions = {
        "wt": "transposed-convolution weights: coarse 3x3 neighbourhood -> fine sub-site (sy, sx)",
        "bt": "bias of the fine channels (before the ReLU)",
        "w2": "periodic 3x3 conv kernel, fine channels -> logit",
    }

    def __init__(
        self,
        hidden: int = 4,
        n_epochs: int = 20,
        batch_size: int = 32,
        learning_rate: float = 1e-2,
        random_state: Any = None,
    ) -> None:
        self.hidden = hidden
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    def _init(self, key: Any) -> dict[str, Any]:
        import jax
        import jax.numpy as jnp

        h = int(self.hidden)
        k1, k2 = jax.random.split(key)
        return {
            "wt": jax.random.normal(k1, (h, 2, 2, 3, 3)) * jnp.sqrt(2.0 / 9),
            "bt": jnp.zeros(h),
            "w2": jax.random.normal(k2, (h, 3, 3)) * jnp.sqrt(1.0 / (9 * h)),
        }

    @staticmethod
    def _g(params: dict[str, Any], coarse: Any) -> Any:
        import jax.numpy as jnp

        h = params["bt"].shape[0]
        n, l = coarse.shape[0], coarse.shape[-1]
        z = periodic_conv(coarse[:, None], params["wt"].reshape(4 * h, 1, 3, 3))
        z = z.reshape(n, h, 2, 2, l, l).transpose(0, 1, 4, 2, 5, 3).reshape(n, h, 2 * l, 2 * l)
        hidden = jnp.maximum(z + params["bt"][None, :, None, None], 0.0)
        return periodic_conv(hidden, params["w2"][None])[:, 0]
