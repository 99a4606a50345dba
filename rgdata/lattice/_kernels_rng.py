"""Counter-based random numbers for the numba kernels (SplitMix64).

Every random word is ``mix64(key + counter * GOLDEN)``: the output of the
SplitMix64 generator at position *counter* of the stream selected by *key*.
Kernels derive the counter from (sweep, site) or (sweep, row), so the numbers a
site receives do not depend on the order in which sites are visited, nor on
how many threads share the work: serial and parallel runs are bit-identical.

Developer note: these functions are inlined into the ``cache=True`` kernels of
the other ``_kernels_*`` modules, and numba's on-disk cache only checks the
source file of the cached function itself. After editing this module, delete
``rgdata/lattice/__pycache__/*.nbi`` / ``*.nbc`` so the kernels are rebuilt.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@njit(inline="always")
def mix64(z):
    """SplitMix64 finaliser: a bijective avalanche of a uint64."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(inline="always")
def uniform(z):
    """A float in [0, 1) from the top 53 bits of a random uint64."""
    return np.float64(z >> _S11) * _INV53


@njit(inline="always")
def below(z, n):
    """An integer in [0, n) from a random uint64 (n < 2**32; multiply-shift)."""
    return np.int64(((z >> _S32) * np.uint64(n)) >> _S32)
