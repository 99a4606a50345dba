"""Learned multilevel sampler: the heat-bath hierarchy with a trained CNN conditional (RiGCS).

The RiGCS improvement (Singha et al., "Multilevel Generative Samplers for
Investigating Critical Phenomena") on the heat-bath base sampler
(:class:`rgdata.models.MultilevelSampler`): the only approximate fill stage
(the first odd-odd checkerboard, whose sites interact through unplaced
spins) gets a learned field correction, a small convolutional net on the
coarse lattice, and the coarser levels' couplings are learned too, so that
the marginal of the coarse lattice can move away from the Ising model at the
target ``beta``. The exact stages stay exact. Training is level by level:
the ``L = 2 base_size`` sampler first, then each doubling adds a level
initialised with the weights of the level below (weight transfer) and all
levels are trained together by minimising the reverse Kullback-Leibler
divergence ``E_q[log q + beta E]`` (score-function gradient with a batch-mean
baseline, Adam). ``log q`` stays exact, so reweighting
(:func:`rgdata.models.importance_estimates`) stays unbiased whatever the
training reached; training only raises the ESS. Needs the ML extra (JAX).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import __version__
from .._progress import progress_bar
from .._validation import check_int, check_real
from ._ml import require_ml
from ._multilevel_kernels import enumerate_base, fill_level
from ._protocol import RGModel
from .multilevel import _spins, check_beta, check_power_of_two, configurations, fill_couplings

__all__ = ["LearnedMultilevelSampler"]

_CHUNK = 1024


class LearnedMultilevelSampler(RGModel):
    """Multilevel sampler of the 2D Ising torus with a learned CNN conditional (needs JAX).

    Parameters
    ----------
    beta : float
        Inverse temperature, in ``(0, 1]``.
    L : int
        Side of the sampled lattice, a power of two ``>= 4``.
    hidden : int
        Hidden channels of the CNN of each level.
    n_steps : int
        Adam steps per training stage (one stage per level; ``0`` keeps the
        heat-bath sampler).
    batch_size : int
        Samples per gradient estimate.
    learning_rate : float
        Adam step size.
    random_state : None, int or numpy.random.Generator
        Seeds the initial weights and the training samples (``seed_``).

    Attributes
    ----------
    sizes_ : numpy.ndarray
        Lattice side after each level, ``4, 8, ..., L``.
    base_beta_ : float
        Learned coupling of the exactly enumerated 2x2 base.
    k_, beta_levels_ : numpy.ndarray
        Per level: coupling of the first odd-odd stage to its diagonal
        neighbours and the inverse temperature of the exact stages (the last
        is ``beta``).
    w1_, w2_ : numpy.ndarray
        CNN weights per level, ``(levels, hidden, 3, 3)`` and
        ``(levels, hidden, 2, 2)``.
    train_ess_ : numpy.ndarray
        ESS fraction of the last 10 training batches of each stage (stage
        ``l`` trains the sampler of side ``sizes_[l]``; NaN when ``n_steps = 0``).
    seed_ : int

    Examples
    --------
    >>> model = LearnedMultilevelSampler(beta=0.44, L=4, n_steps=5, random_state=0).fit()
    >>> model.sample(5, random_state=0).log_q.shape
    (5,)
    """

    has_log_prob = True
    _fitted_attribute = "w1_"
    _fit_call = "fit()"

    def __init__(
        self,
        beta: float = 0.44,
        L: int = 16,
        hidden: int = 8,
        n_steps: int = 200,
        batch_size: int = 256,
        learning_rate: float = 0.01,
        random_state: Any = None,
    ) -> None:
        self.beta = beta
        self.L = L
        self.hidden = hidden
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state

    # --------------------------------------------------------------------- fit
    def fit(
        self, X: Any = None, y: None = None, *, progress: bool = False
    ) -> LearnedMultilevelSampler:
        """Train level by level (reverse KL to the Boltzmann law at ``beta``).

        Parameters
        ----------
        X : None or array-like
            Ignored apart from a check that it holds ``(n, L, L)`` +-1 spins
            (the target is the Boltzmann distribution, not data).
        y : None
            Ignored.
        progress : bool
            Progress bar over training steps.

        Returns
        -------
        LearnedMultilevelSampler
            ``self``.
        """
        self._reset_fit_state()
        beta = check_beta(self.beta)
        L = check_power_of_two(self.L, "L", min_value=4)
        hidden = check_int(self.hidden, "hidden", min_value=1)
        n_steps = check_int(self.n_steps, "n_steps", min_value=0)
        batch = check_int(self.batch_size, "batch_size", min_value=2)
        lr = check_real(self.learning_rate, "learning_rate", min_value=0.0, strict_min=True)
        if X is not None:
            _spins(X, L)
        jax = require_ml("LearnedMultilevelSampler.fit")
        import optax

        from . import _multilevel_jax as mj

        _, seed = self._seeded_rng(self.random_state)
        n_levels = int(np.log2(L // 2))
        with jax.enable_x64(True):
            jnp = jax.numpy
            key = jax.random.PRNGKey(seed)
            key, sub = jax.random.split(key)
            params = {
                "base_beta": jnp.asarray(beta, dtype=jnp.float64),
                "levels": [mj.init_level(sub, beta, fill_couplings(beta), hidden)],
            }
            train_ess = []
            bar = progress_bar(total=n_levels * n_steps, enable=progress, desc="multilevel fit")
            for stage in range(n_levels):
                if stage:  # weight transfer: the new finest level starts as the one below
                    params["levels"].append(dict(params["levels"][-1]))
                step = mj.train_step(beta, len(params["levels"]), batch, lr)
                state = optax.adam(lr).init(params)
                recent = []
                for k in range(n_steps):
                    params, state, logw = step(params, state, jax.random.fold_in(key, k))
                    recent = (recent + [np.asarray(logw)])[-10:]
                    bar.update()
                key = jax.random.fold_in(key, 10**6 + stage)
                train_ess.append(_ess_fraction(np.concatenate(recent)) if recent else np.nan)
            bar.close()
        levels = params["levels"]
        self.sizes_ = 4 * 2 ** np.arange(n_levels)
        self.base_beta_ = float(params["base_beta"])
        self.k_ = np.array([float(lv["k"]) for lv in levels])
        self.beta_levels_ = np.array([float(lv["beta"]) for lv in levels[:-1]] + [beta])
        self.w1_ = np.stack([np.asarray(lv["w1"])[:, 0] for lv in levels])
        self.w2_ = np.stack([np.asarray(lv["w2"])[0] for lv in levels])
        self.train_ess_ = np.array(train_ess)
        self.seed_ = seed
        return self

    # ------------------------------------------------------------------ helpers
    def _compiled(self, jax: Any) -> tuple[dict, Any, Any]:
        """Parameters as JAX arrays, the jitted CNN and ``log_q`` (built once per fit)."""
        if getattr(self, "_jitted", None) is None:
            from . import _multilevel_jax as mj

            jnp = jax.numpy
            levels = [
                {
                    "k": jnp.asarray(k),
                    "beta": jnp.asarray(b),
                    "w1": jnp.asarray(w1[:, None]),
                    "w2": jnp.asarray(w2[None]),
                }
                for k, b, w1, w2 in zip(self.k_, self.beta_levels_, self.w1_, self.w2_, strict=True)
            ]
            params = {"base_beta": jnp.asarray(self.base_beta_), "levels": levels}
            _, score = mj.compiled(float(self.beta_levels_[-1]), len(levels))
            self._jitted = (params, mj.cnn_jit, score)
        return self._jitted

    # ------------------------------------------------------------------ sample
    def sample(self, n: int, random_state: Any = None, *, progress: bool = False) -> xr.DataArray:
        """Draw *n* configurations with their exact ``log q`` (coordinate ``log_q``).

        Parameters
        ----------
        n : int
            Number of configurations.
        random_state : None, int or numpy.random.Generator
            Seed (recorded in ``attrs["seed"]``); chunks of 1024 samples use
            numpy generators seeded by ``(seed, chunk)``. The CNN fields come
            from JAX, the draws and ``log q`` from the heat-bath numba kernel.
        progress : bool
            Progress bar over chunks.

        Returns
        -------
        xarray.DataArray
            As :meth:`MultilevelSampler.sample`.
        """
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        _, seed = self._seeded_rng(random_state)
        jax = require_ml("LearnedMultilevelSampler.sample")
        L = int(self.sizes_[-1])
        out = np.empty((n, L, L), dtype=np.int8)
        log_q = np.empty(n)
        states, base_log_p = enumerate_base(2, self.base_beta_)
        with jax.enable_x64(True):
            params, cnn, _ = self._compiled(jax)
            starts = range(0, n, _CHUNK)
            for chunk, start in enumerate(progress_bar(starts, enable=progress, desc="sample")):
                stop = min(start + _CHUNK, n)
                m = stop - start
                rng = np.random.default_rng([seed, chunk])
                codes = rng.choice(len(base_log_p), size=m, p=np.exp(base_log_p))
                spins, chunk_log_q = states[codes], base_log_p[codes].copy()
                for level, side in enumerate(self.sizes_):
                    coarse = _pad(jax, jax.numpy.asarray(spins, dtype=jax.numpy.float64))
                    extra = np.ascontiguousarray(cnn(params["levels"][level], coarse))[:m]
                    fine = np.empty((m, side, side), dtype=np.int8)
                    uniforms = rng.random((m, side, side))
                    k, beta = self.k_[level], self.beta_levels_[level]
                    fill_level(spins, uniforms, k, beta, fine, chunk_log_q, extra)
                    spins = fine
                out[start:stop], log_q[start:stop] = spins, chunk_log_q
        return configurations(out, log_q, seed, self.beta_levels_[-1], 2, type(self).__name__)

    def log_prob(self, X: Any) -> np.ndarray:
        """Exact ``log q`` (nats) of each configuration of *X*.

        Parameters
        ----------
        X : array-like or xarray.DataArray
            ``(n, L, L)`` +-1 spins.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` float64.
        """
        self._check_fitted()
        spins = _spins(X, int(self.sizes_[-1]))
        jax = require_ml("LearnedMultilevelSampler.log_prob")
        out = np.empty(len(spins))
        with jax.enable_x64(True):
            params, _, score = self._compiled(jax)
            for start in range(0, len(spins), _CHUNK):
                x = jax.numpy.asarray(spins[start : start + _CHUNK], dtype=jax.numpy.float64)
                out[start : start + _CHUNK] = np.asarray(score(params, _pad(jax, x)))[: len(x)]
        return out

    # -------------------------------------------------------------- to_dataset
    def to_dataset(self) -> xr.Dataset:
        """Learned couplings and CNN weights per level (dim ``level``, coordinate ``scale``).

        Returns
        -------
        xarray.Dataset
            ``k``, ``beta_level``, ``train_ess`` on ``level``; ``w1`` on
            ``(level, hidden, ky, kx)``, ``w2`` on ``(level, hidden, qy, qx)``;
            attrs ``beta``, ``L``, ``base_beta``, training settings, ``seed``.
        """
        self._check_fitted()
        one = {"units": "1"}
        return xr.Dataset(
            {
                "k": ("level", self.k_, {**one, "description": "first odd-odd stage coupling"}),
                "beta_level": (
                    "level",
                    self.beta_levels_,
                    {**one, "description": "inverse temperature of the exact stages"},
                ),
                "train_ess": (
                    "level",
                    self.train_ess_,
                    {**one, "description": "ESS fraction, last 10 training batches"},
                ),
                "w1": (("level", "hidden", "ky", "kx"), self.w1_, {**one, "description": "3x3"}),
                "w2": (("level", "hidden", "qy", "qx"), self.w2_, {**one, "description": "2x2"}),
            },
            coords={
                "level": np.arange(1, len(self.sizes_) + 1),
                "scale": ("level", self.sizes_.astype(np.int64), {"units": "sites"}),
            },
            attrs={
                "model": type(self).__name__,
                "beta": float(self.beta_levels_[-1]),
                "L": int(self.sizes_[-1]),
                "base_beta": self.base_beta_,
                "hidden": int(self.hidden),
                "n_steps": int(self.n_steps),
                "batch_size": int(self.batch_size),
                "learning_rate": float(self.learning_rate),
                "seed": int(self.seed_),
                "version": __version__,
            },
        )


def _pad(jax: Any, x: Any) -> Any:
    """*x* padded with copies of its first sample to ``_CHUNK`` rows (one compiled shape)."""
    if len(x) == _CHUNK:
        return x
    fill = jax.numpy.broadcast_to(x[:1], (_CHUNK - len(x), *x.shape[1:]))
    return jax.numpy.concatenate([x, fill])


def _ess_fraction(logw: np.ndarray) -> float:
    w = np.exp(logw - logw.max())
    return float(w.sum() ** 2 / (w**2).sum() / len(w))
