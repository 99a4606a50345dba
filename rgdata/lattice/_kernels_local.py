"""Single-spin-flip kernels: checkerboard Metropolis and heat bath.

Spins are int8 arrays updated in place. Each kernel takes a flip-probability
table (uniform couplings) or bond arrays (random couplings), the RNG *key*
and a *counter* offset: site ``i`` in sweep ``t`` draws the word
``mix64(key + (counter + t * N + i) * GOLDEN)``, so results do not depend on
the visiting order or on the number of threads (see ``_kernels_rng``).

Checkerboard order: sites with ``(x + y [+ z]) % 2 == 0`` first, then the
others. On a periodic lattice with even sides the sites of one colour do not
interact, so rows (2D) or planes (3D) of one colour can be updated in
parallel (``*_parallel`` kernels, ``prange``). For odd sides only the serial
kernels are valid; they are still a correct sequence of single-site updates.

Tables hold ``P(flip) * 2**32`` as uint64 and are indexed by
``spin_index * (2 * dim + 1) + (neighbour_sum + 2 * dim) // 2`` with
``spin_index = (s + 1) // 2``; a site flips when the top 32 bits of its
random word are below the entry (so a probability of 1 always flips).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._kernels_rng import _S32, GOLDEN, mix64, uniform


@njit(inline="always")
def _row_2d(s, y, colour, table, key, base):
    ly, lx = s.shape
    row = s[y]
    up = s[y - 1] if y > 0 else s[ly - 1]
    dn = s[y + 1] if y < ly - 1 else s[0]
    x0 = (y + colour) & 1
    rowkey = key + (base + np.uint64(y * lx)) * GOLDEN
    for x in range(x0, lx, 2):
        xl = x - 1 if x > 0 else lx - 1
        xr = x + 1 if x < lx - 1 else 0
        si = np.int64(row[x])
        nb = np.int64(up[x]) + np.int64(dn[x]) + np.int64(row[xl]) + np.int64(row[xr])
        r = mix64(rowkey + np.uint64(x) * GOLDEN)
        if (r >> _S32) < table[((si + 1) >> 1) * 5 + ((nb + 4) >> 1)]:
            row[x] = -row[x]


@njit(cache=True)
def sweeps_table_2d(s, n_sweeps, table, key, counter):
    """*n_sweeps* checkerboard sweeps of a 2D lattice with a flip table; returns the counter."""
    ly, lx = s.shape
    n = np.uint64(ly * lx)
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n
        for colour in range(2):
            for y in range(ly):
                _row_2d(s, y, colour, table, key, base)
    return counter + np.uint64(n_sweeps) * n


@njit(cache=True, parallel=True)
def sweeps_table_2d_parallel(s, n_sweeps, table, key, counter):
    """As :func:`sweeps_table_2d` with rows of one colour in parallel (even L_y only)."""
    ly, lx = s.shape
    n = np.uint64(ly * lx)
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n
        for colour in range(2):
            for y in prange(ly):
                _row_2d(s, y, colour, table, key, base)
    return counter + np.uint64(n_sweeps) * n


@njit(inline="always")
def _plane_3d(s, z, colour, table, key, base):
    lz, ly, lx = s.shape
    zu = z - 1 if z > 0 else lz - 1
    zd = z + 1 if z < lz - 1 else 0
    for y in range(ly):
        yu = y - 1 if y > 0 else ly - 1
        yd = y + 1 if y < ly - 1 else 0
        x0 = (z + y + colour) & 1
        rowkey = key + (base + np.uint64((z * ly + y) * lx)) * GOLDEN
        for x in range(x0, lx, 2):
            xl = x - 1 if x > 0 else lx - 1
            xr = x + 1 if x < lx - 1 else 0
            si = np.int64(s[z, y, x])
            nb = (
                np.int64(s[zu, y, x])
                + np.int64(s[zd, y, x])
                + np.int64(s[z, yu, x])
                + np.int64(s[z, yd, x])
                + np.int64(s[z, y, xl])
                + np.int64(s[z, y, xr])
            )
            r = mix64(rowkey + np.uint64(x) * GOLDEN)
            if (r >> _S32) < table[((si + 1) >> 1) * 7 + ((nb + 6) >> 1)]:
                s[z, y, x] = -s[z, y, x]


@njit(cache=True)
def sweeps_table_3d(s, n_sweeps, table, key, counter):
    """*n_sweeps* checkerboard sweeps of a 3D lattice with a flip table; returns the counter."""
    n = np.uint64(s.size)
    lz = s.shape[0]
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n
        for colour in range(2):
            for z in range(lz):
                _plane_3d(s, z, colour, table, key, base)
    return counter + np.uint64(n_sweeps) * n


@njit(cache=True, parallel=True)
def sweeps_table_3d_parallel(s, n_sweeps, table, key, counter):
    """As :func:`sweeps_table_3d` with planes of one colour in parallel (even L_z only)."""
    n = np.uint64(s.size)
    lz = s.shape[0]
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n
        for colour in range(2):
            for z in prange(lz):
                _plane_3d(s, z, colour, table, key, base)
    return counter + np.uint64(n_sweeps) * n


@njit(cache=True)
def sweeps_bonds(s, n_sweeps, bonds, h, beta, heat_bath, key, counter):
    """Checkerboard sweeps with per-bond couplings (any sign), serial.

    *s* has shape ``(lz, ly, lx)`` (2D lattices use ``lz = 1`` and zero
    z-bonds); ``bonds[a, z, y, x]`` couples the site to its +1 neighbour along
    axis ``a`` (0: z, 1: y, 2: x). Metropolis accepts a flip with probability
    ``min(1, exp(-beta dE))``; heat bath sets the spin up with probability
    ``1 / (1 + exp(-2 beta h_local))``.
    """
    lz, ly, lx = s.shape
    n = np.uint64(s.size)
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n
        for colour in range(2):
            for z in range(lz):
                zu = z - 1 if z > 0 else lz - 1
                zd = z + 1 if z < lz - 1 else 0
                for y in range(ly):
                    yu = y - 1 if y > 0 else ly - 1
                    yd = y + 1 if y < ly - 1 else 0
                    x0 = (z + y + colour) & 1
                    rowkey = key + (base + np.uint64((z * ly + y) * lx)) * GOLDEN
                    for x in range(x0, lx, 2):
                        xl = x - 1 if x > 0 else lx - 1
                        xr = x + 1 if x < lx - 1 else 0
                        field = (
                            h
                            + bonds[0, z, y, x] * s[zd, y, x]
                            + bonds[0, zu, y, x] * s[zu, y, x]
                            + bonds[1, z, y, x] * s[z, yd, x]
                            + bonds[1, z, yu, x] * s[z, yu, x]
                            + bonds[2, z, y, x] * s[z, y, xr]
                            + bonds[2, z, y, xl] * s[z, y, xl]
                        )
                        u = uniform(mix64(rowkey + np.uint64(x) * GOLDEN))
                        si = s[z, y, x]
                        if heat_bath:
                            p_up = 1.0 / (1.0 + np.exp(-2.0 * beta * field))
                            s[z, y, x] = 1 if u < p_up else -1
                        else:
                            d_e = 2.0 * si * field
                            if d_e <= 0.0 or u < np.exp(-beta * d_e):
                                s[z, y, x] = -si
    return counter + np.uint64(n_sweeps) * n
