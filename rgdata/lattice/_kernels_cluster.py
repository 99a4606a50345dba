"""Cluster kernels (Wolff, Swendsen-Wang).

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


@njit(inline="always")
def _field_accept(s, stack, top, s0, h, beta, key, counter):
    """Accept the flipped cluster ``stack[:top]`` (all spins were *s0*) in a field *h*.

    The cluster was built from the couplings alone; the field energy change
    ``2 h s0 |C|`` is accepted with probability ``min(1, exp(-beta dE))``
    (Metropolis correction), otherwise the cluster is flipped back.
    """
    d_e = 2.0 * h * s0 * top
    if d_e > 0.0:
        counter += np.uint64(1)
        if uniform(mix64(key + counter * GOLDEN)) >= np.exp(-beta * d_e):
            for k in range(top):
                s[stack[k]] = s0
    return counter


@njit(inline="always")
def _field_accept_general(s, stack, top, h, beta, key, counter):
    """As :func:`_field_accept` for clusters of mixed spins (couplings of either sign)."""
    m_before = 0
    for k in range(top):
        m_before -= s[stack[k]]  # spins before the flip
    d_e = 2.0 * h * m_before
    if d_e > 0.0:
        counter += np.uint64(1)
        if uniform(mix64(key + counter * GOLDEN)) >= np.exp(-beta * d_e):
            for k in range(top):
                s[stack[k]] = -s[stack[k]]
    return counter


_M32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)
#: Inverse of GOLDEN modulo 2**64: the counter of the stream position ``key + counter * GOLDEN``.
GOLDEN_INV = np.uint64(pow(int(GOLDEN), -1, 2**64))


def packing_bits(lz: int, ly: int, lx: int) -> tuple[int, int, int]:
    """Bits of the x, y and z fields of a packed site ``(z << (bx + by)) | (y << bx) | x``."""
    return tuple(max(1, int(n - 1).bit_length()) if n > 1 else 0 for n in (lx, ly, lz))


@njit(inline="always")
def _grow(s, j, pj, s0, ns0, bond, stack, top):
    """Add neighbour *j* (packed *pj*) to the cluster if it has spin *s0* and its bond is open.

    Branch-free: the neighbour is always written to ``stack[top]`` and *top*
    advances only if it joined (the flip doubles as its visit mark).
    """
    v = s[j]
    join = (v == s0) & bond
    s[j] = ns0 if join else v
    stack[top] = pj
    return top + np.int64(join)


@njit(cache=True, nogil=True)
def wolff_ferro(s, lz, ly, lx, p_add, n_clusters, min_flipped, key, counter, stack, bx, by):
    """Wolff updates for a uniform ferromagnetic coupling in zero field (fast path).

    Same contract as :func:`wolff_clusters` with ``h = 0``; *p_add* =
    ``1 - exp(-2 beta J)``, *bx*, *by* from :func:`packing_bits`. Each site
    taken from the stack draws its bond decisions up front, whatever its
    neighbours' spins: two random words in 2D, three in 3D (one bond per
    32-bit half, open when the half is below ``round(p_add * 2**32)``). The
    stream therefore never waits for a spin to be read, the neighbour tests
    are branch-free, and the stack holds packed coordinates (shifts and masks
    instead of integer divisions; the flat index itself when both sides are
    powers of two). A site belongs to the cluster once flipped.
    """
    n = s.size
    three_d = lz > 1
    thr = np.uint64(min(round(p_add * 4294967296.0), 4294967296))
    mx = (1 << bx) - 1
    my = (1 << by) - 1
    sz = bx + by
    oy = 1 << bx
    oz = 1 << sz
    plane = ly * lx
    pow2 = lx == oy and ly == (1 << by)  # packed coordinates == flat index
    g2 = GOLDEN + GOLDEN
    step = g2 + GOLDEN if three_d else g2
    z = key + counter * GOLDEN  # stream position of the last word drawn
    done = 0
    flipped = 0
    while done < n_clusters or flipped < min_flipped:
        z += GOLDEN
        seed_site = below(mix64(z), n)
        s0 = s[seed_site]
        ns0 = -s0
        s[seed_site] = ns0
        row = seed_site // lx
        plane_z = row // ly
        stack[0] = (plane_z << sz) | ((row - plane_z * ly) << bx) | (seed_site - row * lx)
        top = 1
        size = 0
        while top > 0:
            top -= 1
            v = np.int64(stack[top])
            size += 1
            w0 = mix64(z + GOLDEN)
            w1 = mix64(z + g2)
            z += step
            x = v & mx
            y = (v >> bx) & my
            zz = v >> sz
            i = v if pow2 else (zz * ly + y) * lx + x
            if x < lx - 1:
                xp, pxp = i + 1, v + 1
            else:
                xp, pxp = i - (lx - 1), v - (lx - 1)
            if x > 0:
                xm, pxm = i - 1, v - 1
            else:
                xm, pxm = i + (lx - 1), v + (lx - 1)
            if y < ly - 1:
                yp, pyp = i + lx, v + oy
            else:
                yp, pyp = i - (ly - 1) * lx, v - (ly - 1) * oy
            if y > 0:
                ym, pym = i - lx, v - oy
            else:
                ym, pym = i + (ly - 1) * lx, v + (ly - 1) * oy
            top = _grow(s, xp, pxp, s0, ns0, (w0 & _M32) < thr, stack, top)
            top = _grow(s, xm, pxm, s0, ns0, (w0 >> _S32) < thr, stack, top)
            top = _grow(s, yp, pyp, s0, ns0, (w1 & _M32) < thr, stack, top)
            top = _grow(s, ym, pym, s0, ns0, (w1 >> _S32) < thr, stack, top)
            if three_d:
                w2 = mix64(z)  # the site's third word
                if zz < lz - 1:
                    zp, pzp = i + plane, v + oz
                else:
                    zp, pzp = i - (lz - 1) * plane, v - (lz - 1) * oz
                if zz > 0:
                    zm, pzm = i - plane, v - oz
                else:
                    zm, pzm = i + (lz - 1) * plane, v + (lz - 1) * oz
                top = _grow(s, zp, pzp, s0, ns0, (w2 & _M32) < thr, stack, top)
                top = _grow(s, zm, pzm, s0, ns0, (w2 >> _S32) < thr, stack, top)
        flipped += size
        done += 1
    return (z - key) * GOLDEN_INV, done, flipped


@njit(cache=True, nogil=True)
def wolff_ferro_field(s, lz, ly, lx, p_add, h, beta, n_clusters, min_flipped, key, counter, stack):
    """Wolff updates for a uniform ferromagnetic coupling in a field ``h != 0``.

    Same contract as :func:`wolff_clusters`; *p_add* = ``1 - exp(-2 beta J)``.
    Breadth-first, so that ``stack[:top]`` still lists the cluster when the
    field rejects its flip (:func:`_field_accept`). A site belongs to the
    cluster once flipped, so no visit marks are needed.
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
        head = 0
        while head < top:
            i = stack[head]
            head += 1
            nbs = _neighbours(i, lz, ly, lx)
            for k in range(6 if three_d else 4):
                j = nbs[4 - 2 * (k >> 1) + (k & 1)]  # order x+, x-, y+, y-, z+, z-
                if s[j] == s0:
                    counter += one
                    if uniform(mix64(key + counter * GOLDEN)) < p_add:
                        s[j] = -s0
                        stack[top] = j
                        top += 1
        counter = _field_accept(s, stack, top, s0, h, beta, key, counter)
        flipped += top
        done += 1
    return counter, done, flipped


