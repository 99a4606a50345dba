"""Spin-flip- and square-symmetric convolution kernels of the inverse-RG upsamplers.

A ``k x k`` kernel (``k`` odd) that is invariant under the eight symmetries of
the square has one weight per *orbit* of offsets ``(dy, dx)``, labelled by
``0 <= i <= j <= (k - 1) / 2`` with ``(i, j) = sorted(|dy|, |dx|)``: 3
weights for ``k = 3`` (corner, edge, centre: ``a, b, c``), 6 for ``k = 5``
and 10 for ``k = 7``, ``(k + 1)(k + 3) / 8`` in general. Orbits are ordered
from the outermost (largest ``i**2 + j**2``) to the centre, so ``k = 3``
gives the ``(a, b, c)`` order of the minimal model.

With the bias fixed at ``-sum(K) / 2`` acting on the 0/1 coding of the
nearest-neighbour upsampled spins, the logit of each fine site is
``(1/2) sum_d K_d s_{i+d}`` (periodic), odd in the coarse spins, and linear
in the orbit weights: ``logit = features @ coef`` with one feature per orbit
(half the sum of the upsampled spins on that orbit).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int

__all__ = [
    "KERNEL_SIZES",
    "orbits",
    "param_names",
    "symmetric_kernel",
    "upsample_nearest",
    "features",
    "logits",
    "n_params",
]

#: kernel sides the symmetric upsamplers accept
KERNEL_SIZES = (3, 5, 7)


def check_kernel_size(kernel_size: int) -> int:
    """*kernel_size* as an int in :data:`KERNEL_SIZES`, or a ValueError naming it."""
    k = check_int(kernel_size, "kernel_size")
    if k not in KERNEL_SIZES:
        raise ValueError(f"kernel_size must be one of {list(KERNEL_SIZES)}, got {k}")
    return k


def orbits(kernel_size: int = 3) -> list[tuple[int, int]]:
    """Orbit labels ``(i, j)``, ``0 <= i <= j <= r``, outermost first.

    Parameters
    ----------
    kernel_size : {3, 5, 7}
        Side of the kernel.

    Returns
    -------
    list of tuple
        One ``(i, j)`` per free weight.

    Examples
    --------
    >>> orbits(3)
    [(1, 1), (0, 1), (0, 0)]
    >>> len(orbits(5)), len(orbits(7))
    (6, 10)
    """
    r = check_kernel_size(kernel_size) // 2
    labels = [(i, j) for j in range(r + 1) for i in range(j + 1)]
    return sorted(labels, key=lambda ij: (-(ij[0] ** 2 + ij[1] ** 2), ij))


def n_params(kernel_size: int = 3) -> int:
    """Number of free weights of the symmetric ``kernel_size`` kernel."""
    return len(orbits(kernel_size))


def param_names(kernel_size: int = 3) -> list[str]:
    """``["a", "b", "c"]`` for 3x3, else ``"k<i><j>"`` per orbit.

    Examples
    --------
    >>> param_names(5)
    ['k22', 'k12', 'k02', 'k11', 'k01', 'k00']
    """
    if kernel_size == 3:
        return ["a", "b", "c"]
    return [f"k{i}{j}" for i, j in orbits(kernel_size)]


def _kernel_size_of(n: int) -> int:
    for k in KERNEL_SIZES:
        if n_params(k) == n:
            return k
    raise ValueError(
        f"coef must hold the weights of a symmetric kernel, "
        f"{[n_params(k) for k in KERNEL_SIZES]} numbers for sides {list(KERNEL_SIZES)}; got {n}"
    )


def symmetric_kernel(coef: np.ndarray) -> np.ndarray:
    """The ``k x k`` kernel of orbit weights *coef* (``k`` from ``len(coef)``).

    Parameters
    ----------
    coef : array-like
        3, 6 or 10 weights in :func:`orbits` order.

    Returns
    -------
    numpy.ndarray
        ``(k, k)`` float64 kernel, invariant under the symmetries of the square.

    Examples
    --------
    >>> symmetric_kernel([0.5, 0.25, 1.0])
    array([[0.5 , 0.25, 0.5 ],
           [0.25, 1.  , 0.25],
           [0.5 , 0.25, 0.5 ]])
    """
    coef = np.asarray(coef, dtype=np.float64).ravel()
    k = _kernel_size_of(coef.size)
    r = k // 2
    index = {ij: p for p, ij in enumerate(orbits(k))}
    out = np.empty((k, k))
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            out[dy + r, dx + r] = coef[index[tuple(sorted((abs(dy), abs(dx))))]]
    return out


def upsample_nearest(coarse: np.ndarray) -> np.ndarray:
    """Copy every coarse spin onto its 2x2 block: ``(n, l, l)`` -> ``(n, 2l, 2l)``."""
    return np.repeat(np.repeat(coarse, 2, axis=-2), 2, axis=-1)


def features(coarse: np.ndarray, kernel_size: int = 3) -> np.ndarray:
    """Half the sum of the upsampled spins on each kernel orbit, for every fine site.

    Parameters
    ----------
    coarse : numpy.ndarray
        ``(n, l, l)`` +-1 spins.
    kernel_size : {3, 5, 7}
        Side of the kernel.

    Returns
    -------
    numpy.ndarray
        ``(n, 2l, 2l, P)`` float64 with ``P = n_params(kernel_size)``, so that
        ``logit = features @ coef`` (periodic boundaries).
    """
    labels = orbits(kernel_size)
    up = 0.5 * upsample_nearest(coarse).astype(np.float64)
    out = np.zeros((*up.shape, len(labels)))
    r = kernel_size // 2
    index = {ij: p for p, ij in enumerate(labels)}
    for dy in range(-r, r + 1):
        shifted = np.roll(up, -dy, axis=-2)
        for dx in range(-r, r + 1):
            out[..., index[tuple(sorted((abs(dy), abs(dx))))]] += np.roll(shifted, -dx, axis=-1)
    return out


def _coarse_kernels(kern: np.ndarray) -> tuple[int, np.ndarray]:
    """The fine kernel folded onto the coarse lattice, one per sub-site of a 2x2 block.

    The fine site ``(2i + sy, 2j + sx)`` sees the upsampled spin at offset
    ``dy`` as the coarse spin at row ``i + floor((sy + dy) / 2)``; summing the
    kernel weights that land on the same coarse spin gives
    ``folded[sy, sx, cy - lo, cx - lo]`` for coarse offsets ``cy, cx`` from
    ``lo = floor(-r / 2)``.
    """
    r = kern.shape[0] // 2
    lo, hi = (-r) // 2, (1 + r) // 2
    folded = np.zeros((2, 2, hi - lo + 1, hi - lo + 1))
    for sy in (0, 1):
        for sx in (0, 1):
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    cy, cx = (sy + dy) // 2 - lo, (sx + dx) // 2 - lo
                    folded[sy, sx, cy, cx] += kern[dy + r, dx + r]
    return lo, folded


def logits(coarse: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """``features(coarse) @ coef`` without building the features (less memory, faster).

    The kernel acts on the nearest-neighbour upsampled lattice, which is
    constant on 2x2 blocks, so it is folded onto the coarse lattice (one
    small kernel per sub-site of a block) and applied there.

    Parameters
    ----------
    coarse : numpy.ndarray
        ``(n, l, l)`` +-1 spins.
    coef : array-like
        Orbit weights (3, 6 or 10).

    Returns
    -------
    numpy.ndarray
        ``(n, 2l, 2l)`` float64 logits ``(1/2) sum_d K_d s_{i+d}`` (periodic).
    """
    lo, folded = _coarse_kernels(symmetric_kernel(coef))
    c = 0.5 * np.asarray(coarse, dtype=np.float64)
    n, ly, lx = c.shape
    out = np.zeros((n, 2 * ly, 2 * lx))
    size = folded.shape[-1]
    for cy in range(size):
        row = np.roll(c, -(cy + lo), axis=-2)
        for cx in range(size):
            shifted = np.roll(row, -(cx + lo), axis=-1)
            for sy in (0, 1):
                for sx in (0, 1):
                    w = folded[sy, sx, cy, cx]
                    if w != 0.0:
                        out[:, sy::2, sx::2] += w * shifted
    return out
