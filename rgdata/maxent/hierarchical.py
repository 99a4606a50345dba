"""Hierarchical maximum entropy via the renormalization group (after Asadi, arXiv 2509.01424).

Levels ``Y_1 = X`` and ``Y_{j+1} = T_{j+1}(Y_j)`` are produced by given
deterministic coarse-graining maps. A *Pareto-optimal* distribution of ``X``
maximises the weighted sum of the entropies of all levels minus an expected
loss,

    F[P] = sum_j w_j H(Y_j) - beta E[f(X)].

Because each ``Y_{j+1}`` is a function of ``Y_j``, the chain rule gives
``H(Y_j) = H(Y_j | Y_{j+1}) + H(Y_{j+1})`` and therefore
``F = sum_j W_j H(Y_j | Y_{j+1}) - beta E[f]`` with cumulative weights
``W_j = w_1 + ... + w_j`` (``Y_{L+1}`` is a single point). The maximisation
then runs level by level, an RG recursion: with ``g_1 = beta f``,

    P(y_j | y_{j+1}) ∝ exp(-g_j(y_j) / W_j)        on the fibre of y_{j+1},
    g_{j+1}(y_{j+1}) = -W_j log sum_{fibre} exp(-g_j / W_j),

and ``P(y_L) ∝ exp(-g_L / W_L)``; the maximum of ``F`` is ``-g_{L+1}``.

Closed forms (all derived here from this recursion and checked in the tests
against brute-force maximisation of ``F``):

* quadratic losses ``f = x^T A x / 2`` with coordinate-subset coarse-graining
  (decimation/marginalisation): ``g_j = y^T K_j y / 2`` with ``K_1 = beta A``
  and ``K_{j+1}`` the Schur complement of ``K_j`` onto the kept coordinates
  (no rescaling of ``K``); the *precision* ``Theta_j = K_j / W_j`` of the
  level-j Boltzmann weight flows as
  ``Theta_{j+1} = (W_j / W_{j+1}) Schur(Theta_j)``, and factorises over
  modules for block-diagonal ``A``: :func:`quadratic_hierarchy`.
* log losses ``f = -log q``: ``P(y_j | y_{j+1})`` is the escort distribution
  ``∝ q(y_j | y_{j+1})^{alpha_j}`` with ``alpha_j = beta / W_j``, exact when
  the conditional Renyi entropy of order ``alpha_j`` is the same on every
  fibre: :func:`log_loss_hierarchy`.
* nearest-neighbour losses ``f = -sum_i s_i s_{i+1}`` on an open chain under
  decimation: ``P(y_j | y_{j+1}) ∝ exp(K_j sum s s)`` with ``K_1 = beta / W_1``
  and ``K_{j+1} = (W_j / W_{j+1}) artanh(tanh^2 K_j)``:
  :func:`decimation_couplings`, :func:`chain_decimation_maps`.

The general recursion and the estimator are here; the closed forms are in
``_hierarchical_closed.py`` and the shared checks in ``_hierarchical_core.py``
(all public names importable from this module).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._estimator import Estimator
from .._validation import check_array, check_real
from . import (
    _hierarchical_closed,
    hierarchical_fit,
    hierarchy_flow,
    hierarchy_gaussian,
    hierarchy_tree,
)
from ._hierarchical_closed import *  # noqa: F403  (the closed forms, re-exported)
from ._hierarchical_core import (
    _check_maps,
    _check_weights,
    _entropy,
    _fibre_logsumexp,
    _pushforward,
)
from .hierarchical_fit import *  # noqa: F403  (fitting to data)
from .hierarchy_flow import *  # noqa: F403  (the flow of a fit)
from .hierarchy_gaussian import *  # noqa: F403  (Gaussian closed form, any linear map)
from .hierarchy_tree import *  # noqa: F403  (coarse-graining trees)

__all__ = [
    "HierarchicalMaxEnt",
    "hierarchical_maxent",
    "multilevel_objective",
    *_hierarchical_closed.__all__,
    *hierarchical_fit.__all__,
    *hierarchy_flow.__all__,
    *hierarchy_gaussian.__all__,
    *hierarchy_tree.__all__,
]


# ----------------------------------------------------------------------------- general recursion


def multilevel_objective(
    probability: Any, f: Any, maps: Any, weights: Any, beta: float = 1.0
) -> float:
    """The multilevel objective ``sum_j w_j H(Y_j) - beta E[f(Y_1)]`` (entropies in nats).

    Parameters
    ----------
    probability : array-like, shape (n_states,)
        A distribution over the level-1 states.
    f : array-like, shape (n_states,)
        The loss of each level-1 state.
    maps, weights, beta
        As in :func:`hierarchical_maxent`.

    Returns
    -------
    float
    """
    p = check_array(probability, "probability", ndim=1).astype(float)
    f = check_array(f, "f", ndim=1).astype(float)
    if p.shape != f.shape:
        raise ValueError(f"probability has shape {p.shape} but f has shape {f.shape}")
    maps = _check_maps(maps, p.size)
    w = _check_weights(weights, len(maps) + 1)
    beta = check_real(beta, "beta")
    levels = _pushforward(p, maps)
    return float(sum(wj * _entropy(pj) for wj, pj in zip(w, levels, strict=True)) - beta * p @ f)


class HierarchicalMaxEnt(Estimator):
    """Pareto-optimal multilevel maximum-entropy distribution for discrete variables.

    Maximises ``sum_j w_j H(Y_j) - beta E[f(Y_1)]`` over distributions of
    ``Y_1`` where ``Y_{j+1} = maps[j][Y_j]``, by the level-by-level RG
    recursion of the module docstring (exact, no optimisation).

    Parameters
    ----------
    weights : array-like of float, shape (n_levels,)
        Entropy weight ``w_j`` of each level (``w_1 > 0``, others ``>= 0``).
    beta : float
        Weight of the expected loss.
    maps : list of 1-D int arrays
        ``maps[j][s]`` is the level-(j+2) state of level-(j+1) state ``s``
        (0-based lists: ``maps[0]`` sends level 1 to level 2). States are
        labelled ``0 .. n_j - 1``.

    Attributes
    ----------
    probability_ : ndarray, shape (n_states,)
        The optimal distribution of ``Y_1``.
    potentials_ : list of ndarray
        ``g_j`` on the states of each level (``g_1 = beta f``).
    marginals_ : list of ndarray
        The distribution of each level ``Y_j``.
    conditionals_ : list of ndarray
        ``P(y_j | y_{j+1})`` on the states of level j (j < L).
    cumulative_weights_ : ndarray
        ``W_j``.
    entropies_ : ndarray
        ``H(Y_j)`` in nats.
    objective_ : float
        The maximum of the objective, ``-g_{L+1}``.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.array([0.0, 1.0, 1.0, 2.0])          # two bits, loss = number of ones
    >>> m = HierarchicalMaxEnt([1.0, 0.5], beta=1.0, maps=[np.array([0, 0, 1, 1])]).fit(f)
    >>> round(float(m.probability_.sum()), 12)
    1.0
    """

    _fitted_attribute = "probability_"
    _fit_call = "fit(f)"

    def __init__(self, weights: Any, beta: float = 1.0, maps: Any = None) -> None:
        self.weights = weights
        self.beta = beta
        self.maps = maps

    def fit(self, f: Any) -> HierarchicalMaxEnt:
        """Solve the recursion for the loss *f* (one value per level-1 state).

        Returns
        -------
        HierarchicalMaxEnt
            self (a previous fit's state is discarded first).
        """
        self._reset_fit_state()
        f = check_array(f, "f", ndim=1).astype(float)
        if f.size < 2:
            raise ValueError(f"f has {f.size} state(s); at least 2 are needed")
        maps = _check_maps(self.maps, f.size)
        w = _check_weights(self.weights, len(maps) + 1)
        beta = check_real(self.beta, "beta")
        cum = np.cumsum(w)
        g = [beta * f]
        log_cond = []
        for j, m in enumerate(maps):
            n_next = int(m.max()) + 1
            lse = _fibre_logsumexp(-g[j] / cum[j], m, n_next)
            g.append(-cum[j] * lse)
            log_cond.append(-g[j] / cum[j] - lse[m])
        top = -g[-1] / cum[-1]
        finite = top[np.isfinite(top)]
        log_norm = finite.max() + np.log(np.sum(np.exp(finite - finite.max())))
        log_p = top - log_norm
        marg_log = [log_p]
        for j in range(len(maps) - 1, -1, -1):
            marg_log.insert(0, marg_log[0][maps[j]] + log_cond[j])
        self.cumulative_weights_ = cum
        self.potentials_ = g
        self.marginals_ = [np.exp(x) for x in marg_log]
        self.conditionals_ = [np.exp(x) for x in log_cond]
        self.probability_ = self.marginals_[0]
        self.entropies_ = np.array([_entropy(p) for p in self.marginals_])
        self.objective_ = float(cum[-1] * log_norm)
        self.maps_ = maps
        self.loss_ = f
        return self

    def to_dataset(self) -> xr.Dataset:
        """The solution as a Dataset (per-level quantities pulled back to level-1 states).

        Returns
        -------
        xarray.Dataset
            dims ``state`` (level-1 states) and ``level``: ``probability``,
            ``loss``, ``potential(level, state)`` = ``g_j`` of each state's
            level-j image, ``level_state(level, state)``, ``weight``,
            ``cumulative_weight``, ``entropy``; attrs ``beta``, ``objective``.
        """
        self._check_fitted()
        n = self.probability_.size
        image = [np.arange(n)]
        for m in self.maps_:
            image.append(m[image[-1]])
        pot = np.array([g[i] for g, i in zip(self.potentials_, image, strict=True)])
        return xr.Dataset(
            {
                "probability": ("state", self.probability_),
                "loss": ("state", self.loss_),
                "potential": (("level", "state"), pot),
                "level_state": (("level", "state"), np.array(image)),
                "weight": ("level", np.asarray(self.weights, dtype=float)),
                "cumulative_weight": ("level", self.cumulative_weights_),
                "entropy": ("level", self.entropies_),
            },
            coords={"level": np.arange(1, len(image) + 1), "state": np.arange(n)},
            attrs={
                "analysis": "hierarchical_maxent",
                "beta": float(self.beta),
                "objective": self.objective_,
                "method": "exact level-by-level RG recursion (chain rule of entropy)",
            },
        )


def hierarchical_maxent(f: Any, maps: Any, weights: Any, beta: float = 1.0) -> xr.Dataset:
    """Solve the hierarchical maximum-entropy problem and return the solution as a Dataset.

    Shorthand for ``HierarchicalMaxEnt(weights, beta, maps).fit(f).to_dataset()``.

    Parameters
    ----------
    f : array-like, shape (n_states,)
        Loss of each level-1 state.
    maps : list of 1-D int arrays
        Coarse-graining maps, level j -> level j+1.
    weights : array-like, shape (len(maps) + 1,)
        Entropy weights ``w_j``.
    beta : float
        Loss weight.

    Returns
    -------
    xarray.Dataset
        See :meth:`HierarchicalMaxEnt.to_dataset`.

    Examples
    --------
    >>> import numpy as np
    >>> ds = hierarchical_maxent(np.arange(4.0), [np.array([0, 0, 1, 1])], [1.0, 1.0])
    >>> sorted(ds.data_vars)[:3]
    ['cumulative_weight', 'entropy', 'level_state']
    """
    return HierarchicalMaxEnt(weights, beta, maps).fit(f).to_dataset()
