"""Stacked RBMs trained greedily: each layer a successive learned coarse-graining."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_option, describe
from ._protocol import RGModel
from .rbm import RBM

__all__ = ["DeepRBM"]


class DeepRBM(RGModel):
    """A stack of RBMs trained greedily, layer ``k + 1`` on samples of layer ``k``'s hidden units.

    Mehta & Schwab's variational RG: each layer coarse-grains the one below,
    e.g. ``layers=(64, 16)`` on ``L = 16`` lattices is 256 -> 64 -> 16 (two 4:1
    reductions). Each layer's hidden units are drawn (``mode="sample"``,
    seeded) to make the next layer's training data, so every layer sees
    binary data.

    Parameters
    ----------
    layers : sequence of int
        Hidden units per layer, each strictly fewer than the layer below.
    coding, l1, l2, learning_rate, n_epochs, batch_size, n_gibbs, random_state, progress
        As in :class:`RBM`, shared by every layer.
    block : int or None
        For 2D lattice input: place each layer's hidden units on the block
        lattice of side ``L / block`` by their receptive fields
        (:func:`~rgdata.models.rbm_measures.hidden_configurations`: Hungarian
        assignment, sign-aligned with the block) before they become the next
        layer's data, so that every layer is a lattice the lattice measures
        can read (each layer needs ``(side / block)**2`` hidden units).
        ``None``: hidden units are passed up in their own (raster) order.

    Attributes
    ----------
    rbms_ : list of RBM
        The fitted layers.
    layouts_ : list of xarray.Dataset or None
        With *block*: each layer's :func:`~rgdata.models.rbm_measures.arrange_hidden`.
    seed_ : int

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).choice([-1, 1], size=(200, 16))
    >>> deep = DeepRBM(layers=(8, 4), n_epochs=2, random_state=0).fit(X)
    >>> [layer.dims for layer in deep.transform(X)]
    [('unit', 'time'), ('unit', 'time')]
    """

    has_log_prob = False
    _fitted_attribute = "rbms_"
    _fit_call = "fit(X)"

    def __init__(
        self,
        layers: Any = (64, 16),
        coding: str = "pm1",
        l1: float = 0.0,
        l2: float = 0.0,
        learning_rate: float = 0.05,
        n_epochs: int = 20,
        batch_size: int = 100,
        n_gibbs: int = 1,
        random_state: Any = None,
        progress: bool = False,
        block: int | None = None,
    ) -> None:
        self.layers = layers
        self.coding = coding
        self.l1 = l1
        self.l2 = l2
        self.learning_rate = learning_rate
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.n_gibbs = n_gibbs
        self.random_state = random_state
        self.progress = progress
        self.block = block

    def _layers(self, n_visible: int) -> list[int]:
        if isinstance(self.layers, (str, bytes)) or not hasattr(self.layers, "__iter__"):
            raise TypeError(f"layers must be a sequence of ints, got {describe(self.layers)}")
        sizes = [check_int(n, "layers[i]", min_value=1) for n in self.layers]
        if not sizes:
            raise ValueError("layers must name at least one hidden layer, got an empty sequence")
        below = n_visible
        for i, n in enumerate(sizes):
            if n >= below:
                raise ValueError(
                    f"layers[{i}] = {n} hidden units, but a coarse-graining layer must have "
                    f"fewer units than the layer below ({below}); got layers={list(sizes)} "
                    f"on {n_visible} visible units"
                )
            below = n
        return sizes

    def fit(self, X: Any, y: None = None) -> DeepRBM:
        """Train the layers greedily, bottom up.

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Binary data, as in :meth:`RBM.fit`.
        y : None
            Unused.

        Returns
        -------
        DeepRBM
            ``self``.
        """
        if y is not None:
            raise ValueError(f"y must be None (the RBM is unsupervised), got {describe(y)}")
        check_option(self.coding, "coding", ("pm1", "01"))
        self._reset_fit_state()
        n_visible = int(np.prod(np.shape(X)[1:])) if not isinstance(X, xr.DataArray) else None
        if isinstance(X, xr.DataArray):
            n_visible = X.sizes["unit"] if "unit" in X.dims else int(np.prod(X.shape[1:]))
        sizes = self._layers(n_visible)
        rng, seed = self._seeded_rng(self.random_state)
        seeds = rng.integers(0, 2**62, size=2 * len(sizes))
        block = None if self.block is None else check_int(self.block, "block", min_value=2)
        rbms, layouts = [], []
        data = X
        for i, n_h in enumerate(sizes):
            rbm = RBM(
                n_hidden=n_h,
                coding=self.coding,
                l1=self.l1,
                l2=self.l2,
                learning_rate=self.learning_rate,
                n_epochs=self.n_epochs,
                batch_size=self.batch_size,
                n_gibbs=self.n_gibbs,
                random_state=int(seeds[2 * i]),
                progress=self.progress,
            ).fit(data)
            rbms.append(rbm)
            data = self._up(rbm, data, block, "sample", int(seeds[2 * i + 1]))
            if block is not None:
                from .rbm_measures import arrange_hidden

                layouts.append(arrange_hidden(rbm, block))
        self.rbms_ = rbms
        self.layouts_ = layouts if block is not None else None
        self.seed_ = seed
        return self

    def transform(self, X: Any, mode: str = "mean", random_state: Any = None) -> list[xr.DataArray]:
        """Every layer's hidden activity, bottom up.

        Parameters
        ----------
        X : xarray.DataArray or array-like
            Visible data.
        mode : {"mean", "sample"}
            The returned activity of each layer; the input of the next layer
            is always a seeded sample (binary), as in training.
        random_state : None, int or numpy.random.Generator
            Seeds the draws.

        Returns
        -------
        list of xarray.DataArray
            One per layer, as :meth:`RBM.transform` returns.
        """
        self._check_fitted()
        check_option(mode, "mode", ("mean", "sample"))
        rng, _ = self._seeded_rng(random_state)
        block = self.block
        out = []
        data = X
        for rbm in self.rbms_:
            sample = self._up(rbm, data, block, "sample", int(rng.integers(2**62)))
            out.append(sample if mode == "sample" else self._up(rbm, data, block, "mean", 0))
            data = sample
        return out

    @staticmethod
    def _up(rbm: RBM, data: Any, block: int | None, mode: str, seed: int) -> xr.DataArray:
        """One layer's hidden activity: raster order, or placed on the block lattice."""
        if block is None:
            return rbm.transform(data, mode=mode, random_state=seed)
        from .rbm_measures import hidden_configurations

        return hidden_configurations(rbm, data, block, random_state=seed, mode=mode)

    def _down(self, units: np.ndarray, k: int) -> np.ndarray:
        """Layer *k*'s hidden units in its RBM's order, from their places on the block lattice."""
        layout = self.layouts_[k]
        side = int(round(np.sqrt(units.shape[1])))
        pos = layout.block_y.values * side + layout.block_x.values
        spins = units if self.rbms_[k].coding_ == "pm1" else 2 * units - 1
        h = np.empty_like(spins)
        h[:, layout.hidden.values] = spins[:, pos] * layout.sign.values
        return h if self.rbms_[k].coding_ == "pm1" else (h + 1) / 2

    def sample(self, n: int, random_state: Any = None, *, n_steps: int = 200) -> xr.DataArray:
        """Visible draws: Gibbs at the top layer, then down through each layer's ``p(v | h)``.

        Parameters
        ----------
        n : int
            Number of draws.
        random_state : None, int or numpy.random.Generator
            Seeds every draw (recorded in ``attrs["seed"]``).
        n_steps : int
            Gibbs sweeps of the top RBM.

        Returns
        -------
        xarray.DataArray
            As :meth:`RBM.sample` of the first layer.
        """
        from ._rbm_kernels import draw_units

        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        n_steps = check_int(n_steps, "n_steps", min_value=1)
        rng, seed = self._seeded_rng(random_state)
        units = self.rbms_[-1]._gibbs_visible(n, rng, n_steps)
        for k in range(len(self.rbms_) - 2, -1, -1):
            rbm = self.rbms_[k]
            if self.layouts_ is not None:  # the layer above saw the block-lattice arrangement
                units = self._down(units, k)
            units = draw_units(units @ rbm.weights_.T + rbm.visible_bias_, rbm.coding_, rng)
        return self.rbms_[0]._visible_output(units, seed, n_steps=n_steps, model="DeepRBM")

    def to_dataset(self) -> xr.Dataset:
        """Every layer's parameters, variables prefixed ``layer{k}_``.

        Returns
        -------
        xarray.Dataset
        """
        self._check_fitted()
        parts = []
        for k, rbm in enumerate(self.rbms_):
            ds = rbm.to_dataset()
            ds = ds.rename(
                {name: f"layer{k}_{name}" for name in list(ds.data_vars) + list(ds.dims)}
            )
            ds.attrs = {}
            parts.append(ds)
        out = xr.merge(parts)
        out.attrs = {
            "model": "DeepRBM",
            "layers": [int(r.weights_.shape[1]) for r in self.rbms_],
            "seed": self.seed_,
            "coding": self.coding,
        }
        return out
