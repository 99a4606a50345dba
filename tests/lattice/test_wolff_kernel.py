"""The zero-field Wolff kernel: its stream against a plain reference, its physics against
enumeration and against the field kernel's update rule (the previous zero-field algorithm)."""

import hashlib
import math

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from rgdata.lattice._autocorr import integrated_autocorrelation_time
from rgdata.lattice._kernels_cluster import packing_bits, wolff_ferro, wolff_ferro_field
from rgdata.lattice.sampling import sample_ising

from .test_sampling import TC2D, enumerate_states

MASK = 2**64 - 1
GOLDEN = 0x9E3779B97F4A7C15
KEY = np.uint64(0x5EED)


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def reference_wolff(s, shape, p_add, n_clusters, key, counter):
    """Plain-Python statement of the rule: flat indices, Python integers, no packing.

    Per cluster one word picks the seed; each site taken from the stack (last in,
    first out) draws 2 (2D) or 3 (3D) words, one bond per 32-bit half, for its
    neighbours in the order x+, x-, y+, y-, z+, z-.
    """
    lz, ly, lx = shape
    n = lz * ly * lx
    thr = min(round(p_add * 2**32), 2**32)
    words = 3 if lz > 1 else 2
    flipped = 0
    for _ in range(n_clusters):
        counter += 1
        seed = ((mix64((key + counter * GOLDEN) & MASK) >> 32) * n) >> 32
        s0 = s[seed]
        s[seed] = -s0
        stack = [seed]
        while stack:
            i = stack.pop()
            flipped += 1
            halves = []
            for _ in range(words):
                counter += 1
                w = mix64((key + counter * GOLDEN) & MASK)
                halves += [w & 0xFFFFFFFF, w >> 32]
            z, rest = divmod(i, ly * lx)
            y, x = divmod(rest, lx)
            nbs = [
                (z * ly + y) * lx + (x + 1) % lx,
                (z * ly + y) * lx + (x - 1) % lx,
                (z * ly + (y + 1) % ly) * lx + x,
                (z * ly + (y - 1) % ly) * lx + x,
            ]
            if lz > 1:
                nbs += [(((z + 1) % lz) * ly + y) * lx + x, (((z - 1) % lz) * ly + y) * lx + x]
            for j, half in zip(nbs, halves, strict=False):
                if s[j] == s0 and half < thr:
                    s[j] = -s0
                    stack.append(j)
    return counter, n_clusters, flipped


def run_kernel(s, shape, p_add, n_clusters, key, counter):
    bx, by, bz = packing_bits(*shape)
    stack = np.empty(s.size, np.int32 if bx + by + bz <= 31 else np.int64)
    key, counter = np.uint64(key), np.uint64(counter)
    return wolff_ferro(s, *shape, p_add, n_clusters, 0, key, counter, stack, bx, by)


@pytest.mark.parametrize(
    "shape, T",
    [((1, 5, 6), 2.3), ((1, 8, 4), TC2D), ((1, 2, 2), 2.0), ((3, 4, 5), 4.5), ((2, 2, 2), 4.0)],
)
def test_kernel_matches_plain_reference(shape, T):
    rng = np.random.default_rng(1)
    s = np.where(rng.random(int(np.prod(shape))) < 0.5, -1, 1).astype(np.int8)
    ref = [int(v) for v in s]
    p_add = -math.expm1(-2.0 / T)
    key, counter = 0xDEADBEEF12345, 7
    out = run_kernel(s, shape, p_add, 40, key, counter)
    expected = reference_wolff(ref, shape, p_add, 40, key, counter)
    assert tuple(int(v) for v in out) == expected
    assert s.tolist() == ref


def test_field_kernel_stream_unchanged():
    # h != 0 keeps the breadth-first kernel and its stream (configurations of the previous version)
    kw = dict(algorithm="wolff", h=0.05, random_state=11, burn_in=20, spacing=1)
    with pytest.warns(UserWarning, match="returned samples are correlated"):
        cfg = sample_ising(12, 2.5, 50, **kw)
    assert hashlib.sha256(cfg.values.tobytes()).hexdigest()[:16] == "b3eee6241825356c"


def exact_e_m2(shape, T):
    states = enumerate_states(shape).astype(float)
    axes = tuple(range(1, len(shape) + 1))
    n = int(np.prod(shape))
    energy = sum(-(states * np.roll(states, -1, axis=a)).sum(axis=axes) for a in axes)
    w = np.exp(-(energy - energy.min()) / T)
    w /= w.sum()
    return float(w @ energy) / n, float(w @ (states.sum(axis=axes) / n) ** 2)


def mean_and_se(x):
    tau, _, _ = integrated_autocorrelation_time(x)
    return x.mean(), x.std() * math.sqrt(2 * tau / x.size)


@pytest.mark.parametrize(
    "shape, T", [((1, 4, 4), 2.0), ((1, 4, 4), TC2D), ((1, 4, 4), 3.0), ((2, 2, 2), 4.5)]
)
def test_energy_and_mean_cluster_size_match_enumeration(shape, T):
    # <|C|> = N <m^2> for single-cluster updates at h = 0 (the improved susceptibility estimator)
    n = int(np.prod(shape))
    e_exact, m2_exact = exact_e_m2(tuple(d for d in shape if d > 1) if shape[0] == 1 else shape, T)
    rng = np.random.default_rng(2)
    s = np.where(rng.random(n) < 0.5, -1, 1).astype(np.int8)
    p_add = -math.expm1(-2.0 / T)
    bx, by, _ = packing_bits(*shape)
    stack = np.empty(n, np.int32)
    counter = np.uint64(0)
    n_steps = 20000
    sizes = np.empty(n_steps)
    energy = np.empty(n_steps)
    grid = s.reshape(shape)
    for k in range(n_steps):
        counter, _, sizes[k] = wolff_ferro(s, *shape, p_add, 1, 0, KEY, counter, stack, bx, by)
        counter = np.uint64(counter)
        energy[k] = -sum((grid * np.roll(grid, -1, axis=a)).sum() for a in range(3) if shape[a] > 1)
    size, se_size = mean_and_se(sizes[1000:])
    e, se_e = mean_and_se(energy[1000:] / n)
    assert abs(size - n * m2_exact) < 4 * se_size
    assert abs(e - e_exact) < 4 * se_e


def test_cluster_size_distribution_matches_field_kernel_rule():
    # the previous zero-field algorithm (one draw per same-spin neighbour, now the h != 0
    # kernel run at h = 0) against the new one: same distribution of cluster sizes
    L, T, n_draws, thin = 8, TC2D, 6000, 4
    p_add = -math.expm1(-2.0 / T)
    sizes = []
    for new in (True, False):
        s = np.ones(L * L, np.int8)
        stack = np.empty(L * L, np.int32)
        counter = np.uint64(0)
        out = np.empty(n_draws)
        for k in range(n_draws):
            for _ in range(thin):
                if new:
                    counter, _, size = wolff_ferro(
                        s, 1, L, L, p_add, 1, 0, KEY, counter, stack, 3, 3
                    )
                else:
                    counter, _, size = wolff_ferro_field(
                        s, 1, L, L, p_add, 0.0, 1 / T, 1, 0, KEY, counter, stack
                    )
                counter = np.uint64(counter)
            out[k] = size
        sizes.append(out)
    edges = np.array([1, 2, 4, 8, 16, 32, 48, 60, 65])
    table = np.array([np.histogram(x, edges)[0] for x in sizes])
    assert chi2_contingency(table).pvalue > 1e-3
