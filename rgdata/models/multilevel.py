"""Heat-bath multilevel sampler of the 2D Ising model with an exact likelihood.

Ancestral sampling from coarse to fine (the base sampler of RiGCS: Singha,
Cellini, Nicoli, Jansen, Kuhn and Nakajima, "Multilevel Generative Samplers
for Investigating Critical Phenomena"): a small ``base_size x base_size``
torus is drawn exactly from its Boltzmann distribution by enumeration; each
level is embedded on the even-even sites of a lattice twice as wide, whose
other sites are filled by heat-bath conditionals given already-placed spins
(stages and couplings in :mod:`rgdata.models._multilevel_kernels`). The
log-probability ``log q`` of every sample is accumulated exactly, so
importance weights ``log w = -beta E - log q`` give unbiased estimates of
Boltzmann averages and of ``log Z`` (:mod:`rgdata.models.multilevel_importance`).

Of the three fill stages, the last two are exact conditionals of the Ising
model given the spins placed before them; the approximations are the first
odd-odd stage (coupling ``k_diag`` to the diagonal neighbours) and the
coarse lattice, drawn from the same sampler at a coupling ``level_betas``
(default ``beta`` at every level) although the even-even sublattice of the
fine Ising model is not an Ising model. Importance weights correct both.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import __version__
from .._progress import progress_bar
from .._validation import check_array, check_int, check_real, describe
from ._multilevel_kernels import (
    enumerate_base,
    fill_level,
    fill_log_prob,
    state_codes,
    torus_bond_sum,
)
from ._protocol import RGModel

__all__ = ["MultilevelSampler", "BETA_RANGE", "fill_couplings", "check_power_of_two"]

#: Supported inverse temperatures ``(low, high]``: ferromagnetic couplings up to
#: ``beta = 1`` (``T = 1``, deep in the ordered phase, where the weights already degenerate).
BETA_RANGE = (0.0, 1.0)
#: Base lattice sides drawn exactly by enumeration (``2^(b^2)`` states).
BASE_SIZES = (2, 4)
#: Largest lattice side.
MAX_L = 1024
_CHUNK = 256
_NO_EXTRA = np.zeros((0, 0, 0))


def fill_couplings(beta: float) -> float:
    """Stage-1 coupling ``k_diag = ln(cosh(3 beta) / cosh(beta)) / 2``.

    The conditional of an odd-odd site given its 4 diagonal even-even
    neighbours when the mixed sites are summed out exactly and the unplaced
    odd-odd sites are treated as independent fair coins (each adjacent
    mixed site ``m`` then contributes ``cosh(beta (S_m + s))``).

    Parameters
    ----------
    beta : float
        Inverse temperature (``J = 1``).

    Returns
    -------
    float

    Examples
    --------
    >>> round(fill_couplings(0.44), 4)
    0.301
    """
    return 0.5 * float(np.log(np.cosh(3.0 * beta) / np.cosh(beta)))


def check_power_of_two(L: Any, name: str = "L", *, min_value: int = 2) -> int:
    """Check that *L* is an int power of two in ``[min_value, MAX_L]``; return it."""
    L = check_int(L, name)
    if L < min_value or L > MAX_L or L & (L - 1):
        raise ValueError(
            f"{name} must be a power of two between {min_value} and {MAX_L} "
            f"(each level doubles the lattice), got {L}"
        )
    return L


def check_beta(beta: Any) -> float:
    """Check that *beta* lies in the supported range :data:`BETA_RANGE`; return it."""
    beta = check_real(beta, "beta")
    lo, hi = BETA_RANGE
    if not lo < beta <= hi:
        raise ValueError(
            f"beta must be in ({lo}, {hi}] (ferromagnetic J = 1, T >= 1: the heat-bath "
            f"conditionals assume J > 0 and the weights degenerate deeper in the ordered "
            f"phase), got {beta}"
        )
    return beta


def _spins(X: Any, L: int, name: str = "X") -> np.ndarray:
    values = X.values if isinstance(X, xr.DataArray) else X
    arr = check_array(values, name, ndim=3)
    if arr.shape[1:] != (L, L):
        raise ValueError(f"{name} must have shape (n, {L}, {L}) (the sampler's L), got {arr.shape}")
    bad = (arr != 1) & (arr != -1)
    if bad.any():
        raise ValueError(
            f"{name} must hold only -1 and +1 spins, found {np.unique(arr[bad])[:6].tolist()}"
        )
    return arr.astype(np.int8, copy=False)


def configurations(
    spins: np.ndarray, log_q: np.ndarray, seed: int, beta: float, base_size: int, name: str
) -> xr.DataArray:
    """Samples as Configurations with their ``log_q`` coordinate (shared by the samplers)."""
    return xr.DataArray(
        spins,
        dims=("sample", "y", "x"),
        coords={"sample": np.arange(len(spins)), "log_q": ("sample", log_q)},
        attrs={
            "kind": "spins",
            "model": "ising2d",
            "algorithm": f"multilevel ({name})",
            "beta": float(beta),
            "temperature": 1.0 / float(beta),
            "J": 1.0,
            "h": 0.0,
            "seed": int(seed),
            "base_size": int(base_size),
            "version": __version__,
        },
    )


class MultilevelSampler(RGModel):
    """Heat-bath multilevel sampler of the 2D Ising torus with exact ``log q``.

    Draws ``L x L`` configurations (``J = 1``, ``h = 0``, periodic) by
    ancestral sampling: an exactly enumerated ``base_size`` torus, then one
    doubling step per level (even-even sites copy the coarse lattice; the
    odd-odd sites in two checkerboard stages, the first with coupling
    ``k_diag`` to the diagonal neighbours, the second by its exact
    conditional with the mixed sites summed out; the mixed sites by the
    exact heat-bath conditional ``P(s = +1) = 1 / (1 + exp(-2 beta sum_nn
    s))``). ``log q`` of each
    sample is exact, so the samples are reweighted to the Boltzmann
    distribution with :func:`rgdata.models.importance_estimates`.

    Parameters
    ----------
    beta : float
        Inverse temperature, in ``(0, 1]``.
    L : int
        Side of the sampled lattice, a power of two ``>= base_size``.
    base_size : {2, 4}
        Side of the coarsest lattice, sampled exactly from its Boltzmann
        distribution at *beta* by enumeration.
    k_diag : float, optional
        Coupling of the first odd-odd stage; default
        ``fill_couplings(level beta)`` at each level.
    level_betas : sequence of float, optional
        Couplings of the coarser levels ``base_size, ..., L / 2`` (the base
        distribution and the fills that produce them); default ``beta`` at
        every level. The finest fill always uses ``beta``.
    random_state : None, int or numpy.random.Generator
        Unused by the fit (nothing random is learned); kept for the protocol.

    Attributes
    ----------
    sizes_ : numpy.ndarray
        Lattice side at each level, ``base_size, 2 base_size, ..., L``.
    couplings_ : numpy.ndarray
        ``(n_levels - 1, 2)``: ``k_diag, beta_level`` of each doubling step.
    log_z_base_ : float
        Exact ``log Z`` of the base torus.

    Examples
    --------
    >>> from rgdata.models import importance_estimates
    >>> from rgdata.lattice import exact
    >>> sampler = MultilevelSampler(beta=0.44, L=8).fit()
    >>> cfg = sampler.sample(2000, random_state=0)
    >>> cfg.shape, cfg.log_q.dims
    ((2000, 8, 8), ('sample',))
    >>> est = importance_estimates(cfg)
    >>> exact_log_z = exact.log_partition_function(1 / 0.44, 8)
    >>> bool(abs(float(est.log_z) - exact_log_z) < 4 * float(est.log_z_err))
    True
    """

    has_log_prob = True
    _fitted_attribute = "couplings_"
    _fit_call = "fit()"

    def __init__(
        self,
        beta: float = 0.44,
        L: int = 16,
        base_size: int = 2,
        k_diag: float | None = None,
        level_betas: Any = None,
        random_state: Any = None,
    ) -> None:
        self.beta = beta
        self.L = L
        self.base_size = base_size
        self.k_diag = k_diag
        self.level_betas = level_betas
        self.random_state = random_state

    # --------------------------------------------------------------- validation
    def _check_params(self) -> tuple[float, int, int]:
        beta = check_beta(self.beta)
        if self.base_size not in BASE_SIZES:
            raise ValueError(
                f"base_size must be one of {BASE_SIZES} (enumerated exactly), "
                f"got {describe(self.base_size)}"
            )
        L = check_power_of_two(self.L, "L", min_value=self.base_size)
        return beta, L, int(self.base_size)

    def _level_betas(self, beta: float, n_steps: int) -> np.ndarray:
        """Couplings of levels ``0 .. n_steps`` (base first, ``beta`` last)."""
        if self.level_betas is None:
            return np.full(n_steps + 1, beta)
        values = check_array(self.level_betas, "level_betas", ndim=1, dtype=np.float64)
        if len(values) != n_steps:
            raise ValueError(
                f"level_betas must hold one coupling per coarser level ({n_steps} for "
                f"L={self.L}, base_size={self.base_size}), got {len(values)}"
            )
        for v in values:
            check_beta(float(v))
        return np.append(values, beta)

    def _fill_couplings(self, betas: np.ndarray) -> np.ndarray:
        k_diag = [fill_couplings(b) for b in betas[1:]]
        if self.k_diag is not None:
            k_diag = [check_real(self.k_diag, "k_diag")] * len(k_diag)
        return np.column_stack([k_diag, betas[1:]]).reshape(-1, 2)

    # --------------------------------------------------------------------- fit
    def fit(self, X: Any = None, y: None = None) -> MultilevelSampler:
        """Set up the levels, the exact base distribution and the fill couplings.

        The target is the Boltzmann distribution at ``beta``, not data:
        nothing is learned, and *X* is only checked.

        Parameters
        ----------
        X : None or array-like
            Ignored apart from a check that it holds ``(n, L, L)`` +-1 spins
            (accepted so that ``fit`` follows the estimator protocol).
        y : None
            Ignored.

        Returns
        -------
        MultilevelSampler
            ``self``.
        """
        self._reset_fit_state()
        beta, L, base = self._check_params()
        if X is not None:
            _spins(X, L)
        n_steps = int(np.log2(L // base))
        self.sizes_ = base * 2 ** np.arange(n_steps + 1)
        betas = self._level_betas(beta, n_steps)
        self._base_states, self._base_log_p = enumerate_base(base, betas[0])
        self.log_z_base_ = float(
            np.logaddexp.reduce(betas[0] * torus_bond_sum(self._base_states).astype(float))
        )
        self._base_beta = float(betas[0])
        self.couplings_ = self._fill_couplings(betas)
        return self

    # ------------------------------------------------------------------ sample
    def _draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        codes = rng.choice(len(self._base_log_p), size=n, p=np.exp(self._base_log_p))
        spins = self._base_states[codes]
        log_q = self._base_log_p[codes].copy()
        for (k_diag, beta), side in zip(self.couplings_, self.sizes_[1:], strict=True):
            fine = np.empty((n, side, side), dtype=np.int8)
            fill_level(spins, rng.random((n, side, side)), k_diag, beta, fine, log_q, _NO_EXTRA)
            spins = fine
        return spins, log_q

    def sample(self, n: int, random_state: Any = None, *, progress: bool = False) -> xr.DataArray:
        """Draw *n* configurations with their exact log-probability.

        Parameters
        ----------
        n : int
            Number of configurations.
        random_state : None, int or numpy.random.Generator
            Seed; the seed used is in ``attrs["seed"]``. Chunks of 256
            samples use generators seeded by ``(seed, chunk)``.
        progress : bool
            Progress bar over chunks.

        Returns
        -------
        xarray.DataArray
            int8 +-1 spins ``(sample, y, x)`` with coordinate ``log_q`` on
            ``sample`` (nats) and attrs ``model``, ``beta``, ``temperature``,
            ``J``, ``h``, ``seed``, ``base_size``, ``algorithm``.
        """
        self._check_fitted()
        n = check_int(n, "n", min_value=1)
        _, seed = self._seeded_rng(random_state)
        L = int(self.sizes_[-1])
        out = np.empty((n, L, L), dtype=np.int8)
        log_q = np.empty(n)
        starts = range(0, n, _CHUNK)
        for chunk, start in enumerate(progress_bar(starts, enable=progress, desc="multilevel")):
            stop = min(start + _CHUNK, n)
            rng = np.random.default_rng([seed, chunk])
            out[start:stop], log_q[start:stop] = self._draw(stop - start, rng)
        return self._configurations(out, log_q, seed)

    def _configurations(self, spins: np.ndarray, log_q: np.ndarray, seed: int) -> xr.DataArray:
        return configurations(
            spins, log_q, seed, check_beta(self.beta), int(self.sizes_[0]), type(self).__name__
        )

    # ---------------------------------------------------------------- log_prob
    def log_prob(self, X: Any) -> np.ndarray:
        """Exact ``log q`` (nats) of each configuration of *X* under the sampler.

        Parameters
        ----------
        X : array-like or xarray.DataArray
            ``(n, L, L)`` +-1 spins.

        Returns
        -------
        numpy.ndarray
            ``(n,)`` float64 (computed independently of the sampling kernel,
            by array shifts level by level).
        """
        self._check_fitted()
        spins = _spins(X, int(self.sizes_[-1]))
        total = np.zeros(len(spins))
        for k_diag, beta in self.couplings_[::-1]:
            total += fill_log_prob(spins, k_diag, beta)
            spins = spins[:, ::2, ::2]
        return total + self._base_log_p[state_codes(spins)]

    # -------------------------------------------------------------- to_dataset
    def to_dataset(self) -> xr.Dataset:
        """The levels and fill couplings as a Dataset (dim ``level``, coordinate ``scale``).

        Returns
        -------
        xarray.Dataset
            ``k_diag`` and ``beta_level`` on ``level`` (one per doubling
            step; ``scale`` is the side of the lattice that step fills);
            attrs ``beta``, ``L``, ``base_size``, ``log_z_base``.
        """
        self._check_fitted()
        level = np.arange(1, len(self.sizes_))
        desc = {
            "k_diag": "coupling of odd-odd sites to their 4 diagonal (even-even) neighbours",
            "beta_level": "inverse temperature of the exact stages (2, 3) of this fill",
        }
        data = {
            name: (
                "level",
                self.couplings_[:, col].astype(np.float64),
                {"units": "1 (in units of 1/T)", "description": text},
            )
            for col, (name, text) in enumerate(desc.items())
        }
        return xr.Dataset(
            data,
            coords={
                "level": level,
                "scale": ("level", self.sizes_[1:].astype(np.int64), {"units": "sites"}),
            },
            attrs={
                "model": type(self).__name__,
                "beta": float(check_beta(self.beta)),
                "L": int(self.sizes_[-1]),
                "base_size": int(self.sizes_[0]),
                "log_z_base": float(self.log_z_base_),
                "base_beta": float(self._base_beta),
                "version": __version__,
            },
        )
