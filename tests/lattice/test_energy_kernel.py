"""Energy and magnetisation kernel: the uniform-coupling integer path against numpy rolls."""

import numpy as np
import pytest

from rgdata.lattice._kernels_energy import energy_magnetisation


def numpy_energy(samples, shape, couplings, h):
    """-sum_a J_a s s(+1 along a) - h sum s, per sample, with numpy rolls (couplings per axis)."""
    s = samples.reshape(-1, *shape).astype(float)
    axes = tuple(range(1, len(shape) + 1))
    e = -h * s.sum(axis=axes)
    for a, J in zip(axes, couplings, strict=True):
        e -= J * (s * np.roll(s, -1, axis=a)).sum(axis=axes)
    return e, s.sum(axis=axes)


@pytest.mark.parametrize("shape", [(2, 2), (3, 5), (16, 16), (2, 2, 2), (3, 4, 5)])
@pytest.mark.parametrize("J, h", [((1.0, 1.0, 1.0), 0.0), ((0.7, -0.3, 1.1), 0.25)])
def test_uniform_path_matches_numpy_and_bond_path(shape, J, h):
    rng = np.random.default_rng(3)
    n = int(np.prod(shape))
    samples = np.where(rng.random((7, n)) < 0.5, -1, 1).astype(np.int8)
    lz, ly, lx = (1, *shape) if len(shape) == 2 else shape
    couplings = J[3 - len(shape) :]
    uniform = np.array([[0.0 if len(shape) == 2 else J[0]], [J[1]], [J[2]]])
    e, m = energy_magnetisation(samples, lz, ly, lx, uniform, h)
    e_ref, m_ref = numpy_energy(samples, shape, couplings, h)
    np.testing.assert_allclose(e, e_ref, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(m, m_ref)
    per_bond = np.repeat(uniform, n, axis=1)  # the general path, same couplings
    e_bonds, m_bonds = energy_magnetisation(samples, lz, ly, lx, per_bond, h)
    np.testing.assert_allclose(e, e_bonds, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(m, m_bonds)
