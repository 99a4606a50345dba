"""Annealed importance sampling of an RBM's log partition function (Salakhutdinov & Murray 2008).

The exact ``log Z`` of :meth:`RBM.log_partition` enumerates the smaller
layer, so it stops at ``min(n_visible, n_hidden) = 20``. AIS estimates it for
any size: a chain of distributions from a base RBM with no couplings
(``W = 0``, visible biases ``a_A``: ``log Z_A`` in closed form) to the target,

``p_k(v) ∝ exp((1 - beta_k) a_A.v + beta_k a.v) prod_j sum_h exp(beta_k h (b_j + (v W)_j))``,

``0 = beta_0 < ... < beta_K = 1``. Each of ``n_chains`` independent runs
starts from an exact draw of the base, moves by one block-Gibbs sweep of
``p_k`` at every ``beta_k`` and accumulates the log importance weight
``log w = sum_k [log p*_k(v_k) - log p*_{k-1}(v_k)]``; then ``Z / Z_A`` is
estimated without bias by the mean of ``w``, and

``log Z ≈ log Z_A + log mean(w)``,  standard error ``std(w) / (sqrt(M) mean(w))``

(delta method, ``M = n_chains``). The log estimate is biased low by about
half its variance (Jensen); the standard error is itself estimated from the
weights and is too small when they are heavy-tailed (too few ``beta``):
``effective_chains = (sum w)^2 / sum w^2`` tells how many chains count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.special import logsumexp

from .._validation import check_int, check_random_state, describe
from ._rbm_kernels import draw_units, log_g

__all__ = ["rbm_log_partition", "rbm_log_likelihood"]


def _unnormalised(v, W, a_base, a, b, beta, coding):
    """``log p*_beta(v)`` of each row: base and target visible biases mixed, couplings scaled."""
    return v @ ((1.0 - beta) * a_base + beta * a) + log_g(beta * (v @ W + b), coding).sum(1)


def _base_bias(rbm: Any, data: Any) -> np.ndarray:
    """Visible biases of the base model: the data's base rates (clipped), or the RBM's own."""
    if data is None:
        return np.asarray(rbm.visible_bias_, dtype=float)
    v, _ = rbm._visible(data, "data")
    if rbm.coding_ == "01":
        m = np.clip(v.mean(0), 1e-3, 1 - 1e-3)
        return np.log(m) - np.log1p(-m)
    return np.arctanh(np.clip(v.mean(0), -1 + 2e-3, 1 - 2e-3))


def rbm_log_partition(
    rbm: Any,
    n_chains: int = 100,
    n_betas: int = 1000,
    random_state: Any = None,
    *,
    data: Any = None,
) -> xr.Dataset:
    """``log Z`` of a fitted :class:`~rgdata.models.rbm.RBM` by annealed importance sampling.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM (any size).
    n_chains : int
        Independent AIS runs (>= 2).
    n_betas : int
        Intermediate distributions, ``beta`` evenly spaced in [0, 1] (>= 2);
        the cost is ``n_chains * n_betas`` Gibbs sweeps.
    random_state : None, int or numpy.random.Generator
        Seeds the base draws and every Gibbs step.
    data : array-like or xarray.DataArray, optional
        Training data: the base model's visible biases are then the data's
        base rates (Salakhutdinov & Murray's choice, which shortens the
        path); by default the RBM's own visible biases.

    Returns
    -------
    xarray.Dataset
        Scalars ``log_z``, ``log_z_se`` (delta-method standard error),
        ``log_z_base``, ``effective_chains``; ``log_weights (chain)``; attrs
        ``n_betas``, ``n_chains``, ``seed``.

    Examples
    --------
    >>> from rgdata.models import RBM
    >>> X = np.random.default_rng(0).choice([-1, 1], size=(200, 8))
    >>> rbm = RBM(n_hidden=3, n_epochs=2, random_state=0).fit(X)
    >>> ais = rbm_log_partition(rbm, n_chains=200, n_betas=200, random_state=0)
    >>> bool(abs(float(ais["log_z"]) - rbm.log_partition()) < 4 * float(ais["log_z_se"]) + 1e-3)
    True
    """
    from .rbm import RBM

    if not isinstance(rbm, RBM):
        raise TypeError(f"rbm must be a fitted rgdata.models.RBM, got {describe(rbm)}")
    rbm._check_fitted()
    M = check_int(n_chains, "n_chains", min_value=2)
    K = check_int(n_betas, "n_betas", min_value=2)
    rng = check_random_state(random_state)
    seed = int(rng.integers(2**31))
    rng = np.random.default_rng(seed)
    W = np.asarray(rbm.weights_, dtype=float)
    a, b, coding = rbm.visible_bias_, rbm.hidden_bias_, rbm.coding_
    a_base = _base_bias(rbm, data)
    n_h = W.shape[1]
    log_z_base = float(log_g(a_base, coding).sum() + n_h * np.log(2.0))
    betas = np.linspace(0.0, 1.0, K)
    v = draw_units(np.broadcast_to(a_base, (M, len(a_base))), coding, rng)
    log_w = np.zeros(M)
    for k in range(1, K):
        log_w += _unnormalised(v, W, a_base, a, b, betas[k], coding)
        log_w -= _unnormalised(v, W, a_base, a, b, betas[k - 1], coding)
        if k < K - 1:  # one block-Gibbs sweep leaving p_k invariant
            beta = betas[k]
            h = draw_units(beta * (v @ W + b), coding, rng)
            v = draw_units((1.0 - beta) * a_base + beta * (a + h @ W.T), coding, rng)
    r = np.exp(log_w - log_w.max())
    log_mean = float(logsumexp(log_w) - np.log(M))
    se = float(r.std(ddof=1) / (np.sqrt(M) * r.mean()))
    ess = float(r.sum() ** 2 / np.sum(r * r))
    return xr.Dataset(
        {
            "log_z": ((), log_z_base + log_mean, {"units": "nats"}),
            "log_z_se": ((), se, {"units": "nats", "description": "delta-method standard error"}),
            "log_z_base": ((), log_z_base, {"units": "nats"}),
            "effective_chains": ((), ess, {"description": "(sum w)^2 / sum w^2"}),
            "log_weights": (("chain",), log_w, {"units": "nats"}),
        },
        attrs={"n_betas": K, "n_chains": M, "seed": seed, "method": "AIS (Salakhutdinov-Murray)"},
    )


def rbm_log_likelihood(
    rbm: Any,
    X: Any,
    n_chains: int = 100,
    n_betas: int = 1000,
    random_state: Any = None,
    *,
    data: Any = None,
) -> xr.Dataset:
    """Mean log-likelihood per sample of *X* (nats), ``mean(-F(v)) - log Z`` with AIS's ``log Z``.

    Parameters
    ----------
    rbm : RBM
        A fitted RBM.
    X : array-like or xarray.DataArray
        Samples (held out, to measure generalisation), as for :meth:`RBM.fit`.
    n_chains, n_betas, random_state, data
        As in :func:`rbm_log_partition`.

    Returns
    -------
    xarray.Dataset
        Scalars ``log_likelihood``, ``log_likelihood_se`` (the standard error
        of the mean over samples and AIS's, added in quadrature),
        ``log_likelihood_per_unit``, ``log_z``, ``log_z_se``.

    Examples
    --------
    >>> from rgdata.models import RBM
    >>> X = np.random.default_rng(0).choice([-1, 1], size=(200, 8))
    >>> rbm = RBM(n_hidden=3, n_epochs=2, random_state=0).fit(X)
    >>> ll = rbm_log_likelihood(rbm, X, n_chains=200, n_betas=200, random_state=0)
    >>> exact = float(rbm.log_prob(X).mean())
    >>> bool(abs(float(ll["log_likelihood"]) - exact) < 4 * float(ll["log_z_se"]) + 1e-3)
    True
    """
    ais = rbm_log_partition(rbm, n_chains, n_betas, random_state, data=data)
    neg_f = -rbm.free_energy(X)
    n = len(neg_f)
    se_mean = float(neg_f.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    ll = float(neg_f.mean() - ais["log_z"])
    se = float(np.hypot(se_mean, float(ais["log_z_se"])))
    return xr.Dataset(
        {
            "log_likelihood": ((), ll, {"units": "nats per sample"}),
            "log_likelihood_se": ((), se, {"units": "nats per sample"}),
            "log_likelihood_per_unit": ((), ll / rbm.n_visible_, {"units": "nats per unit"}),
            "log_z": ais["log_z"],
            "log_z_se": ais["log_z_se"],
        },
        attrs={**ais.attrs, "n_samples": n},
    )
