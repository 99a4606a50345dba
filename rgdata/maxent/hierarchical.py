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
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._estimator import Estimator
from .._validation import check_array, check_int, check_option, check_real, describe
from .._warnings import warn_user

__all__ = [
    "HierarchicalMaxEnt",
    "hierarchical_maxent",
    "multilevel_objective",
    "quadratic_hierarchy",
    "level_block",
    "log_loss_hierarchy",
    "decimation_couplings",
    "chain_decimation_maps",
    "chain_energy",
]


# ----------------------------------------------------------------------------- checks


def _check_maps(maps: Any, n_states: int) -> list[np.ndarray]:
    """Validate coarse-graining maps: integer arrays, level j -> level j+1 states."""
    if isinstance(maps, np.ndarray) and maps.ndim == 1:
        maps = [maps]
    if not isinstance(maps, list | tuple) or len(maps) == 0:
        raise TypeError(
            "maps must be a non-empty list of 1-D integer arrays (map j sends the states of "
            f"level j to states of level j+1), got {describe(maps)}"
        )
    out = []
    size = n_states
    for j, m in enumerate(maps):
        arr = check_array(m, f"maps[{j}]", ndim=1)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"maps[{j}] must hold integers (state labels), got dtype {arr.dtype}")
        if arr.size != size:
            raise ValueError(
                f"maps[{j}] has {arr.size} entries but level {j + 1} has {size} states; "
                "map j needs one target state per state of level j"
            )
        if arr.size and arr.min() < 0:
            raise ValueError(f"maps[{j}] holds negative state labels ({arr.min()})")
        size = int(arr.max()) + 1
        out.append(arr.astype(np.intp))
    return out


def _check_weights(weights: Any, n_levels: int) -> np.ndarray:
    w = check_array(weights, "weights", ndim=1).astype(float)
    if w.size != n_levels:
        raise ValueError(
            f"weights has {w.size} entries; {n_levels} are needed (one per level, len(maps) + 1)"
        )
    if np.any(w < 0) or w[0] <= 0:
        raise ValueError(
            f"weights must be >= 0 with weights[0] > 0 (so every cumulative weight W_j > 0), "
            f"got {w.tolist()}"
        )
    return w


def _fibre_logsumexp(v: np.ndarray, m: np.ndarray, n_next: int) -> np.ndarray:
    """``log sum_{i: m[i] = k} exp(v[i])`` for each target state k (-inf on empty fibres)."""
    top = np.full(n_next, -np.inf)
    np.maximum.at(top, m, v)
    safe = np.where(np.isfinite(top), top, 0.0)
    s = np.bincount(m, weights=np.exp(v - safe[m]), minlength=n_next)
    with np.errstate(divide="ignore"):
        out = safe + np.log(s)
    out[~np.isfinite(top)] = -np.inf
    return out


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-np.sum(p * np.log(p)))


def _pushforward(p: np.ndarray, maps: list[np.ndarray]) -> list[np.ndarray]:
    """Marginal distributions of every level from the level-1 distribution."""
    out = [p]
    for m in maps:
        out.append(np.bincount(m, weights=out[-1], minlength=int(m.max()) + 1))
    return out


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


# ----------------------------------------------------------------------------- quadratic losses


