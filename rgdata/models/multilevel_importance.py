"""Importance reweighting of samples with an exact ``log q`` to the 2D Ising Boltzmann law.

For samples ``s_i ~ q`` with exact ``log q(s_i)`` (a ``log_q`` coordinate, as
:class:`rgdata.models.MultilevelSampler` returns), the weights
``log w_i = -beta E(s_i) - log q(s_i)`` give

* ``Z`` estimated without bias by ``mean(w)``, hence ``log Z`` and
  ``beta F = -log Z`` with the delta-method error
  ``sqrt((<w^2>/<w>^2 - 1) / n)``;
* Boltzmann averages by the self-normalised estimator
  ``sum w O / sum w`` (consistent, bias O(1/n)) with the delta-method error
  ``sqrt(sum w^2 (O - <O>)^2) / sum w``;
* the effective sample size ``ESS = (sum w)^2 / sum w^2`` and its fraction
  ``ESS / n = <w>^2 / <w^2>`` (the number RiGCS reports);
* an exact Markov chain by independence Metropolis-Hastings with the
  samples as proposals (acceptance ``min(1, w' / w)``).

Energies follow :mod:`rgdata.lattice.exact`: ``E = -sum_<ij> s_i s_j`` over
the ``2 L^2`` bonds of the periodic ``L x L`` torus (``J = 1``, ``h = 0``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_array, check_real, describe
from .._warnings import warn_user
from ._multilevel_kernels import torus_bond_sum
from ._protocol import RGModel

__all__ = ["log_weights", "importance_estimates", "independence_metropolis", "MIN_ESS"]

#: Below this many effective samples the error bars are not trusted (a warning says so).
#: Set from the L = 32 heat-bath check at beta = 0.44: with ESS = 59 of 40000 samples the
#: log Z estimate was 5.3 delta-method errors from Kaufman's value (heavy-tailed weights
#: make the error bar itself too small), while every run with ESS above ~300 agreed.
MIN_ESS = 100.0


def _samples(samples: Any, log_q: Any, beta: Any) -> tuple[np.ndarray, np.ndarray, float]:
    if isinstance(samples, xr.DataArray):
        if log_q is None:
            if "log_q" not in samples.coords:
                raise ValueError(
                    "samples has no 'log_q' coordinate; pass log_q= or use the output of "
                    "MultilevelSampler.sample"
                )
            log_q = samples.coords["log_q"].values
        if beta is None:
            beta = samples.attrs.get("beta")
        spins = samples.values
    else:
        spins = samples
    if beta is None:
        raise ValueError("beta is needed: pass beta= or samples with a 'beta' attr")
    beta = check_real(beta, "beta")
    spins = check_array(spins, "samples", ndim=3)
    if spins.shape[1] != spins.shape[2] or len(spins) < 2:
        raise ValueError(f"samples must be (n >= 2, L, L) square lattices, got shape {spins.shape}")
    if log_q is None:
        raise TypeError(f"log_q must be given for a plain array of samples, got {describe(log_q)}")
    log_q = check_array(log_q, "log_q", ndim=1, dtype=np.float64)
    if len(log_q) != len(spins):
        raise ValueError(f"log_q has {len(log_q)} entries for {len(spins)} samples")
    return spins, log_q, beta


def log_weights(samples: Any, *, log_q: Any = None, beta: Any = None) -> np.ndarray:
    """Importance log-weights ``-beta E - log q`` of each sample.

    Parameters
    ----------
    samples : xarray.DataArray or array-like
        ``(n, L, L)`` +-1 spins; a DataArray from
        :meth:`MultilevelSampler.sample` carries ``log_q`` and ``beta``.
    log_q : array-like, optional
        ``(n,)`` log-probabilities under the proposal (default: the coordinate).
    beta : float, optional
        Inverse temperature (default: ``samples.attrs["beta"]``).

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64.
    """
    spins, log_q, beta = _samples(samples, log_q, beta)
    return beta * torus_bond_sum(spins).astype(np.float64) - log_q


def importance_estimates(samples: Any, *, log_q: Any = None, beta: Any = None) -> xr.Dataset:
    """ESS, ``log Z``, ``beta F`` and Boltzmann averages from reweighted samples, with errors.

    Parameters
    ----------
    samples, log_q, beta
        As in :func:`log_weights`.

    Returns
    -------
    xarray.Dataset
        Scalars, each ``*`` with a ``*_err`` (one standard error):
        ``n_samples``, ``ess``, ``ess_fraction``, ``log_z``,
        ``beta_free_energy`` (``-log Z / L^2``), ``energy`` (per site),
        ``abs_magnetization`` (``<|m|>``), ``m2`` (``<m^2>``); attrs
        ``beta``, ``L``, ``reliable`` (1 when ``ess >= MIN_ESS``). A warning
        says when the ESS is below :data:`MIN_ESS`.

    Examples
    --------
    >>> from rgdata.models import MultilevelSampler
    >>> cfg = MultilevelSampler(beta=0.3, L=4).fit().sample(4000, random_state=1)
    >>> est = importance_estimates(cfg)
    >>> bool(0 < float(est.ess_fraction) <= 1)
    True
    """
    spins, log_q, beta = _samples(samples, log_q, beta)
    n, L = len(spins), spins.shape[1]
    bonds = torus_bond_sum(spins).astype(np.float64)
    logw = beta * bonds - log_q
    shift = logw.max()
    w = np.exp(logw - shift)
    sw = w.sum()
    ess = sw**2 / (w**2).sum()
    p = w / sw
    log_z = shift + np.log(sw / n)
    log_z_err = np.sqrt(max(n / ess - 1.0, 0.0) / n)
    m = spins.reshape(n, -1).sum(axis=1, dtype=np.int64) / (L * L)
    observables = {
        "energy": (-bonds / (L * L), "energy per site <E>/L^2 (J = 1)", "J"),
        "abs_magnetization": (np.abs(m), "<|m|>, m = sum(s) / L^2", "1"),
        "m2": (m**2, "<m^2>", "1"),
    }
    data: dict[str, Any] = {
        "n_samples": ((), n, {"units": "1", "description": "number of samples"}),
        "ess": ((), ess, {"units": "1", "description": "(sum w)^2 / sum w^2"}),
        "ess_fraction": ((), ess / n, {"units": "1", "description": "<w>^2 / <w^2> = ESS / n"}),
        "log_z": ((), log_z, {"units": "1", "description": "log mean(w), unbiased Z"}),
        "log_z_err": ((), log_z_err, {"units": "1", "description": "delta-method error"}),
        "beta_free_energy": (
            (),
            -log_z / (L * L),
            {"units": "1", "description": "beta F / L^2 = -log Z / L^2"},
        ),
        "beta_free_energy_err": (
            (),
            log_z_err / (L * L),
            {"units": "1", "description": "delta-method error"},
        ),
    }
    for name, (values, text, units) in observables.items():
        mean = float(p @ values)
        err = float(np.sqrt(p**2 @ (values - mean) ** 2))
        data[name] = ((), mean, {"units": units, "description": f"self-normalised {text}"})
        data[f"{name}_err"] = ((), err, {"units": units, "description": "delta-method error"})
    reliable = ess >= MIN_ESS
    if not reliable:
        warn_user(
            f"importance_estimates: ESS = {ess:.1f} of {n} samples (< {MIN_ESS:g}); the "
            "weights are dominated by a few samples and the error bars are not reliable"
        )
    return xr.Dataset(data_vars=data, attrs={"beta": beta, "L": int(L), "reliable": int(reliable)})


def independence_metropolis(
    samples: Any, *, log_q: Any = None, beta: Any = None, random_state: Any = None
) -> xr.DataArray:
    """Exact Boltzmann chain from the samples by independence Metropolis-Hastings.

    Proposals are the samples in order; the chain moves from ``s`` to the
    proposal ``s'`` with probability ``min(1, w(s') / w(s))`` and otherwise
    repeats ``s``. The first sample starts the chain (the chain is exact in
    the long run; its first state is drawn from ``q``).

    Parameters
    ----------
    samples, log_q, beta
        As in :func:`log_weights`.
    random_state : None, int or numpy.random.Generator
        Seeds the accept/reject coins; the seed is in ``attrs["seed"]``.

    Returns
    -------
    xarray.DataArray
        The chain ``(sample, y, x)`` (int8) with coordinate ``proposal`` (the
        index of the sample in each state) and attrs ``acceptance_rate``,
        ``seed``, ``beta``, ``temperature``.
    """
    spins, log_q, beta = _samples(samples, log_q, beta)
    logw = beta * torus_bond_sum(spins).astype(np.float64) - log_q
    _, seed = RGModel._seeded_rng(random_state)
    log_u = np.log(np.random.default_rng(seed).random(len(spins)))
    index = np.empty(len(spins), dtype=np.int64)
    current, accepted = 0, 0
    index[0] = 0
    for k in range(1, len(spins)):
        if log_u[k] < logw[k] - logw[current]:
            current = k
            accepted += 1
        index[k] = current
    attrs = dict(samples.attrs) if isinstance(samples, xr.DataArray) else {}
    attrs.update(
        {
            "acceptance_rate": accepted / (len(spins) - 1),
            "seed": int(seed),
            "beta": beta,
            "temperature": 1.0 / beta,
            "algorithm": "independence Metropolis-Hastings on multilevel proposals",
        }
    )
    return xr.DataArray(
        spins[index].astype(np.int8),
        dims=("sample", "y", "x"),
        coords={"sample": np.arange(len(spins)), "proposal": ("sample", index)},
        attrs=attrs,
    )
