"""Cluster kernels (Wolff, Swendsen-Wang) and energy/magnetisation sums.

Lattices are flat int8 arrays of ``lz * ly * lx`` spins (2D: ``lz = 1``, the
z axis is skipped). ``bonds`` has shape ``(3, m)`` with ``m = lz * ly * lx``
(per-bond couplings, any sign) or ``m = 1`` (uniform couplings per axis);
``bonds[a, i]`` couples site ``i`` to its +1 neighbour along axis ``a``
(0: z, 1: y, 2: x). Random words come from one sequential SplitMix64 stream
per call (``mix64(key + counter * GOLDEN)``, counter incremented per draw),
so a run is reproducible from its key and starting counter.

The cluster rules are the general ones for couplings of either sign: the bond
between ``i`` and ``j`` is activated with probability
``1 - exp(-2 beta |J_ij|)`` when it is satisfied (``J_ij s_i s_j > 0``), and
never otherwise. For ferromagnetic couplings this is the usual Wolff / SW.
Both require zero field.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels_rng import GOLDEN, below, mix64, uniform


@njit(inline="always")
def _bond(bonds, a, i):
    return bonds[a, i] if bonds.shape[1] > 1 else bonds[a, 0]


@njit(inline="always")
def _neighbours(i, lz, ly, lx):
    """Flat indices of the six neighbours of *i*: (z+, z-, y+, y-, x+, x-).

    One integer division in 2D (``lz = 1``, z neighbours are *i* itself and
    are skipped by the callers), two in 3D.
    """
    r = i // lx
    x = i - r * lx
    if lz == 1:
        y = r
        zp = i
        zm = i
    else:
        z = r // ly
        y = r - z * ly
        plane = ly * lx
        zp = i + plane if z < lz - 1 else i - (lz - 1) * plane
        zm = i - plane if z > 0 else i + (lz - 1) * plane
    xp = i + 1 if x < lx - 1 else i - (lx - 1)
    xm = i - 1 if x > 0 else i + (lx - 1)
    yp = i + lx if y < ly - 1 else i - (ly - 1) * lx
    ym = i - lx if y > 0 else i + (ly - 1) * lx
    return zp, zm, yp, ym, xp, xm


@njit(cache=True, nogil=True)
def wolff_ferro(s, lz, ly, lx, p_add, n_clusters, min_flipped, key, counter, stack):
    """Wolff updates for a uniform ferromagnetic coupling (fast path).

    Same contract as :func:`wolff_clusters`; *p_add* = ``1 - exp(-2 beta J)``.
    A site belongs to the cluster once flipped, so no visit marks are needed.
    """
    n = s.size
    three_d = lz > 1
    one = np.uint64(1)
    done = 0
    flipped = 0
    while done < n_clusters or flipped < min_flipped:
        counter += one
        seed_site = below(mix64(key + counter * GOLDEN), n)
        s0 = s[seed_site]
        s[seed_site] = -s0
        stack[0] = seed_site
        top = 1
        while top > 0:
            top -= 1
            flipped += 1
            zp, zm, yp, ym, xp, xm = _neighbours(stack[top], lz, ly, lx)
            if s[xp] == s0:
                counter += one
                if uniform(mix64(key + counter * GOLDEN)) < p_add:
                    s[xp] = -s0
                    stack[top] = xp
                    top += 1
            if s[xm] == s0:
                counter += one
                if uniform(mix64(key + counter * GOLDEN)) < p_add:
                    s[xm] = -s0
                    stack[top] = xm
                    top += 1
            if s[yp] == s0:
                counter += one
                if uniform(mix64(key + counter * GOLDEN)) < p_add:
                    s[yp] = -s0
                    stack[top] = yp
                    top += 1
            if s[ym] == s0:
                counter += one
                if uniform(mix64(key + counter * GOLDEN)) < p_add:
                    s[ym] = -s0
                    stack[top] = ym
                    top += 1
            if three_d:
                if s[zp] == s0:
                    counter += one
                    if uniform(mix64(key + counter * GOLDEN)) < p_add:
                        s[zp] = -s0
                        stack[top] = zp
                        top += 1
                if s[zm] == s0:
                    counter += one
                    if uniform(mix64(key + counter * GOLDEN)) < p_add:
                        s[zm] = -s0
                        stack[top] = zm
                        top += 1
        done += 1
    return counter, done, flipped


@njit(cache=True, nogil=True)
def wolff_clusters(s, lz, ly, lx, bonds, beta, n_clusters, min_flipped, key, counter, stamp, stack):
    """Wolff single-cluster updates for couplings of any sign (random bonds).

    Flips clusters until at least *n_clusters* have been flipped and their
    sizes add up to at least *min_flipped*. Use ``min_flipped = 0`` for
    sampling: a stopping rule that depends on the cluster sizes makes the
    number of moves depend on the state, which biases the distribution of the
    state it stops in (only use it to calibrate during burn-in). *stamp* and
    *stack* (int32, size n) are workspaces. Returns
    ``(counter, clusters_flipped, spins_flipped)``.
    """
    n = s.size
    k0 = 0 if lz > 1 else 2
    uniform_bonds = bonds.shape[1] == 1
    p_uniform = np.empty(3)
    for a in range(3):
        p_uniform[a] = -np.expm1(-2.0 * beta * abs(bonds[a, 0]))
    stamp[:] = -1
    cid = 0
    done = 0
    flipped = 0
    while done < n_clusters or flipped < min_flipped:
        counter += np.uint64(1)
        seed_site = below(mix64(key + counter * GOLDEN), n)
        stamp[seed_site] = cid
        s[seed_site] = -s[seed_site]
        stack[0] = seed_site
        top = 1
        while top > 0:
            top -= 1
            flipped += 1
            i = stack[top]
            si = -s[i]  # spin before the flip
            nbs = _neighbours(i, lz, ly, lx)
            for k in range(k0, 6):
                j = nbs[k]
                if stamp[j] == cid:
                    continue
                a = k >> 1
                # bonds[a, m] couples m to its +1 neighbour: for the -1 neighbour it sits at j
                jb = _bond(bonds, a, j if k & 1 else i)
                if jb * si * s[j] <= 0.0:
                    continue
                p = p_uniform[a] if uniform_bonds else -np.expm1(-2.0 * beta * abs(jb))
                counter += np.uint64(1)
                if uniform(mix64(key + counter * GOLDEN)) < p:
                    stamp[j] = cid
                    s[j] = -s[j]
                    stack[top] = j
                    top += 1
        done += 1
        cid += 1
        if cid == 2147483647:
            stamp[:] = -1
            cid = 0
    return counter, done, flipped


@njit(inline="always")
def _find(parent, i):
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True, nogil=True)
def swendsen_wang_sweeps(s, lz, ly, lx, bonds, beta, n_sweeps, key, counter, parent, flip):
    """Swendsen-Wang updates: build all clusters, flip each with probability 1/2.

    *parent* (int32, size n) and *flip* (int8, size n) are workspaces.
    Returns ``(counter, n_clusters_total)``.
    """
    n = s.size
    a0 = 0 if lz > 1 else 1
    uniform_bonds = bonds.shape[1] == 1
    p_uniform = np.empty(3)
    for a in range(3):
        p_uniform[a] = -np.expm1(-2.0 * beta * abs(bonds[a, 0]))
    n_clusters = 0
    for _ in range(n_sweeps):
        for i in range(n):
            parent[i] = i
        for i in range(n):
            si = s[i]
            nbs = _neighbours(i, lz, ly, lx)
            for a in range(a0, 3):
                j = nbs[2 * a]  # +1 neighbour along axis a
                jb = _bond(bonds, a, i)
                if jb * si * s[j] <= 0.0:
                    continue
                p = p_uniform[a] if uniform_bonds else -np.expm1(-2.0 * beta * abs(jb))
                counter += np.uint64(1)
                if uniform(mix64(key + counter * GOLDEN)) < p:
                    ri = _find(parent, i)
                    rj = _find(parent, j)
                    if ri != rj:
                        if ri < rj:
                            parent[rj] = ri
                        else:
                            parent[ri] = rj
        for i in range(n):
            r = _find(parent, i)
            if r == i:
                counter += np.uint64(1)
                flip[i] = -1 if (mix64(key + counter * GOLDEN) >> np.uint64(63)) else 1
                n_clusters += 1
            s[i] = s[i] * flip[r]
    return counter, n_clusters


@njit(cache=True, nogil=True)
def energy_magnetisation(samples, lz, ly, lx, bonds, h):
    """Total energy ``-sum J s_i s_j - h sum s_i`` and magnetisation of each flat sample.

    *samples* has shape ``(n_samples, lz * ly * lx)``. Returns two float64 arrays.
    """
    n_samples, n = samples.shape
    a0 = 0 if lz > 1 else 1
    energy = np.empty(n_samples)
    mag = np.empty(n_samples)
    for k in range(n_samples):
        s = samples[k]
        e = 0.0
        m = 0
        for i in range(n):
            si = s[i]
            m += si
            nbs = _neighbours(i, lz, ly, lx)
            for a in range(a0, 3):
                e -= _bond(bonds, a, i) * si * s[nbs[2 * a]]
        energy[k] = e - h * m
        mag[k] = m
    return energy, mag
