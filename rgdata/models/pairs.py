"""Training pairs for the inverse-RG upsamplers: critical Ising lattices and their block spins."""

from __future__ import annotations

from typing import Any

import xarray as xr

from .._validation import check_int, check_random_state, check_real

__all__ = ["ising_training_pairs"]


def ising_training_pairs(
    L: int,
    n_samples: int,
    *,
    temperature: float | None = None,
    algorithm: str = "wolff",
    random_state: Any = None,
    progress: bool = False,
) -> tuple[xr.DataArray, xr.DataArray]:
    """2D Ising configurations from rgdata's samplers and their 2x2 majority-rule blocks.

    Parameters
    ----------
    L : int
        Fine linear size, even (the coarse lattices have side ``L / 2``).
    n_samples : int
        Number of pairs.
    temperature : float, optional
        Temperature (``J = 1``); default the critical ``T_c = 2 / ln(1 + sqrt 2)``.
    algorithm : str
        Sampler of :func:`rgdata.lattice.sample_ising` (default Wolff).
    random_state : None, int or numpy.random.Generator
        Seeds the sampler and the tie-breaking coins (one child seed each,
        recorded as ``attrs["seed"]`` of the fine and coarse lattices).
    progress : bool
        Progress bar of the sampler.

    Returns
    -------
    fine, coarse : xarray.DataArray
        Configurations ``(sample, y, x)`` of sides ``L`` and ``L / 2``:
        ``coarse`` is :func:`rgdata.lattice.block_spins` of ``fine`` with
        ``b=2``, ``rule="majority"`` and tied blocks (two up, two down) set by
        a seeded fair coin. Both carry the sampler's attrs (``temperature``,
        ``seed`` of the chain, ``tau_int``, ...); ``coarse.attrs`` adds
        ``block_seed``.

    Examples
    --------
    >>> fine, coarse = ising_training_pairs(8, 20, random_state=0)
    >>> fine.shape, coarse.shape
    ((20, 8, 8), (20, 4, 4))
    """
    from ..lattice import block_spins, exact, sample_ising

    L = check_int(L, "L", min_value=2)
    if L % 2:
        raise ValueError(f"L must be even (2x2 blocks), got {L}")
    n_samples = check_int(n_samples, "n_samples", min_value=1)
    T = exact.TC_2D if temperature is None else temperature
    T = check_real(T, "temperature", min_value=0, strict_min=True)
    rng = check_random_state(random_state)
    chain_seed, block_seed = (int(s) for s in rng.integers(0, 2**31, size=2))
    fine = sample_ising(
        L, T, n_samples, algorithm=algorithm, random_state=chain_seed, progress=progress
    )
    coarse = block_spins(fine, b=2, rule="majority", tie_break="random", random_state=block_seed)
    coarse.attrs = {**fine.attrs, **coarse.attrs, "block_seed": block_seed}
    return fine, coarse
