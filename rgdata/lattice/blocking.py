"""Block-spin transforms of lattice configurations: majority rule and decimation.

A block-spin step cuts a periodic ``L^d`` lattice into ``b^d`` blocks and
gives each block one spin:

* ``rule="majority"``: the sign of the block's spin sum. For even ``b^d``
  (``b = 2`` in 2D and 3D) a block can tie; ``tie_break="random"`` draws the
  spin from a fair coin (seeded by *random_state*), which keeps the up/down
  symmetry exactly; ``tie_break="first"`` takes the block's first spin
  (smallest ``y``, ``x`` (and ``z``) inside the block), a deterministic rule
  that also keeps the symmetry but correlates the block spin with one site.
* ``rule="decimation"``: the block spin is the block's first spin (equivalent
  to slicing ``config[:, ::b, ::b]``).

Blocks are aligned with the origin: block ``(I, J)`` holds sites
``y in [b I, b I + b)``, ``x in [b J, b J + b)``. Every level is again a
Configurations DataArray (int8 +-1, dims ``("sample", "y", "x")`` or
``("sample", "z", "y", "x")``), so it feeds :func:`rgdata.configurations_as_activity`
and the PRG pipeline.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import xarray as xr

from .._validation import check_int, check_option, check_random_state
from ..activity import check_configurations

__all__ = ["BLOCK_RULES", "TIE_BREAKS", "block_spins", "block_spin_levels", "block_array"]

BLOCK_RULES = ("majority", "decimation")
TIE_BREAKS = ("random", "first")


def block_array(
    spins: np.ndarray,
    b: int,
    rule: str = "majority",
    *,
    tie_break: str = "random",
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, int]:
    """One block-spin step on a bare ``(sample, *lattice)`` int8 array.

    Parameters
    ----------
    spins : numpy.ndarray
        int8 +-1 spins, shape ``(n_sample, L, L)`` or ``(n_sample, L, L, L)``
        (sides may differ but must be divisible by *b*).
    b : int
        Block side.
    rule : {"majority", "decimation"}
    tie_break : {"random", "first"}
        How a tied majority block is resolved (see module docstring).
    rng : numpy.random.Generator, optional
        Source of the tie-breaking coins (required for ``"random"`` ties).

    Returns
    -------
    blocked : numpy.ndarray
        int8 array with every lattice side divided by *b*.
    n_ties : int
        Number of tied blocks that were broken.
    """
    d = spins.ndim - 1
    if rule == "decimation":
        return np.ascontiguousarray(spins[(slice(None),) + (slice(None, None, b),) * d]), 0
    # add the b**d strided sub-lattices (faster than a reshape-sum over small axes)
    dtype = np.int8 if b**d <= 127 else np.int16
    sums = None
    for offset in itertools.product(range(b), repeat=d):
        part = spins[(slice(None),) + tuple(slice(o, None, b) for o in offset)]
        sums = part.astype(dtype) if sums is None else sums + part
    out = np.sign(sums).astype(np.int8)
    ties = out == 0
    n_ties = int(ties.sum())
    if n_ties:
        if tie_break == "random":
            if rng is None:
                raise ValueError("tie_break='random' needs a random generator (rng)")
            out[ties] = (2 * rng.integers(0, 2, size=n_ties) - 1).astype(np.int8)
        else:
            first = spins[(slice(None),) + (slice(None, None, b),) * d]
            out[ties] = first[ties]
    return out, n_ties


def _check_blockable(config: xr.DataArray, b: int, levels: int) -> None:
    sides = config.shape[1:]
    need = b**levels
    for dim, side in zip(config.dims[1:], sides, strict=True):
        if side % need:
            raise ValueError(
                f"lattice side {dim}={side} is not divisible by b**levels = {b}**{levels} = "
                f"{need}; accepted: sides that are multiples of {need}"
            )
        if side // need < 2:
            raise ValueError(
                f"lattice side {dim}={side} is too small for {levels} level(s) of b={b} "
                f"blocks: the last level would have side {side // need} (at least 2 needed)"
            )


def block_spin_levels(
    config: xr.DataArray,
    b: int = 2,
    rule: str = "majority",
    *,
    levels: int = 1,
    tie_break: str = "random",
    random_state: Any = None,
) -> list[xr.DataArray]:
    """Repeated block-spin transforms; returns every level, the input first.

    Parameters
    ----------
    config : xarray.DataArray
        Configurations (int8 +-1, dims ``("sample", "y", "x")`` or
        ``("sample", "z", "y", "x")``).
    b : int
        Block side (2 or more).
    rule : {"majority", "decimation"}
        Block-spin rule.
    levels : int
        Number of block steps (each lattice side must be divisible by
        ``b**levels`` and leave a side of at least 2).
    tie_break : {"random", "first"}
        Tie rule for majority blocks with an even number of spins.
    random_state : None, int or numpy.random.Generator
        Seeds the tie-breaking coins.

    Returns
    -------
    list of xarray.DataArray
        ``levels + 1`` Configurations; level ``n`` has sides ``L / b**n`` and
        attrs ``block_level``, ``block_factor``, ``block_rule``,
        ``tie_break``, ``n_ties`` (ties broken at that step) plus the input's
        attrs.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> cfg = rgdata.as_configurations(np.ones((3, 8, 8), dtype=np.int8))
    >>> [c.shape for c in block_spin_levels(cfg, 2, levels=2)]
    [(3, 8, 8), (3, 4, 4), (3, 2, 2)]
    """
    config = check_configurations(config, "config")
    b = check_int(b, "b", min_value=2)
    levels = check_int(levels, "levels", min_value=0)
    check_option(rule, "rule", BLOCK_RULES)
    check_option(tie_break, "tie_break", TIE_BREAKS)
    rng = check_random_state(random_state)
    _check_blockable(config, b, levels)
    out = [config]
    spins = config.values
    for level in range(1, levels + 1):
        spins, n_ties = block_array(spins, b, rule, tie_break=tie_break, rng=rng)
        attrs = dict(config.attrs)
        attrs.update(
            block_level=level,
            block_factor=b,
            block_rule=rule,
            tie_break=tie_break,
            n_ties=n_ties,
            kind="spins",
        )
        out.append(
            xr.DataArray(
                spins,
                dims=config.dims,
                coords={"sample": config["sample"].values},
                attrs=attrs,
            )
        )
    return out


def block_spins(
    config: xr.DataArray,
    b: int = 2,
    rule: str = "majority",
    *,
    levels: int = 1,
    tie_break: str = "random",
    random_state: Any = None,
) -> xr.DataArray:
    """Block-spin transform of lattice configurations (the last of *levels* steps).

    Parameters
    ----------
    config : xarray.DataArray
        Configurations (int8 +-1 spins, 2D or 3D).
    b : int
        Block side (``b = 2`` or ``3`` are usual).
    rule : {"majority", "decimation"}
        Block-spin rule.
    levels : int
        How many times to block (see :func:`block_spin_levels` for all levels).
    tie_break : {"random", "first"}
        Tie rule for majority blocks with an even number of spins.
    random_state : None, int or numpy.random.Generator
        Seeds the tie-breaking coins.

    Returns
    -------
    xarray.DataArray
        Configurations with sides divided by ``b**levels``.

    Examples
    --------
    >>> import numpy as np, rgdata
    >>> cfg = rgdata.as_configurations(np.ones((2, 6, 6), dtype=np.int8))
    >>> block_spins(cfg, b=3).shape
    (2, 2, 2)
    """
    return block_spin_levels(
        config, b, rule, levels=levels, tie_break=tie_break, random_state=random_state
    )[-1]