def quadratic_hierarchy(A: Any, keeps: Any, weights: Any, beta: float = 1.0) -> xr.Dataset:
    """Closed-form Gaussian solution for a quadratic loss ``f(x) = x^T A x / 2``.

    Level ``j+1`` keeps a subset of the coordinates of level ``j``
    (decimation/marginalisation), so differential entropies obey the chain
    rule and the recursion stays Gaussian.

    Parameters
    ----------
    A : array-like, shape (n, n)
        Symmetric positive-definite loss matrix.
    keeps : list of 1-D int arrays
        ``keeps[j]`` indexes (into the coordinates of level j+1, 0-based list)
        the coordinates kept at the next level.
    weights : array-like, shape (len(keeps) + 1,)
        Entropy weights.
    beta : float
        Loss weight (> 0).

    Returns
    -------
    xarray.Dataset
        Matrices indexed by the original coordinates (dims ``row``, ``col``),
        NaN outside each level's coordinates: ``coupling(level, row, col)``
        ``K_j`` (``g_j = y^T K_j y / 2``; ``K_{j+1}`` is the Schur complement
        of ``K_j``), ``precision`` ``Theta_j = K_j / W_j`` (so
        ``Theta_{j+1} = (W_j / W_{j+1}) Schur(Theta_j)``), ``kept(level, row)``
        (1 for the level's coordinates), ``covariance(row, col)`` of the
        optimal Gaussian ``P(x)``, ``weight`` and ``cumulative_weight``. Use
        :func:`level_block` for one level's compact matrix.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> ds = quadratic_hierarchy(A, [np.array([0])], weights=[1.0, 1.0])
    >>> level_block(ds, "precision", 2).round(4)           # (W_1/W_2) Schur(A / W_1)
    array([[0.875]])
    """
    A = check_array(A, "A", ndim=2).astype(float)
    n = A.shape[0]
    if A.shape != (n, n) or not np.allclose(A, A.T):
        raise ValueError(f"A must be a symmetric square matrix, got shape {A.shape}")
    if np.linalg.eigvalsh(A).min() <= 0:
        raise ValueError("A must be positive definite (the Gaussian must be normalisable)")
    if not isinstance(keeps, list | tuple):
        raise TypeError(f"keeps must be a list of index arrays, got {describe(keeps)}")
    w = _check_weights(weights, len(keeps) + 1)
    beta = check_real(beta, "beta", min_value=0.0, strict_min=True)
    cum = np.cumsum(w)
    coords = [np.arange(n)]
    K = [beta * A]
    for j, keep in enumerate(keeps):
        keep = check_array(keep, f"keeps[{j}]", ndim=1).astype(np.intp)
        size = coords[-1].size
        if keep.size == 0 or np.unique(keep).size != keep.size or keep.min() < 0:
            raise ValueError(f"keeps[{j}] must be distinct non-negative indices, got {keep}")
        if keep.max() >= size:
            raise ValueError(f"keeps[{j}] indexes {keep.max()} but level {j + 1} has {size}")
        drop = np.setdiff1d(np.arange(size), keep)
        Kj = K[-1]
        schur = Kj[np.ix_(keep, keep)]
        if drop.size:
            schur = schur - Kj[np.ix_(keep, drop)] @ np.linalg.solve(
                Kj[np.ix_(drop, drop)], Kj[np.ix_(drop, keep)]
            )
        K.append(schur)
        coords.append(coords[-1][keep])
    # precision of P(x): -log P = g_1/W_1 - sum_{j>=2} g_j (1/W_{j-1} - 1/W_j)
    M = K[0] / cum[0]
    for j in range(1, len(K)):
        idx = coords[j]
        M[np.ix_(idx, idx)] -= K[j] * (1.0 / cum[j - 1] - 1.0 / cum[j])
    cov = np.linalg.inv(M)
    n_lev = len(K)
    coupling = np.full((n_lev, n, n), np.nan)
    kept = np.zeros((n_lev, n), dtype=int)
    for j, (Kj, idx) in enumerate(zip(K, coords, strict=True)):
        coupling[j][np.ix_(idx, idx)] = Kj
        kept[j, idx] = 1
    return xr.Dataset(
        {
            "coupling": (("level", "row", "col"), coupling),
            "precision": (("level", "row", "col"), coupling / cum[:, None, None]),
            "kept": (("level", "row"), kept),
            "covariance": (("row", "col"), cov),
            "weight": ("level", w),
            "cumulative_weight": ("level", cum),
        },
        coords={"level": np.arange(1, n_lev + 1), "row": np.arange(n), "col": np.arange(n)},
        attrs={
            "analysis": "quadratic_hierarchy",
            "beta": beta,
            "method": "closed form: K_{j+1} = Schur complement of K_j; Theta_j = K_j / W_j",
        },
    )


