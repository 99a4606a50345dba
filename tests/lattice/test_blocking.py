"""Block-spin transforms: hand-built lattices, symmetry, tie statistics, errors."""

import numpy as np
import pytest

import rgdata
from rgdata.lattice import block_spin_levels, block_spins


def _cfg(arr):
    return rgdata.as_configurations(np.asarray(arr, dtype=np.int8))


def test_majority_hand_built_2d():
    # 4x4 lattice, blocks (top-left, top-right, bottom-left, bottom-right)
    spins = np.array(
        [
            [1, 1, -1, -1],
            [1, -1, -1, 1],
            [-1, -1, 1, 1],
            [-1, 1, 1, 1],
        ]
    )
    out = block_spins(_cfg(spins[None]), b=2)
    np.testing.assert_array_equal(out.values[0], [[1, -1], [-1, 1]])
    assert out.attrs["block_level"] == 1 and out.attrs["n_ties"] == 0
    assert out.dims == ("sample", "y", "x") and out.dtype == np.int8


def test_majority_b3_and_3d():
    rng = np.random.default_rng(0)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(5, 9, 9))
    out = block_spins(_cfg(spins), b=3).values
    expect = np.sign(spins.reshape(5, 3, 3, 3, 3).sum(axis=(2, 4)))
    np.testing.assert_array_equal(out, expect)
    cube = rng.choice(np.array([-1, 1], dtype=np.int8), size=(4, 6, 6, 6))
    out3 = block_spins(_cfg(cube), b=3)
    assert out3.dims == ("sample", "z", "y", "x") and out3.shape == (4, 2, 2, 2)
    brute = np.empty((4, 2, 2, 2))
    for i, j, k in np.ndindex(2, 2, 2):
        brute[:, i, j, k] = np.sign(
            cube[:, 3 * i : 3 * i + 3, 3 * j : 3 * j + 3, 3 * k : 3 * k + 3].sum(axis=(1, 2, 3))
        )
    np.testing.assert_array_equal(out3.values, brute)


@pytest.mark.parametrize("shape", [(2, 8, 8), (2, 8, 8, 8)])
def test_all_up_stays_all_up(shape):
    cfg = _cfg(np.ones(shape))
    for level in block_spin_levels(cfg, 2, levels=2, random_state=0):
        assert np.all(level.values == 1)
    assert np.all(block_spins(_cfg(-np.ones(shape)), 2, levels=2).values == -1)


def test_decimation_equals_slicing():
    rng = np.random.default_rng(1)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(3, 12, 12))
    out = block_spins(_cfg(spins), b=2, rule="decimation", levels=2).values
    np.testing.assert_array_equal(out, spins[:, ::4, ::4])
    cube = rng.choice(np.array([-1, 1], dtype=np.int8), size=(2, 9, 9, 9))
    np.testing.assert_array_equal(
        block_spins(_cfg(cube), b=3, rule="decimation").values, cube[:, ::3, ::3, ::3]
    )


def test_random_ties_are_fair_and_reproducible():
    # every 2x2 block tied: a checkerboard
    board = np.indices((32, 32)).sum(axis=0) % 2 * 2 - 1
    cfg = _cfg(np.broadcast_to(board, (50, 32, 32)))
    out = block_spins(cfg, 2, random_state=7)
    n = out.size
    assert out.attrs["n_ties"] == n
    frac_up = (out.values == 1).mean()
    # binomial(n, 1/2): 4 sigma
    assert abs(frac_up - 0.5) < 4 * 0.5 / np.sqrt(n)
    again = block_spins(cfg, 2, random_state=7)
    np.testing.assert_array_equal(out.values, again.values)
    other = block_spins(cfg, 2, random_state=8)
    assert not np.array_equal(out.values, other.values)


def test_first_tie_break_is_deterministic():
    board = np.indices((4, 4)).sum(axis=0) % 2 * 2 - 1  # top-left of each block is -1
    out = block_spins(_cfg(board[None]), 2, tie_break="first")
    np.testing.assert_array_equal(out.values[0], board[::2, ::2])


def test_levels_feed_activity_and_keep_attrs():
    cfg = rgdata.as_configurations(np.ones((4, 8, 8), dtype=np.int8), temperature=2.0)
    lev = block_spin_levels(cfg, 2, levels=2, random_state=0)
    assert [c.shape for c in lev] == [(4, 8, 8), (4, 4, 4), (4, 2, 2)]
    assert lev[2].attrs["temperature"] == 2.0 and lev[2].attrs["block_level"] == 2
    rgdata.check_configurations(lev[2])
    act = rgdata.configurations_as_activity(lev[1])
    assert act.shape == (16, 4)


def test_errors():
    cfg = _cfg(np.ones((2, 6, 6)))
    with pytest.raises(ValueError, match="not divisible by b\\*\\*levels"):
        block_spins(cfg, 2, levels=2)
    with pytest.raises(ValueError, match="too small for 2 level"):
        block_spins(_cfg(np.ones((2, 4, 4))), 2, levels=2)
    with pytest.raises(ValueError, match="unknown rule 'mean'"):
        block_spins(cfg, 2, rule="mean")
    with pytest.raises(ValueError, match="unknown tie_break"):
        block_spins(cfg, 2, tie_break="up")
    with pytest.raises(ValueError, match="b must be >= 2"):
        block_spins(cfg, 1)
    with pytest.raises(TypeError, match="config must be an xarray.DataArray"):
        block_spins(np.ones((2, 4, 4)), 2)
