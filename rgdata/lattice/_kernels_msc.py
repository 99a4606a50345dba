"""Multi-spin coding: 64 replicas of a 2D Ising lattice in one uint64 per site.

Bit ``r`` of ``w[y, x]`` is the spin of replica ``r`` at site ``(y, x)``
(1 = up, 0 = down). A checkerboard Metropolis update of one site updates all
64 replicas at once with bitwise logic:

1. the number ``k`` of neighbours that disagree with the site (0..4) is
   counted per bit lane with a bit-sliced adder, giving one-hot class masks
   for every (k, spin) pair;
2. classes whose flip probability is 1 flip, classes whose probability is 0
   stay; for the others each lane compares its OWN uniform random number
   with the class probability bit by bit, most significant bit first: lane
   ``r`` of the i-th random word is bit i of replica r's uniform. The lane is
   accepted at the first bit where the uniform has 0 and the probability 1,
   rejected where it has 1 and the probability 0; lanes still undecided after
   32 bits are rejected (bias <= 2**-32). Only undecided lanes need further
   words, so about log2(#uncertain lanes) + 2 words are drawn per site.

Every replica therefore draws its own randomness: sharing one random number
per site across replicas would lock replicas together (a known trap).

Random words come from counter blocks fixed by (sweep, colour, row), as in
``_kernels_local``: results do not depend on the number of threads. The
first ``_FIXED_WORDS`` comparison steps run unconditionally (a loop with a
fixed trip count is predicted well; stopping early costs more in branch
misses than the few extra random words), then the loop stops as soon as no
lane is undecided.

Two variants: ``msc_sweeps_ferro`` for ``J > 0, h = 0`` (only the classes
k = 0 and k = 1 are random) and ``msc_sweeps_general`` for any J and h
(10 classes, ``class_probability_bits``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._kernels_rng import GOLDEN, mix64

_ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
_ZERO = np.uint64(0)
_ONE = np.uint64(1)
#: Counters reserved per (row, colour): ``lx * _WORDS_PER_SITE`` (32 bits + 1 per site).
_WORDS_PER_SITE = 33


def class_probability_bits(beta: float, J: float, h: float) -> tuple[np.ndarray, np.ndarray]:
    """Flip probabilities of the 10 (k, spin) classes as bit planes.

    Class ``c = 2 * k + up`` (``k`` disagreeing neighbours, ``up`` = 1 for a
    +1 spin). Returns ``(kind, bits)``: ``kind[c]`` is 0 (never flips),
    1 (always flips) or 2 (random); ``bits[c, i]`` is all ones when bit
    ``i`` (i = 0 most significant) of ``round(p * 2**32)`` is set.
    """
    kind = np.empty(10, dtype=np.int64)
    bits = np.zeros((10, 32), dtype=np.uint64)
    for k in range(5):
        for up in range(2):
            s = 1 if up else -1
            d_e = 2.0 * s * (J * (4 - 2 * k) * s + h)  # s * sum = (4 - 2k)
            p = 1.0 if d_e <= 0 else float(np.exp(-beta * d_e))
            q = min(round(p * 2**32), 2**32)
            c = 2 * k + up
            if q >= 2**32:
                kind[c] = 1
            elif q == 0:
                kind[c] = 0
            else:
                kind[c] = 2
                for i in range(32):
                    if (q >> (31 - i)) & 1:
                        bits[c, i] = np.uint64(0xFFFFFFFFFFFFFFFF)
    return kind, bits


_FIXED_WORDS = 8


@njit(inline="always")
def _disagreement_counts(w, y, x, yu, yd, xl, xr):
    """Bit-sliced count (low, mid, high) of neighbours disagreeing with each lane."""
    s = w[y, x]
    a = s ^ w[yu, x]
    b = s ^ w[yd, x]
    cc = s ^ w[y, xl]
    d = s ^ w[y, xr]
    s1 = a ^ b
    c1 = a & b
    s2 = cc ^ d
    c2 = cc & d
    low = s1 ^ s2
    carry = s1 & s2
    mid = c1 ^ c2 ^ carry
    high = (c1 & c2) | (carry & (c1 ^ c2))
    return s, low, mid, high


@njit(inline="always")
def _site_ferro(w, y, x, yu, yd, xl, xr, b0, b1, z):
    """J > 0, h = 0: k >= 2 always flips, k = 0 and k = 1 flip with p0 and p1."""
    s, low, mid, high = _disagreement_counts(w, y, x, yu, yd, xl, xr)
    hi2 = mid | high
    k0 = ~(low | hi2)
    k1 = low & ~hi2
    undecided = k0 | k1
    accept = hi2
    for i in range(_FIXED_WORDS):
        z += GOLDEN
        r = mix64(z)
        t = (k0 & b0[i]) | (k1 & b1[i])
        accept |= undecided & t & ~r
        undecided &= ~(r ^ t)
    i = _FIXED_WORDS
    while undecided != _ZERO and i < 32:
        z += GOLDEN
        r = mix64(z)
        t = (k0 & b0[i]) | (k1 & b1[i])
        accept |= undecided & t & ~r
        undecided &= ~(r ^ t)
        i += 1
    w[y, x] = s ^ accept
    return z


@njit(inline="always")
def _class_mask(k_masks, s, cl):
    m = k_masks[cl >> 1]
    return m & s if cl & 1 else m & ~s


@njit(inline="always")
def _site_general(w, y, x, yu, yd, xl, xr, kind, bits, uncertain, um, z):
    """Any J, h: 10 (k, spin) classes; *um* is scratch for the uncertain class masks."""
    s, low, mid, high = _disagreement_counts(w, y, x, yu, yd, xl, xr)
    k_masks = (
        ~low & ~mid & ~high,  # k = 0
        low & ~mid & ~high,  # k = 1
        ~low & mid,  # k = 2 (high is then 0)
        low & mid,  # k = 3
        high,  # k = 4
    )
    accept = _ZERO
    for cl in range(10):
        if kind[cl] == 1:
            accept |= _class_mask(k_masks, s, cl)
    undecided = _ZERO
    n_u = uncertain.size
    for j in range(n_u):
        um[j] = _class_mask(k_masks, s, uncertain[j])
        undecided |= um[j]
    i = 0
    while undecided != _ZERO and i < 32:
        z += GOLDEN
        r = mix64(z)
        t = _ZERO
        for j in range(n_u):
            t |= um[j] & bits[uncertain[j], i]
        accept |= undecided & t & ~r
        undecided &= ~(r ^ t)
        i += 1
    w[y, x] = s ^ accept
    return z


@njit(inline="always")
def _row_ferro(w, y, colour, b0, b1, z):
    ly, lx = w.shape
    yu = y - 1 if y > 0 else ly - 1
    yd = y + 1 if y < ly - 1 else 0
    for x in range((y + colour) & 1, lx, 2):
        xl = x - 1 if x > 0 else lx - 1
        xr = x + 1 if x < lx - 1 else 0
        z = _site_ferro(w, y, x, yu, yd, xl, xr, b0, b1, z)


@njit(inline="always")
def _row_general(w, y, colour, kind, bits, uncertain, z):
    ly, lx = w.shape
    yu = y - 1 if y > 0 else ly - 1
    yd = y + 1 if y < ly - 1 else 0
    um = np.empty(10, dtype=np.uint64)
    for x in range((y + colour) & 1, lx, 2):
        xl = x - 1 if x > 0 else lx - 1
        xr = x + 1 if x < lx - 1 else 0
        z = _site_general(w, y, x, yu, yd, xl, xr, kind, bits, uncertain, um, z)


@njit(inline="always")
def _row_start(key, counter, t, colour, y, ly, lx):
    """First stream position of row *y*, colour *colour*, sweep *t* (blocks of 33 lx words)."""
    per_row = np.uint64(lx * _WORDS_PER_SITE)
    block = counter + (np.uint64(t) * np.uint64(2 * ly) + np.uint64(colour * ly + y)) * per_row
    return key + block * GOLDEN


@njit(inline="always")
def _advance(counter, n_sweeps, ly, lx):
    return counter + np.uint64(n_sweeps) * np.uint64(2 * ly) * np.uint64(lx * _WORDS_PER_SITE)


@njit(cache=True, nogil=True)
def msc_sweeps_ferro(w, n_sweeps, b0, b1, key, counter):
    """*n_sweeps* checkerboard Metropolis sweeps of 64 replicas (J > 0, h = 0)."""
    ly, lx = w.shape
    for t in range(n_sweeps):
        for colour in range(2):
            for y in range(ly):
                _row_ferro(w, y, colour, b0, b1, _row_start(key, counter, t, colour, y, ly, lx))
    return _advance(counter, n_sweeps, ly, lx)


@njit(cache=True, nogil=True, parallel=True)
def msc_sweeps_ferro_parallel(w, n_sweeps, b0, b1, key, counter):
    """As :func:`msc_sweeps_ferro`, rows of one colour in parallel (even L_y only)."""
    ly, lx = w.shape
    for t in range(n_sweeps):
        for colour in range(2):
            for y in prange(ly):
                _row_ferro(w, y, colour, b0, b1, _row_start(key, counter, t, colour, y, ly, lx))
    return _advance(counter, n_sweeps, ly, lx)


@njit(cache=True, nogil=True)
def msc_sweeps_general(w, n_sweeps, kind, bits, key, counter):
    """*n_sweeps* checkerboard Metropolis sweeps of 64 replicas, any J and h."""
    ly, lx = w.shape
    uncertain = np.flatnonzero(kind == 2)
    for t in range(n_sweeps):
        for colour in range(2):
            for y in range(ly):
                z = _row_start(key, counter, t, colour, y, ly, lx)
                _row_general(w, y, colour, kind, bits, uncertain, z)
    return _advance(counter, n_sweeps, ly, lx)


@njit(cache=True, nogil=True, parallel=True)
def msc_sweeps_general_parallel(w, n_sweeps, kind, bits, key, counter):
    """As :func:`msc_sweeps_general`, rows of one colour in parallel (even L_y only)."""
    ly, lx = w.shape
    uncertain = np.flatnonzero(kind == 2)
    for t in range(n_sweeps):
        for colour in range(2):
            for y in prange(ly):
                z = _row_start(key, counter, t, colour, y, ly, lx)
                _row_general(w, y, colour, kind, bits, uncertain, z)
    return _advance(counter, n_sweeps, ly, lx)


@njit(cache=True, nogil=True)
def msc_unpack(w, n_replicas, out):
    """Write replica spins (+-1, int8) of packed *w* into ``out[r, y, x]``."""
    ly, lx = w.shape
    for y in range(ly):
        for x in range(lx):
            v = w[y, x]
            for r in range(n_replicas):
                out[r, y, x] = 1 if (v >> np.uint64(r)) & _ONE else -1


@njit(cache=True, nogil=True)
def msc_energy_magnetisation(w, n_replicas, J, h):
    """Energy and magnetisation per site of each replica of packed *w*."""
    ly, lx = w.shape
    n = ly * lx
    e = np.zeros(n_replicas)
    m = np.zeros(n_replicas)
    for y in range(ly):
        yd = y + 1 if y < ly - 1 else 0
        for x in range(lx):
            xr = x + 1 if x < lx - 1 else 0
            v = w[y, x]
            dy = v ^ w[yd, x]
            dx = v ^ w[y, xr]
            for r in range(n_replicas):
                sh = np.uint64(r)
                up = np.int64((v >> sh) & _ONE)
                # aligned bond: -J, anti-aligned: +J
                e[r] += J * (np.int64((dy >> sh) & _ONE) * 2 - 1)
                e[r] += J * (np.int64((dx >> sh) & _ONE) * 2 - 1)
                m[r] += 2 * up - 1
    return (e - h * m) / n, m / n
