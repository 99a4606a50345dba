"""Shared machinery of the inverse-RG upsamplers: input checks, pairs, generation, likelihood.

Every upsampler models ``P(fine | coarse)`` for 2x2 blocking of square 2D
lattices as independent Bernoulli spins, ``P(s_i = +1 | C) =
sigmoid(logit_i(C))``; a subclass only supplies :meth:`Upsampler._logits`
(and the attrs it records on generated lattices). Generation, the exact
conditional log-likelihood and the (coarse, fine) training pairs are the same
for all of them and live here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.special import expit

from .. import __version__
from .._validation import check_array, check_int, describe
from ..activity import as_configurations
from ._protocol import RGModel

__all__ = ["Upsampler", "spins_of", "check_even"]

#: fine sites drawn per chunk when generating (bounds the float64 work arrays to ~32 MB)
CHUNK_SITES = 2**22


def spins_of(data: Any, name: str) -> tuple[np.ndarray, dict]:
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


def check_even(side: int, name: str) -> None:
    """ValueError unless the lattice side is even (a fine lattice is 2x its coarse one)."""
    if side % 2:
        raise ValueError(
            f"{name} has odd side L={side}; accepted: even L (fine lattices are 2x their coarse)"
        )


def check_doublings(size: int, seed_size: int) -> int:
    """Number of x2 steps from *seed_size* to *size*, or a ValueError naming both."""
    ratio = size // seed_size
    if size % seed_size or ratio < 2 or ratio & (ratio - 1):
        raise ValueError(
            f"size must be seed_size * 2**k with k >= 1; got size={size}, seed_size={seed_size}"
        )
    return int(ratio).bit_length() - 1


class Upsampler(RGModel):
    """Base of the inverse-RG upsamplers: Bernoulli fine spins given logits of the coarse lattice.

    Subclasses implement ``fit`` (setting ``seed_``, ``size_``,
    ``training_temperature_`` and their parameters), ``_logits(coarse)`` ->
    ``(n, 2l, 2l)`` float64 and ``_sample_attrs()`` (the parameters recorded
    on generated lattices).
    """

    has_log_prob = True

    # ------------------------------------------------------------ to override
    def _logits(self, coarse: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sample_attrs(self) -> dict[str, Any]:
        return {}

    # ------------------------------------------------------------------ pairs
    def _pairs(self, fine: Any, coarse: Any, seed: int) -> tuple[np.ndarray, np.ndarray, dict]:
        from ..lattice import block_spins

        fine_arr, attrs = spins_of(fine, "X")
        check_even(fine_arr.shape[1], "X")
        if coarse is None:
            blocked = block_spins(
                as_configurations(fine_arr), b=2, rule="majority", random_state=seed
            )
            coarse_arr = blocked.values
        else:
            coarse_arr, _ = spins_of(coarse, "coarse")
            expected = (fine_arr.shape[0], fine_arr.shape[1] // 2, fine_arr.shape[2] // 2)
            if coarse_arr.shape != expected:
                raise ValueError(
                    f"coarse must have shape {expected} (half the side of X, "
                    f"shape {fine_arr.shape}), got {coarse_arr.shape}"
                )
        return fine_arr, coarse_arr, attrs

    @staticmethod
    def _check_y(y: Any) -> None:
        if y is not None:
            raise ValueError(
                f"y must be None, got {describe(y)}; pass the coarse configurations as coarse="
            )

    # --------------------------------------------------------------- generate
    def _draw(self, coarse: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        p_up = expit(self._logits(coarse))
        return np.where(rng.random(p_up.shape) < p_up, 1, -1).astype(np.int8)

    def _configurations(self, spins: np.ndarray, **attrs: Any) -> xr.DataArray:
        return as_configurations(
            spins,
            model=type(self).__name__,
            temperature=self.training_temperature_,
            version=__version__,
            **self._sample_attrs(),
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
            ``model``, the model's parameters, ``seed``, ``n_upsamplings`` and
            ``temperature`` (of the training data, when it had one).
        """
        self._check_fitted()
        coarse_arr, _ = spins_of(coarse, "coarse")
        rng, seed = self._seeded_rng(random_state)
        fine = self._draw(coarse_arr, rng)
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
            Side of the i.i.d. fair +-1 seed lattices (1 starts from a
            single spin).

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
        steps = check_doublings(size, seed_size)
        rng, seed = self._seeded_rng(random_state)
        chunk = max(1, CHUNK_SITES // (size * size))
        out = np.empty((n, size, size), dtype=np.int8)
        for start in range(0, n, chunk):
            stop = min(n, start + chunk)
            spins = rng.choice(
                np.array([-1, 1], dtype=np.int8), size=(stop - start, seed_size, seed_size)
            )
            for _ in range(steps):
                spins = self._draw(spins, rng)
            out[start:stop] = spins
        return self._configurations(out, seed=seed, seed_size=seed_size, n_upsamplings=steps)

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
        return -np.logaddexp(0.0, -fine * self._logits(coarse_arr)).sum(axis=(1, 2))