def level_block(result: xr.Dataset, name: str, level: int) -> np.ndarray:
    """The compact matrix of one level from a :func:`quadratic_hierarchy` result.

    Parameters
    ----------
    result : xarray.Dataset
        From :func:`quadratic_hierarchy`.
    name : {"coupling", "precision", "covariance"}
        ``"covariance"`` gives the marginal covariance of the level.
    level : int
        1-based level.

    Returns
    -------
    numpy.ndarray
        Rows and columns are the level's coordinates in increasing original index.
    """
    check_option(name, "name", ("coupling", "precision", "covariance"))
    if not isinstance(result, xr.Dataset) or "kept" not in result:
        raise TypeError(f"result must come from quadratic_hierarchy, got {describe(result)}")
    level = check_int(level, "level", min_value=1, max_value=result.sizes["level"])
    idx = np.flatnonzero(result["kept"].values[level - 1])
    mat = result[name].values if name == "covariance" else result[name].values[level - 1]
    return mat[np.ix_(idx, idx)]


# ----------------------------------------------------------------------------- log losses


def log_loss_hierarchy(
    q: Any, maps: Any, weights: Any, beta: float = 1.0, *, rtol: float = 1e-9
) -> xr.Dataset:
    """Closed form for log losses ``f = -log q``: escort conditionals with exponent ``beta / W_j``.

    ``P(y_j | y_{j+1}) ∝ q(y_j | y_{j+1})^{alpha_j}`` and
    ``P(y_L) ∝ q(y_L)^{alpha_L}`` with ``alpha_j = beta / W_j``. This is the
    exact optimum when the conditional Renyi entropy
    ``H_{alpha_j}(Y_j | Y_{j+1} = y)`` is the same for every ``y`` at each
    level; otherwise a warning says so (use :func:`hierarchical_maxent` for the
    exact answer) and ``renyi_spread`` records the largest difference.

    Parameters
    ----------
    q : array-like, shape (n_states,)
        Reference distribution on level-1 states (positive; normalised here).
    maps, weights, beta
        As in :func:`hierarchical_maxent`.
    rtol : float
        Relative tolerance on the Renyi-entropy spread.

    Returns
    -------
    xarray.Dataset
        ``exponent``, ``cumulative_weight``, ``renyi_spread`` (dim ``level``)
        and ``probability`` (dim ``state``); attrs ``exact`` (1 or 0), ``beta``.
    """
    q = check_array(q, "q", ndim=1).astype(float)
    if np.any(q <= 0):
        raise ValueError("q must be strictly positive (a log loss -log q must be finite)")
    q = q / q.sum()
    maps = _check_maps(maps, q.size)
    w = _check_weights(weights, len(maps) + 1)
    beta = check_real(beta, "beta", min_value=0.0, strict_min=True)
    cum = np.cumsum(w)
    alpha = beta / cum
    levels = _pushforward(q, maps)
    spread = np.zeros(len(levels))
    log_p_levels: list[np.ndarray] = []
    top = alpha[-1] * np.log(levels[-1])
    log_p_levels.append(top - np.log(np.sum(np.exp(top - top.max()))) - top.max())
    for j in range(len(maps) - 1, -1, -1):
        m = maps[j]
        cond = levels[j] / levels[j + 1][m]
        lse = _fibre_logsumexp(alpha[j] * np.log(cond), m, levels[j + 1].size)
        log_cond = alpha[j] * np.log(cond) - lse[m]
        if abs(alpha[j] - 1) > 1e-12:
            renyi = lse / (1 - alpha[j])
        else:  # Shannon limit
            renyi = -np.bincount(m, weights=cond * np.log(cond), minlength=lse.size)
        spread[j] = float(renyi.max() - renyi.min())
        log_p_levels.insert(0, log_p_levels[0][m] + log_cond)
    exact = bool(np.all(spread <= rtol * np.maximum(1.0, np.abs(np.log(q.size)))))
    if not exact:
        warn_user(
            "the conditional Renyi entropies differ between fibres (largest spread "
            f"{spread.max():.3g} nats): the escort closed form is not the exact optimum here; "
            "use hierarchical_maxent(-log q, ...) for the exact solution",
            UserWarning,
        )
    return xr.Dataset(
        {
            "exponent": ("level", alpha),
            "cumulative_weight": ("level", cum),
            "renyi_spread": ("level", spread),
            "probability": ("state", np.exp(log_p_levels[0])),
        },
        coords={"level": np.arange(1, len(levels) + 1), "state": np.arange(q.size)},
        attrs={"analysis": "log_loss_hierarchy", "beta": beta, "exact": int(exact)},
    )


