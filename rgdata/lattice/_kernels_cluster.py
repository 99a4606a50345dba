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
def _neighbour(i, a, forward, lz, ly, lx):
    """Flat index of the +1 (*forward*) or -1 neighbour of site *i* along axis *a*."""
    plane = ly * lx
    if a == 2:
        x = i % lx
        if forward:
            return i + 1 if x < lx - 1 else i - (lx - 1)
        return i - 1 if x > 0 else i + (lx - 1)
    if a == 1:
        y = (i // lx) % ly
        if forward:
            return i + lx if y < ly - 1 else i - (ly - 1) * lx
        return i - lx if y > 0 else i + (ly - 1) * lx
    z = i // plane
    if forward:
        return i + plane if z < lz - 1 else i - (lz - 1) * plane
    return i - plane if z > 0 else i + (lz - 1) * plane


@njit(inline="always")
def _bond(bonds, a, i):
    return bonds[a, i] if bonds.shape[1] > 1 else bonds[a, 0]


@njit(cache=True, nogil=True)
def wolff_clusters(s, lz, ly, lx, bonds, beta, n_clusters, min_flipped, key, counter, stamp, stack):
    """Wolff single-cluster updates.

    Flips clusters until at least *n_clusters* have been flipped and their
    sizes add up to at least *min_flipped*. Use ``min_flipped = 0`` for
    sampling: a stopping rule that depends on the cluster sizes makes the
    number of moves depend on the state, which biases the distribution of the
    state it stops in (only use it to calibrate during burn-in). *stamp* and
    *stack* (int32, size n) are workspaces. Returns
    ``(counter, clusters_flipped, spins_flipped)``.
    """
    n = s.size
    a0 = 0 if lz > 1 else 1
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
        size = 1
        while top > 0:
            top -= 1
            i = stack[top]
            si = -s[i]  # spin before the flip
            for a in range(a0, 3):
                for forward in (True, False):
                    j = _neighbour(i, a, forward, lz, ly, lx)
                    if stamp[j] == cid:
                        continue
                    jb = _bond(bonds, a, i if forward else j)
                    if jb * si * s[j] <= 0.0:
                        continue
                    p = p_uniform[a] if uniform_bonds else -np.expm1(-2.0 * beta * abs(jb))
                    counter += np.uint64(1)
                    if uniform(mix64(key + counter * GOLDEN)) < p:
                        stamp[j] = cid
                        s[j] = -s[j]
                        stack[top] = j
                        top += 1
                        size += 1
        flipped += size
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
            for a in range(a0, 3):
                j = _neighbour(i, a, True, lz, ly, lx)
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
            for a in range(a0, 3):
                j = _neighbour(i, a, True, lz, ly, lx)
                e -= _bond(bonds, a, i) * si * s[j]
        energy[k] = e - h * m
        mag[k] = m
    return energy, mag
