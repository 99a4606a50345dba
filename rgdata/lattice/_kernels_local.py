"""Single-spin-flip kernels: checkerboard Metropolis and heat bath.

Spins are int8 arrays updated in place. Each kernel takes a flip-probability
table (uniform couplings) or bond arrays (random couplings), the RNG *key*
and a *counter* offset. The random words of a row (2D) or a row of a plane
(3D) are drawn from a block of counters fixed by (sweep, colour, row), so
results do not depend on the visiting order of rows or on the number of
threads (see ``_kernels_rng``). The table kernels use one 64-bit word for
two sites (32 bits each) and a branch-free flip.

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

_LOW32 = np.uint64(0xFFFFFFFF)


@njit(inline="always")
def _site_2d(row, up, dn, x, xl, xr, r32, table):
    """Branch-free flip test of one 2D site with the 32-bit random number *r32*."""
    si = np.int64(row[x])
    nb = np.int64(up[x]) + np.int64(dn[x]) + np.int64(row[xl]) + np.int64(row[xr])
    flip = np.int64(r32 < table[((si + 1) >> 1) * 5 + ((nb + 4) >> 1)])
    row[x] = si * (1 - 2 * flip)


@njit(inline="always")
def _row_2d(s, y, colour, table, key, block):
    """Update the sites of one colour in row *y*; counters ``block .. block + lx``.

    One 64-bit word serves two sites (``x`` and ``x + 2``: high and low 32
    bits). The interior loop needs no periodic wrap.
    """
    ly, lx = s.shape
    row = s[y]
    up = s[y - 1] if y > 0 else s[ly - 1]
    dn = s[y + 1] if y < ly - 1 else s[0]
    x = (y + colour) & 1
    rowkey = key + block * GOLDEN
    c = np.uint64(0)
    if x == 0 and lx >= 4:
        r = mix64(rowkey)
        c = np.uint64(1)
        _site_2d(row, up, dn, 0, lx - 1, 1, r >> _S32, table)
        _site_2d(row, up, dn, 2, 1, 3, r & _LOW32, table)
        x = 4
    while x + 2 < lx - 1:
        r = mix64(rowkey + c * GOLDEN)
        c += np.uint64(1)
        _site_2d(row, up, dn, x, x - 1, x + 1, r >> _S32, table)
        _site_2d(row, up, dn, x + 2, x + 1, x + 3, r & _LOW32, table)
        x += 4
    while x < lx:
        r = mix64(rowkey + c * GOLDEN)
        c += np.uint64(1)
        xl = x - 1 if x > 0 else lx - 1
        xr = x + 1 if x < lx - 1 else 0
        _site_2d(row, up, dn, x, xl, xr, r >> _S32, table)
        x += 2


@njit(cache=True, nogil=True)
def sweeps_table_2d(s, n_sweeps, table, key, counter):
    """*n_sweeps* checkerboard sweeps of a 2D lattice with a flip table; returns the counter.

    Sweep ``t`` uses counters ``counter + 2 N t + (colour * ly + y) * lx + j``.
    """
    ly, lx = s.shape
    n2 = np.uint64(2 * ly * lx)
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n2
        for colour in range(2):
            for y in range(ly):
                _row_2d(s, y, colour, table, key, base + np.uint64((colour * ly + y) * lx))
    return counter + np.uint64(n_sweeps) * n2


@njit(cache=True, nogil=True, parallel=True)
def sweeps_table_2d_parallel(s, n_sweeps, table, key, counter):
    """As :func:`sweeps_table_2d` with rows of one colour in parallel (even L_y only)."""
    ly, lx = s.shape
    n2 = np.uint64(2 * ly * lx)
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n2
        for colour in range(2):
            for y in prange(ly):
                _row_2d(s, y, colour, table, key, base + np.uint64((colour * ly + y) * lx))
    return counter + np.uint64(n_sweeps) * n2


@njit(inline="always")
def _site_3d(s, z, y, x, zu, zd, yu, yd, xl, xr, r32, table):
    si = np.int64(s[z, y, x])
    nb = (
        np.int64(s[zu, y, x])
        + np.int64(s[zd, y, x])
        + np.int64(s[z, yu, x])
        + np.int64(s[z, yd, x])
        + np.int64(s[z, y, xl])
        + np.int64(s[z, y, xr])
    )
    flip = np.int64(r32 < table[((si + 1) >> 1) * 7 + ((nb + 6) >> 1)])
    s[z, y, x] = si * (1 - 2 * flip)


@njit(inline="always")
def _plane_3d(s, z, colour, table, key, block):
    """Update the sites of one colour in plane *z*; counters ``block .. block + ly * lx``."""
    lz, ly, lx = s.shape
    zu = z - 1 if z > 0 else lz - 1
    zd = z + 1 if z < lz - 1 else 0
    for y in range(ly):
        yu = y - 1 if y > 0 else ly - 1
        yd = y + 1 if y < ly - 1 else 0
        x = (z + y + colour) & 1
        rowkey = key + (block + np.uint64(y * lx)) * GOLDEN
        c = np.uint64(0)
        if x == 0 and lx >= 4:
            r = mix64(rowkey)
            c = np.uint64(1)
            _site_3d(s, z, y, 0, zu, zd, yu, yd, lx - 1, 1, r >> _S32, table)
            _site_3d(s, z, y, 2, zu, zd, yu, yd, 1, 3, r & _LOW32, table)
            x = 4
        while x + 2 < lx - 1:
            r = mix64(rowkey + c * GOLDEN)
            c += np.uint64(1)
            _site_3d(s, z, y, x, zu, zd, yu, yd, x - 1, x + 1, r >> _S32, table)
            _site_3d(s, z, y, x + 2, zu, zd, yu, yd, x + 1, x + 3, r & _LOW32, table)
            x += 4
        while x < lx:
            r = mix64(rowkey + c * GOLDEN)
            c += np.uint64(1)
            xl = x - 1 if x > 0 else lx - 1
            xr = x + 1 if x < lx - 1 else 0
            _site_3d(s, z, y, x, zu, zd, yu, yd, xl, xr, r >> _S32, table)
            x += 2


@njit(cache=True, nogil=True)
def sweeps_table_3d(s, n_sweeps, table, key, counter):
    """*n_sweeps* checkerboard sweeps of a 3D lattice with a flip table; returns the counter."""
    lz, ly, lx = s.shape
    n2 = np.uint64(2 * s.size)
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n2
        for colour in range(2):
            for z in range(lz):
                _plane_3d(s, z, colour, table, key, base + np.uint64((colour * lz + z) * ly * lx))
    return counter + np.uint64(n_sweeps) * n2


@njit(cache=True, nogil=True, parallel=True)
def sweeps_table_3d_parallel(s, n_sweeps, table, key, counter):
    """As :func:`sweeps_table_3d` with planes of one colour in parallel (even L_z only)."""
    lz, ly, lx = s.shape
    n2 = np.uint64(2 * s.size)
    for t in range(n_sweeps):
        base = counter + np.uint64(t) * n2
        for colour in range(2):
            for z in prange(lz):
                _plane_3d(s, z, colour, table, key, base + np.uint64((colour * lz + z) * ly * lx))
    return counter + np.uint64(n_sweeps) * n2


@njit(cache=True, nogil=True)
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