# ----------------------------------------------------------------------------- Ising chain


def decimation_couplings(beta: float, weights: Any) -> np.ndarray:
    """Couplings ``K_j`` of the nearest-neighbour chain under decimation by 2.

    For the loss ``f = -sum_i s_i s_{i+1}`` (spins ``+-1``, open chain),
    ``P(y_j | y_{j+1}) ∝ exp(K_j sum_i s_i s_{i+1})`` with ``K_1 = beta / W_1``
    and ``K_{j+1} = (W_j / W_{j+1}) artanh(tanh(K_j)^2)``.

    Parameters
    ----------
    beta : float
        Loss weight (> 0).
    weights : array-like, shape (n_levels,)
        Entropy weights.

    Returns
    -------
    numpy.ndarray, shape (n_levels,)
    """
    beta = check_real(beta, "beta", min_value=0.0, strict_min=True)
    w = check_array(weights, "weights", ndim=1).astype(float)
    w = _check_weights(w, w.size)
    cum = np.cumsum(w)
    K = [beta / cum[0]]
    for j in range(1, w.size):
        K.append(cum[j - 1] / cum[j] * np.arctanh(np.tanh(K[-1]) ** 2))
    return np.array(K)


def chain_decimation_maps(n_levels: int) -> tuple[list[np.ndarray], list[int]]:
    """Decimation maps for an open chain of ``2^(n_levels - 1) + 1`` spins.

    States are integers whose bit ``i`` is spin ``i`` (bit 1 = spin +1);
    each step keeps the even-indexed spins (both ends stay), so the chain
    halves: ``2^m + 1 -> 2^(m-1) + 1 -> ... -> 2``.

    Parameters
    ----------
    n_levels : int
        Number of levels (2 to 5; level 1 has ``2^(n_levels-1)+1`` spins).

    Returns
    -------
    maps : list of ndarray
        Maps for :class:`HierarchicalMaxEnt`.
    sizes : list of int
        Number of spins at each level.
    """
    n_levels = check_int(n_levels, "n_levels", min_value=2, max_value=5)
    sizes = [2 ** (n_levels - 1 - j) + 1 for j in range(n_levels - 1)] + [2]
    maps = []
    for n in sizes[:-1]:
        states = np.arange(2**n)
        out = np.zeros_like(states)
        for new, old in enumerate(range(0, n, 2)):
            out |= ((states >> old) & 1) << new
        maps.append(out)
    return maps, sizes


def chain_energy(n_spins: int) -> np.ndarray:
    """``sum_i s_i s_{i+1}`` of every state of an open chain (bit i = spin i).

    Parameters
    ----------
    n_spins : int

    Returns
    -------
    numpy.ndarray, shape (2**n_spins,)
    """
    n_spins = check_int(n_spins, "n_spins", min_value=2, max_value=20)
    states = np.arange(2**n_spins)
    spins = 2 * ((states[:, None] >> np.arange(n_spins)) & 1) - 1
    return np.sum(spins[:, 1:] * spins[:, :-1], axis=1).astype(float)