@njit(cache=True, nogil=True)
def wolff_clusters(
    s, lz, ly, lx, bonds, h, beta, n_clusters, min_flipped, key, counter, stamp, stack
):
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
        s0 = s[seed_site]
        s[seed_site] = -s0
        stack[0] = seed_site
        top = 1
        head = 0
        while head < top:
            i = stack[head]
            head += 1
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
        if h != 0.0:
            counter = _field_accept_general(s, stack, top, h, beta, key, counter)
        flipped += top
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


@njit(inline="always")
def _sw_bond(s, parent, i, j, jb, p, beta, key, counter):
    """Activate the bond i-j (if satisfied) with probability p and merge the clusters."""
    if jb * s[i] * s[j] > 0.0:
        if p < 0.0:
            p = -np.expm1(-2.0 * beta * abs(jb))
        counter += np.uint64(1)
        if uniform(mix64(key + counter * GOLDEN)) < p:
            ri = _find(parent, i)
            rj = _find(parent, j)
            if ri < rj:
                parent[rj] = ri
            elif rj < ri:
                parent[ri] = rj
    return counter


@njit(cache=True, nogil=True)
def swendsen_wang_sweeps(s, lz, ly, lx, bonds, h, beta, n_sweeps, key, counter, parent, flip):
    """Swendsen-Wang updates: build all clusters, flip each with probability 1/2.

    A field ``h != 0`` is handled with a ghost spin fixed at ``sign(h)``:
    each site aligned with it is bonded to the ghost with probability
    ``1 - exp(-2 beta |h|)``, and the cluster holding the ghost is never
    flipped. *parent* (int32) and *flip* (int8), size ``n + 1`` (the last
    node is the ghost), are workspaces. Returns ``(counter, n_clusters_total)``.
    """
    n = s.size
    three_d = lz > 1
    p_uniform = np.empty(3)
    for a in range(3):
        # -1: compute per bond (random couplings)
        p_uniform[a] = -np.expm1(-2.0 * beta * abs(bonds[a, 0])) if bonds.shape[1] == 1 else -1.0
    ghost = n
    g = 1 if h > 0 else -1
    p_ghost = -np.expm1(-2.0 * beta * abs(h))
    n_clusters = 0
    for _ in range(n_sweeps):
        for i in range(n + 1):
            parent[i] = i
        for z in range(lz):
            zp = z + 1 if z < lz - 1 else 0
            for y in range(ly):
                yp = y + 1 if y < ly - 1 else 0
                row = (z * ly + y) * lx
                row_y = (z * ly + yp) * lx
                row_z = (zp * ly + y) * lx
                for x in range(lx):
                    i = row + x
                    xp = x + 1 if x < lx - 1 else 0
                    counter = _sw_bond(
                        s, parent, i, row + xp, _bond(bonds, 2, i), p_uniform[2], beta, key,
                        counter,
                    )  # fmt: skip
                    counter = _sw_bond(
                        s, parent, i, row_y + x, _bond(bonds, 1, i), p_uniform[1], beta, key,
                        counter,
                    )  # fmt: skip
                    if three_d:
                        counter = _sw_bond(
                            s, parent, i, row_z + x, _bond(bonds, 0, i), p_uniform[0], beta,
                            key, counter,
                        )  # fmt: skip
                    if h != 0.0 and s[i] == g:
                        counter += np.uint64(1)
                        if uniform(mix64(key + counter * GOLDEN)) < p_ghost:
                            ri = _find(parent, i)
                            rg = _find(parent, ghost)
                            if ri < rg:
                                parent[rg] = ri
                            elif rg < ri:
                                parent[ri] = rg
        ghost_root = _find(parent, ghost) if h != 0.0 else -1
        for i in range(n):
            r = _find(parent, i)
            if r == i:
                n_clusters += 1
                if i == ghost_root:
                    flip[i] = 1  # the ghost's cluster keeps its orientation
                else:
                    counter += np.uint64(1)
                    flip[i] = -1 if (mix64(key + counter * GOLDEN) >> np.uint64(63)) else 1
            s[i] = s[i] * flip[r]
    return counter, n_clusters
