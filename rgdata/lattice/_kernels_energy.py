"""Energy and magnetisation of flat Ising samples (numba kernels).

Same lattice layout and ``bonds`` convention as ``_kernels_cluster``. Uniform
couplings (``bonds.shape[1] == 1``) take an integer path: per axis the sum of
``s_i s_j`` over the bonds, one multiplication by the coupling at the end (and
no per-bond coupling lookups), several times faster than the general loop,
which the samplers' per-sweep measurements (tau_int pilot, benchmarks) feel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels_cluster import _bond

__all__ = ["energy_magnetisation"]


@njit(cache=True, nogil=True)
def energy_magnetisation(samples, lz, ly, lx, bonds, h):
    """Total energy ``-sum J s_i s_j - h sum s_i`` and magnetisation of each flat sample.

    *samples* has shape ``(n_samples, lz * ly * lx)``. Returns two float64 arrays.
    """
    if bonds.shape[1] > 1:
        return _energy_magnetisation_bonds(samples, lz, ly, lx, bonds, h)
    n_samples = samples.shape[0]
    energy = np.empty(n_samples)
    mag = np.empty(n_samples)
    for k in range(n_samples):
        sz, sy, sx, m = _bond_sums(samples[k], lz, ly, lx)
        energy[k] = -(bonds[0, 0] * sz + bonds[1, 0] * sy + bonds[2, 0] * sx) - h * m
        mag[k] = m
    return energy, mag


@njit(inline="always")
def _bond_sums(s, lz, ly, lx):
    """Sums of ``s_i s_j`` over the z, y and x bonds (z: 0 in 2D) and of ``s_i``, as integers."""
    sz = 0
    sy = 0
    sx = 0
    m = 0
    for z in range(lz):
        zp = z + 1 if z < lz - 1 else 0
        for y in range(ly):
            yp = y + 1 if y < ly - 1 else 0
            row = (z * ly + y) * lx
            row_y = (z * ly + yp) * lx
            row_z = (zp * ly + y) * lx
            acc_x = 0
            acc_y = 0
            acc_z = 0
            acc_m = 0
            for x in range(lx - 1):
                si = np.int64(s[row + x])
                acc_m += si
                acc_x += si * s[row + x + 1]
                acc_y += si * s[row_y + x]
                acc_z += si * s[row_z + x]
            si = np.int64(s[row + lx - 1])
            acc_m += si
            acc_x += si * s[row]
            acc_y += si * s[row_y + lx - 1]
            acc_z += si * s[row_z + lx - 1]
            sx += acc_x
            sy += acc_y
            sz += acc_z
            m += acc_m
    if lz == 1:
        sz = 0  # 2D: row_z is the row itself
    return sz, sy, sx, m


@njit(cache=True, nogil=True)
def _energy_magnetisation_bonds(samples, lz, ly, lx, bonds, h):
    """:func:`energy_magnetisation` for per-bond couplings (any ``bonds``)."""
    n_samples = samples.shape[0]
    three_d = lz > 1
    energy = np.empty(n_samples)
    mag = np.empty(n_samples)
    for k in range(n_samples):
        s = samples[k]
        e = 0.0
        m = 0
        for z in range(lz):
            zp = z + 1 if z < lz - 1 else 0
            for y in range(ly):
                yp = y + 1 if y < ly - 1 else 0
                row = (z * ly + y) * lx
                row_y = (z * ly + yp) * lx
                row_z = (zp * ly + y) * lx
                for x in range(lx):
                    i = row + x
                    si = s[i]
                    m += si
                    xp = x + 1 if x < lx - 1 else 0
                    e -= _bond(bonds, 2, i) * si * s[row + xp]
                    e -= _bond(bonds, 1, i) * si * s[row_y + x]
                    if three_d:
                        e -= _bond(bonds, 0, i) * si * s[row_z + x]
        energy[k] = e - h * m
        mag[k] = m
    return energy, mag
